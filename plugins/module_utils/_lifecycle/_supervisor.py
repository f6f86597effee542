# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PID 1 of a linuxns.pidns sandbox.

A program, not a library: run as ``python -I -S - SANDBOX STOP_TIMEOUT`` with its source on stdin,
so it carries none of the module's memory and needs no state directory (detached inside sandboxes).
Standard library only; importable on Python 3.8.

Inherited: fd 1/2 a log, fd 3 a socket to say "ready" on once signals are set (its credentials give
the module the host PID); with "enter-root", fd 4 is the sandbox's root, chrooted into before ready.

Duties of a namespace's PID 1: reap orphans; take SIGTERM/SIGINT/SIGQUIT with sigwaitinfo() (the
kernel drops signals PID 1 has no handler for); on one from outside (si_pid 0: the sender has no PID
here) SIGTERM everything, wait the grace period, SIGKILL, exit. Signals from inside (`kill 1`, an
init script's shutdown) are logged and ignored: the sandbox's life is its manager's. Idle, no CPU.

It runs in every sandbox, so it stays small: _signal, not signal, and drop_file_pages once ready.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys
import time

try:
    # signal only adds enums; enum pulls in a dozen modules, ~0.8 MB in every sandbox.
    import _signal as signal
except ImportError:  # not CPython
    import signal

READY_FD = 3
# With "enter-root" (see _rootfs.enter).
ROOT_FD = 4
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
HANDLED = set(STOP_SIGNALS) | {signal.SIGCHLD, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2}
STOP_POLL = 0.05
MADV_DONTNEED = 4
# The log is a host file: what happens inside must not grow it without bound.
LOG_LIMIT = 256 * 1024
IGNORED_EVERY = 10.0
_logged = [0]


def log(message, always=False):
    """Best effort: a full disk or closed log must never end PID 1 (the kernel would kill the sandbox at once).
    Past LOG_LIMIT bytes only `always` lines (start and stop) are written."""
    line = "%s supervisor[%d]: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), os.getpid(), message)
    if not always and _logged[0] + len(line) > LOG_LIMIT:
        return
    _logged[0] += len(line)
    try:
        sys.stderr.write(line)
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
    """Whether any other process is left: kill(-1, 0) from PID 1 reaches them all."""
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
            log("all processes ended after SIGTERM", always=True)
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        signal.sigtimedwait({signal.SIGCHLD}, min(STOP_POLL, remaining))
    log("grace period of %ss over: SIGKILL to what is left" % stop_timeout, always=True)
    signal_all(signal.SIGKILL)
    # The kernel also kills the rest when PID 1 exits.
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
    """Best effort: unmap clean pages of read-only file mappings (libpython, libc).

    The kernel refaults them from the file on use, so only idle VmRSS changes (about 9.6 -> 6 MB on
    CPython 3.11). Copied-on-write (Anonymous > 0) and writable mappings are skipped: MADV_DONTNEED
    would lose their changes.
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
        # kill(-1, ...) elsewhere would hit every process the caller may signal: the whole host for root.
        sys.stderr.write("the sandbox supervisor must run as PID 1 of a new PID namespace\n")
        return 2
    name, stop_timeout = argv[1], float(argv[2])
    if argv[3:4] == ["enter-root"]:
        # Execed from the module's root (a prepared tree may lack Python): into the sandbox's root before
        # "ready", while no other process can see the old one.
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
    log("sandbox %s: supervisor up as PID %d" % (name, os.getpid()), always=True)
    announce_ready()
    drop_file_pages()
    unlogged, quiet_until = 0, 0.0
    while True:
        info = signal.sigwaitinfo(HANDLED)
        if info.si_signo == signal.SIGCHLD:
            reap()
        elif info.si_signo in STOP_SIGNALS and info.si_pid != 0:
            # One line per IGNORED_EVERY seconds: a `kill 1` loop inside would fill the host's disk.
            now = time.monotonic()
            if now < quiet_until:
                unlogged += 1
                continue
            log("signal %d from PID %d inside the sandbox: ignored (stop it from outside, with state=absent)%s"
                % (info.si_signo, info.si_pid, "; %d more since the last such line" % unlogged if unlogged else ""))
            unlogged, quiet_until = 0, now + IGNORED_EVERY
        elif info.si_signo in STOP_SIGNALS:
            log("signal %d from outside the sandbox: stopping it" % info.si_signo, always=True)
            stop(stop_timeout)
            log("stopped", always=True)
            return 0


if __name__ == "__main__":
    # os._exit: the interpreter's last flush of a log on a full disk would turn a clean stop into status 120.
    os._exit(main(sys.argv))
