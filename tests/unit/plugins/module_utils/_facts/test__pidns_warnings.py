# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _pidns_warnings: the faults of a PID namespace from plain data, no /proc, no root."""

from __future__ import annotations

from ansible_collections.linuxns.pidns.plugins.module_utils._facts import _pidns_warnings
from ansible_collections.linuxns.pidns.plugins.module_utils._facts._pidns_warnings import namespace_warnings

NS, OTHER = 4026532201, 4026532202


def codes(warnings):
    return [warning["code"] for warning in warnings]


def test_a_healthy_namespace_has_no_warning():
    assert namespace_warnings(NS, 3, own_proc=True) == []
    assert namespace_warnings(NS, 3) == []  # /proc view unknown: no claim


def test_no_process_names_the_handles_or_a_descendant():
    held = namespace_warnings(NS, 0, handles=["/srv/a", "/srv/b"])
    assert codes(held) == ["no_init"] and "handle /srv/a, /srv/b" in held[0]["message"]
    hidden = namespace_warnings(NS, 0)
    assert "descendant" in hidden[0]["message"] and str(NS) in hidden[0]["message"]
    assert namespace_warnings(NS, 0, own_proc=False) == hidden  # no process, no /proc to judge


def test_zombies_name_their_parents():
    one = namespace_warnings(NS, 4, zombies=[301], zombie_parents=[(300, "sh")])
    assert one == [{"code": "zombies", "count": 1, "pids": [301], "parents": [300],
                    "message": "PID namespace %d has 1 zombie process, not reaped by parent 300 (sh)." % NS}]
    many = namespace_warnings(NS, 5, zombies=[303, 301], zombie_parents=[(300, "sh"), (302, None)])[0]
    assert many["pids"] == [301, 303] and many["parents"] == [300, 302]
    assert "2 zombie processes, not reaped by parents 300 (sh), 302 (?)." in many["message"]


def test_init_not_reaper_only_with_something_to_reap():
    assert namespace_warnings(NS, 2, init=(200, "sleep")) == []
    with_orphans = namespace_warnings(NS, 3, init=(200, "sleep"), orphans=[205, 203])
    assert codes(with_orphans) == ["init_not_reaper"]
    assert with_orphans[0]["orphans"] == [203, 205] and with_orphans[0]["zombies"] == 0
    assert "'sleep' (host PID 200)" in with_orphans[0]["message"]
    with_zombies = namespace_warnings(NS, 3, zombies=[201], zombie_parents=[(200, "sleep")], init=(200, "sleep"))
    assert codes(with_zombies) == ["zombies", "init_not_reaper"] and with_zombies[1]["zombies"] == 1
    # A known init (init=None) is not blamed for the zombies its children leave.
    assert codes(namespace_warnings(NS, 3, zombies=[201], zombie_parents=[(202, "sh")], orphans=[205])) == ["zombies"]


def test_proc_not_remounted_names_the_namespace_seen():
    seen = namespace_warnings(NS, 2, own_proc=False, seen_proc=OTHER)
    assert codes(seen) == ["proc_not_remounted"] and seen[0]["proc_ns"] == OTHER
    assert "belongs to PID namespace %d" % OTHER in seen[0]["message"]
    unknown = namespace_warnings(NS, 2, own_proc=False)
    assert unknown[0]["proc_ns"] is None and "another PID namespace" in unknown[0]["message"]


def test_all_faults_in_a_fixed_order():
    warnings = namespace_warnings(NS, 4, zombies=[301, 302], zombie_parents=[(300, "sleep")], init=(300, "sleep"),
                                  orphans=[303], own_proc=False, seen_proc=OTHER)
    assert codes(warnings) == ["zombies", "init_not_reaper", "proc_not_remounted"]


def test_known_inits():
    assert _pidns_warnings.is_known_init("tini") and _pidns_warnings.is_known_init("pidns:web")
    assert not _pidns_warnings.is_known_init("sleep")
    assert _pidns_warnings.is_known_init("sleep", frozenset(["sleep"]))


def test_partial_view_only_when_something_is_missing():
    assert _pidns_warnings.partial_view_warning(0, []) is None
    as_user = _pidns_warnings.partial_view_warning(1000, [])
    assert as_user["code"] == "partial_view" and as_user["namespace"] is None
    assert "not running as root" in as_user["message"] and as_user["pids"] == []
    denied = _pidns_warnings.partial_view_warning(0, list(range(100, 40, -1)))
    assert "access denied" in denied["message"] and "60 process(es)" in denied["message"]
    assert denied["pids"] == list(range(41, 91))  # the first 50
