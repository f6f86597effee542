# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pass over /proc behind pidns_facts: every process's PID namespace, state and parents.

Per process one readlink (/proc/PID/ns/pid) and one read (/proc/PID/stat), split over two
processes on hosts with a second CPU (in_parallel). /proc/PID/stat is formatted by the kernel
faster than /proc/PID/status; NSpid (only in status) is read on first use, for PID-1 candidates
and where the caller asks for it. Standard library only, nothing heavy at import time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.linuxns.pidns.plugins.module_utils._kernel._procfs import (
    _VANISHED,
    CMDLINE_LIMIT,
    parse_ns_link,
    parse_status_fields,
    pid_ns_handles,
    read_bytes,
)

# Below this many items a second process costs more than it saves.
PARALLEL_MIN_ITEMS = 256

# What is read about a PID 1 to tell whose /proc its namespace sees (ProcessTable.proc_view).
PROC1_LINK = "root/proc/1/ns/pid"
_NOT_READ = object()


class Process(object):
    """One process of the pass, from its /proc/PID/stat bytes (``raw``).

    ``ns`` is the inode of its PID namespace; ``nspid`` its NSpid chain, outermost first, filled in
    by ProcessTable.nspid on first use ([] once known to be unreadable). ``comm`` and
    ``start_time`` are parsed from ``raw`` on first use: most processes need only their namespace,
    state and parents.
    """

    __slots__ = ("ns", "state", "ppid", "pgrp", "raw", "nspid", "_comm", "_start_time")

    def __init__(self, state, ppid, pgrp, raw):
        self.ns = None
        self.state = state
        self.ppid = ppid
        self.pgrp = pgrp
        self.raw = raw
        self.nspid = None
        self._comm = None
        self._start_time = None

    @property
    def comm(self):
        if self._comm is None:
            self._parse_rest()
        return self._comm

    @property
    def start_time(self):
        if self._comm is None:
            self._parse_rest()
        return self._start_time

    def _parse_rest(self):
        data = self.raw
        close = data.rfind(b")")
        try:
            start = int(data[close + 2:].split(b" ", 20)[19])
        except (IndexError, ValueError):
            start = 0
        self._start_time = start
        self._comm = data[data.find(b"(") + 1:close].decode("utf-8", "replace")


def process_from_stat(data):
    """A Process from raw /proc/PID/stat bytes, or None for an empty or foreign file.

    comm may hold spaces and parentheses: it ends at the last ')'. The fields after it are
    separated by single spaces.
    """
    close = data.rfind(b")")
    if close < 0:
        return None
    fields = data[close + 2:].split(b" ", 4)
    try:
        if len(fields) < 5 or len(fields[0]) != 1:
            return None
        return Process(fields[0].decode("ascii"), int(fields[1]), int(fields[2]), data)
    except (ValueError, UnicodeDecodeError):
        return None


