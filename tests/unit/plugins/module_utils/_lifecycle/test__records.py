# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _records: a sandbox's problems from what the host shows, nesting."""

from __future__ import annotations

import os

from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _records, _statedir
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import normalize_spec

from state_fixtures import _state


ALIVE_STAT = {"pid": 4242, "comm": "pidns:web", "state": "S", "ppid": 1, "start_time": 777}
HANDLES = {"pid": 4026532001, "mnt": 4026532002}


def test_problems_alive():
    assert _records.problems_of(_state(), HANDLES, ALIVE_STAT, "boot-a", 4026532001) == []


def test_problems_supervisor_gone():
    problems = _records.problems_of(_state(), HANDLES, None, "boot-a", None)
    assert problems == ["its supervisor (host PID 4242) is gone: the kernel refuses new processes in a PID "
                        "namespace whose PID 1 died"]


def test_problems_say_when_the_oom_killer_took_the_supervisor():
    state = _state()
    state["spec"]["limits"] = dict(state["spec"]["limits"], memory=64 << 20)
    problems = _records.problems_of(state, HANDLES, None, "boot-a", None, supervisor_oom_kills=1)
    assert problems[1] == "the OOM killer killed its supervisor: its memory limit (67108864 bytes) was reached"
    assert len(_records.problems_of(state, HANDLES, None, "boot-a", None, supervisor_oom_kills=0)) == 1


def test_problems_zombie_supervisor_counts_as_gone():
    problems = _records.problems_of(_state(), HANDLES, dict(ALIVE_STAT, state="Z"), "boot-a", 4026532001)
    assert len(problems) == 1 and "is gone" in problems[0]


def test_problems_pid_reused():
    problems = _records.problems_of(_state(), HANDLES, dict(ALIVE_STAT, start_time=999), "boot-a", 4026531836)
    assert problems == ["its supervisor (host PID 4242) is gone and the PID now belongs to another process"]


def test_problems_after_reboot_reports_reboot_and_stale_handles():
    problems = _records.problems_of(_state(), {}, dict(ALIVE_STAT, start_time=5), "boot-b", 4026531836)
    assert problems[0].startswith("the host rebooted")
    assert problems[1] == "namespace handle(s) not mounted: mnt, pid"


def test_problems_one_handle_unmounted():
    problems = _records.problems_of(_state(), {"pid": 4026532001}, ALIVE_STAT, "boot-a", 4026532001)
    assert problems == ["namespace handle(s) not mounted: mnt"]


class _FakeView:
    def __init__(self, state_dir):
        self.state_dir = state_dir


def test_dependents_are_listed_deepest_first(tmp_path):
    state_dir = _statedir.StateDir(str(tmp_path))
    tree = {"top": None, "mid": "top", "leaf": "mid", "side": "top", "other": None}
    for name, parent in tree.items():
        os.mkdir(state_dir.path(name))
        spec = normalize_spec(name, ["pid", "mnt"], parent=parent)[0]
        state_dir.write_state(name, _state(name=name, spec=spec))
    view = _FakeView(state_dir)
    assert _records.dependents(view, "top") == ["leaf", "mid", "side"]
    assert _records.dependents(view, "mid") == ["leaf"]
    assert _records.dependents(view, "other") == []
