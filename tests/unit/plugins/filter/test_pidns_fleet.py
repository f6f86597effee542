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


# ---------------------------------------------------------------- sandboxes (sandbox_info results)

def sandbox(name, health="alive", workloads=(), **extra):
    """One entry of sandbox_info's sandboxes, with fields the report does not keep too."""
    entry = {"name": name, "alive": health == "alive", "health": health, "problems": [] if health == "alive" else ["supervisor gone"],
             "supervisor": {"pid": 4242, "start_time": 1}, "namespaces": {"pid": A}, "handles": {"pid": "/run/x"},
             "parent": None, "level": 1, "created": "2026-01-01T00:00:00Z", "cgroup": {"path": "/linuxns-pidns/" + name},
             "spec": {"init": "supervisor", "workloads": [{"argv": ["secret"]}]}, "paused": False,
             "limits": {"pids_limit": 64, "memory": None, "memory_swap": None, "cpus": None, "cpu_shares": None},
             "cgroup_usage": {"pids": 2, "memory_current": 4096, "memory_peak": 8192, "oom_kills": 0, "cpu_seconds": 0.5},
             "network": {"mode": "bridge", "bridge": "pidns0", "address": "10.89.0.2", "interface": "vp1",
                         "published_ports": [{"host_ip": "0.0.0.0", "host_port": 8080, "port": 80, "protocol": "tcp"}],
                         "dns_servers": []},
             "workloads": [dict({"name": "w", "state": "running", "pid": 2, "host_pid": 4300, "restart_count": 0,
                                 "exit_code": None, "exit_signal": None, "started": "x", "finished": None,
                                 "restart": "always", "log": "/run/x/w.log"}, **w) for w in workloads],
             "rootfs": {"type": "host"}, "nprocs": 2, "zombies": 0}
    entry.update(extra)
    return entry


SANDBOX_RESULTS = {
    "web": {"changed": False, "failed": False, "sandboxes": [
        sandbox("api", workloads=[{"name": "app", "restart_count": 2, "exit_code": 1},
                                  {"name": "cron", "state": "backing off", "restart_count": 5, "exit_signal": 9}]),
        sandbox("old", health="broken", cgroup_usage=None, paused=None, limits=None, network=None,
                spec={"init": "catatonit"}, parent="api", level=2)]},
    "db": {"failed": True, "msg": "reading the sandboxes' state in /run/linuxns-pidns needs root; run the task "
                                  "with become: true"},
    "gone": {"skipped": True, "changed": False, "skip_reason": "Conditional result was False"},
    "broken": {"skipped": True, "changed": False},
    "off": {"changed": False, "sandboxes": []},
}


def test_without_sandboxes_the_report_has_no_sandbox_keys():
    report = pidns_fleet(RESULTS, hosts=ALL, active=ACTIVE)
    assert all(set(h) == {"name", "status", "message", "summary", "facts"} for h in report["hosts"])
    assert not [key for key in report["totals"] if "sandbox" in key or "workload" in key]


def test_sandboxes_keep_only_the_fields_shown():
    report = pidns_fleet(RESULTS, hosts=ALL, active=ACTIVE, sandboxes=SANDBOX_RESULTS)
    web = report["hosts"][0]
    assert set(web) == {"name", "status", "message", "summary", "facts", "sandboxes", "sandbox_summary",
                        "sandboxes_message"}
    api, old = web["sandboxes"]
    assert api == {
        "name": "api", "health": "alive", "problems": [], "problems_omitted": 0, "parent": None, "level": 1,
        "init": "supervisor", "paused": False,
        "limits": {"pids_limit": 64, "memory": None, "memory_swap": None, "cpus": None, "cpu_shares": None},
        "usage": {"memory_current": 4096, "memory_peak": 8192, "pids": 2, "oom_kills": 0},
        "network": {"mode": "bridge", "address": "10.89.0.2", "ports_omitted": 0,
                    "published_ports": [{"host_ip": "0.0.0.0", "host_port": 8080, "port": 80, "protocol": "tcp"}]},
        "workloads": [
            {"name": "app", "state": "running", "restart_count": 2, "exit_code": 1, "exit_signal": None},
            {"name": "cron", "state": "backing off", "restart_count": 5, "exit_code": None, "exit_signal": 9}],
        "workloads_omitted": 0}
    assert old["health"] == "broken" and old["problems"] == ["supervisor gone"] and old["init"] == "catatonit"
    assert old["parent"] == "api" and old["level"] == 2
    assert old["usage"] is None and old["limits"] is None and old["network"] is None and old["paused"] is None
    assert "secret" not in json.dumps(report)  # the spec's argv, log paths, ... are not in the report
    assert web["sandbox_summary"] == {"sandboxes": 2, "broken": 1, "paused": 0, "workloads": 2, "restarted": 2,
                                      "backing_off": 1, "oom_kills": 0, "omitted": 0}
    assert web["sandboxes_message"] is None


