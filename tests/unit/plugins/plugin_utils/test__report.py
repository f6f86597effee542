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
