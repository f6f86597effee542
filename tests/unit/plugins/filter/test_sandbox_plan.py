# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the sandbox_plan filter: what the sandboxes role changes, from plain data."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.linuxns.pidns.plugins.filter.sandbox_plan import MODULE_OPTIONS, _Planned, sandbox_plan
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _sandbox
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import LIMIT_KEYS, normalize_spec


def on_host(name, parent=None, alive=True, processes=(), **options):
    """A sandbox as sandbox_info reports it, created with `options`."""
    return {"name": name, "alive": alive, "health": "alive" if alive else "broken",
            "problems": [] if alive else ["its supervisor (host PID 9) is gone"], "parent": parent,
            "spec": normalize_spec(name, parent=parent, **options)[0], "processes": list(processes)}


def child_of_pid1(command, state="S"):
    return {"ns_ppid": 1, "state": state, "command": command}


def names(plan):
    return [entry["name"] for entry in plan["changes"]]


def test_nothing_to_do_when_the_host_matches():
    host = [on_host("web", hostname="w"), on_host("db", parent="web")]
    wanted = [{"name": "web", "hostname": "w"}, {"name": "db", "parent": "web"}]
    assert sandbox_plan(wanted, host) == {"changes": []}


def test_only_what_differs_is_planned_with_module_options_only():
    host = [on_host("web"), on_host("db")]
    wanted = [{"name": "web", "workloads": []}, {"name": "db", "hostname": "other"}, {"name": "new"}]
    plan = sandbox_plan(wanted, host)
    assert plan["changes"] == [{"name": "db", "hostname": "other", "state": "present"},
                               {"name": "new", "state": "present"}]


def test_broken_and_recreate_requested_are_planned():
    host = [on_host("broken", alive=False), on_host("fine")]
    plan = sandbox_plan([{"name": "broken"}, {"name": "fine", "recreate": True}], host)
    assert names(plan) == ["broken", "fine"]


def test_a_listed_child_of_a_recreated_parent_is_made_again():
    host = [on_host("top"), on_host("child", parent="top")]
    plan = sandbox_plan([{"name": "top", "hostname": "changed"}, {"name": "child", "parent": "top"}], host)
    assert names(plan) == ["top", "child"]


def test_absent_entries_are_planned_only_when_on_the_host():
    plan = sandbox_plan([{"name": "gone", "state": "absent"}, {"name": "there", "state": "absent"}],
                        [on_host("there")])
    assert plan["changes"] == [{"name": "there", "state": "absent"}]


def test_forced_state_absent_overrides_entries_and_ignores_workloads():
    host = [on_host("web")]
    plan = sandbox_plan([{"name": "web", "workloads": [{"argv": ["sleep", "1"]}]}], host, state="absent")
    assert plan == {"changes": [{"name": "web", "state": "absent"}]}


def test_workloads_are_the_modules_option_named_by_their_place_unless_named():
    """The role's workloads go to the sandbox module's workloads option (PID 1 runs them): the same list
    as the host's plans nothing; a changed one is planned as an update in place."""
    declared = [{"name": "workload-1", "argv": ["sleep", "infinity"]},
                {"name": "web", "argv": ["python3", "-m", "http.server", "8080"], "restart": "always"}]
    host = [on_host("box", workloads=declared)]
    wanted = [{"name": "box", "workloads": [{"argv": ["sleep", "infinity"]},
                                            {"name": "web", "argv": ["python3", "-m", "http.server", 8080],
                                             "restart": "always"}]}]
    assert sandbox_plan(wanted, host) == {"changes": []}
    wanted[0]["workloads"].append({"argv": ["true"], "user": "nobody", "stop_signal": "SIGINT"})
    assert sandbox_plan(wanted, host) == {"changes": [{"name": "box", "state": "present", "workloads": [
        {"name": "workload-1", "argv": ["sleep", "infinity"]},
        {"name": "web", "argv": ["python3", "-m", "http.server", "8080"], "restart": "always"},
        {"name": "workload-3", "argv": ["true"], "user": "nobody", "stop_signal": "SIGINT"}]}]}


