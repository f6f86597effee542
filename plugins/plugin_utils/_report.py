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
    return [
        "- **Hosts:** %s)" % hosts,
        "- **PID namespaces:** %s (%s processes)" % (totals["namespaces"], totals["nprocs"]),
        "- **Deepest nesting:** %s" % deepest,
        "- **Zombies:** %s" % totals["zombies"],
        "- **Warnings:** %s" % warnings,
    ]


def _markdown_row(host):
    if host["status"] != "ok":
        return "| %s | **%s** | | | | | | %s |" % (cell(host["name"]), cell(host["status"]), cell(host["message"] or ""))
    summary = host["summary"]
    warnings = str(summary["warnings"])
    if summary["warning_codes"]:
        warnings += " (%s)" % ", ".join(cell(code) for code in summary["warning_codes"])
    return "| %s | ok%s | %s | %s | %s | %s | %s | %s |" % (
        cell(host["name"]), " (partial)" if summary["partial"] else "", cell(summary["kernel"]),
        summary["namespaces"], summary["nprocs"], cell(summary["max_depth"]), summary["zombies"], warnings)


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


def render_markdown(data, title, processes=False):
    """report.md: the fleet totals and table, then one text tree per reachable host."""
    lines = [
        "# %s" % cell(title), "",
        "Generated %s by the `linuxns.pidns.pidns_report` role (report schema %s)." % (
            cell(data["generated"]), data["schema"]),
        "",
    ]
    lines.extend(_markdown_totals(data))
    lines.extend(["", "| Host | Status | Kernel | Namespaces | Processes | Deepest | Zombies | Warnings |",
                  "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |"])
    lines.extend(_markdown_row(host) for host in data["hosts"])
    for host in data["hosts"]:
        lines.extend(_markdown_host(host, processes))
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
    parts.extend([
        "</noscript>\n", _FOOTER, "\n",
        '<script type="application/json" id="pidns-report-data">%s</script>\n' % _embedded_json(data),
        "<script>\n", SCRIPT, "</script>\n</body>\n</html>\n",
    ])
    return "".join(parts)
