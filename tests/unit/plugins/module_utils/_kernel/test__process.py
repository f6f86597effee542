# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _process: process identity on a fake /proc, pidfds faked."""

from __future__ import annotations

from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _process


# ---------------------------------------------------------------- the timeout kill of sandbox_exec (issue 10 item 8)

NS = 4026532001
OTHER_NS = 4026531836


def _fake_process(root, pid, ppid, session, start_time, ns=NS, state="S"):
    folder = root / str(pid)
    (folder / "ns").mkdir(parents=True, exist_ok=True)
    rest = [state, ppid, session, session] + [0] * 15 + [start_time, 0, 0]
    (folder / "stat").write_text("%d (sl ee)p) %s\n" % (pid, " ".join(str(v) for v in rest)))
    link = folder / "ns" / "pid"
    if link.is_symlink():
        link.unlink()
    link.symlink_to("pid:[%d]" % ns)


class _Pidfds:
    """pidfd_open / pidfd_send_signal on a fake /proc: a signalled process vanishes from it."""

    def __init__(self, root, monkeypatch, on_open=None):
        self.root, self.on_open, self.signalled, self.opened = root, on_open, [], {}
        monkeypatch.setattr(_process._syscalls, "pidfd_open", self.pidfd_open)
        monkeypatch.setattr(_process._syscalls, "pidfd_send_signal", self.pidfd_send_signal)
        monkeypatch.setattr(_process.os, "close", self.close)
        monkeypatch.setattr(_process.os, "kill", self.bare_kill)
        monkeypatch.setattr(_process.time, "sleep", lambda _seconds: None)

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
    _fake_process(tmp_path, 100, 1, 100, 5000)
    _fake_process(tmp_path, 101, 1, 101, 5000, ns=OTHER_NS)
    _fake_process(tmp_path, 102, 1, 102, 5000, state="Z")
    assert _process.same_process(str(tmp_path), 100, 5000, NS) is True
    assert _process.same_process(str(tmp_path), 100, 5001, NS) is False   # the PID was reused
    assert _process.same_process(str(tmp_path), 101, 5000, NS) is False   # another PID namespace
    assert _process.same_process(str(tmp_path), 102, 5000, NS) is False   # already dead
    assert _process.same_process(str(tmp_path), 103, 5000, NS) is False   # gone


def test_kill_session_signals_the_session_and_its_descendants_through_pidfds_only(tmp_path, monkeypatch):
    _fake_process(tmp_path, 100, 1, 100, 7000)          # the command, a session leader inside
    _fake_process(tmp_path, 101, 100, 100, 7001)        # its child
    _fake_process(tmp_path, 102, 101, 102, 7002)        # a grandchild that moved to a session of its own
    _fake_process(tmp_path, 103, 102, 102, 7003)        # ... and its child
    _fake_process(tmp_path, 200, 1, 200, 7004)          # a workload of the sandbox: not ours
    _fake_process(tmp_path, 300, 100, 100, 7005, ns=OTHER_NS)  # same numbers in another namespace
    fds = _Pidfds(tmp_path, monkeypatch)
    _process.kill_session(str(tmp_path), NS, 100)
    assert sorted(fds.signalled) == [(pid, 9) for pid in (100, 101, 102, 103)]
    assert fds.opened == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["200", "300"]


def test_kill_session_spares_a_pid_reused_between_the_scan_and_the_pidfd(tmp_path, monkeypatch):
    _fake_process(tmp_path, 100, 1, 100, 7000)
    _fake_process(tmp_path, 101, 100, 100, 7001)

    def reuse(pid):
        if pid == 101:  # 101 exited and a process of another session got its number
            _fake_process(tmp_path, 101, 1, 101, 9999)
    fds = _Pidfds(tmp_path, monkeypatch, on_open=reuse)
    _process.kill_session(str(tmp_path), NS, 100)
    assert fds.signalled == [(100, 9)]
    assert fds.opened == {}
    assert (tmp_path / "101").exists()
