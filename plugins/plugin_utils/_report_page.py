# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fixed parts of report.html: its style sheet and its script (no host data here).

The script reads the report from the page's pidns-report-data element and draws everything with
textContent and setAttribute only, never innerHTML: host names, commands and messages are never parsed
as HTML. ownerLabel() mirrors _facts.owner_label() for the namespaces it draws; size(), limitsText() and
the workload lines mirror _report.py's text of the sandboxes table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

STYLE = r''':root {
  --bg: #f5f6f8; --panel: #ffffff; --text: #1d2330; --muted: #6b7385; --line: #e2e5eb;
  --accent: #2f6fde; --accent-bg: #e8f0fd;
  --ok: #1f8a4c; --ok-bg: #e3f4ea; --warn: #a35a00; --warn-bg: #fff1dc; --bad: #c0282d; --bad-bg: #fde7e7;
  --owner: #6a3fc1; --owner-bg: #efe9fb; --mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14171d; --panel: #1c2028; --text: #e4e7ee; --muted: #9199aa; --line: #2c323d;
    --accent: #7aa7ff; --accent-bg: #1f2a40;
    --ok: #5fd08e; --ok-bg: #173324; --warn: #f2b35b; --warn-bg: #3a2a12; --bad: #ff7b7f; --bad-bg: #401c1e;
    --owner: #b99bff; --owner-bg: #2b2142;
  }
}
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0 auto; max-width: 1400px; padding: 28px 24px 60px; color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
header { display: flex; align-items: baseline; justify-content: space-between; gap: 16px; flex-wrap: wrap; margin-bottom: 18px; }
h1 { font-size: 24px; margin: 0; letter-spacing: -0.01em; }
h2 { font-size: 16px; margin: 28px 0 10px; }
.sub { color: var(--muted); font-size: 13px; }
code, .mono { font-family: var(--mono); font-size: 12.5px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.06em; }
.card .value { font-size: 30px; font-weight: 650; line-height: 1.15; margin: 4px 0 2px; font-variant-numeric: tabular-nums; }
.card .detail { color: var(--muted); font-size: 12.5px; min-height: 1.4em; overflow-wrap: anywhere; }
.card.warn { border-color: var(--warn); background: var(--warn-bg); }
.card.warn .value { color: var(--warn); }
.card.bad { border-color: var(--bad); background: var(--bad-bg); }
.card.bad .value { color: var(--bad); }
.toolbar { display: flex; gap: 10px; align-items: center; margin: 22px 0 10px; flex-wrap: wrap; }
.toolbar input { flex: 1 1 320px; padding: 8px 12px; font: inherit; color: var(--text); background: var(--panel);
  border: 1px solid var(--line); border-radius: 8px; outline: none; }
.toolbar input:focus { border-color: var(--accent); box-shadow: 0 0 0 3px var(--accent-bg); }
.toolbar button, th button { font: inherit; color: inherit; cursor: pointer; }
.toolbar button { padding: 7px 12px; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; }
.toolbar button:hover { border-color: var(--accent); }
.count { color: var(--muted); font-size: 13px; }
.tablewrap { overflow-x: auto; background: var(--panel); border: 1px solid var(--line); border-radius: 10px; }
table { width: 100%; border-collapse: separate; border-spacing: 0; }
th, td { padding: 8px 8px; text-align: left; border-bottom: 1px solid var(--line); vertical-align: top; }
tbody tr:last-child td { border-bottom: 0; }
th { background: var(--bg); font-size: 12px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted); padding: 0; }
th button { width: 100%; text-align: inherit; background: none; border: 0; padding: 9px 8px; white-space: nowrap; text-transform: inherit;
  letter-spacing: inherit; font-size: inherit; color: inherit; }
th button::after { content: "\2195"; opacity: 0.35; margin-left: 6px; }
th[aria-sort="ascending"] button::after { content: "\25B2"; opacity: 0.9; }
th[aria-sort="descending"] button::after { content: "\25BC"; opacity: 0.9; }
th[aria-sort] { color: var(--text); }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
th.num button { text-align: right; }
tbody tr:hover td { background: var(--accent-bg); }
td a { color: var(--accent); text-decoration: none; font-weight: 600; overflow-wrap: anywhere; }
td a:hover { text-decoration: underline; }
td.zero { color: var(--muted); }
td.hostcell { white-space: nowrap; }
td.hostcell .sub { white-space: normal; }
td.kernel { white-space: nowrap; }
td.status { min-width: 170px; max-width: 300px; overflow-wrap: anywhere; }
td.owners { max-width: 230px; }
td.warncell { min-width: 150px; }
.codelist { color: var(--bad); font-size: 11.5px; font-weight: 600; line-height: 1.4; white-space: pre-line; }
td.owners .badge { margin: 0 4px 3px 0; max-width: 160px; overflow: hidden; text-overflow: ellipsis; vertical-align: top; }
.more { color: var(--muted); font-size: 12px; white-space: nowrap; }
td.hot { color: var(--warn); font-weight: 650; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
  white-space: nowrap; border: 1px solid transparent; line-height: 1.5; }
.badge.ok { color: var(--ok); background: var(--ok-bg); }
.badge.warn { color: var(--warn); background: var(--warn-bg); }
.badge.bad { color: var(--bad); background: var(--bad-bg); }
.badge.owner { color: var(--owner); background: var(--owner-bg); }
.badge.plain { color: var(--muted); border-color: var(--line); }
.codes { display: flex; gap: 4px; flex-wrap: wrap; }
.none { color: var(--muted); text-align: center; padding: 18px; }
section.host { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; margin: 12px 0; }
section.host.unreachable, section.host.failed, section.host.dropped { border-color: var(--bad); }
section.host > details > summary { list-style: none; cursor: pointer; padding: 12px 16px; display: flex; gap: 10px;
  align-items: center; flex-wrap: wrap; border-radius: 10px; }
section.host > details > summary::-webkit-details-marker { display: none; }
section.host > details > summary::before { content: "\25B8"; color: var(--muted); transition: transform 0.1s; }
section.host > details[open] > summary::before { transform: rotate(90deg); }
section.host > details[open] > summary { border-bottom: 1px solid var(--line); border-radius: 10px 10px 0 0; }
.hostname { font-size: 15px; font-weight: 650; overflow-wrap: anywhere; }
.facts { color: var(--muted); font-size: 13px; }
.facts b { color: var(--text); font-weight: 600; }
.body { padding: 12px 16px 14px; }
.meta { color: var(--muted); font-size: 12.5px; margin-bottom: 8px; }
.alert { border-left: 3px solid var(--bad); background: var(--bad-bg); color: var(--text); padding: 8px 12px; border-radius: 6px;
  font-family: var(--mono); font-size: 12.5px; white-space: pre-wrap; overflow-wrap: anywhere; }
.alert.warn { border-color: var(--warn); background: var(--warn-bg); font-family: inherit; font-size: 13px; }
ul.tree, ul.tree ul { list-style: none; margin: 0; padding: 0; }
ul.tree ul { margin-left: 11px; padding-left: 16px; border-left: 1px dashed var(--line); }
ul.tree li { margin: 2px 0; }
.ns > summary, .ns > .row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; padding: 4px 8px; border-radius: 6px; }
.ns > summary { cursor: pointer; list-style: none; }
.ns > summary::-webkit-details-marker { display: none; }
.ns > summary::before { content: "\25B8"; color: var(--muted); width: 10px; display: inline-block; transition: transform 0.1s; }
.ns[open] > summary::before { transform: rotate(90deg); }
.ns > .row::before { content: "\2022"; color: var(--line); width: 10px; display: inline-block; }
.ns > summary:hover, .ns > .row:hover { background: var(--accent-bg); }
.ns.flagged > summary, .ns.flagged > .row { background: var(--warn-bg); }
.nsid { font-family: var(--mono); font-weight: 600; }
.lvl { font-size: 11.5px; color: var(--muted); border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; }
.init { display: inline-flex; gap: 6px; align-items: baseline; min-width: 0; }
.init .pid { font-weight: 600; white-space: nowrap; }
.init .host { color: var(--muted); font-size: 12.5px; white-space: nowrap; }
.cmd { font-family: var(--mono); font-size: 12.5px; background: var(--bg); border: 1px solid var(--line); border-radius: 4px;
  padding: 0 5px; max-width: 46ch; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; display: inline-block;
  vertical-align: bottom; }
.procs { color: var(--muted); font-size: 12.5px; white-space: nowrap; }
.noinit { color: var(--bad); font-weight: 600; }
ul.msgs { margin: 2px 0 4px 26px; padding: 0; list-style: none; }
ul.msgs li { color: var(--warn); font-size: 13px; }
ul.msgs li::before { content: "\26A0\FE0E  "; }
h3.sbx { font-size: 13px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted); margin: 16px 0 8px; }
table.sbx th { padding: 8px 10px; white-space: nowrap; }
table.sbx td { font-size: 13px; }
table.sbx td.num { white-space: nowrap; }
table.sbx td.name { white-space: nowrap; }
table.sbx tr.broken td { background: var(--bad-bg); }
table.sbx .sub { margin-top: 2px; }
ul.problems { margin: 4px 0 0; padding-left: 16px; color: var(--bad); font-size: 12.5px; overflow-wrap: anywhere; }
ul.wl { margin: 0; padding: 0; list-style: none; }
ul.wl li { margin: 0 0 3px; white-space: nowrap; }
.wlname { font-family: var(--mono); font-weight: 600; margin-right: 6px; }
.restarts { color: var(--muted); font-size: 12px; margin-left: 6px; }
.restarts.hot { color: var(--warn); font-weight: 650; }
.ports { font-family: var(--mono); font-size: 12px; }
footer { margin-top: 30px; color: var(--muted); font-size: 12px; text-align: center; }
pre.text { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px; overflow: auto; }
@media (max-width: 900px) { .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
@media print { .toolbar { display: none; } details { display: block; } }
'''