def test_sandboxes_not_available_say_why():
    report = pidns_fleet(RESULTS, hosts=ALL, active=ACTIVE, sandboxes=SANDBOX_RESULTS)
    by = dict((h["name"], h) for h in report["hosts"])
    assert by["db"]["sandboxes"] is None and by["db"]["sandbox_summary"] is None
    assert "needs root" in by["db"]["sandboxes_message"]
    assert by["gone"]["sandboxes_message"] == "not gathered (skipped)"
    assert by["dropped"]["sandboxes"] is None and by["dropped"]["sandboxes_message"] == "no sandbox_info result for this host"
    assert by["off"]["sandboxes"] == [] and by["off"]["sandboxes_message"] is None  # no state directory: none
    unreachable = pidns_fleet({"h": RESULTS["web"]}, sandboxes={"h": {"unreachable": True, "msg": "ssh: timeout"}})
    assert unreachable["hosts"][0]["sandboxes_message"] == "unreachable: ssh: timeout"


def test_sandbox_totals():
    totals = pidns_fleet(RESULTS, hosts=ALL, active=ACTIVE, sandboxes=SANDBOX_RESULTS)["totals"]
    assert dict((key, totals[key]) for key in totals if "sandbox" in key or "workload" in key) == {
        "sandboxes": 2, "sandboxes_broken": 1, "workloads": 2, "workloads_restarted": 2, "workloads_backing_off": 1,
        "sandbox_oom_kills": 0, "sandboxes_unavailable_hosts": ["db"]}
    assert totals["hosts"] == 6 and totals["ok"] == 2  # the rest as before


def test_sandboxes_as_bare_lists_and_for_unknown_hosts():
    report = pidns_fleet({"web": RESULTS["web"]}, sandboxes={"web": [sandbox("a")], "elsewhere": [sandbox("b")]})
    assert [h["name"] for h in report["hosts"]] == ["web"]  # a host only in sandboxes is not a row
    assert [s["name"] for s in report["hosts"][0]["sandboxes"]] == ["a"] and report["totals"]["sandboxes"] == 1


def test_sandbox_fields_of_the_wrong_type_are_dropped_not_trusted():
    odd = {"name": ["x"], "health": None, "alive": False, "problems": "not a list", "parent": 7, "level": True,
           "spec": "no", "paused": "yes", "limits": ["64"], "cgroup_usage": {"pids": "2", "memory_current": 1.5,
                                                                             "oom_kills": None},
           "network": {"mode": None, "published_ports": {"a": 1}}, "workloads": {"name": "w"}}
    report = pidns_fleet({"h": RESULTS["web"]}, sandboxes={"h": {"sandboxes": [odd, "junk", None, 5]}})
    host = report["hosts"][0]
    assert host["sandbox_summary"]["sandboxes"] == 1  # entries that are not mappings are left out
    entry = host["sandboxes"][0]
    assert entry["name"] == "['x']" and entry["health"] == "broken" and entry["problems"] == []
    assert entry["parent"] == "7" and entry["level"] is None and entry["init"] is None and entry["paused"] is None
    assert entry["limits"] is None and entry["workloads"] == []
    assert entry["usage"] == {"memory_current": None, "memory_peak": None, "pids": None, "oom_kills": None}
    assert entry["network"] == {"mode": None, "address": None, "published_ports": [], "ports_omitted": 0}
    workload = pidns_fleet({"h": RESULTS["web"]}, sandboxes={"h": [sandbox("a", workloads=[
        {"restart_count": "3", "exit_code": False, "state": None}])]})["hosts"][0]["sandboxes"][0]["workloads"][0]
    assert workload["restart_count"] is None and workload["exit_code"] is None and workload["state"] is None
    assert json.loads(json.dumps(report)) == report


def test_sandbox_lists_and_strings_are_bounded():
    many = [sandbox("s%d" % i, health="broken" if i % 2 else "alive") for i in range(250)]
    many[0]["problems"] = ["p" * 10000] * 30
    many[0]["name"] = "n" * 10000
    many[0]["workloads"] = [{"name": "w%d" % i, "state": "running", "restart_count": 1} for i in range(80)]
    many[0]["network"]["published_ports"] = [{"host_port": i, "port": i} for i in range(35)]
    report = pidns_fleet({"h": RESULTS["web"]}, sandboxes={"h": {"sandboxes": many}})
    host = report["hosts"][0]
    first = host["sandboxes"][0]
    assert len(host["sandboxes"]) == 200 and host["sandbox_summary"]["omitted"] == 50
    assert host["sandbox_summary"]["sandboxes"] == 250 and host["sandbox_summary"]["broken"] == 125  # all counted
    assert host["sandbox_summary"]["workloads"] == 80 and report["totals"]["workloads_restarted"] == 80
    assert len(first["name"]) == 200
    assert len(first["problems"]) == 10 and first["problems_omitted"] == 20
    assert all(len(problem) == 500 for problem in first["problems"])
    assert len(first["workloads"]) == 50 and first["workloads_omitted"] == 30
    assert len(first["network"]["published_ports"]) == 20 and first["network"]["ports_omitted"] == 15
    assert len(json.dumps(report)) < 400000


@pytest.mark.parametrize("bad", ["web", ["web"], 3])
def test_sandboxes_must_be_a_mapping(bad):
    with pytest.raises(AnsibleFilterError, match="sandboxes must be a mapping"):
        pidns_fleet(RESULTS, sandboxes=bad)
