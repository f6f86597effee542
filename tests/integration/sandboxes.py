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
CGROUP_TREE = "linuxns-pidns"


def make_sandbox(name: str, **options) -> dict:
    """Create (or, with state=absent, remove) a sandbox in this process through the sandbox module's
    own code (_sandbox.run: the same kernel work, without an ansible run), for tests whose subject is
    something else: a few tens of ms instead of a second and a half of CPU. Returns the module result."""
    from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
    from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _sandbox
    try:
        result = _sandbox.run(dict(options, name=name))
    except SandboxError as exc:
        return {"failed": True, "msg": str(exc)}
    result.setdefault("failed", False)
    return result


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


BOOT_DIR = Path("/var/lib/linuxns-pidns/.boot")


def force_remove(name: str, keep_boot_record: bool = False) -> None:
    """Last-resort cleanup of one sandbox by name, not through the code under test:
    SIGKILL its supervisor (by PID, after checking its start time), kill what is left in its cgroups
    and remove them, unmount, delete; and its restart_on_boot record unless keep_boot_record (what a
    reboot does to a sandbox: its processes, cgroups, handles and /run folder gone, the record kept)."""
    if not keep_boot_record:
        (BOOT_DIR / ("%s.json" % name)).unlink(missing_ok=True)
    state = state_of_any(name)
    if state is not None and isinstance(state.get("supervisor"), dict):
        pid, start = state["supervisor"].get("pid"), state["supervisor"].get("start_time")
        try:
            with open("/proc/%d/stat" % pid) as handle:
                fields = handle.read().rpartition(")")[2].split()
            if int(fields[19]) == start:
                os.kill(pid, signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError, TypeError):
            pass
    remove_cgroups(name, state)
    folder = STATE_DIR / name
    for point in reversed(mounts_under(folder)):
        subprocess.run(["umount", "-l", point], check=False)
    if folder.exists():
        subprocess.run(["rm", "-rf", "--one-file-system", str(folder)], check=False)


def state_of_any(name: str) -> dict | None:
    """state.json of a sandbox, or None when it is missing, truncated or not JSON."""
    try:
        state = state_of(name)
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def cgroup_mounts() -> list:
    """Mount points of every cgroup hierarchy (v2 and v1) from /proc/self/mountinfo, each once."""
    found = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            if " - " not in line:
                continue
            fstype = line.split(" - ", 1)[1].split()[0]
            if fstype not in ("cgroup", "cgroup2"):
                continue
            point = fields[4].encode().decode("unicode_escape")  # \040 and friends
            real = os.path.realpath(point)
            if real not in found:
                found.append(real)
    return found


def cgroup_dirs(name: str, state: dict | None = None) -> list:
    """The sandbox's cgroup directory in every hierarchy: the recorded cgroup.paths of its state.json
    when it has them, else every directory called `name` below <mount>/linuxns-pidns (a nested
    sandbox's is below its parent's)."""
    recorded = ((state or {}).get("cgroup") or {}).get("paths") if isinstance(state, dict) else None
    if isinstance(recorded, dict) and recorded:
        # Only a sandbox's own directory (below linuxns-pidns/ or a linuxns-pidns systemd slice or
        # scope; never a hierarchy's root or a shared parent), whatever the file says.
        return [Path(path) for path in recorded.values()
                if isinstance(path, str) and os.path.isdir(path) and os.path.basename(path) == name
                and any(part.startswith(CGROUP_TREE) for part in Path(path).parent.parts)]
    found = []
    for mount in cgroup_mounts():
        top = Path(mount) / CGROUP_TREE
        if not top.is_dir():
            continue
        for directory, subdirs, _files in os.walk(top):
            if directory != str(top) and os.path.basename(directory) == name:
                found.append(Path(directory))
                subdirs[:] = []
    return found


def _populated(directory: Path) -> bool:
    try:
        return "populated 1" in (directory / "cgroup.events").read_text()
    except OSError:
        return False


def _pids_below(directory: Path) -> set:
    pids = set()
    for sub, _dirs, _files in os.walk(directory):
        try:
            pids.update(int(line) for line in (Path(sub) / "cgroup.procs").read_text().split())
        except (OSError, ValueError):
            pass
    return pids


def remove_cgroups(name: str, state: dict | None = None) -> None:
    """Kill everything in the sandbox's cgroups and remove them, deepest directory first: v2
    cgroup.kill where the hierarchy has it, else SIGKILL each PID its cgroup.procs lists (by PID,
    from the cgroup itself, never by pattern)."""
    directories = cgroup_dirs(name, state)
    for directory in directories:
        if (directory / "cgroup.kill").exists():
            try:
                (directory / "cgroup.kill").write_text("1")
            except OSError:
                pass
    for directory in directories:
        # A frozen process dies only once thawed (the v1 freezer; v2 cgroup.kill kills frozen ones).
        for sub, _dirs, _files in os.walk(directory):
            for knob, value in (("freezer.state", "THAWED"), ("cgroup.freeze", "0")):
                try:
                    (Path(sub) / knob).write_text(value)
                except OSError:
                    pass
    for directory in directories:
        if (directory / "cgroup.kill").exists():
            wait_for(lambda directory=directory: not _populated(directory), 10)
    for directory in directories:
        def emptied(directory=directory):
            for pid in _pids_below(directory):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return not _pids_below(directory)
        wait_for(emptied, 10, 0.1)
    for directory in directories:
        def removed(directory=directory):
            for sub, _dirs, _files in sorted(os.walk(directory), key=lambda entry: -entry[0].count("/")):
                try:
                    os.rmdir(sub)
                except FileNotFoundError:
                    pass
                except OSError:
                    return False
            return True
        wait_for(removed, 5, 0.1)
