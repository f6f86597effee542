# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Stopping a sandbox and removing what pins it: the supervisor, then the handles and the folder."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import shutil
import signal
import time

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _procfs
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _syscalls
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel._process import pids_in, same_process, wait_exit
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._records import find_init, inspect_sandbox
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import DEFAULT_STOP_TIMEOUT
from ansible_collections.linuxns.pidns.plugins.module_utils._network import _host as _network

# Extra time, beyond stop_timeout, for the supervisor to finish before it gets SIGKILL.
STOP_MARGIN = 5.0


def stop_supervisor(state_dir, supervisor, stop_timeout, pid_ns):
    """SIGTERM the supervisor (it stops its namespace), SIGKILL it if it overstays.

    Pidfd first, identity check after, so a recycled PID is never signalled. Once it exits its whole
    namespace is dead (killed before PID 1 becomes a zombie); its parent reaps it.
    """
    try:
        pidfd = _syscalls.pidfd_open(supervisor["pid"])
    except OSError as exc:
        if exc.errno == errno.ESRCH:
            return
        raise
    try:
        if not same_process(state_dir.proc_root, supervisor["pid"], supervisor["start_time"], pid_ns):
            return
        _syscalls.pidfd_send_signal(pidfd, signal.SIGTERM if stop_timeout > 0 else signal.SIGKILL)
        if not wait_exit(pidfd, stop_timeout + STOP_MARGIN):
            _syscalls.pidfd_send_signal(pidfd, signal.SIGKILL)
            wait_exit(pidfd, STOP_MARGIN)
    except OSError as exc:
        if exc.errno not in (errno.ESRCH, errno.ENOENT):
            raise
    finally:
        os.close(pidfd)


def stop_others(proc_root, supervisor, stop_timeout, pid_ns):
    """For a PID 1 that stops nothing itself (catatonit): SIGTERM every other process of its namespace
    (one pass over /proc, each pinned by a pidfd) and give them stop_timeout to end; what is left, or
    started meanwhile, dies with PID 1."""
    pidfds = []
    try:
        for pid, _ns in pids_in(proc_root, {pid_ns}):
            stat = _procfs.read_stat(proc_root, pid) if pid != supervisor["pid"] else None
            if stat is None or stat["state"] in ("Z", "X"):
                continue
            try:
                pidfd = _syscalls.pidfd_open(pid)
            except OSError:
                continue
            pidfds.append(pidfd)
            if same_process(proc_root, pid, stat["start_time"], pid_ns):
                try:
                    _syscalls.pidfd_send_signal(pidfd, signal.SIGTERM)
                except OSError:
                    pass
        deadline = time.monotonic() + stop_timeout
        for pidfd in pidfds:
            wait_exit(pidfd, max(0.0, deadline - time.monotonic()))
    finally:
        for pidfd in pidfds:
            os.close(pidfd)


def remove_folder(state_dir, name):
    """Unmount every handle under the sandbox's folder, then delete it."""
    folder = state_dir.path(name)
    prefix = folder + os.sep
    for _attempt in range(8):
        mounted = [m["mount_point"] for m in _procfs.read_mountinfo(state_dir.proc_root)
                   if m["mount_point"].startswith(prefix)]
        if not mounted:
            break
        for point in reversed(mounted):
            try:
                _syscalls.umount2(point, _syscalls.MNT_DETACH | _syscalls.UMOUNT_NOFOLLOW)
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.ENOENT):
                    raise
    if os.path.isdir(folder):
        shutil.rmtree(folder)


def destroy(view, record):
    """Stop a sandbox's supervisor (its processes die with it), kill whatever is left in its cgroup,
    and remove its cgroup, handles and folder."""
    state = record.get("_state")
    cgroup = record.get("_cgroup")
    if cgroup is not None and cgroup.frozen():
        cgroup.freeze(False)  # a frozen supervisor could not take its SIGTERM
    # A broken sandbox (handles unmounted by hand, say) may still have a supervisor running.
    if state is not None and state["boot_id"] == view.boot_id:
        if state["spec"].get("init", "supervisor") != "supervisor" and \
                same_process(view.state_dir.proc_root, state["supervisor"]["pid"], state["supervisor"]["start_time"],
                             state["namespaces"]["pid"]):
            stop_others(view.state_dir.proc_root, state["supervisor"], state["spec"]["stop_timeout"],
                        state["namespaces"]["pid"])
        stop_supervisor(view.state_dir, state["supervisor"], state["spec"]["stop_timeout"],
                        state["namespaces"]["pid"])
    elif state is None and "pid" in record["namespaces"]:
        # State file lost, but the handle names the PID namespace: stop its PID 1 (default grace period).
        pid_ns = record["namespaces"]["pid"]
        init = find_init(view.state_dir.proc_root, pid_ns)
        if init is not None:
            stop_supervisor(view.state_dir, {"pid": init[0], "start_time": init[1]}, DEFAULT_STOP_TIMEOUT, pid_ns)
    if cgroup is not None:
        # Whatever escaped the PID namespace's end (nothing should) or ran with no supervisor left.
        if not cgroup.kill():
            raise SandboxError("sandbox %s: processes in its cgroup %s did not die" % (record["name"], cgroup.relative))
        cgroup.remove()
    remove_folder(view.state_dir, record["name"])
    # Its veth, and the bridge, rules and forwarding it alone used.
    _network.after_removal(view.state_dir, state)


def destroy_all(view, names):
    """destroy() each of `names` still there, in the order given (nested sandboxes first)."""
    for name in names:
        record = inspect_sandbox(view, name)
        if record is not None:
            destroy(view, record)
