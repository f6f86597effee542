# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _join: option checks (no root needed: they come before anything is opened)."""

from __future__ import annotations

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils import _join
from ansible_collections.linuxns.pidns.plugins.module_utils._spec import SandboxError


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), float("-inf"), -1, 0, 1e300, "soon", [1]])
def test_a_timeout_must_be_a_finite_bounded_number_of_seconds(timeout, tmp_path):
    with pytest.raises(SandboxError) as caught:
        _join.run({"sandbox": "web", "argv": ["true"], "timeout": timeout},
                  state_dir=_join.StateDir(str(tmp_path / "state")))
    assert str(caught.value).startswith("timeout: ")
    assert not (tmp_path / "state").exists()


# ---------------------------------------------------------------- the timeout kill (issue 10 item 8)

NS = 4026532001
OTHER_NS = 4026531836


def _process(root, pid, ppid, session, start_time, ns=NS, state="S"):
    folder = root / str(pid)
    (folder / "ns").mkdir(parents=True, exist_ok=True)
    rest = [state, ppid, session, session] + [0] * 15 + [start_time, 0, 0]
    (folder / "stat").write_text("%d (sl ee)p) %s\n" % (pid, " ".join(str(v) for v in rest)))
    link = folder / "ns" / "pid"
    if link.is_symlink():
        link.unlink()
    link.symlink_to("pid:[%d]" % ns)


class _View:
    def __init__(self, proc_root):
        self.state_dir = type("StateDir", (), {"proc_root": str(proc_root)})()


class _Pidfds:
    """pidfd_open / pidfd_send_signal on a fake /proc: a signalled process vanishes from it."""

    def __init__(self, root, monkeypatch, on_open=None):
        self.root, self.on_open, self.signalled, self.opened = root, on_open, [], {}
        monkeypatch.setattr(_join._syscalls, "pidfd_open", self.pidfd_open)
        monkeypatch.setattr(_join._syscalls, "pidfd_send_signal", self.pidfd_send_signal)
        monkeypatch.setattr(_join.os, "close", self.close)
        monkeypatch.setattr(_join.os, "kill", self.bare_kill)
        monkeypatch.setattr(_join.time, "sleep", lambda _seconds: None)

    def pidfd_open(self, pid):
        if not (self.root / str(pid)).exists():
            raise OSError(3, "no such process")
        if self.on_open:
            self.on_open(pid)
        fd = 1000 + len(self.opened)
        self.opened[fd] = pid
        return fd

    def pidfd_send_signal(self, fd, signum):
        pid = self.opened[fd]
        self.signalled.append((pid, signum))
        for entry in sorted((self.root / str(pid)).rglob("*"), reverse=True):
            entry.rmdir() if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        (self.root / str(pid)).rmdir()

    def close(self, fd):
        assert fd in self.opened
        del self.opened[fd]

    def bare_kill(self, pid, signum):
        raise AssertionError("os.kill(%d, %d): a bare PID was signalled" % (pid, signum))


def test_same_process_needs_the_start_time_and_the_pid_namespace(tmp_path):
    _process(tmp_path, 100, 1, 100, 5000)
    _process(tmp_path, 101, 1, 101, 5000, ns=OTHER_NS)
    _process(tmp_path, 102, 1, 102, 5000, state="Z")
    assert _join.same_process(str(tmp_path), 100, 5000, NS) is True
    assert _join.same_process(str(tmp_path), 100, 5001, NS) is False   # the PID was reused
    assert _join.same_process(str(tmp_path), 101, 5000, NS) is False   # another PID namespace
    assert _join.same_process(str(tmp_path), 102, 5000, NS) is False   # already dead
    assert _join.same_process(str(tmp_path), 103, 5000, NS) is False   # gone


def test_kill_started_signals_the_session_and_its_descendants_through_pidfds_only(tmp_path, monkeypatch):
    _process(tmp_path, 100, 1, 100, 7000)          # the command, a session leader inside
    _process(tmp_path, 101, 100, 100, 7001)        # its child
    _process(tmp_path, 102, 101, 102, 7002)        # a grandchild that moved to a session of its own
    _process(tmp_path, 103, 102, 102, 7003)        # ... and its child
    _process(tmp_path, 200, 1, 200, 7004)          # a workload of the sandbox: not ours
    _process(tmp_path, 300, 100, 100, 7005, ns=OTHER_NS)  # same numbers in another namespace
    fds = _Pidfds(tmp_path, monkeypatch)
    _join.kill_started(_View(tmp_path), {"namespaces": {"pid": NS}}, 100)
    assert sorted(fds.signalled) == [(pid, 9) for pid in (100, 101, 102, 103)]
    assert fds.opened == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["200", "300"]


def test_kill_started_spares_a_pid_reused_between_the_scan_and_the_pidfd(tmp_path, monkeypatch):
    _process(tmp_path, 100, 1, 100, 7000)
    _process(tmp_path, 101, 100, 100, 7001)

    def reuse(pid):
        if pid == 101:  # 101 exited and a process of another session got its number
            _process(tmp_path, 101, 1, 101, 9999)
    fds = _Pidfds(tmp_path, monkeypatch, on_open=reuse)
    _join.kill_started(_View(tmp_path), {"namespaces": {"pid": NS}}, 100)
    assert fds.signalled == [(100, 9)]
    assert fds.opened == {}
    assert (tmp_path / "101").exists()


# ---------------------------------------------------------------- bounded output (issue 10 item 7)

def _captured(limit, *chunks):
    capture = _join.CappedOutput(limit)
    for chunk in chunks:
        capture.add(chunk)
    return capture


def test_output_up_to_the_limit_is_kept_whole():
    capture = _captured(10, b"01234", b"", b"56789")
    assert capture.value() == b"0123456789" and capture.truncated is False and capture.seen == 10


def test_output_beyond_the_limit_keeps_head_and_tail_and_says_how_much_is_left_out():
    chunks = [bytes([65 + i % 26]) * 1000 for i in range(1000)]
    capture = _captured(100, *chunks)
    data = b"".join(chunks)
    assert capture.truncated is True and capture.seen == len(data)
    assert capture.value() == data[:50] + b"\n[... 999900 bytes left out (output_limit) ...]\n" + data[-50:]
    assert len(capture.tail) <= 2 * 50 + _join._READ_SIZE


def test_an_odd_or_zero_limit():
    assert _captured(3, b"abcdef").value() == b"ab\n[... 3 bytes left out (output_limit) ...]\nf"
    assert _captured(0, b"abc").value() == b"\n[... 3 bytes left out (output_limit) ...]\n"
    assert _captured(0).value() == b"" and _captured(0).truncated is False


@pytest.mark.parametrize("limit", [-1, 2 ** 40, 1.5, "1M", True])
def test_output_limit_must_be_a_bounded_number_of_bytes(limit, tmp_path):
    with pytest.raises(SandboxError) as caught:
        _join.run({"sandbox": "web", "argv": ["true"], "output_limit": limit},
                  state_dir=_join.StateDir(str(tmp_path / "state")))
    assert str(caught.value).startswith("output_limit: ")
