# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile host data for the report and tree tests, and checks that it stayed text.

Every string a managed host reports carries template syntax, line breaks, a run of 20 backticks (longer
than any fixed fence), Markdown table and link syntax, HTML, an ANSI escape and a bidi override.
"""

from __future__ import annotations

import copy
import re

EVIL = ("{{ 7*7 }} {% for x in [1] %}LOOP{% endfor %}\n" + "`" * 20 + "\n# live | cell <script>alert(1)</script> "
        "[link](javascript:alert(1)) \x1b[31mred\u202etxt\r")
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")  # all but \n
HOST, A, B = 4026531836, 4026532201, 4026532202


def evil(label: str) -> str:
    return label + EVIL


FACTS = {
    "schema": 1, "kernel": evil("kernel"), "root": True, "partial": False, "count": 3, "max_depth": 2,
    "namespaces": [
        {"id": HOST, "parent": None, "level": 0, "children": [A], "nprocs": 3, "zombies": 0, "owner": None,
         "warnings": [], "init": {"pid": 1, "ns_pid": 1, "comm": evil("comm"), "cmdline": [evil("init"), evil("arg")]}},
        {"id": A, "parent": HOST, "level": 1, "children": [B], "nprocs": 2, "zombies": 1,
         "owner": {"type": "container", "runtime": evil("runtime"), "name": evil("lxc.payload.")},
         "warnings": [{"code": evil("code"), "message": evil("message")}],
         "init": {"pid": 4242, "ns_pid": 1, "comm": evil("comm"), "cmdline": []}},
        {"id": B, "parent": A, "level": 2, "children": [], "nprocs": 1, "zombies": 0,
         "owner": {"type": "sandbox", "runtime": "linuxns.pidns", "name": evil("sandbox")},
         "warnings": [], "init": {"pid": 5000, "ns_pid": 1, "comm": evil("comm"), "cmdline": [evil("x")]}},
    ],
    "warnings": [{"code": evil("code"), "message": evil("message"), "namespace": A},
                 {"code": evil("global"), "message": evil("global"), "namespace": None}],
    "processes": [{"pid": 4242, "nspid": [4242, 1], "ns": A, "comm": evil("proc")},
                  {"pid": 4243, "nspid": [4243, 7], "ns": A, "comm": evil("proc")}],
}
GOOD, GONE, BROKEN = "web" + EVIL, "gone" + EVIL, "broken"
RESULTS = {
    GOOD: {"changed": False, "ansible_facts": {"pidns": FACTS}},
    GONE: {"unreachable": True, "msg": evil("ssh")},
    BROKEN: {"failed": True, "msg": evil("failed")},
}
HOSTS = [GOOD, GONE, BROKEN]
# sandbox_info results (module linuxns.pidns.sandbox_info): the module checks sandbox names, but a host
# is still the one that says what they are, and problems, states, addresses come from it anyway.
SANDBOXES = [
    {"name": evil("box"), "alive": False, "health": evil("broken"), "problems": [evil("problem"), evil("gone")],
     "parent": evil("parent"), "level": 2, "spec": {"init": evil("init")}, "paused": True,
     "limits": {"pids_limit": 64, "memory": 67108864, "memory_swap": None, "cpus": 0.5, "cpu_shares": None},
     "cgroup_usage": {"pids": 3, "memory_current": 1536000, "memory_peak": 7057408, "oom_kills": 2},
     "network": {"mode": evil("mode"), "address": evil("address"),
                 "published_ports": [{"host_ip": evil("ip"), "host_port": 8080, "port": 80, "protocol": evil("tcp")}]},
     "workloads": [{"name": evil("workload"), "state": evil("state"), "restart_count": 3, "exit_code": 1,
                    "exit_signal": None}]},
    {"name": "plain", "alive": True, "health": "alive", "problems": [], "parent": None, "level": 1,
     "spec": {"init": "catatonit"}, "paused": False, "limits": None, "cgroup_usage": None,
     "network": {"mode": "host"}, "workloads": []},
]
SANDBOX_RESULTS = {
    GOOD: {"changed": False, "sandboxes": SANDBOXES},
    GONE: {"skipped": True, "changed": False},
    BROKEN: {"skipped": True, "changed": False},
}
# Lines of the text tree of FACTS: 3 namespaces and 1 warning without a namespace (+2 processes).
TREE_LINES = 4
TREE_LINES_WITH_PROCESSES = 6


def facts():
    return copy.deepcopy(FACTS)


def fences(markdown: str) -> list:
    """The fenced code blocks as CommonMark reads them: an opening run of 3+ backticks, closed by the
    first line that is a run of at least as many backticks. Returns the lines of each block."""
    blocks, current, width = [], None, 0
    for line in markdown.split("\n"):
        if current is None:
            match = re.match(r"^ {0,3}(`{3,})[^`]*$", line)
            if match:
                current, width = [], len(match.group(1))
        elif re.match(r"^ {0,3}`{%d,}\s*$" % width, line):
            blocks.append(current)
            current = None
        else:
            current.append(line)
    assert current is None, "a code fence is never closed"
    return blocks


def outside_fences(markdown: str) -> list:
    lines, inside, width = [], False, 0
    for line in markdown.split("\n"):
        match = re.match(r"^ {0,3}(`{3,})", line)
        if not inside and match:
            inside, width = True, len(match.group(1))
        elif inside and re.match(r"^ {0,3}`{%d,}\s*$" % width, line):
            inside = False
        elif not inside:
            lines.append(line)
    return lines


def bare_pipes(line: str) -> int:
    """Pipes that end a Markdown table cell (not backslash-escaped)."""
    count, index = 0, 0
    while index < len(line):
        if line[index] == "\\":
            index += 2
            continue
        count += line[index] == "|"
        index += 1
    return count


# The report's generated time (ISO 8601, UTC).
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?")


def check_markdown(markdown: str, tree_lines: int = TREE_LINES, sandboxes: int | None = None) -> None:
    """Host strings in report.md stayed text: one tree block of the right length, no live markup. With
    sandboxes (the number of sandbox rows), the fleet table has a Sandboxes column and one sandbox table
    follows the tree."""
    assert not CONTROL.search(markdown), repr(CONTROL.search(markdown).group(0))
    assert "{{ 7*7 }}" in markdown and "{% for x in [1] %}LOOP{% endfor %}" in markdown
    # 49 is what {{ 7*7 }} would become; the report's own time may hold a 49 too (23:49:05)
    assert not re.search(r"\b49\b", TIMESTAMP.sub("", markdown)) and "\nLOOP" not in markdown
    blocks = fences(markdown)
    assert [len(block) for block in blocks] == [tree_lines]  # one host with facts
    rest = outside_fences(markdown)
    assert not any("<" in line for line in rest)  # no raw HTML anywhere Markdown reads
    assert not any("](" in line.replace("\\]", "") for line in rest)  # no live link
    headings = [line for line in rest if line.startswith("#")]
    assert headings[0] == rest[0] and all(line.startswith("## ") for line in headings[1:])
    assert len(headings) == 1 + len(HOSTS)
    rows = [line for line in rest if line.startswith("|")]
    if sandboxes is None:
        assert len(rows) == 2 + len(HOSTS) and all(bare_pipes(row) == 9 for row in rows), rows
        return
    # the fleet table (9 columns) and one table of the sandboxes (9 columns) with its header
    assert len(rows) == 2 + len(HOSTS) + 2 + sandboxes and all(bare_pipes(row) == 10 for row in rows), rows


def check_html(page: str, tree_lines: int = TREE_LINES) -> None:
    """Host strings in report.html stayed text: no element, no script, no control character from them."""
    assert not CONTROL.search(page.replace("\n", "")), repr(CONTROL.search(page).group(0))
    assert len(re.findall("<script", page, re.I)) == 2 and len(re.findall("</script", page, re.I)) == 2
    assert "<script>alert" not in page and "<b>" not in page
    pres = re.findall(r'<pre class="text">(.*?)</pre>', page, re.S)
    assert len(pres) == len(HOSTS)
    assert len(pres[0].split("\n")) == tree_lines and all("\n" not in text for text in pres[1:])


def check_tree(text: str, lines: int = TREE_LINES) -> None:
    assert not CONTROL.search(text), repr(CONTROL.search(text).group(0))
    assert len(text.split("\n")) == lines
    assert "{{ 7*7 }}" in text
