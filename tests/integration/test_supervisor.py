# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The supervisor (PID 1 of every sandbox) as a real process: what it holds, who may stop it, and that
nothing but a stop from outside ends it."""

from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys

import psutil

from ansible_cli import run_module, run_module_main
from sandboxes import STATE_DIR, exited, wait_for

from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _supervisor


def test_the_supervisor_keeps_none_of_the_module_environment(names):
    name = names("env")
    made = run_module("sandbox", {"name": name}, env={"PIDNS_TEST_SECRET": "hunter2", "SUDO_USER": "someone"})
    assert not made["failed"], made
    with open("/proc/%d/environ" % made["sandbox"]["supervisor"]["pid"], "rb") as handle:
        environ = dict(item.split(b"=", 1) for item in handle.read().split(b"\0") if item)
    assert b"PIDNS_TEST_SECRET" not in environ and b"SUDO_USER" not in environ
    assert set(environ) <= {b"PATH", b"LC_ALL"}, environ


def test_a_process_inside_cannot_stop_the_sandbox_by_signalling_pid_1(names):
    name = names("sig")
    made = run_module_main("sandbox", {"name": name})
    pid = made["sandbox"]["supervisor"]["pid"]
    for signum in ("TERM", "INT", "QUIT"):
        killed = run_module_main("sandbox_exec", {"sandbox": name, "argv": ["kill", "-%s" % signum, "1"]})
        assert killed["rc"] == 0, killed
    # The supervisor is not stopping: after a SIGTERM it would be gone within moments.
    assert not wait_for(lambda: exited(pid), 2)
    info = run_module_main("sandbox_info", {"name": name})
    assert info["sandboxes"][0]["alive"] is True
    log = (STATE_DIR / name / "supervisor.log").read_text()
    assert "inside the sandbox: ignored" in log
    # From outside (the host) it stops, as state=absent does.
    os.kill(pid, signal.SIGTERM)
    assert wait_for(lambda: exited(pid), 20)
    assert "from outside the sandbox: stopping it" in (STATE_DIR / name / "supervisor.log").read_text()


def test_a_full_disk_under_the_log_does_not_end_pid_1_before_a_graceful_stop(tmp_path):
    """The supervisor with its log on /dev/full (every write fails with ENOSPC), as PID 1 of a
    fresh PID namespace made by util-linux unshare: it must still stop its namespace gracefully."""
    script = tmp_path / "supervisor.py"
    script.write_text(inspect.getsource(_supervisor))
    marker = tmp_path / "child-got-term"
    child = "trap 'echo term > %s; exit 0' TERM; while :; do sleep 0.1; done" % marker
    # PID 1 runs the supervisor; fd 3 is its ready pipe. The child is started by the shell that
    # becomes PID 1, before it execs the supervisor, so the child is in the namespace.
    ready_read, ready_write = os.pipe()
    launcher = ("sh -c %s & exec %s -I -S %s full-disk 5 </dev/null 2>/dev/full >/dev/full 3>&%d"
                % (_quote(child), sys.executable, script, ready_write))
    # bash, not sh: dash takes only one-digit fds in `3>&N`.
    proc = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "bash", "-c", launcher],
                            pass_fds=(ready_write,), stdin=subprocess.DEVNULL)
    os.close(ready_write)
    try:
        assert os.read(ready_read, 16) == b"ready"
        supervisor = [p for p in psutil.Process(proc.pid).children(recursive=True) if p.name().startswith("pidns:")]
        assert len(supervisor) == 1
        supervisor[0].send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert marker.read_text().strip() == "term", "the child got no SIGTERM: PID 1 died on its log"
    finally:
        os.close(ready_read)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _quote(text):
    return "'" + text.replace("'", "'\\''") + "'"
