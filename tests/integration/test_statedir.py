# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The state directory under real mounts: one private bind mount of itself, however many first runs
race for it; lost or damaged state files never leak a running sandbox."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil

import psutil
import pytest

from ansible_cli import run_module_main
from sandboxes import STATE_DIR, exited, pid_ns_of, processes_in_ns, state_of, wait_for

from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _syscalls
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _sandbox, _statedir


def mounts_at(path: str) -> list:
    with open("/proc/self/mountinfo") as handle:
        return [line.split() for line in handle if line.split()[4] == path]


def unmount_all(path: str) -> None:
    while mounts_at(path):
        _syscalls.umount2(path, _syscalls.MNT_DETACH)


def _first_run(root, barrier):
    barrier.wait()
    _sandbox.run({"name": "nothing-here", "state": "absent"}, state_dir=_statedir.StateDir(root))


def test_concurrent_first_runs_make_exactly_one_private_mount(tmp_path):
    root = str(tmp_path / "state")
    context = multiprocessing.get_context("fork")
    try:
        for _round in range(5):
            unmount_all(root)
            shutil.rmtree(root, ignore_errors=True)
            barrier = context.Barrier(8)
            workers = [context.Process(target=_first_run, args=(root, barrier)) for _worker in range(8)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(60)
                assert worker.exitcode == 0
            found = mounts_at(root)
            assert len(found) == 1, "stacked bind mounts of the state directory: %s" % found
            optional = found[0][6:found[0].index("-")]
            assert not [field for field in optional if field.startswith(("shared:", "master:"))]
    finally:
        unmount_all(root)


def _pid1_of(name):
    inode = os.stat(STATE_DIR / name / "ns" / "pid").st_ino
    return [p for p in processes_in_ns(inode) if p.ppid() not in [q.pid for q in processes_in_ns(inode)]][0]


@pytest.mark.parametrize("damage", ["missing", "truncated", "wrong_types"])
def test_a_sandbox_whose_state_file_is_lost_is_still_found_and_stopped(names, damage):
    name = names("lost")
    made = run_module_main("sandbox", {"name": name})
    assert not made["failed"], made
    supervisor = psutil.Process(made["sandbox"]["supervisor"]["pid"])
    inode = made["sandbox"]["namespaces"]["pid"]
    worker = run_module_main("sandbox_exec", {"sandbox": name, "argv": ["sleep", "600"], "detach": True})
    assert not worker["failed"], worker
    state_file = STATE_DIR / name / "state.json"
    if damage == "missing":
        state_file.unlink()
    elif damage == "truncated":
        state_file.write_text(state_file.read_text()[:40])
    else:
        state_file.write_text(json.dumps(dict(json.loads(state_file.read_text()), supervisor="nope")))

    listed = run_module_main("sandbox_info", {"name": name})
    assert not listed["failed"], listed
    [entry] = listed["sandboxes"]
    assert entry["health"] == "broken" and "state file" in " ".join(entry["problems"])

    gone = run_module_main("sandbox", {"name": name, "state": "absent"})
    assert not gone["failed"] and gone["changed"], gone
    assert wait_for(lambda: exited(supervisor.pid), 20), "the supervisor of a sandbox with a lost state file runs on"
    assert wait_for(lambda: not [p for p in processes_in_ns(inode) if p.status() != psutil.STATUS_ZOMBIE], 20)
    assert state_of(name) is None and not (STATE_DIR / name).exists()


def test_present_recreates_a_sandbox_whose_state_file_is_lost_without_leaking_the_old_one(names):
    name = names("lostp")
    made = run_module_main("sandbox", {"name": name})
    old = psutil.Process(made["sandbox"]["supervisor"]["pid"])
    (STATE_DIR / name / "state.json").unlink()
    again = run_module_main("sandbox", {"name": name})
    assert again["changed"] and not again["failed"], again
    assert wait_for(lambda: exited(old.pid), 20)
    assert again["sandbox"]["supervisor"]["pid"] != old.pid
    assert pid_ns_of(again["sandbox"]["supervisor"]["pid"]) == again["sandbox"]["namespaces"]["pid"]
