# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Process identity: a PID found in /proc is signalled or waited for only as the process found (start
time and PID namespace, pinned by a pidfd), never one that reused its number."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import select
import signal
import time

from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _procfs
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _syscalls


def pids_in(proc_root, namespaces):
    """One pass over /proc: (pid, pid-namespace inode) of every process in one of `namespaces`.

    A process whose namespace cannot be read (this VM's init, even for root) is in none of ours."""
    for pid in _procfs.proc_pids(proc_root):
        try:
            ns = _procfs.ns_link_inode(proc_root, pid, "pid")
        except OSError:
            continue
        if ns in namespaces:
            yield pid, ns


def same_process(proc_root, pid, start_time, ns):
    """Whether host PID `pid` is still the live process that started at `start_time` (clock ticks
    after boot, /proc/PID/stat) in the PID namespace of inode `ns`."""
    stat = _procfs.read_stat(proc_root, pid)
    if stat is None or stat["state"] in ("Z", "X") or stat["start_time"] != start_time:
        return False
    try:
        return _procfs.ns_link_inode(proc_root, pid, "pid") == ns
    except OSError:
        return False


def signal_if(pid, signum, still_it):
    """Signal `pid` only if, once pinned by a pidfd, `still_it()` holds (a reused PID fails it).
    Returns whether it was signalled."""
    try:
        pidfd = _syscalls.pidfd_open(pid)
    except OSError:
        return False
    try:
        if not still_it():
            return False
        _syscalls.pidfd_send_signal(pidfd, signum)
        return True
    except OSError:
        return False
    finally:
        os.close(pidfd)


def signal_verified(proc_root, pid, start_time, ns, signum):
    """signal_if the process is still the one that started at `start_time` in PID namespace `ns`."""
    return signal_if(pid, signum, lambda: same_process(proc_root, pid, start_time, ns))


def session_and_descendants(proc_root, ns, session_pid):
    """{host PID: start time} of the live members of session `session_pid` in PID namespace `ns`,
    and of their descendants there, from one /proc scan."""
    inside = {}
    for pid, _ns in pids_in(proc_root, (ns,)):
        stat = _procfs.read_stat(proc_root, pid)
        if stat is not None and stat["state"] not in ("Z", "X"):
            inside[pid] = stat
    doomed = set(pid for pid, stat in inside.items() if stat["session"] == session_pid)
    grew = True
    while grew:
        grew = False
        for pid, stat in inside.items():
            if stat["ppid"] in doomed and pid not in doomed:
                doomed.add(pid)
                grew = True
    return dict((pid, inside[pid]["start_time"]) for pid in doomed)


def kill_session(proc_root, ns, session_pid):
    """SIGKILL session `session_pid` in `ns` and its descendants, each verified; rescans until none
    is left (a dying process may fork once more)."""
    for _attempt in range(50):
        doomed = session_and_descendants(proc_root, ns, session_pid)
        if not doomed:
            return
        for pid, start_time in doomed.items():
            signal_verified(proc_root, pid, start_time, ns, signal.SIGKILL)
        time.sleep(0.02)


def own_child_pidfd(pid):
    """A pidfd of a child of ours that is not reaped yet (so `pid` is still it), or None where
    pidfds are not available."""
    try:
        return _syscalls.pidfd_open(pid)
    except OSError:
        return None


def signal_own_child(pid, pidfd, signum):
    """Signal an unreaped child of ours: through its pidfd, or by number where there is none (an
    unreaped child's number cannot be reused)."""
    try:
        if pidfd is not None:
            _syscalls.pidfd_send_signal(pidfd, signum)
        else:
            os.kill(pid, signum)
    except OSError:
        pass


def wait_exit(pidfd, timeout):
    """Whether the process of `pidfd` has exited, waiting up to `timeout` seconds for it."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(max(timeout, 0) * 1000))


def set_oom_score_adj(value, proc_root="/proc"):
    """Set the caller's oom_score_adj (lowering it needs CAP_SYS_RESOURCE); children inherit it."""
    fd = os.open(os.path.join(proc_root, "self", "oom_score_adj"), os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, str(value).encode("ascii"))
    finally:
        os.close(fd)
