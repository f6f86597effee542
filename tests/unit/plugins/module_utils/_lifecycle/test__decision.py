# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _decision: keep, create, recreate, update or remove, and the order of a list.
Plain data only: no root, no /proc."""

from __future__ import annotations

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _decision
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._decision import Decision, decide, order
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import normalize_spec


def spec(name="web", **options):
    return normalize_spec(name, **options)[0]


def alive(wanted):
    return {"health": "alive", "problems": [], "spec": wanted}


def test_missing_and_wanted_is_created():
    assert decide("web", None, spec()) == Decision("create", ["it does not exist"])


def test_missing_and_unwanted_is_nothing_to_do():
    decision = decide("web", None, None)
    assert decision.action == "nothing" and not decision.changes


def test_same_spec_is_kept():
    decision = decide("web", alive(spec()), spec(), dependents=["child"])
    assert decision == Decision("keep") and not decision.changes


def test_changed_keys_recreate_with_nested_sandboxes_removed_first():
    decision = decide("web", alive(spec()), spec(hostname="other"), dependents=["grandchild", "child"])
    assert decision == Decision("recreate", ["hostname"], ["grandchild", "child", "web"])


def test_broken_is_recreated_for_its_problems_even_with_the_same_spec():
    current = {"health": "broken", "problems": ["its supervisor (host PID 7) is gone"], "spec": spec()}
    assert decide("web", current, spec()) == Decision("recreate", ["its supervisor (host PID 7) is gone"], ["web"])


def test_recreate_requested():
    assert decide("web", alive(spec()), spec(), recreate=True) == Decision("recreate", ["recreate requested"], ["web"])


def test_absent_removes_nested_first():
    assert decide("web", alive(spec()), None, dependents=["child"]) == Decision("remove", ["state absent"],
                                                                                ["child", "web"])


def test_keys_that_can_change_in_place_are_updated_not_recreated():
    current = alive(spec(stop_timeout=5))
    wanted = spec(stop_timeout=7)
    assert decide("web", current, wanted, updatable={"stop_timeout"}) == Decision("update", ["stop_timeout"])
    # One key that cannot change in place is enough to recreate.
    wanted = spec(stop_timeout=7, hostname="h2")
    assert decide("web", current, wanted, updatable={"stop_timeout"}).action == "recreate"


def test_limits_pause_ports_and_workloads_change_in_place_everything_else_recreates():
    assert _decision.UPDATABLE_KEYS == frozenset(["limits", "paused", "published_ports", "workloads", "restart_on_boot"])
    assert decide("web", alive(spec()), spec(limits={"pids_limit": 64})) == Decision("update", ["limits"])
    assert decide("web", alive(spec()), spec(paused=True)) == Decision("update", ["paused"])
    assert decide("web", alive(spec(limits={"cpus": 1})), spec()) == Decision("update", ["limits"])
    assert decide("web", alive(spec(stop_timeout=5)), spec(stop_timeout=7)).action == "recreate"


def test_a_spec_recorded_before_limits_existed_has_none():
    old = spec()
    del old["limits"], old["paused"]
    assert decide("web", alive(old), spec()) == Decision("keep")


def entry(name, parent=None, present=True):
    return {"name": name, "parent": parent, "present": present}


def test_order_puts_parents_before_children_and_removes_nested_first():
    entries = [entry("leaf", "mid"), entry("mid", "top"), entry("top"), entry("gone-child", "gone", False),
               entry("gone", present=False)]
    problems, removals, creations = order(entries, alive_on_host=[])
    assert problems == []
    assert [entries[i]["name"] for i in creations] == ["top", "mid", "leaf"]
    assert [entries[i]["name"] for i in removals] == ["gone-child", "gone"]


def test_order_accepts_a_parent_alive_on_the_host():
    problems, _removals, creations = order([entry("child", "host-box")], alive_on_host=["host-box"])
    assert problems == [] and creations == [0]


@pytest.mark.parametrize("entries, expected", [
    ([entry("a"), entry("a")], [(1, "the name is listed more than once")]),
    ([entry("a", "b"), entry("b", "a")], [(0, "parent: nesting cycle a -> b -> a"),
                                          (1, "parent: nesting cycle b -> a -> b")]),
    ([entry("a", "nowhere")], [(0, "parent: nowhere is neither listed with state present nor an alive sandbox "
                                   "on the host")]),
    ([entry("a", "b"), entry("b", present=False)], [(0, "parent: ancestor b is listed with state absent")]),
])
def test_order_problems_name_the_entry(entries, expected):
    assert order(entries, alive_on_host=[])[0] == expected


def test_an_absent_entry_may_name_a_parent_that_is_gone():
    assert order([entry("a", "nowhere", present=False)], alive_on_host=[])[0] == []
