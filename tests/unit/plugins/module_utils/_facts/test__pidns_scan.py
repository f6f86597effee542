# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _pidns_scan: process records from stat bytes, the process table over a fake /proc,
and the split of reads over two processes."""

from __future__ import annotations

import errno
import os

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._facts import _pidns_scan

A, B = 4026532201, 4026532202


def test_process_from_stat_parses_on_first_use():
    raw = b"4242 (my (odd) prog) S 1 4200 4200 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 987654 0 0\n"
    process = _pidns_scan.process_from_stat(raw)
    assert (process.state, process.ppid, process.pgrp, process.ns, process.nspid) == ("S", 1, 4200, None, None)
    assert process._comm is None  # not parsed yet
    assert (process.comm, process.start_time) == ("my (odd) prog", 987654)
    assert not hasattr(process, "__dict__")


@pytest.mark.parametrize("raw", [b"", b"no parenthesis", b"1 (x) SS 1 1 1 0", b"1 (x) S one 1 1 0", b"1 (x) S 1"])
def test_process_from_stat_rejects_foreign_content(raw):
    assert _pidns_scan.process_from_stat(raw) is None


def test_process_start_time_zero_when_stat_is_short():
    process = _pidns_scan.process_from_stat(b"7 (sh) Z 1 7 7 0 -1\n")
    assert (process.comm, process.start_time) == ("sh", 0)


def _fake_proc(root, processes):
    """processes: {pid: (ns, nspid, state, ppid)}: ns/pid link, stat and status of each."""
    for pid, (ns, nspid, state, ppid) in processes.items():
        base = root / str(pid)
        (base / "ns").mkdir(parents=True)
        if ns is not None:
            os.symlink("pid:[%d]" % ns, str(base / "ns" / "pid"))
        (base / "stat").write_text("%d (p%d) %s %d %d 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n"
                                   % (pid, pid, state, ppid, pid, pid))
        (base / "status").write_text("Name:\tp%d\nState:\t%s (x)\nPid:\t%d\nPPid:\t%d\nNSpid:\t%s\n"
                                     % (pid, state, pid, ppid, "\t".join(map(str, nspid))))
    return str(root)


def test_process_table_groups_by_namespace_and_places_unreadable(tmp_path, monkeypatch):
    # 5 has no readable ns link but an NSpid of one entry: it is in the namespace of the /proc.
    # 6 has no readable ns link and a deeper NSpid: unknown.
    table = _pidns_scan.ProcessTable(_fake_proc(tmp_path, {
        1: (A, [1], "S", 0), 2: (A, [2], "S", 1), 3: (B, [3, 1], "S", 2), 5: (None, [5], "S", 1),
        6: (None, [6, 2], "Z", 3)}) + "/")
    real = os.readlink
    denied = set(str(tmp_path / str(pid) / "ns" / "pid") for pid in (5, 6))

    def readlink(path, *args, **kwargs):
        if path in denied:
            raise OSError(errno.EACCES, "Permission denied", path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "readlink", readlink)
    table.read_processes()
    assert table.proc == str(tmp_path)
    assert sorted(table.members[A]) == [1, 2] and table.members[B] == [3] and sorted(table.unreadable) == [5, 6]
    assert table.nspid(3) == [3, 1] and table.nspid(99) is None
    table.place_unreadable(A)
    assert sorted(table.members[A]) == [1, 2, 5] and table.procs[5].ns == A
    assert table.unreadable == [6] and 6 not in table.procs


def test_read_ahead_hands_back_contents_and_errors(tmp_path):
    table = _pidns_scan.ProcessTable(_fake_proc(tmp_path, {1: (A, [1], "S", 0)}))
    status, link, missing = str(tmp_path / "1" / "status"), str(tmp_path / "1" / "ns" / "pid"), str(tmp_path / "9" / "x")
    table.read_ahead([status, link])
    os.unlink(status)
    assert table.read(status).startswith(b"Name:\tp1") and table.read(link) == "pid:[%d]" % A
    assert table.read(status) is None  # read ahead only once; now gone
    assert table.read(missing) is None
    (tmp_path / "2" / "ns").mkdir(parents=True)
    (tmp_path / "2" / "ns" / "pid").write_text("not a link")
    table.read_ahead([str(tmp_path / "2" / "ns" / "pid")])
    with pytest.raises(OSError) as caught:
        table.read(str(tmp_path / "2" / "ns" / "pid"))
    assert caught.value.errno == errno.EINVAL


def test_read_pid_ns_handles(tmp_path):
    (tmp_path / "self").mkdir()
    assert _pidns_scan.read_pid_ns_handles(str(tmp_path)) == {}
    (tmp_path / "self" / "mountinfo").write_text(
        "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n500 27 0:4 pid:[%d] /srv/a\\040b rw - nsfs nsfs rw\n" % A)
    assert _pidns_scan.read_pid_ns_handles(str(tmp_path)) == {"/srv/a b": A}


def _forced_parallel(monkeypatch):
    """in_parallel splits whatever it gets, as on a host with two CPUs and many processes."""
    monkeypatch.setattr(_pidns_scan, "PARALLEL_MIN_ITEMS", 0)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})


def _children_of_this_process():
    with open("/proc/self/task/%d/children" % os.getpid()) as handle:
        return set(int(pid) for pid in handle.read().split())


def test_in_parallel_runs_the_second_half_in_a_child_and_reaps_it(monkeypatch):
    _forced_parallel(monkeypatch)
    before = _children_of_this_process()
    result = _pidns_scan.in_parallel(lambda items: [(item, os.getpid()) for item in items], list(range(10)))
    assert [item for item, _pid in result] == list(range(10))
    assert set(pid for _item, pid in result[:5]) == {os.getpid()}
    child = set(pid for _item, pid in result[5:])
    assert len(child) == 1 and child != {os.getpid()}
    assert _children_of_this_process() == before
    assert not os.path.exists("/proc/%d" % child.pop())  # reaped, not a zombie


def test_in_parallel_raises_the_childs_oserror_and_redoes_a_crashed_half(monkeypatch):
    _forced_parallel(monkeypatch)
    parent = os.getpid()

    def fails_in_child(items):
        if os.getpid() != parent:
            raise OSError(errno.EACCES, "Permission denied", "/proc/42/stat")
        return list(items)

    with pytest.raises(OSError) as caught:
        _pidns_scan.in_parallel(fails_in_child, [1, 2, 3, 4])
    assert (caught.value.errno, caught.value.filename) == (errno.EACCES, "/proc/42/stat")

    def crashes_in_child(items):
        if os.getpid() != parent:
            raise RuntimeError("not an OSError: the child exits without a result")
        return [item * 10 for item in items]

    assert _pidns_scan.in_parallel(crashes_in_child, [1, 2, 3, 4]) == [10, 20, 30, 40]


def test_in_parallel_stays_in_process_for_few_items_or_one_cpu(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    _pidns_scan.in_parallel(lambda items: calls.append(os.getpid()) or [], [1, 2, 3])
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    _pidns_scan.in_parallel(lambda items: calls.append(os.getpid()) or [], list(range(1000)))
    assert calls == [os.getpid(), os.getpid()]