class ProcessTable(object):
    """The processes of one /proc, grouped by PID namespace, and the reads made about them.

    ``procs``: {PID as seen in that /proc: Process}; ``members``: {namespace inode: [PIDs]};
    ``unreadable``: PIDs whose namespace could not be read (another user's, as non-root).
    """

    def __init__(self, proc_root):
        self.proc = proc_root.rstrip("/") or "/"
        self.procs = {}
        self.members = {}
        self.unreadable = []
        self._ahead = {}

    def read_processes(self):
        names = [name for name in os.listdir(self.proc) if name.isdigit()]
        procs = self.procs
        by_link = {}
        for name, link, data in in_parallel(self._read_raw, names):
            process = process_from_stat(data)
            if process is None:
                continue  # exited between the two reads (empty read) or foreign content
            pid = int(name)
            procs[pid] = process
            if link is None:
                self.unreadable.append(pid)  # placed later from its NSpid depth if possible
                continue
            group = by_link.get(link)
            if group is None:
                by_link[link] = [pid]
            else:
                group.append(pid)
        # One int conversion per namespace instead of one per process.
        members = self.members
        for link, pids in by_link.items():
            ns = parse_ns_link(link)
            if ns is None:
                for pid in pids:
                    del procs[pid]
                continue
            for pid in pids:
                procs[pid].ns = ns
            if ns in members:
                members[ns].extend(pids)
            else:
                members[ns] = pids

    def _read_raw(self, names):
        """[(name, ns/pid link or None if not readable, stat bytes)] of /proc/NAME, skipping
        processes that exit meanwhile. System calls only: in_parallel hands raw bytes back from its
        child, and read_processes parses them all in one place."""
        prefix = self.proc + "/"
        readlink, os_open, os_read, os_close = os.readlink, os.open, os.read, os.close
        rdonly = os.O_RDONLY
        found = []
        append = found.append
        for name in names:
            base = prefix + name
            try:
                link = readlink(base + "/ns/pid")
            except OSError as exc:
                if exc.errno in _VANISHED:
                    continue  # exited since listdir
                if exc.errno not in (errno.EACCES, errno.EPERM):
                    raise
                link = None
            try:
                fd = os_open(base + "/stat", rdonly)
            except OSError as exc:
                if exc.errno in _VANISHED:
                    continue
                raise
            try:
                append((name, link, os_read(fd, 4096)))
            except OSError as exc:
                if exc.errno not in _VANISHED:
                    raise
            finally:
                os_close(fd)
        return found

    def nspid(self, pid):
        """NSpid chain of a scanned process, read from its status on first use; None if gone."""
        process = self.procs.get(pid)
        if process is None:
            return None
        if process.nspid is None:
            fields = None
            try:
                data = self.read("%s/%d/status" % (self.proc, pid))
                fields = parse_status_fields(data) if data else None
            except OSError:
                pass
            process.nspid = fields[3] if fields else []
        return process.nspid or None

    def place_unreadable(self, proc_ns):
        """A process whose ns link is not readable but whose NSpid has one entry is in the
        namespace of the scanned /proc itself (``proc_ns``); the others stay unknown."""
        unknown = []
        for pid in self.unreadable:
            nspid = self.nspid(pid)
            if nspid is not None and len(nspid) == 1 and proc_ns is not None:
                self.procs[pid].ns = proc_ns
                self.members.setdefault(proc_ns, []).append(pid)
            else:
                self.procs.pop(pid, None)
                if nspid is not None:
                    unknown.append(pid)
        self.unreadable = unknown

    # -- reads done ahead (in_parallel) --------------------------------------------------------
    def read_ahead(self, paths):
        """Read these files (or ns links) now, split by in_parallel, for read() to take later;
        whatever was not read ahead is read when asked for. Used where the scan knows in advance
        that it will read a file of many processes."""
        self._ahead.update(in_parallel(_read_paths, paths))

    def read(self, path):
        """read_path(path), as read ahead if it was."""
        result = self._ahead.pop(path, _NOT_READ)
        if result is _NOT_READ:
            return read_path(path)
        if isinstance(result, tuple):
            raise OSError(*result)
        return result


def read_pid_ns_handles(proc):
    """{mount point: PID-namespace inode} of the nsfs mounts in <proc>/self/mountinfo; {} if unreadable."""
    try:
        data = read_bytes(proc + "/self/mountinfo", one_record=False)
    except OSError:
        data = None
    return pid_ns_handles(data.decode("utf-8", "surrogateescape")) if data else {}


def read_path(path):
    """The target of an ns link, else the file's bytes (None if the process vanished)."""
    if path.endswith("/ns/pid"):
        return os.readlink(path)
    return read_bytes(path, limit=CMDLINE_LIMIT + 1 if path.endswith("/cmdline") else None)


def _read_paths(paths):
    """[(path, read_path(path))] for ProcessTable.read_ahead. An OSError is kept as (errno, strerror,
    path), to be raised when the path is asked for."""
    found = []
    for path in paths:
        try:
            found.append((path, read_path(path)))
        except OSError as exc:
            found.append((path, (exc.errno, exc.strerror, path)))
    return found


def in_parallel(work, items):
    """work(items), computed as work(first half) + work(second half) with the second half in a
    forked child, when there are enough items and a second CPU for it.

    For the scan's /proc reads, where the kernel formatting the files is most of the cost: two
    processes nearly halve it. (Threads do not: each read hands the GIL over, and on a VM the
    wake-ups cost more than the reads.) ``work`` returns a list of marshal-able values. An
    OSError in the child is raised here; if the child fails otherwise, its half is done here.
    """
    if len(items) < PARALLEL_MIN_ITEMS or len(os.sched_getaffinity(0)) < 2:
        return work(items)
    import marshal
    half = len(items) // 2
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return work(items)
    if pid == 0:
        _run_child(work, items[half:], read_end, write_end)  # never returns
    os.close(write_end)
    try:
        first = work(items[:half])
    finally:
        chunks = []
        while True:
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(read_end)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:  # SIGCHLD ignored: the kernel reaped it
            pass
    try:
        failed, second = marshal.loads(b"".join(chunks))
    except (EOFError, ValueError, TypeError):
        return first + work(items[half:])
    if failed:
        raise OSError(*second)
    return first + second


def _run_child(work, items, read_end, write_end):
    """The forked half of in_parallel: its result marshalled to write_end, then _exit (no atexit
    handlers, no flushing of buffers inherited from the parent)."""
    import marshal
    status = 1
    try:
        os.close(read_end)
        try:
            payload = (False, work(items))
        except OSError as exc:
            payload = (True, (exc.errno, exc.strerror, exc.filename))
        view = memoryview(marshal.dumps(payload))
        while view:
            view = view[os.write(write_end, view):]
        status = 0
    finally:
        os._exit(status)