SCRIPT = r'''(function () {
  "use strict";
  var report = JSON.parse(document.getElementById("pidns-report-data").textContent);
  var totals = report.totals;
  var app = document.getElementById("app");

  /* Elements from text only: never innerHTML. */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    var key;
    for (key in attrs || {}) {
      if (!Object.prototype.hasOwnProperty.call(attrs, key) || attrs[key] === null || attrs[key] === undefined || attrs[key] === false) continue;
      if (key === "text") node.textContent = String(attrs[key]);
      else if (key === "class") node.className = attrs[key];
      else node.setAttribute(key, attrs[key] === true ? "" : String(attrs[key]));
    }
    for (var i = 2; i < arguments.length; i++) add(node, arguments[i]);
    return node;
  }
  function add(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { add(node, c); }); return; }
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  function plural(n, word, many) { return n + " " + (n === 1 ? word : (many || word + "s")); }
  function ownerLabel(owner) {
    if (!owner) return null;
    var name = owner.name || (owner.id || "").slice(0, 12) || owner.pod || "?";
    return (owner.type === "sandbox" ? "sandbox" : (owner.runtime || "container")) + " " + name;
  }
  function statusBadge(status) {
    var cls = status === "ok" ? "ok" : (status === "skipped" ? "plain" : "bad");
    return el("span", {"class": "badge " + cls, text: status});
  }

  /* ---------- fleet summary ---------- */
  function card(label, value, detail, cls) {
    return el("div", {"class": "card" + (cls ? " " + cls : "")},
      el("div", {"class": "label", text: label}), el("div", {"class": "value", text: value}),
      el("div", {"class": "detail", text: detail || ""}));
  }
  var hostParts = [totals.ok + " ok"];
  if (totals.unreachable) hostParts.push(totals.unreachable + " unreachable");
  if (totals.failed) hostParts.push(totals.failed + " failed");
  if (totals.dropped) hostParts.push(totals.dropped + " dropped");
  if (totals.skipped) hostParts.push(totals.skipped + " skipped");
  var codes = Object.keys(totals.warning_codes || {}).map(function (c) { return c + " \u00d7" + totals.warning_codes[c]; });
  var zombieSpaces = 0;
  report.hosts.forEach(function (h) {
    ((h.facts && h.facts.namespaces) || []).forEach(function (ns) { if (ns.zombies) zombieSpaces++; });
  });
  var cards = el("div", {"class": "cards", id: "summary"},
    card("Hosts", totals.hosts, hostParts.join(" \u00b7 "), totals.ok < totals.hosts ? "bad" : ""),
    card("PID namespaces", totals.namespaces, plural(totals.nprocs, "process", "processes")),
    card("Deepest nesting", totals.max_depth === null ? "\u2013" : "level " + totals.max_depth,
         (totals.deepest_hosts || []).length ? "on " + totals.deepest_hosts.join(", ") : "no host reported"),
    card("Zombies", totals.zombies, totals.zombies ? "in " + plural(zombieSpaces, "namespace") : "none", totals.zombies ? "warn" : ""),
    card("Warnings", totals.warnings, codes.join(", ") || "none", totals.warnings ? "warn" : ""));
  var hasSandboxes = totals.sandboxes !== undefined;
  if (hasSandboxes) {
    var sbxParts = [totals.sandboxes_broken + " broken", plural(totals.workloads, "workload")];
    if (totals.workloads_restarted) sbxParts.push(totals.workloads_restarted + " restarted");
    if (totals.workloads_backing_off) sbxParts.push(totals.workloads_backing_off + " backing off");
    if (totals.sandbox_oom_kills) sbxParts.push(plural(totals.sandbox_oom_kills, "OOM kill"));
    if ((totals.sandboxes_unavailable_hosts || []).length) sbxParts.push("n/a on " + totals.sandboxes_unavailable_hosts.join(", "));
    add(cards, card("Sandboxes", totals.sandboxes, sbxParts.join(" \u00b7 "),
      totals.sandboxes_broken ? "bad" : (totals.workloads_backing_off || totals.workloads_restarted || totals.sandbox_oom_kills ? "warn" : "")));
  }
  add(app, cards);

  /* ---------- host table ---------- */
  var columns = [
    {key: "name", label: "Host"}, {key: "status", label: "Status"},
    {key: "namespaces", label: "Namespaces", num: true}, {key: "nprocs", label: "Processes", num: true},
    {key: "max_depth", label: "Deepest", num: true}, {key: "zombies", label: "Zombies", num: true},
    {key: "warnings", label: "Warnings", num: true}, {key: "owners", label: "Owners"}
  ];
  if (hasSandboxes) columns.splice(columns.length - 1, 0, {key: "sandboxes", label: "Sandboxes", num: true});
  function value(host, key) {
    if (key === "name" || key === "status") return host[key];
    if (key === "sandboxes") return host.sandbox_summary ? host.sandbox_summary.sandboxes : null;
    if (!host.summary) return null;
    if (key === "owners") return host.summary.owners.join(", ");
    return host.summary[key];
  }
  var filterBox = el("input", {type: "search", id: "filter", placeholder: "Filter hosts: name, status, kernel, owner, warning, init command\u2026",
                              "aria-label": "Filter hosts", autocomplete: "off", spellcheck: "false"});
  var shown = el("span", {"class": "count", id: "shown"});
  var expand = el("button", {type: "button", text: "Expand all"});
  var collapse = el("button", {type: "button", text: "Collapse all"});
  add(app, el("h2", {text: "Hosts"}));
  add(app, el("div", {"class": "toolbar"}, filterBox, shown, expand, collapse));

  var headRow = el("tr");
  var sortState = {key: null, dir: 1};
  columns.forEach(function (col) {
    var th = el("th", {"class": col.num ? "num" : null, scope: "col", "data-key": col.key},
                el("button", {type: "button", text: col.label, title: "Sort by " + col.label.toLowerCase()}));
    th.firstChild.addEventListener("click", function () { sortBy(col.key); remember(); });
    col.th = th;
    add(headRow, th);
  });
  var tbody = el("tbody", {id: "hosts"});
  var noneRow = el("tr", {id: "no-match", hidden: true}, el("td", {colspan: columns.length, "class": "none", text: "No host matches the filter."}));
  add(app, el("div", {"class": "tablewrap"}, el("table", {id: "host-table"}, el("thead", null, headRow), tbody)));

  add(app, el("h2", {text: hasSandboxes ? "PID-namespace trees and sandboxes" : "PID-namespace trees"}));
  var sections = el("div", {id: "trees"});
  add(app, sections);

  /* ---------- per host ---------- */
  function initNode(init) {
    if (!init) return el("span", {"class": "noinit", text: "no PID 1"});
    var command = (init.cmdline || []).join(" ") || "[" + (init.comm || "?") + "]";
    var inner = init.ns_pid === undefined ? 1 : init.ns_pid;
    return el("span", {"class": "init"},
      el("span", {"class": "pid", text: "PID " + inner}),
      init.pid !== inner ? el("span", {"class": "host", text: "host " + init.pid}) : null,
      el("code", {"class": "cmd", title: command, text: command}));
  }
  function nsNode(spaces, handles, id, seen) {
    var ns = spaces[id];
    var held = handles[id] || [];
    var warnings = ns.warnings || [];
    var kids = (ns.children || []).filter(function (k) { return spaces[k] && !seen[k]; });
    seen[id] = true;
    kids.sort(function (a, b) { return (spaces[a].level || 0) - (spaces[b].level || 0) || a - b; });
    var row = [
      el("span", {"class": "nsid", text: id}),
      el("span", {"class": "lvl", text: ns.level === null || ns.level === undefined ? "level ?" : "level " + ns.level}),
      initNode(ns.init),
      el("span", {"class": "procs", text: plural(ns.nprocs || 0, "proc")})
    ];
    if (ns.zombies) row.push(el("span", {"class": "badge warn", text: plural(ns.zombies, "zombie")}));
    var owner = ownerLabel(ns.owner);
    if (owner) row.push(el("span", {"class": "badge owner", title: (ns.owner.cgroup || "") + (held.length ? " handle " + held.join(", ") : ""), text: owner}));
    if (!ns.nprocs && !held.length) row.push(el("span", {"class": "badge plain", title: "ancestor seen only through a descendant", text: "hidden"}));
    warnings.forEach(function (w) { row.push(el("span", {"class": "badge bad", "data-code": w.code, title: w.message || "", text: w.code})); });
    var msgs = warnings.length ? el("ul", {"class": "msgs"}, warnings.map(function (w) { return el("li", {text: w.message || w.code}); })) : null;
    var cls = "ns" + (warnings.length ? " flagged" : "");
    var attrs = {"class": cls, "data-ns": id, open: true};
    if (!kids.length && !msgs) { delete attrs.open; return el("li", null, el("div", attrs, el("div", {"class": "row"}, row))); }
    var children = kids.length ? el("ul", null, kids.map(function (k) { return nsNode(spaces, handles, k, seen); })) : null;
    return el("li", null, el("details", attrs, el("summary", null, row), msgs, children));
  }
  /* ---------- sandboxes of a host ---------- */
  function size(n) {
    if (typeof n !== "number") return "\u2013";
    if (Math.abs(n) < 1024) return n + " B";
    var units = ["KiB", "MiB", "GiB", "TiB", "PiB"], i = -1;
    do { n /= 1024; i++; } while (Math.abs(n) >= 1024 && i < units.length - 1);
    return n.toFixed(1) + " " + units[i];
  }
  function figure(v) { return v === null || v === undefined ? "\u2013" : String(v); }
  function limitsText(limits) {
    if (!limits) return "\u2013";
    var parts = [];
    [["pids_limit", "pids", figure], ["memory", "memory", size], ["memory_swap", "memory+swap", size],
     ["cpus", "cpus", figure], ["cpu_shares", "cpu shares", figure]].forEach(function (k) {
      if (limits[k[0]] !== null && limits[k[0]] !== undefined) parts.push(k[1] + " " + k[2](limits[k[0]]));
    });
    return parts.join(", ") || "none";
  }
  function lastExit(w) {
    if (w.exit_signal !== null && w.exit_signal !== undefined) return "last exit: signal " + w.exit_signal;
    if (w.exit_code !== null && w.exit_code !== undefined) return "last exit: code " + w.exit_code;
    return null;
  }
  function healthClass(health) { return health === "alive" ? "ok" : "bad"; }
  function stateClass(state) {
    return state === "running" ? "ok" : (state === "backing off" || state === "starting" ? "warn" : (state === "exited" ? "bad" : "plain"));
  }
  function sandboxRow(sb) {
    var usage = sb.usage, limits = sb.limits || {};
    var problems = (sb.problems || []).filter(function (p) { return p !== null; });
    if (sb.problems_omitted) problems.push("+" + sb.problems_omitted + " more");
    var pids = figure(usage ? usage.pids : null) + (limits.pids_limit !== null && limits.pids_limit !== undefined ? " / " + limits.pids_limit : "");
    var net = sb.network;
    var ports = net ? (net.published_ports || []).map(function (p) {
      return (p.host_ip || "*") + ":" + figure(p.host_port) + "\u2192" + figure(p.port) + "/" + (p.protocol || "?");
    }) : [];
    if (net && net.ports_omitted) ports.push("+" + net.ports_omitted + " more ports");
    var workloads = (sb.workloads || []).map(function (w) {
      var n = w.restart_count;
      return el("li", {"data-workload": w.name, "data-state": w.state, "data-restarts": n},
        el("span", {"class": "wlname", text: w.name || "?"}),
        el("span", {"class": "badge " + stateClass(w.state), text: w.state || "?"}),
        el("span", {"class": "restarts" + (n ? " hot" : ""), text: figure(n) + (n === 1 ? " restart" : " restarts")}),
        lastExit(w) ? el("span", {"class": "restarts", text: lastExit(w)}) : null);
    });
    if (sb.workloads_omitted) workloads.push(el("li", {"class": "more", text: "+" + sb.workloads_omitted + " more"}));
    return el("tr", {"class": sb.health === "alive" ? null : "broken", "data-sandbox": sb.name, "data-health": sb.health},
      el("td", {"class": "name"}, el("span", {"class": "nsid", text: sb.name || "?"}),
        sb.parent ? el("div", {"class": "sub", text: "in " + sb.parent}) : null,
        el("div", null, el("span", {"class": "lvl", text: "level " + figure(sb.level)}),
          sb.paused ? " " : null, sb.paused ? el("span", {"class": "badge warn", text: "paused"}) : null)),
      el("td", null, el("span", {"class": "badge " + healthClass(sb.health), text: sb.health || "?"}),
        problems.length ? el("ul", {"class": "problems"}, problems.map(function (p) { return el("li", {text: p}); })) : null),
      el("td", {text: sb.init || "\u2013"}),
      el("td", {text: limitsText(sb.limits)}),
      el("td", {"class": "num"}, el("div", {text: size(usage ? usage.memory_current : null)}),
        el("div", {"class": "sub", text: "peak " + size(usage ? usage.memory_peak : null)})),
      el("td", {"class": "num", text: pids}),
      el("td", {"class": "num" + (usage && usage.oom_kills ? " hot" : ""), text: figure(usage ? usage.oom_kills : null)}),
      el("td", null, net ? el("div", {text: (net.mode || "?") + (net.address ? " " + net.address : "")}) : "\u2013",
        ports.length ? el("div", {"class": "ports", text: ports.join(", ")}) : null),
      el("td", null, workloads.length ? el("ul", {"class": "wl"}, workloads) : "\u2013"));
  }
  function sandboxesPart(host) {
    var part = el("div", {"class": "sandboxes", "data-sandboxes": host.sandboxes ? host.sandboxes.length : "n/a"});
    if (!host.sandboxes) {
      add(part, el("div", {"class": "alert warn", text: "sandboxes: not available (" + (host.sandboxes_message || "no data") + ")"}));
      return part;
    }
    var s = host.sandbox_summary;
    var line = plural(s.sandboxes, "sandbox", "sandboxes") + " \u00b7 " + s.broken + " broken \u00b7 " + plural(s.workloads, "workload");
    if (s.restarted) line += " \u00b7 " + s.restarted + " restarted";
    if (s.backing_off) line += " \u00b7 " + s.backing_off + " backing off";
    if (s.omitted) line += " \u00b7 " + s.omitted + " more not listed";
    add(part, el("h3", {"class": "sbx", text: "Sandboxes"}), el("div", {"class": "meta", text: line}));
    if (!host.sandboxes.length) return part;
    var head = el("tr");
    ["Sandbox", "Health", "Init", "Limits", "Memory", "PIDs", "OOM kills", "Network", "Workloads"].forEach(function (label, i) {
      add(head, el("th", {scope: "col", "class": i >= 4 && i <= 6 ? "num" : null, text: label}));
    });
    add(part, el("div", {"class": "tablewrap"}, el("table", {"class": "sbx"}, el("thead", null, head),
      el("tbody", null, host.sandboxes.map(sandboxRow)))));
    return part;
  }
  function hostSection(host, index) {
    var s = host.summary;
    var head = [el("span", {"class": "hostname", text: host.name}), statusBadge(host.status)];
    var body = el("div", {"class": "body"});
    if (host.status === "ok") {
      head.push(el("span", {"class": "facts"},
        el("b", {text: s.namespaces}), " namespaces \u00b7 ", el("b", {text: s.nprocs}), " procs \u00b7 depth ",
        el("b", {text: s.max_depth})));
      if (s.zombies) head.push(el("span", {"class": "badge warn", text: plural(s.zombies, "zombie")}));
      if (s.warnings) head.push(el("span", {"class": "badge bad", text: plural(s.warnings, "warning")}));
      if (s.partial) head.push(el("span", {"class": "badge warn", text: "partial view"}));
      var f = host.facts;
      add(body, el("div", {"class": "meta", text: "kernel " + (f.kernel || "?") + " \u00b7 " + (f.root ? "as root" : "not root") +
        " \u00b7 parents from " + (f.parents_from || "?") + " \u00b7 seen from " +
        (f.self && f.self.initial ? "the initial PID namespace" : "inside namespace " + (f.self ? f.self.id : "?"))}));
      (f.warnings || []).filter(function (w) { return w.namespace === null || w.namespace === undefined; }).forEach(function (w) {
        add(body, el("div", {"class": "alert warn", "data-code": w.code, text: w.code + ": " + (w.message || "")}));
      });
      var spaces = {};
      (f.namespaces || []).forEach(function (ns) { spaces[ns.id] = ns; });
      var handles = {};
      (f.handles || []).forEach(function (h) { (handles[h.id] = handles[h.id] || []).push(h.path); });
      var seen = {};
      var roots = (f.namespaces || []).filter(function (ns) { return !spaces[ns.parent]; }).map(function (ns) { return ns.id; });
      var tree = el("ul", {"class": "tree"});
      roots.forEach(function (id) { if (!seen[id]) add(tree, nsNode(spaces, handles, id, seen)); });
      Object.keys(spaces).forEach(function (id) { if (!seen[id]) add(tree, nsNode(spaces, handles, Number(id), seen)); });
      add(body, tree);
    } else {
      add(body, el("div", {"class": "alert", text: host.status.toUpperCase() + ": " + (host.message || "no facts")}));
    }
    if (host.sandboxes || (host.status === "ok" && "sandboxes" in host)) add(body, sandboxesPart(host));
    var section = el("section", {"class": "host " + host.status, id: "host-" + index, "data-host": host.name},
      el("details", {open: true}, el("summary", null, head), body));
    return section;
  }
  function searchText(host) {
    var parts = [host.name, host.status, host.message || ""];
    if (host.summary) {
      parts.push(host.summary.kernel || "", host.summary.owners.join(" "), Object.keys(host.summary.warning_codes).join(" "));
      if (host.summary.partial) parts.push("partial");
    }
    if (host.facts) (host.facts.namespaces || []).forEach(function (ns) { if (ns.init) parts.push(ns.init.comm || ""); });
    (host.sandboxes || []).forEach(function (sb) {
      parts.push(sb.name || "", sb.health || "");
      (sb.workloads || []).forEach(function (w) { parts.push(w.name || "", w.state || ""); });
    });
    return parts.join("\n").toLowerCase();
  }

  var rows = report.hosts.map(function (host, index) {
    var tr = el("tr", {"data-host": host.name, "data-status": host.status});
    columns.forEach(function (col) {
      var v = value(host, col.key);
      var td;
      if (col.key === "name") td = el("td", {"class": "hostcell"}, el("a", {href: "#host-" + index, text: host.name}),
        host.summary && host.summary.kernel ? el("div", {"class": "sub", text: "kernel " + host.summary.kernel}) : null);
      else if (col.key === "owners") {
        var owners = host.summary ? host.summary.owners : [];
        td = el("td", {"class": owners.length ? "owners" : "zero", title: owners.join("\n")},
          owners.length ? owners.slice(0, 2).map(function (o) { return el("span", {"class": "badge owner", text: o}); }) : "\u2013",
          owners.length > 2 ? el("span", {"class": "more", text: "+" + (owners.length - 2) + " more"}) : null);
      }
      else if (col.key === "status") td = el("td", {"class": "status"}, statusBadge(host.status),
        host.message ? el("div", {"class": "sub", text: host.message}) : null);
      else if (col.key === "sandboxes") {
        var ss = host.sandbox_summary;
        td = el("td", {"class": "num" + (ss ? (ss.broken ? " hot" : (ss.sandboxes ? "" : " zero")) : " zero"),
                       title: ss ? null : (host.sandboxes_message || null)},
          el("div", null, ss ? String(ss.sandboxes) : (host.status === "ok" ? "n/a" : "\u2013")),
          ss && ss.broken ? el("div", {"class": "codelist", text: ss.broken + " broken"}) : null,
          ss && ss.backing_off ? el("div", {"class": "codelist", text: ss.backing_off + " backing off"}) : null);
      }
      else if (col.key === "warnings" && host.summary) {
        td = el("td", {"class": "num warncell" + (v ? " hot" : " zero")}, el("div", null, String(v)),
          v ? el("div", {"class": "codelist", text: Object.keys(host.summary.warning_codes).join("\n")}) : null);
      } else {
        var cls = col.num ? "num" + (v === 0 ? " zero" : (col.key === "zombies" && v ? " hot" : "")) : col.key;
        td = el("td", {"class": cls, text: v === null || v === undefined || v === "" ? "\u2013" : v});
      }
      add(tr, td);
    });
    return {host: host, index: index, tr: tr, section: hostSection(host, index), text: searchText(host)};
  });
  function draw() {
    var ordered = rows.slice();
    if (sortState.key) {
      var key = sortState.key, dir = sortState.dir;
      ordered.sort(function (a, b) {
        var x = value(a.host, key), y = value(b.host, key);
        if (x === null || x === undefined) return (y === null || y === undefined) ? a.index - b.index : 1;
        if (y === null || y === undefined) return -1;
        var c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), undefined, {numeric: true});
        return c * dir || a.index - b.index;
      });
    }
    ordered.forEach(function (row) { tbody.appendChild(row.tr); sections.appendChild(row.section); });
    tbody.appendChild(noneRow);
    applyFilter();
  }
  function sortBy(key, dir) {
    sortState.dir = dir || (sortState.key === key ? -sortState.dir : 1);
    sortState.key = key;
    columns.forEach(function (col) {
      if (col.key === key) col.th.setAttribute("aria-sort", sortState.dir > 0 ? "ascending" : "descending");
      else col.th.removeAttribute("aria-sort");
    });
    draw();
  }
  function applyFilter() {
    var terms = filterBox.value.toLowerCase().split(/\s+/).filter(Boolean);
    var count = 0;
    rows.forEach(function (row) {
      var match = terms.every(function (t) { return row.text.indexOf(t) >= 0; });
      if (match) count++;
      if (match) { row.tr.removeAttribute("hidden"); row.section.removeAttribute("hidden"); }
      else { row.tr.setAttribute("hidden", ""); row.section.setAttribute("hidden", ""); }
    });
    if (count) noneRow.setAttribute("hidden", ""); else noneRow.removeAttribute("hidden");
    shown.textContent = terms.length ? "showing " + count + " of " + plural(rows.length, "host") : plural(rows.length, "host");
  }
  /* State in the URL, for links and bookmarks: report.html#filter=<text>&sort=<column> (-<column>: descending). */
  function param(name) {
    var re = new RegExp("(?:^|[#&?])" + name + "=([^&]*)");
    var match = re.exec(location.hash) || re.exec(location.search);
    if (!match) return "";
    try { return decodeURIComponent(match[1].replace(/\+/g, " ")); } catch (e) { return match[1]; }
  }
  function remember() {
    var parts = [];
    if (filterBox.value) parts.push("filter=" + encodeURIComponent(filterBox.value));
    if (sortState.key) parts.push("sort=" + (sortState.dir < 0 ? "-" : "") + sortState.key);
    try {
      history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search);
    } catch (e) { /* some browsers refuse on file: URLs */ }
  }
  function fromLocation() {
    filterBox.value = param("filter");
    if (filterBox.value) filterBox.setAttribute("value", filterBox.value);
    var sort = param("sort"), key = sort.replace(/^-/, "");
    if (columns.some(function (col) { return col.key === key; })) {
      sortState.key = null;
      sortBy(key, sort.charAt(0) === "-" ? -1 : 1);
    } else {
      draw();
    }
  }
  filterBox.addEventListener("input", function () { applyFilter(); remember(); });
  window.addEventListener("hashchange", fromLocation);
  function openAll(state) {
    sections.querySelectorAll("details").forEach(function (d) { d.open = state; });
  }
  expand.addEventListener("click", function () { openAll(true); });
  collapse.addEventListener("click", function () { openAll(false); });
  fromLocation();
  document.documentElement.setAttribute("data-rendered", "true");
})();
'''
