# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""report.json, report.md and report.html from the fleet report data (see _fleet.py), in plain Python.

No Ansible templar: host data is hostile input (an unprivileged user on a managed host chooses command
lines and, through cgroup names, owner names), and a templar would evaluate `{{ }}` in it on
ansible-core < 2.19. Here a host string is only ever text: printable() takes out control characters,
Markdown gets escaped cells and fences longer than any backtick run in the text, HTML gets
html.escape() and JSON whose <, > and & are escapes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html
import json
from collections.abc import Mapping

from ansible_collections.linuxns.pidns.plugins.plugin_utils._report_page import SCRIPT, STYLE
from ansible_collections.linuxns.pidns.plugins.plugin_utils._text import cell, fence, printable
from ansible_collections.linuxns.pidns.plugins.plugin_utils._tree import tree


def render_json(data):
    """report.json: sorted keys, indent 2, a final newline. JSON escapes every control character."""
    return json.dumps(data, indent=2, sort_keys=True, separators=(",", ": ")) + "\n"


def _escape(value):
    return html.escape(printable(value), quote=True)


def _shown(value):
    """A copy of the report for display: every string (keys too) through printable()."""
    if isinstance(value, Mapping):
        return dict((printable(key), _shown(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_shown(item) for item in value]
    if isinstance(value, str):
        return printable(value)
    return value


# ---------------------------------------------------------------- sandboxes, as text for both formats

_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")
_DASH = "\u2013"


def _size(value):
    """Bytes for reading: 512 B, 5.7 MiB; a missing figure as a dash."""
    if not isinstance(value, int) or isinstance(value, bool):
        return _DASH
    if abs(value) < 1024:
        return "%d B" % value
    number, unit = float(value), "B"
    for unit in _UNITS:
        number /= 1024.0
        if abs(number) < 1024 or unit == _UNITS[-1]:
            break
    return "%.1f %s" % (number, unit)


def _plural(count, word, many=None):
    return "%d %s" % (count, word if count == 1 else (many or word + "s"))


def _figure(value):
    return _DASH if value is None else str(value)


def _limits_text(limits):
    if limits is None:
        return _DASH
    parts = []
    for key, label, show in (("pids_limit", "pids", _figure), ("memory", "memory", _size),
                             ("memory_swap", "memory+swap", _size), ("cpus", "cpus", _figure),
                             ("cpu_shares", "cpu shares", _figure)):
        if limits.get(key) is not None:
            parts.append("%s %s" % (label, show(limits[key])))
    return ", ".join(parts) or "none"


def _memory_text(usage):
    if usage is None:
        return _DASH
    return "%s (peak %s)" % (_size(usage.get("memory_current")), _size(usage.get("memory_peak")))


def _pids_text(sandbox):
    usage, limits = sandbox["usage"], sandbox["limits"] or {}
    current = _figure(None if usage is None else usage.get("pids"))
    return current if limits.get("pids_limit") is None else "%s / %s" % (current, limits["pids_limit"])


def _network_text(network):
    if network is None:
        return _DASH
    parts = [printable(network["mode"] or "?")]
    if network["address"]:
        parts[0] += " " + printable(network["address"])
    for port in network["published_ports"]:
        parts.append("%s:%s\u2192%s/%s" % (printable(port["host_ip"] or "*"), _figure(port["host_port"]),
                                           _figure(port["port"]), printable(port["protocol"] or "?")))
    if network["ports_omitted"]:
        parts.append("+%d more ports" % network["ports_omitted"])
    return ", ".join(parts)


def _last_exit(workload):
    if workload["exit_signal"] is not None:
        return "last exit: signal %d" % workload["exit_signal"]
    if workload["exit_code"] is not None:
        return "last exit: code %d" % workload["exit_code"]
    return None


def _workload_text(workload):
    restarts = workload["restart_count"]
    parts = [printable(workload["state"] or "?"),
             "%s restart%s" % (_figure(restarts), "" if restarts == 1 else "s")]
    if _last_exit(workload):
        parts.append(_last_exit(workload))
    return "%s: %s" % (printable(workload["name"] or "?"), ", ".join(parts))


def _workloads_text(sandbox):
    texts = [_workload_text(workload) for workload in sandbox["workloads"]]
    if sandbox["workloads_omitted"]:
        texts.append("+%d more" % sandbox["workloads_omitted"])
    return "; ".join(texts) or _DASH


def _problems_text(sandbox):
    texts = [printable(problem) for problem in sandbox["problems"] if problem is not None]
    if sandbox["problems_omitted"]:
        texts.append("+%d more" % sandbox["problems_omitted"])
    return "; ".join(texts)


def _sandbox_name_text(sandbox):
    text = printable(sandbox["name"] or "?")
    if sandbox["parent"]:
        text += " (in %s)" % printable(sandbox["parent"])
    if sandbox["paused"]:
        text += " (paused)"
    return text


SANDBOX_COLUMNS = ("Sandbox", "Health", "Init", "Limits", "Memory", "PIDs", "OOM kills", "Network", "Workloads")
SANDBOX_ALIGN = ("---", "---", "---", "---", "---:", "---:", "---:", "---", "---")


def _sandbox_cells(sandbox):
    """The cells of one sandbox's row, as printable text (each renderer escapes them for its format)."""
    usage = sandbox["usage"]
    return [_sandbox_name_text(sandbox), printable(sandbox["health"] or "?"), printable(sandbox["init"] or _DASH),
            _limits_text(sandbox["limits"]), _memory_text(usage), _pids_text(sandbox),
            _figure(None if usage is None else usage.get("oom_kills")), _network_text(sandbox["network"]),
            _workloads_text(sandbox)]


def _sandbox_summary_text(summary):
    """A host's sandbox counts in a line: '2 sandboxes (1 broken), 3 workloads (1 restarted, 0 backing off)'."""
    text = "%s (%d broken)" % (_plural(summary["sandboxes"], "sandbox", "sandboxes"), summary["broken"])
    if summary["workloads"]:
        text += ", %s (%d restarted, %d backing off)" % (
            _plural(summary["workloads"], "workload"), summary["restarted"], summary["backing_off"])
    if summary["oom_kills"]:
        text += ", %s" % _plural(summary["oom_kills"], "OOM kill")
    if summary["omitted"]:
        text += "; %d not listed" % summary["omitted"]
    return text


def _has_sandboxes(data):
    return "sandboxes" in data["totals"]


def _sandboxes_shown(host):
    """Whether a host's part of the report has a sandboxes paragraph: when it has a list, or facts (then
    a missing list is said to be not available)."""
    return host.get("sandboxes") is not None or (host["status"] == "ok" and "sandboxes" in host)


def _markdown_totals(data):
    totals = data["totals"]
    hosts = "%d (%d ok, %d unreachable, %d failed" % (
        totals["hosts"], totals["ok"], totals["unreachable"], totals["failed"])
    if totals["dropped"]:
        hosts += ", %d dropped" % totals["dropped"]
    if totals["skipped"]:
        hosts += ", %d skipped" % totals["skipped"]
    if totals["max_depth"] is None:
        deepest = "n/a"
    else:
        deepest = "level %s (%s)" % (cell(totals["max_depth"]), cell(", ".join(totals["deepest_hosts"])))
    warnings = str(totals["warnings"])
    if totals["warning_codes"]:
        warnings += " (%s)" % ", ".join("%s: %s" % (cell(code), count) for code, count in totals["warning_codes"].items())
    lines = [
        "- **Hosts:** %s)" % hosts,
        "- **PID namespaces:** %s (%s processes)" % (totals["namespaces"], totals["nprocs"]),
        "- **Deepest nesting:** %s" % deepest,
        "- **Zombies:** %s" % totals["zombies"],
        "- **Warnings:** %s" % warnings,
    ]
    if _has_sandboxes(data):
        line = "- **Sandboxes:** %d (%d broken), %s (%d restarted, %d backing off), %s" % (
            totals["sandboxes"], totals["sandboxes_broken"], _plural(totals["workloads"], "workload"),
            totals["workloads_restarted"], totals["workloads_backing_off"],
            _plural(totals["sandbox_oom_kills"], "OOM kill"))
        if totals["sandboxes_unavailable_hosts"]:
            line += "; not available on %s" % cell(", ".join(totals["sandboxes_unavailable_hosts"]))
        lines.append(line)
    return lines


def _markdown_sandbox_cell(host):
    summary = host.get("sandbox_summary")
    if summary is not None:
        text = "%d (%d broken" % (summary["sandboxes"], summary["broken"])
        if summary["backing_off"]:
            text += ", %d workloads backing off" % summary["backing_off"]
        return text + ")"
    return "n/a" if host["status"] == "ok" else ""


def _markdown_row(host, sandboxes):
    extra = " %s |" % _markdown_sandbox_cell(host) if sandboxes else ""
    if host["status"] != "ok":
        return "| %s | **%s** | | | | | | %s |%s" % (
            cell(host["name"]), cell(host["status"]), cell(host["message"] or ""), extra)
    summary = host["summary"]
    warnings = str(summary["warnings"])
    if summary["warning_codes"]:
        warnings += " (%s)" % ", ".join(cell(code) for code in summary["warning_codes"])
    return "| %s | ok%s | %s | %s | %s | %s | %s | %s |%s" % (
        cell(host["name"]), " (partial)" if summary["partial"] else "", cell(summary["kernel"]),
        summary["namespaces"], summary["nprocs"], cell(summary["max_depth"]), summary["zombies"], warnings, extra)


def _markdown_sandboxes(host):
    """The sandboxes paragraph of a host: a line with the counts and a table, or why there is none."""
    if host["sandboxes"] is None:
        return ["", "**Sandboxes:** not available (%s)" % cell(host["sandboxes_message"] or "no data")]
    summary = host["sandbox_summary"]
    if not host["sandboxes"]:
        return ["", "**Sandboxes:** none"]
    lines = ["", "**Sandboxes:** %s" % cell(_sandbox_summary_text(summary)), "",
             "| %s |" % " | ".join(SANDBOX_COLUMNS), "| %s |" % " | ".join(SANDBOX_ALIGN)]
    for sandbox in host["sandboxes"]:
        cells = [cell(text) for text in _sandbox_cells(sandbox)]
        if sandbox["health"] != "alive":
            cells[1] = "**%s**" % cells[1]
        problems = _problems_text(sandbox)
        if problems:
            cells[1] += ": " + cell(problems)
        lines.append("| %s |" % " | ".join(cells))
    return lines


def _markdown_host(host, processes):
    lines = ["", "## %s" % cell(host["name"]), ""]
    if host["status"] != "ok":
        lines.append("**%s**: %s" % (cell(host["status"].upper()), cell(host["message"] or "")))
        return lines
    lines.append(fence(tree(host["facts"], processes=processes, width=80)))
    warnings = host["facts"].get("warnings") or []
    if warnings:
        lines.append("")
    for warning in warnings:
        where = " (namespace %s)" % cell(warning["namespace"]) if warning.get("namespace") else ""
        lines.append("- **%s**%s: %s" % (cell(warning.get("code")), where, cell(warning.get("message"))))
    return lines


def _markdown_host_part(host, processes):
    lines = _markdown_host(host, processes)
    if _sandboxes_shown(host):
        lines.extend(_markdown_sandboxes(host))
    return lines


def render_markdown(data, title, processes=False):
    """report.md: the fleet totals and table, then one text tree per reachable host."""
    lines = [
        "# %s" % cell(title), "",
        "Generated %s by the `linuxns.pidns.pidns_report` role (report schema %s)." % (
            cell(data["generated"]), data["schema"]),
        "",
    ]
    sandboxes = _has_sandboxes(data)
    lines.extend(_markdown_totals(data))
    lines.extend(["", "| Host | Status | Kernel | Namespaces | Processes | Deepest | Zombies | Warnings |%s"
                  % (" Sandboxes |" if sandboxes else ""),
                  "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |%s" % (" --- |" if sandboxes else "")])
    lines.extend(_markdown_row(host, sandboxes) for host in data["hosts"])
    for host in data["hosts"]:
        lines.extend(_markdown_host_part(host, processes))
    return "\n".join(lines) + "\n"


_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; \
script-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="linuxns.pidns.pidns_report">
"""
_FOOTER = ("<footer>Self-contained report: no network requests. Data: report.json next to this file (control "
           "characters shown here as escapes), or the <code>pidns-report-data</code> element of this page.</footer>")


def _embedded_json(data):
    """The report as JSON that no text in it can end early: <, > and & as \\u escapes."""
    text = json.dumps(_shown(data), sort_keys=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _html_sandboxes(host):
    """The sandboxes of a host for the <noscript> part: a table of escaped text, or why there is none."""
    if host["sandboxes"] is None:
        return '<p class="sandboxes">Sandboxes: not available (%s)</p>\n' % _escape(host["sandboxes_message"] or "no data")
    if not host["sandboxes"]:
        return '<p class="sandboxes">Sandboxes: none</p>\n'
    rows = ["<tr>%s</tr>" % "".join("<th>%s</th>" % column for column in SANDBOX_COLUMNS)]
    for sandbox in host["sandboxes"]:
        cells = [_escape(text) for text in _sandbox_cells(sandbox)]
        problems = _problems_text(sandbox)
        if problems:
            cells[1] += ": " + _escape(problems)
        rows.append("<tr>%s</tr>" % "".join("<td>%s</td>" % text for text in cells))
    return '<p class="sandboxes">Sandboxes: %s</p>\n<table class="sandboxes">\n%s\n</table>\n' % (
        _escape(_sandbox_summary_text(host["sandbox_summary"])), "\n".join(rows))


def render_html(data, title):
    """report.html: one self-contained page (no network). The script draws the tables from the embedded
    data with textContent only; without JavaScript the <noscript> part shows the text trees."""
    generated = _escape(data["generated"])
    parts = [
        _HEAD,
        "<title>%s \u00b7 %s hosts \u00b7 %s</title>\n" % (_escape(title), data["totals"]["hosts"], generated),
        "<style>\n", STYLE, "</style>\n</head>\n<body>\n<header>\n",
        '  <h1 id="title">%s</h1>\n' % _escape(title),
        '  <div class="sub">linuxns.pidns report \u00b7 generated <span id="generated">%s</span> \u00b7 schema %s</div>\n'
        % (generated, data["schema"]),
        '</header>\n<main id="app"></main>\n<noscript>\n',
        "<p>This page draws its tables with JavaScript; here is the plain text view.</p>\n",
    ]
    for host in data["hosts"]:
        parts.append("<h2>%s (%s)</h2>\n" % (_escape(host["name"]), _escape(host["status"])))
        if host["status"] == "ok":  # the tree's lines are printable already; it keeps its line breaks
            text = html.escape(tree(host["facts"], width=100), quote=True)
        else:
            text = _escape(host["message"] or "")
        parts.append('<pre class="text">%s</pre>\n' % text)
        if _sandboxes_shown(host):
            parts.append(_html_sandboxes(host))
    parts.extend([
        "</noscript>\n", _FOOTER, "\n",
        '<script type="application/json" id="pidns-report-data">%s</script>\n' % _embedded_json(data),
        "<script>\n", SCRIPT, "</script>\n</body>\n</html>\n",
    ])
    return "".join(parts)