@pytest.mark.parametrize("wanted, message", [
    ([{"name": "a b"}], "sandboxes_list[0] (name a b): name: 'a b' is not a valid sandbox name"),
    ([{"name": "a", "namespaces": ["mnt"]}], "sandboxes_list[0] (name a): namespaces: 'pid' is required"),
    ([{"name": "a", "stop_timeout": float("nan")}], "sandboxes_list[0] (name a): stop_timeout: "),
    ([{"name": "a", "workloads": [{"argv": []}]}], "sandboxes_list[0] (name a): workloads[0].argv: must be a non-empty list"),
    ([{"name": "a", "workloads": [{"argv": ["x"], "match": "x"}]}], "sandboxes_list[0] (name a): workloads[0]: unknown key(s) match"),
    ([{"name": "a", "workloads": [{"argv": ["x"], "restart": "sometimes"}]}],
     "sandboxes_list[0] (name a): workloads[0].restart: 'sometimes' is not one of"),
    ([{"name": "a"}, {"name": "a"}], "sandboxes_list[1] (name a): the name is listed more than once"),
    ([{"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}], "sandboxes_list[0] (name a): parent: nesting cycle"),
    ([{"name": "a", "parent": "nowhere"}], "sandboxes_list[0] (name a): parent: nowhere is neither listed"),
])
def test_errors_name_the_entry_and_plan_nothing(wanted, message):
    with pytest.raises(AnsibleFilterError) as raised:
        sandbox_plan(wanted + [{"name": "fine"}], [])
    errors = str(raised.value).split("; ")
    assert any(error.startswith(message) for error in errors), errors


def test_a_parent_alive_on_the_host_counts_but_a_broken_one_does_not():
    assert names(sandbox_plan([{"name": "c", "parent": "p"}], [on_host("p")])) == ["c"]
    with pytest.raises(AnsibleFilterError, match="parent: p is neither listed"):
        sandbox_plan([{"name": "c", "parent": "p"}], [on_host("p", alive=False)])


def test_host_data_never_reaches_the_plan():
    hostile = on_host("web", processes=[child_of_pid1("{{ lookup('pipe', 'id') }}")])
    hostile["spec"]["hostname"] = "{{ 7*7 }}"
    plan = sandbox_plan([{"name": "web", "workloads": [{"argv": ["true"]}]}], [hostile])
    assert "{{" not in repr(plan)


def test_a_nesting_loop_in_host_data_ends():
    host = [on_host("a", parent="b"), on_host("b", parent="a")]
    host[0]["spec"]["parent"] = None  # wanted differs: a is recreated, its nested ones looked up
    plan = sandbox_plan([{"name": "a", "recreate": True}], host)
    assert names(plan) == ["a"]


def test_input_must_be_a_list_of_dicts():
    with pytest.raises(AnsibleFilterError, match="list of sandbox entries"):
        sandbox_plan({"name": "web"}, [])


def test_values_are_compared_as_the_module_converts_them():
    # YAML gives ints for `8080` or `hostname: 123`; the module's argument spec makes them text.
    host = [on_host("web", hostname="123",
                    workloads=[{"name": "workload-1", "argv": ["python3", "-m", "http.server", "8080"]}])]
    wanted = [{"name": "web", "hostname": 123, "workloads": [{"argv": ["python3", "-m", "http.server", 8080]}]}]
    assert sandbox_plan(wanted, host) == {"changes": []}


def limits_of(**given):
    return dict((key, given.get(key)) for key in LIMIT_KEYS)


def test_module_options_cover_the_new_sandbox_options():
    for key in ("pids_limit", "memory", "memory_swap", "cpus", "cpu_shares", "paused", "rootfs", "binds",
                "reset_rootfs"):
        assert key in MODULE_OPTIONS


def test_limits_rootfs_and_binds_as_running_plan_nothing():
    rootfs = {"type": "overlay", "ephemeral": True}
    binds = [{"src": "/srv/data", "dest": "/data", "read_only": True}]
    host = [on_host("web", limits=limits_of(pids_limit=64, memory="64M", memory_swap="128M", cpus=0.5,
                                            cpu_shares=512),
                    rootfs=rootfs, binds=binds)]
    # As YAML and templating may give them: strings for numbers, yes/no for booleans, defaults left out.
    wanted = [{"name": "web", "pids_limit": "64", "memory": 67108864, "memory_swap": "128m", "cpus": "0.5",
               "cpu_shares": 512, "paused": "no", "reset_rootfs": True,
               "rootfs": {"type": "overlay", "ephemeral": "yes"},
               "binds": [{"src": "/srv/data", "dest": "/data", "read_only": "true"}]}]
    assert sandbox_plan(wanted, host) == {"changes": []}


def test_a_spec_recorded_before_limits_and_rootfs_existed_is_kept():
    old = on_host("web")
    for key in ("limits", "paused", "rootfs", "binds"):
        del old["spec"][key]
    assert sandbox_plan([{"name": "web"}], [old]) == {"changes": []}


@pytest.mark.parametrize("change", [{"pids_limit": 128}, {"memory": "1G"}, {"cpus": 1.5}, {"cpu_shares": 100},
                                    {"paused": True}, {}])
def test_limits_and_paused_changes_are_planned_as_updates_in_place(change):
    host = [on_host("top", limits=limits_of(pids_limit=64)), on_host("child", parent="top")]
    wanted = [dict({"name": "top"}, **change), {"name": "child", "parent": "top"}]
    plan = sandbox_plan(wanted, host)
    # {} takes pids_limit away: a change too. The nested sandbox is not touched (no recreation).
    expected = {"name": "top", "state": "present"}
    expected.update(change)
    assert plan["changes"] == [expected]


def test_thawing_is_planned_and_the_paused_state_is_compared():
    host = [on_host("web", paused=True)]
    assert sandbox_plan([{"name": "web", "paused": True}], host) == {"changes": []}
    assert sandbox_plan([{"name": "web"}], host) == {"changes": [{"name": "web", "state": "present"}]}


@pytest.mark.parametrize("change", [{"rootfs": {"type": "overlay"}}, {"rootfs": {"type": "overlay", "ephemeral": True}},
                                    {"binds": [{"src": "/srv"}]}])
def test_rootfs_and_binds_changes_recreate_the_sandbox_and_its_nested_ones(change):
    workloads = [{"name": "workload-1", "argv": ["sleep", "infinity"]}]
    host = [on_host("top", workloads=workloads), on_host("child", parent="top")]
    wanted = [dict({"name": "top", "workloads": [{"argv": ["sleep", "infinity"]}]}, **change),
              {"name": "child", "parent": "top"}]
    plan = sandbox_plan(wanted, host)
    assert names(plan) == ["top", "child"]
    assert plan["changes"][0] == dict(change, name="top", state="present", workloads=workloads)


def test_reset_rootfs_alone_changes_nothing_but_goes_with_a_recreation():
    host = [on_host("web", rootfs={"type": "overlay"}), on_host("broken", alive=False, rootfs={"type": "overlay"})]
    wanted = [{"name": "web", "rootfs": {"type": "overlay"}, "reset_rootfs": True},
              {"name": "broken", "rootfs": {"type": "overlay"}, "reset_rootfs": True}]
    assert sandbox_plan(wanted, host)["changes"] == [
        {"name": "broken", "rootfs": {"type": "overlay"}, "reset_rootfs": True, "state": "present"}]


@pytest.mark.parametrize("entry, message", [
    ({"pids_limit": 0}, "pids_limit: a whole number from 1"),
    ({"pids_limit": "many"}, "pids_limit: "),
    ({"memory": "lots"}, "memory: 'lots' is not a size"),
    ({"memory": "1M"}, "memory: at least 6M"),
    ({"memory_swap": "1G"}, "memory_swap: needs memory"),
    ({"memory": "1G", "memory_swap": "512M"}, "memory_swap: must be at least memory"),
    ({"cpus": 0}, "cpus: a number of CPUs"),
    ({"cpu_shares": 1}, "cpu_shares: a whole number from 2"),
    ({"paused": "maybe"}, "paused: "),
    ({"rootfs": {"type": "vm"}}, "rootfs.type: 'vm' is not one of"),
    ({"rootfs": {"type": "directory"}}, "rootfs.path: type directory needs the path"),
    ({"rootfs": {"type": "overlay", "read_only": True}}, "rootfs.read_only: only type directory"),
    ({"rootfs": {"type": "overlay", "ephemeral": "sometimes"}}, "rootfs.ephemeral: "),
    ({"rootfs": {"type": "overlay"}, "namespaces": ["pid"]}, "rootfs: a root filesystem of its own needs"),
    ({"binds": [{"src": "relative"}]}, "binds[0].src: 'relative' must be an absolute"),
    ({"binds": [{"src": "/a", "dest": "/x"}, {"src": "/b", "dest": "/x/y"}]}, "binds[1].dest: /x/y overlaps"),
    ({"binds": [{"src": "/a", "dest": "/proc/x"}]}, "binds[0].dest: /proc/x is made by the sandbox"),
])
def test_bad_limits_rootfs_and_binds_fail_naming_the_entry_and_option(entry, message):
    with pytest.raises(AnsibleFilterError) as raised:
        sandbox_plan([{"name": "fine"}, dict(entry, name="a")], [])
    errors = str(raised.value).split("; ")
    assert any(error.startswith("sandboxes_list[1] (name a): " + message) for error in errors), errors


def test_the_plan_decides_as_the_module_does(monkeypatch):
    """The filter's wanted spec is the module's (_sandbox._Entry) for the same entry."""
    entry = {"name": "web", "namespaces": ["pid", "mnt", "uts"], "hostname": "w", "stop_timeout": 3.0,
             "pids_limit": 32, "memory": "96M", "memory_swap": "128M", "cpus": 0.25, "cpu_shares": 256,
             "paused": True, "rootfs": {"type": "overlay", "path": None, "read_only": False, "ephemeral": True},
             "binds": [{"src": "/srv", "dest": "/data", "read_only": True}], "mount_proc": True}
    errors = []
    planned = _Planned(0, entry, None, errors)
    assert errors == []
    # _Entry ends with a look at the host (check_host, /srv must exist); the spec is built before it.
    monkeypatch.setattr(_sandbox._rootfs, "check_host", lambda spec: None)
    module_entry = _sandbox._Entry(dict(entry, parent=None), None)
    assert planned.wanted == module_entry.wanted


def test_published_ports_change_in_place_and_a_network_mode_recreates():
    host = [on_host("web", network_mode="bridge", published_ports=["8080:80"])]
    same = {"name": "web", "network_mode": "bridge", "published_ports": ["8080:80"]}
    assert sandbox_plan([same], host) == {"changes": []}
    moved = dict(same, published_ports=["8081:80"])
    assert sandbox_plan([moved], host) == {"changes": [{"name": "web", "network_mode": "bridge",
                                                        "published_ports": ["8081:80"], "state": "present"}]}
    plan = sandbox_plan([dict(same, bridge={"name": "pidns1"})], host)
    assert names(plan) == ["web"]
    with pytest.raises(AnsibleFilterError, match=r"published_ports\[0\]: '99999:80'"):
        sandbox_plan([dict(same, published_ports=["99999:80"])], host)
