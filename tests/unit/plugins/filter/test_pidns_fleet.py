# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the linuxns.pidns.pidns_fleet filter."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.linuxns.pidns.plugins.filter.pidns_fleet import FilterModule, pidns_fleet

HOST, A, B = 4026531836, 4026532201, 4026532202


def ns(ident, parent, level, nprocs=1, zombies=0, owner=None, warnings=()):
    return {"id": ident, "parent": parent, "level": level, "children": [], "init": None, "nprocs": nprocs,
            "zombies": zombies, "owner": owner, "warnings": [{"code": c, "message": c} for c in warnings]}


def facts(spaces, warnings=(), partial=False, max_depth=None):
    found = {"schema": 1, "kernel": "6.1.0", "root": not partial, "partial": partial, "count": len(spaces),
             "namespaces": spaces,
             "warnings": [dict(w, namespace=n) for n, w in warnings]}
    found["max_depth"] = max_depth if max_depth is not None else max(s["level"] for s in spaces)
    return found


WEB = facts([ns(HOST, None, 0, nprocs=100),
             ns(A, HOST, 1, nprocs=2, owner={"type": "sandbox", "runtime": "linuxns.pidns", "name": "web"}),
             ns(B, A, 2, nprocs=4, zombies=3, owner={"type": "container", "runtime": "docker", "id": "ab" * 32},
                warnings=["init_not_reaper", "zombies"])],
            warnings=[(B, {"code": "init_not_reaper"}), (B, {"code": "zombies"})])
DB = facts([ns(HOST, None, 0, nprocs=50)], warnings=[(None, {"code": "partial_view"})], partial=True)


def registered(pidns):
    return {"changed": False, "ansible_facts": {"pidns": pidns}, "failed": False}


RESULTS = {
    "web": registered(WEB),
    "db": registered(DB),
    "gone": {"unreachable": True, "changed": False, "msg": "Failed to connect to the host via ssh"},
    "broken": {"failed": True, "msg": "The module interpreter '/x' was not found.", "rc": 127},
    "off": {"skipped": True, "changed": False, "skip_reason": "Conditional result was False"},
}
ALL = ["web", "db", "gone", "broken", "off", "dropped"]
ACTIVE = ["web", "db", "gone", "broken", "off"]


def test_statuses_in_host_order():
    report = pidns_fleet(RESULTS, hosts=ALL, active=ACTIVE, generated="2024-01-01T00:00:00Z")
    assert report["schema"] == 1 and report["kind"] == "linuxns.pidns.report"
    assert report["generated"] == "2024-01-01T00:00:00Z"
    assert [(h["name"], h["status"]) for h in report["hosts"]] == [
        ("web", "ok"), ("db", "ok"), ("gone", "unreachable"), ("broken", "failed"), ("off", "skipped"),
        ("dropped", "dropped")]
    by = dict((h["name"], h) for h in report["hosts"])
    assert by["gone"]["message"] == "Failed to connect to the host via ssh" and by["gone"]["facts"] is None
    assert by["broken"]["message"].startswith("The module interpreter")
    assert by["dropped"]["message"].startswith("left the play")
    assert by["web"]["facts"] == WEB and by["web"]["message"] is None


def test_summary_and_totals():
    report = pidns_fleet(RESULTS, hosts=ALL, active=ACTIVE)
    web = report["hosts"][0]["summary"]
    assert web == {"kernel": "6.1.0", "root": True, "partial": False, "namespaces": 3, "nprocs": 106,
                   "max_depth": 2, "zombies": 3, "warnings": 2,
                   "warning_codes": {"init_not_reaper": 1, "zombies": 1},
                   "owners": ["docker abababababab", "sandbox web"]}
    assert report["totals"] == {
        "hosts": 6, "ok": 2, "reachable": 3, "unreachable": 1, "failed": 1, "skipped": 1, "dropped": 1,
        "namespaces": 4, "nprocs": 156, "max_depth": 2, "deepest_hosts": ["web"], "zombies": 3, "warnings": 3,
        "warning_codes": {"init_not_reaper": 1, "partial_view": 1, "zombies": 1}, "partial_hosts": ["db"]}


def test_output_is_plain_json():
    report = pidns_fleet(RESULTS, hosts=ALL, active=ACTIVE)
    assert json.loads(json.dumps(report)) == report


def test_defaults_hosts_from_input_and_accepts_bare_facts():
    report = pidns_fleet({"a": DB, "b": {"pidns": WEB}, "c": None})
    assert [(h["name"], h["status"]) for h in report["hosts"]] == [("a", "ok"), ("b", "ok"), ("c", "failed")]
    assert report["hosts"][2]["message"] == "no pidns facts for this host"
    assert report["totals"]["max_depth"] == 2 and report["totals"]["deepest_hosts"] == ["b"]


def test_hosts_with_results_but_not_listed_are_appended():
    report = pidns_fleet({"x": DB, "y": DB}, hosts=["y"])
    assert [h["name"] for h in report["hosts"]] == ["y", "x"]


def test_no_ok_host():
    report = pidns_fleet({"gone": RESULTS["gone"]})
    assert report["totals"]["max_depth"] is None and report["totals"]["deepest_hosts"] == []
    assert report["totals"]["namespaces"] == 0 and report["totals"]["unreachable"] == 1


def test_host_without_result_still_in_play_is_failed_not_dropped():
    report = pidns_fleet({}, hosts=["h"], active=["h"])
    assert report["hosts"][0]["status"] == "failed"


@pytest.mark.parametrize("bad, kwargs, match", [
    (None, {}, "expects a mapping"),
    ([], {}, "expects a mapping"),
    ({}, {"hosts": "web"}, "hosts must be a list"),
    ({}, {"active": {"a": 1}}, "active must be a list"),
])
def test_rejects_other_input(bad, kwargs, match):
    with pytest.raises(AnsibleFilterError, match=match):
        pidns_fleet(bad, **kwargs)


def test_registered_name():
    assert FilterModule().filters()["pidns_fleet"] is pidns_fleet
