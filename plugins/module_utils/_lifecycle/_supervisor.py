# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PID 1 of a linuxns.pidns sandbox.

This file is a program, not a library: the sandbox module writes its source into the
state directory and runs it in a fresh interpreter as ``python -I -S - SANDBOX STOP_TIMEOUT``
with the source on stdin, so it carries none of the module's memory and works even
where the state directory is not visible (it is detached inside every sandbox).
Standard library only; it must stay importable on Python 3.8.

Inherited: fd 1/2 a log file, fd 3 a socket on which it says "ready" once its
signals are in place (the module reads the supervisor's host PID from the
socket's credentials); with a third argument "enter-root", fd 4 is the sandbox's own
root filesystem, which it chroots into before saying ready.

Duties of PID 1 in a PID namespace:
- reap every zombie: orphans of the namespace are reparented to it;
- handle signals: the kernel drops signals to a namespace's PID 1 that has no
  handler, so SIGTERM/SIGINT/SIGQUIT are taken with sigwaitinfo();
- on those, stop the namespace: SIGTERM to every process, a grace period, then
  SIGKILL, and exit (the kernel refuses new processes once PID 1 is gone).
  Only a signal from outside the sandbox stops it (the module, the host, a parent sandbox:
  such signals arrive with si_pid 0, since the sender has no PID in this namespace). The
  sandbox's life belongs to whoever manages it from outside; a process inside that signals
  PID 1 (root inside running `kill 1`, an init script's shutdown) is logged and ignored.
Idle, it sleeps in sigwaitinfo(): no polling, no CPU.

It runs in every sandbox, so it keeps its memory small: _signal instead of signal,
and once ready it drops its clean file-backed pages (see drop_file_pages).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys
import time

try:
    # The public signal module only wraps _signal in enums, and importing enum pulls in
    # functools, collections and a dozen more modules: ~0.8 MB kept alive in every sandbox.
    import _signal as signal
except ImportError:  # not CPython
    import signal

READY_FD = 3
# With the argument "enter-root": fd 4 is the sandbox's own root (see _rootfs.enter).
ROOT_FD = 4
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
HANDLED = set(STOP_SIGNALS) | {signal.SIGCHLD, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2}
# While stopping, how often to look whether the namespace is empty yet.
STOP_POLL = 0.05
MADV_DONTNEED = 4


def log(message):
    """Best effort: a full disk or a closed log must never end PID 1 (the kernel would kill every
    process of the sandbox at once, with no graceful stop)."""
    try:
        sys.stderr.write("%s supervisor[%d]: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), os.getpid(), message))
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def reap():
    """Collect every child that has exited; return how many."""
    count = 0
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return count
        if pid == 0:
            return count
        count += 1


def others_alive():
    """Whether any other process is left in the namespace: kill(-1, 0) from PID 1 reaches them all."""
    try:
        os.kill(-1, 0)
    except ProcessLookupError:
        return False
    return True


def signal_all(signum):
    try:
        os.kill(-1, signum)
    except ProcessLookupError:
        pass


def stop(stop_timeout):
    """SIGTERM everything, wait up to stop_timeout seconds, then SIGKILL what is left."""
    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + stop_timeout
    while True:
        reap()
        if not others_alive():
            log("all processes ended after SIGTERM")
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        signal.sigtimedwait({signal.SIGCHLD}, min(STOP_POLL, remaining))
    log("grace period of %ss over: SIGKILL to what is left" % stop_timeout)
    signal_all(signal.SIGKILL)
    # SIGKILL cannot be refused; the kernel also kills the rest when PID 1 exits.
    for _attempt in range(100):
        reap()
        if not others_alive():
            return
        signal.sigtimedwait({signal.SIGCHLD}, STOP_POLL)


def set_comm(name):
    """Name the process so `ps -e` on the host shows which sandbox it belongs to."""
    try:
        with open("/proc/self/comm", "w") as handle:
            handle.write(("pidns:" + name)[:15])
    except (IOError, OSError):
        pass


def drop_file_pages():
    """Best effort: unmap this process's clean pages of read-only file mappings (libpython, libc).

    Those pages are identical to the file: the kernel may drop them at any time and fault
    them back in on use, so this changes no behaviour, only what an idle supervisor holds
    (VmRSS about 9.6 -> 6 MB with CPython 3.11; the pages stay in the page cache while
    other processes use them). Mappings with copied-on-write pages (Anonymous > 0, such as
    relocated data) and writable ones are left alone: MADV_DONTNEED would lose their changes.
    """
    try:
        import ctypes
        madvise = ctypes.CDLL(None, use_errno=True).madvise
        madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        ranges, current = [], None
        with open("/proc/self/smaps") as handle:
            for line in handle:
                fields = line.split()
                if not fields:
                    continue
                if not fields[0].endswith(":"):
                    # A mapping: start-end perms offset dev inode [path]
                    current = None
                    if len(fields) >= 6 and fields[5].startswith("/") and fields[1] in ("r--p", "r-xp"):
                        start, end = (int(value, 16) for value in fields[0].split("-"))
                        current = [start, end - start, False]
                        ranges.append(current)
                elif current is not None and fields[0] == "Anonymous:" and fields[1] != "0":
                    current[2] = True
        for start, length, copied in ranges:
            if not copied:
                madvise(start, length, MADV_DONTNEED)
    except Exception:  # pylint: disable=broad-except
        pass


def announce_ready():
    try:
        os.write(READY_FD, b"ready")
    finally:
        os.close(READY_FD)


def main(argv):
    if os.getpid() != 1:
        # kill(-1, ...) is how PID 1 stops its namespace; anywhere else it would hit every
        # process the caller may signal, the whole host for root.
        sys.stderr.write("the sandbox supervisor must run as PID 1 of a new PID namespace\n")
        return 2
    name, stop_timeout = argv[1], float(argv[2])
    if argv[3:4] == ["enter-root"]:
        # PID 1 execed this interpreter from the module's root (a prepared tree may have no Python);
        # into the sandbox's own root now, before "ready": no other process can see the old one.
        os.fchdir(ROOT_FD)
        os.chroot(".")
        os.chdir("/")
        os.close(ROOT_FD)
    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    # stdin was this program's source.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    set_comm(name)
    log("sandbox %s: supervisor up as PID %d" % (name, os.getpid()))
    announce_ready()
    drop_file_pages()
    while True:
        info = signal.sigwaitinfo(HANDLED)
        if info.si_signo == signal.SIGCHLD:
            reap()
        elif info.si_signo in STOP_SIGNALS and info.si_pid != 0:
            log("signal %d from PID %d inside the sandbox: ignored (stop it from outside, "
                "with state=absent)" % (info.si_signo, info.si_pid))
        elif info.si_signo in STOP_SIGNALS:
            log("signal %d from outside the sandbox: stopping it" % info.si_signo)
            stop(stop_timeout)
            log("stopped")
            return 0


if __name__ == "__main__":
    # os._exit: nothing is left to clean up, and the interpreter's own last flush of a log on a
    # full disk would turn a clean stop into exit status 120.
    os._exit(main(sys.argv))
