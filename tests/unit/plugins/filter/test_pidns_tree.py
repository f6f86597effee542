# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the linuxns.pidns.pidns_tree filter."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.linuxns.pidns.plugins.filter.pidns_fleet import pidns_fleet
from ansible_collections.linuxns.pidns.plugins.filter.pidns_tree import FilterModule, pidns_tree

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugin_utils"))
import hostile  # noqa: E402  pylint: disable=wrong-import-position

HOST, A, B, D = 4026531836, 4026532201, 4026532202, 4026532204


def ns(ident, parent, level, children, init=None, nprocs=1, zombies=0, owner=None, warnings=()):
    return {"id": ident, "parent": parent, "level": level, "children": children, "init": init, "nprocs": nprocs,
            "zombies": zombies, "owner": owner, "warnings": [{"code": c, "message": c} for c in warnings]}


def init(pid, nspid, cmdline, comm=None):
    return {"pid": pid, "ns_pid": nspid[-1], "comm": comm or cmdline[0], "cmdline": cmdline, "start_time": 1000}


FACTS = {
    "namespaces": [
        ns(HOST, None, 0, [A, D], init(1, [1], ["/sbin/init", "splash"]), nprocs=3),
        ns(A, HOST, 1, [B], init(200, [200, 1], ["python3", "-", "web"], comm="pidns:web"), nprocs=2,
           owner={"type": "sandbox", "runtime": "linuxns.pidns", "name": "web", "id": None}),
        ns(D, HOST, 1, [], None, nprocs=0, warnings=["no_init"]),
        ns(B, A, 2, [], init(300, [300, 7, 1], [], comm="sleep"), nprocs=3, zombies=2,
           owner={"type": "container", "runtime": "docker", "name": None, "id": "ab" * 32},
           warnings=["init_not_reaper", "zombies"]),
    ],
    "processes": [
        {"pid": 1, "nspid": [1], "ns": HOST, "comm": "init"},
        {"pid": 100, "nspid": [100], "ns": HOST, "comm": "bash"},
        {"pid": 200, "nspid": [200, 1], "ns": A, "comm": "pidns:web"},
        {"pid": 201, "nspid": [201, 2], "ns": A, "comm": "nginx"},
        {"pid": 300, "nspid": [300, 7, 1], "ns": B, "comm": "sleep"},
    ],
    "warnings": [{"code": "partial_view", "namespace": None, "message": "Partial view: 2 processes"}],
}


def test_tree_lines_and_nesting():
    assert pidns_tree(FACTS).splitlines() == [
        u"4026531836  level 0  PID 1 /sbin/init splash  3 procs",
        u"\u251c\u2500 4026532201  level 1  PID 1 (host 200) python3 - web  2 procs  sandbox web",
        u"\u2502  \u2514\u2500 4026532202  level 2  PID 1 (host 300) [sleep]  3 procs  2 zombies  docker abababababab"
        u"  WARN: init_not_reaper, zombies",
        u"\u2514\u2500 4026532204  level 1  no PID 1  0 procs  WARN: no_init",
        u"WARN: Partial view: 2 processes",
    ]


def test_processes_under_each_namespace_show_both_pids_ascii():
    assert pidns_tree(FACTS, processes=True, ascii=True, warnings=False).splitlines() == [
        "4026531836  level 0  PID 1 /sbin/init splash  3 procs",
        "|- PID 1: init",
        "|- PID 100: bash",
        "|- 4026532201  level 1  PID 1 (host 200) python3 - web  2 procs  sandbox web",
        "|  |- PID 1 (host 200): pidns:web",
        "|  |- PID 2 (host 201): nginx",
        "|  `- 4026532202  level 2  PID 1 (host 300) [sleep]  3 procs  2 zombies  docker abababababab",
        "|     `- PID 1 (host 300): sleep",
        "`- 4026532204  level 1  no PID 1  0 procs",
    ]


def test_width_shortens_command_and_whole_ansible_facts_accepted():
    out = pidns_tree({"pidns": FACTS}, width=6)
    assert out.splitlines()[0] == u"4026531836  level 0  PID 1 /sbin\u2026  3 procs"


def test_subtree_seen_from_inside_starts_at_the_visible_root():
    inside = {"namespaces": [ns(B, A, 2, [], init(1, [1], ["sh"]))], "warnings": []}
    assert pidns_tree(inside) == "4026532202  level 2  PID 1 sh  1 proc"


def test_hostile_host_strings_stay_on_their_line():
    """Line breaks, escape sequences and bidi overrides in every string field: one line per namespace."""
    hostile.check_tree(pidns_tree(hostile.facts(), width=0))
    hostile.check_tree(pidns_tree(hostile.facts(), processes=True), lines=hostile.TREE_LINES_WITH_PROCESSES)
    line = pidns_tree(hostile.facts(), width=0).splitlines()[0]
    assert line.startswith("4026531836  level 0  PID 1 init{{ 7*7 }} {% for x in [1] %}LOOP{% endfor %}\\n````")


def test_owner_labels_are_the_fleets():
    """The tree and the fleet summary name owners alike (one definition, plugin_utils/_facts.py)."""
    facts = {"namespaces": [ns(A, None, 1, [], owner={"type": "sandbox", "runtime": "linuxns.pidns", "name": "web"}),
                            ns(B, None, 1, [], owner={"type": "container", "runtime": None, "id": "cd" * 32}),
                            ns(D, None, 1, [], owner={"type": "container", "runtime": "kubernetes", "pod": "p1"})],
             "warnings": []}
    owners = pidns_fleet({"h": facts})["hosts"][0]["summary"]["owners"]
    assert owners == ["container cdcdcdcdcdcd", "kubernetes p1", "sandbox web"]
    lines = pidns_tree(facts).splitlines()
    assert all(any(line.endswith("  " + owner) for line in lines) for owner in owners)


@pytest.mark.parametrize("bad", [None, "text", {"namespaces": "x"}, {}])
def test_rejects_other_input(bad):
    with pytest.raises(AnsibleFilterError, match="expects the pidns facts"):
        pidns_tree(bad)


def test_processes_need_processes_in_facts():
    with pytest.raises(AnsibleFilterError, match="processes=true"):
        pidns_tree({"namespaces": [], "warnings": []}, processes=True)


def test_registered_name():
    assert FilterModule().filters()["pidns_tree"] is pidns_tree
