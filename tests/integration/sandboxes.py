# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for integration tests that make real sandboxes: unique names, and cleanup by name."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import psutil

STATE_DIR = Path("/run/linuxns-pidns")


def unique(prefix: str) -> str:
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def state_of(name: str) -> dict | None:
    try:
        return json.loads((STATE_DIR / name / "state.json").read_text())
    except FileNotFoundError:
        return None


def mounts_under(path: Path) -> list:
    prefix = str(path) + "/"
    with open("/proc/self/mountinfo") as handle:
        return [line.split()[4] for line in handle if line.split()[4].startswith(prefix)]


def pid_ns_of(pid: int) -> int | None:
    try:
        return os.stat("/proc/%d/ns/pid" % pid).st_ino
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def processes_in_ns(ns_inode: int) -> list:
    """psutil processes whose PID namespace is ns_inode (the independent oracle)."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        if pid_ns_of(proc.pid) == ns_inode:
            found.append(proc)
    return found


def exited(pid: int) -> bool:
    """Gone, or a zombie waiting for its parent to reap it. A top-level supervisor's parent is the
    host's PID 1, which on some hosts (this VM's agent among them) reaps only every few seconds."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def live_processes_in_ns(ns_inode: int) -> list:
    """Processes of a PID namespace that have not exited (zombies excluded)."""
    alive = []
    for proc in processes_in_ns(ns_inode):
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    return alive


def wait_for(predicate, timeout: float, interval: float = 0.05):
    """Poll until predicate() is truthy or timeout passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def nsenter(name: str, *argv: str, types=("pid", "mnt"), **kwargs) -> subprocess.CompletedProcess:
    """Run argv inside a sandbox with util-linux nsenter and its handles (independent of our code)."""
    options = ["--%s=%s" % ({"mnt": "mount"}.get(t, t), STATE_DIR / name / "ns" / t) for t in types]
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    kwargs.setdefault("timeout", 60)
    check = kwargs.pop("check", False)
    return subprocess.run(["nsenter", *options, "--", *argv], check=check, **kwargs)


def force_remove(name: str) -> None:
    """Last-resort cleanup of one sandbox by name, not through the code under test:
    SIGKILL its supervisor (by PID, after checking its start time), unmount, delete."""
    state = state_of(name)
    if state is not None:
        pid, start = state["supervisor"]["pid"], state["supervisor"]["start_time"]
        try:
            with open("/proc/%d/stat" % pid) as handle:
                fields = handle.read().rpartition(")")[2].split()
            if int(fields[19]) == start:
                os.kill(pid, signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError):
            pass
    folder = STATE_DIR / name
    for point in reversed(mounts_under(folder)):
        subprocess.run(["umount", "-l", point], check=False)
    if folder.exists():
        subprocess.run(["rm", "-rf", "--one-file-system", str(folder)], check=False)
