# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugin_utils/_report.py: report.json, report.md and report.html in plain Python.

The hostile cases (hostile.py) put template syntax, line breaks, 20 backticks, table and link syntax,
HTML and control characters into every string field of the facts and into host names and messages.
"""

from __future__ import annotations

import json
import re

import hostile
from ansible_collections.linuxns.pidns.plugins.plugin_utils._fleet import fleet
from ansible_collections.linuxns.pidns.plugins.plugin_utils._report import render_html, render_json, render_markdown
from ansible_collections.linuxns.pidns.plugins.plugin_utils._text import printable

GENERATED = "2026-01-01T00:00:00Z"


def hostile_report():
    return fleet(hostile.RESULTS, hosts=hostile.HOSTS, active=hostile.HOSTS, generated=GENERATED)


def embedded(page: str) -> dict:
    return json.loads(page.split('<script type="application/json" id="pidns-report-data">', 1)[1].split("</script>", 1)[0])


def test_render_json_is_sorted_indented_with_final_newline():
    text = render_json({"b": 1, "a": {"y": [1, 2], "x": None}})
    assert text == '{\n  "a": {\n    "x": null,\n    "y": [\n      1,\n      2\n    ]\n  },\n  "b": 1\n}\n'


def test_json_keeps_host_strings_exact_and_escaped():
    data = hostile_report()
    text = render_json(data)
    assert json.loads(text) == data  # machine data: the hosts' strings, unchanged
    assert not hostile.CONTROL.search(text) and text.endswith("}\n")


def test_markdown_keeps_hostile_strings_as_text():
    hostile.check_markdown(render_markdown(hostile_report(), "Fleet"))


def test_markdown_with_processes_keeps_hostile_strings_as_text():
    hostile.check_markdown(render_markdown(hostile_report(), "Fleet", processes=True),
                           tree_lines=hostile.TREE_LINES_WITH_PROCESSES)


def test_markdown_escapes_a_hostile_title():
    md = render_markdown(hostile_report(), hostile.evil("title"))
    first, rest = md.split("\n", 1)
    assert first.startswith("# title{{ 7*7 }}") and "<script>" not in first and not hostile.CONTROL.search(first)
    assert rest.startswith("\nGenerated %s by" % GENERATED)


def test_html_keeps_hostile_strings_as_text():
    page = render_html(hostile_report(), hostile.evil("title"))
    hostile.check_html(page)
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert title.startswith("title{{ 7*7 }} ") and "&lt;script&gt;" in title and "\\n" in title
    data = embedded(page)  # what the script shows: every string printable, keys too
    assert data["hosts"][0]["name"] == printable(hostile.GOOD)
    assert not hostile.CONTROL.search(json.dumps(data, ensure_ascii=False).replace("\n", ""))


def test_html_embeds_the_report_for_the_script():
    data = fleet({"web": {"ansible_facts": {"pidns": {"namespaces": [], "kernel": "6.1.0 <b> & </script>"}}}},
                 generated=GENERATED)
    page = render_html(data, "PID namespaces")
    raw = page.split('id="pidns-report-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in raw and ">" not in raw and "&" not in raw  # no text can end the element early
    assert embedded(page) == data  # without control characters, the very report of report.json


# ---------------------------------------------------------------- sandboxes

def hostile_sandbox_report():
    return fleet(hostile.RESULTS, hosts=hostile.HOSTS, active=hostile.HOSTS, generated=GENERATED,
                 sandboxes=hostile.SANDBOX_RESULTS)


def test_json_carries_the_sandboxes_exactly():
    data = hostile_sandbox_report()
    assert json.loads(render_json(data)) == data
    shown = data["hosts"][0]["sandboxes"][0]
    assert shown["problems"] == [hostile.evil("problem"), hostile.evil("gone")]
    assert shown["workloads"][0]["state"] == hostile.evil("state") and shown["workloads"][0]["restart_count"] == 3


def test_markdown_sandboxes_table_keeps_hostile_strings_as_text():
    md = render_markdown(hostile_sandbox_report(), "Fleet")
    hostile.check_markdown(md, sandboxes=len(hostile.SANDBOXES))
    header = "| Sandbox | Health | Init | Limits | Memory | PIDs | OOM kills | Network | Workloads |"
    assert md.count(header) == 1
    section = md.split("\n## ", 2)[1]
    assert section.index("```text") < section.index(header)  # after the tree
    rows = [line for line in section.split("\n") if line.startswith("| ") and "PIDs" not in line and "---" not in line]
    box, plain = rows
    assert "**broken" in box and "problem{{ 7*7 }}" in box and "\\| cell &lt;script&gt;" in box
    assert "3 / 64" in box and "1.5 MiB (peak 6.7 MiB)" in box and "memory 64.0 MiB" in box
    assert "workload{{ 7*7 }}" in box and "3 restarts, last exit: code 1" in box
    assert plain.startswith("| plain | alive | catatonit | \u2013 |")
    assert "**Sandboxes:** 2 sandboxes (1 broken), 1 workload (1 restarted, 0 backing off), 2 OOM kills" in md
    assert "- **Sandboxes:** 2 (1 broken), 1 workload (1 restarted, 0 backing off), 2 OOM kills" in md


def test_markdown_says_when_sandboxes_are_not_available():
    results = {"web": hostile.RESULTS[hostile.GOOD], "db": hostile.RESULTS[hostile.GOOD]}
    sandboxes = {"web": {"sandboxes": []}, "db": {"failed": True, "msg": hostile.evil("root")}}
    data = fleet(results, generated=GENERATED, sandboxes=sandboxes)
    md = render_markdown(data, "Fleet")
    assert "\n**Sandboxes:** none\n" in md
    line = [text for text in md.split("\n") if text.startswith("**Sandboxes:** not available (root{{ 7*7 }}")][0]
    assert "<script>" not in line and not hostile.CONTROL.search(line) and line.endswith(")")
    assert "not available on db" in md
    assert "| Sandbox |" not in md


def test_markdown_without_sandboxes_is_unchanged():
    md = render_markdown(hostile_report(), "Fleet")
    assert "Sandboxes" not in md and "sandbox_info" not in md


def test_html_sandboxes_keep_hostile_strings_as_text():
    page = render_html(hostile_sandbox_report(), hostile.evil("title"))
    hostile.check_html(page)
    data = embedded(page)
    box = data["hosts"][0]["sandboxes"][0]
    assert box["problems"][0] == printable(hostile.evil("problem"))
    assert box["workloads"][0]["state"] == printable(hostile.evil("state"))
    assert data["totals"]["sandboxes"] == 2 and data["totals"]["workloads_restarted"] == 1
    noscript = page.split("<noscript>", 1)[1].split("</noscript>", 1)[0]
    tables = re.findall(r'<table class="sandboxes">(.*?)</table>', noscript, re.S)
    assert len(tables) == 1 and tables[0].count("<tr>") == 1 + len(hostile.SANDBOXES)
    assert re.findall(r"<(\w+)", tables[0]) == ["tr"] + ["th"] * 9 + (["tr"] + ["td"] * 9) * 2  # no other element
    assert "problem{{ 7*7 }}" in tables[0] and "&lt;script&gt;" in tables[0]


def test_html_script_draws_sandboxes_with_text_only():
    """The script builds the sandboxes table with el() (textContent, setAttribute), like the rest."""
    from ansible_collections.linuxns.pidns.plugins.plugin_utils._report_page import SCRIPT
    assert not re.search(r"\.(innerHTML|outerHTML|insertAdjacentHTML)\b|document\.write", SCRIPT)
    for name in ("function sandboxRow", "function sandboxesPart", "sandboxes: not available (",
                 '{key: "sandboxes", label: "Sandboxes", num: true}'):
        assert name in SCRIPT
