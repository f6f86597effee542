# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the sandbox_plan filter: what the sandboxes role changes, from plain data."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.linuxns.pidns.plugins.filter.sandbox_plan import sandbox_plan
from ansible_collections.linuxns.pidns.plugins.module_utils._spec import normalize_spec


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
    assert sandbox_plan(wanted, host) == {"changes": [], "workloads": []}


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
    assert plan == {"changes": [{"name": "web", "state": "absent"}], "workloads": []}


def test_workloads_missing_or_in_a_changed_sandbox_are_planned_once():
    host = [on_host("web", processes=[child_of_pid1("sleep infinity"), child_of_pid1("dead", state="Z")]),
            on_host("other", hostname="old", processes=[child_of_pid1("sleep infinity")])]
    wanted = [
        {"name": "web", "workloads": [{"argv": ["sleep", "infinity"]}, {"argv": ["dead"]},
                                      {"argv": ["dead"]}, {"argv": ["sh", "-c", "x"], "match": "y", "chdir": "/"}]},
        {"name": "other", "hostname": "new", "workloads": [{"argv": ["sleep", "infinity"], "user": "nobody"}]},
    ]
    plan = sandbox_plan(wanted, host)
    assert plan["workloads"] == [
        {"sandbox": "web", "match": "dead", "argv": ["dead"]},
        {"sandbox": "web", "match": "y", "argv": ["sh", "-c", "x"], "chdir": "/"},
        {"sandbox": "other", "match": "sleep infinity", "argv": ["sleep", "infinity"], "user": "nobody"},
    ]


@pytest.mark.parametrize("wanted, message", [
    ([{"name": "a b"}], "sandboxes_list[0] (name a b): name: 'a b' is not a valid sandbox name"),
    ([{"name": "a", "namespaces": ["mnt"]}], "sandboxes_list[0] (name a): namespaces: 'pid' is required"),
    ([{"name": "a", "stop_timeout": float("nan")}], "sandboxes_list[0] (name a): stop_timeout: "),
    ([{"name": "a", "workloads": [{"argv": []}]}], "sandboxes_list[0] (name a): workloads[0].argv: must not be empty"),
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
    host = [on_host("web", hostname="123", processes=[child_of_pid1("python3 -m http.server 8080")])]
    wanted = [{"name": "web", "hostname": 123, "workloads": [{"argv": ["python3", "-m", "http.server", 8080]}]}]
    assert sandbox_plan(wanted, host) == {"changes": [], "workloads": []}
