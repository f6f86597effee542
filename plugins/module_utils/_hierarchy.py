# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The PID-namespace forest of a host from one pass over /proc, with its classic faults.

``scan()`` returns the ``ansible_facts.pidns`` dictionary documented in the pidns_facts module.
Standard library only, and nothing heavy at import time: the benchmark runs it as a whole
Python process against ``lsns``.

Per process the scan does one readlink (/proc/PID/ns/pid) and one read (/proc/PID/stat).
Everything else is per namespace: the init's status (NSpid), cmdline and cgroup, and one
readlink to find out whose /proc its processes see. Both kinds of reads are split over two
processes on hosts with a second CPU (in_parallel). A parent namespace comes from the process
tree when the init's parent process is exactly one level up (which is exact, see
_Scan.parents_from_processes), else from NS_GET_PARENT on a namespace fd.

``python -m ansible_collections.linuxns.pidns.plugins.module_utils._hierarchy`` prints the facts
as JSON (main()); ``re`` and ``json`` are not imported on that path unless needed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.linuxns.pidns.plugins.module_utils._procfs import (
    INITIAL_PID_NS_INODE,
    PROC,
    _VANISHED,
    ns_link_inode,
    parse_cmdline,
    parse_ns_link,
    parse_status_fields,
    pid_ns_handles,
    read_bytes,
    parse_cgroup,
    read_status_fields,
)

SCHEMA_VERSION = 1
DEFAULT_STATE_DIR = "/run/linuxns-pidns"

# ioctl on a namespace fd (linux/nsfs.h): _IO(0xb7, 0x2).
NS_GET_PARENT = 0xB702

# comm names of programs that reap orphans when they run as PID 1.
KNOWN_INITS = frozenset([
    "tini", "tini-static", "docker-init", "dumb-init", "catatonit", "pause", "podman-pause",
    "systemd", "init", "s6-svscan", "runit", "runit-init", "openrc-init", "sinit", "busybox",
    "supervisord", "launchd",
])
SUPERVISOR_PREFIX = "pidns:"

# NS_GET_PARENT is not there (kernel < 4.9, or a filesystem that is not nsfs).
_NO_IOCTL = (errno.ENOTTY, errno.ENOSYS, errno.EINVAL, errno.ENOTSUP)

_HEX64 = r"(?P<id>[0-9a-f]{64})"
_POD = r"pod(?P<pod>[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})"
# (runtime, pattern) tried in order on each cgroup path of a namespace's init; compiled on first
# use, so that importing this module stays cheap.
_CGROUP_PATTERNS = [
    ("containerd", r"kubepods.*" + _POD + r".*cri-containerd-" + _HEX64),
    ("cri-o", r"kubepods.*" + _POD + r".*crio-(?:conmon-)?" + _HEX64),
    ("docker", r"kubepods.*" + _POD + r".*docker-" + _HEX64),
    ("kubernetes", r"kubepods.*" + _POD + r"(?:.*/" + _HEX64 + r")?"),
    ("containerd", r"cri-containerd-" + _HEX64),
    ("cri-o", r"crio-(?:conmon-)?" + _HEX64),
    ("podman", r"libpod-(?:conmon-)?" + _HEX64),
    ("docker", r"(?:/docker/|docker-)" + _HEX64),
    ("lxc", r"/lxc(?:\.payload)?[./](?P<id>[^/]+)"),
    ("lxc", r"/lxc\.monitor\.(?P<id>[^/]+)"),
    ("systemd-nspawn", r"/machine\.slice/machine-(?P<id>[^/]+)\.scope"),
]
_CGROUP_RULES = []


# Every pattern above needs one of these substrings: paths without any are not tried (no regex).
_CGROUP_HINTS = ("kubepods", "cri-containerd-", "crio-", "libpod-", "docker", "/lxc", "/machine.slice/")


def _cgroup_rules():
    if not _CGROUP_RULES:
        import re
        _CGROUP_RULES.extend((runtime, re.compile(pattern)) for runtime, pattern in _CGROUP_PATTERNS)
    return _CGROUP_RULES


def _systemd_unescape(name):
    if "\\x" not in name:
        return name
    import re
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), name)


def owner_from_cgroup(entries):
    """Runtime and container/pod id from an init's cgroup entries [(id, controllers, path)], or None.

    The unified (v2) entry is tried first, then the systemd named hierarchy, then the others.
    """
    def rank(entry):
        hier, controllers, _path = entry
        if hier == "0" and controllers == "":
            return 0
        if controllers == "name=systemd":
            return 1
        return 2

    for _hier, _controllers, path in sorted(entries or [], key=rank):
        if path in ("", "/") or not any(hint in path for hint in _CGROUP_HINTS):
            continue
        for runtime, pattern in _cgroup_rules():
            match = pattern.search(path)
            if not match:
                continue
            groups = match.groupdict()
            ident = groups.get("id")
            if ident and runtime == "systemd-nspawn":
                ident = _systemd_unescape(ident)
            pod = groups.get("pod")
            return {
                "type": "container",
                "runtime": runtime,
                "name": ident if runtime in ("lxc", "systemd-nspawn") else None,
                "id": ident,
                "pod": pod.replace("_", "-") if pod else None,
                "cgroup": path,
            }
    return None


_CGROUP_HINTS_BYTES = tuple(hint.encode("ascii") for hint in _CGROUP_HINTS)


def _owner_of(data):
    """owner_from_cgroup of /proc/PID/cgroup bytes; parsed only when they can match."""
    if not data or not any(hint in data for hint in _CGROUP_HINTS_BYTES):
        return None
    return owner_from_cgroup(parse_cgroup(data.decode("utf-8", "replace")))


def sandbox_handles(handles, state_dir):
    """{pid ns inode: sandbox name} for handles mounted at <state_dir>/<name>/ns/pid."""
    prefix = state_dir.rstrip("/") + "/"
    owned = {}
    for path, inode in handles.items():
        if not path.startswith(prefix) or not path.endswith("/ns/pid"):
            continue
        name = path[len(prefix):-len("/ns/pid")]
        if name and "/" not in name:
            owned[inode] = name
    return owned


def is_known_init(comm, extra=()):
    return comm in KNOWN_INITS or comm in extra or comm.startswith(SUPERVISOR_PREFIX)


def ioctl_parent(path):
    """Parent PID-namespace inode of the namespace at ``path`` and a fd of it, via NS_GET_PARENT.

    Returns (inode, fd) -- the caller closes fd -- or (None, None) when the parent is outside the
    caller's view (EPERM) or the namespace is gone. Raises OSError(ENOTTY/ENOSYS...) when the
    ioctl is unsupported so the caller can fall back.
    """
    import fcntl  # cheap, and only needed on real hosts
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno in _VANISHED or exc.errno == errno.EACCES:
            return None, None
        raise
    try:
        return _parent_of_fd(fd, fcntl)
    finally:
        os.close(fd)


def _parent_of_fd(fd, fcntl):
    try:
        parent_fd = fcntl.ioctl(fd, NS_GET_PARENT)
    except OSError as exc:
        if exc.errno == errno.EPERM:
            return None, None
        raise
    try:
        return os.fstat(parent_fd).st_ino, parent_fd
    except OSError:
        os.close(parent_fd)
        raise


# Fields of a process entry in _Scan.procs. COMM and START are parsed from RAW (the stat bytes)
# on first use (complete()): most processes only need their namespace, state and parents.
NS, COMM, STATE, PPID, PGRP, START, NSPID, RAW = range(8)


class _Scan(object):
    """One scan's working state.

    procs maps a PID (as seen in the scanned /proc) to a list [ns, comm, state, ppid, pgrp,
    start_time, nspid, raw stat]. The pass reads /proc/PID/stat, which the kernel formats faster
    than /proc/PID/status; NSpid (only in status) is read lazily, for PID-1 candidates and where
    the caller asks for it (processes, pids); comm and start_time are parsed on first use.
    """

    def __init__(self, proc_root, state_dir, known_inits, use_ioctl):
        self.proc = proc_root.rstrip("/") or "/"
        self.state_dir = state_dir
        self.known_inits = frozenset(known_inits or ())
        self.use_ioctl = use_ioctl
        self.procs = {}
        self.members = {}
        self.unreadable = []
        self.handles = {}
        self.parents = {}
        self.hidden = set()
        self.ahead = {}

    # -- pass over /proc -----------------------------------------------------------------
    def read_processes(self):
        names = [name for name in os.listdir(self.proc) if name.isdigit()]
        procs = self.procs
        by_link = {}
        for name, link, data in in_parallel(self._read_raw, names):
            entry = parse_stat_fields(data)
            if entry is None:
                continue  # exited between the two reads (empty read) or foreign content
            pid = int(name)
            procs[pid] = entry
            if link is None:
                self.unreadable.append(pid)  # placed later from its NSpid depth if possible
                continue
            entry[NS] = link
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
                procs[pid][NS] = ns
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
        entry = self.procs.get(pid)
        if entry is None:
            return None
        if entry[NSPID] is None:
            fields = None
            try:
                data = self.read("%s/%d/status" % (self.proc, pid))
                fields = parse_status_fields(data) if data else None
            except OSError:
                pass
            entry[NSPID] = fields[3] if fields else []
        return entry[NSPID] or None

    def attribute_unreadable(self, proc_ns):
        """A process whose ns link is not readable but whose NSpid has one entry is in the
        namespace of the scanned /proc itself; the others stay unknown."""
        unknown = []
        for pid in self.unreadable:
            nspid = self.nspid(pid)
            if nspid is not None and len(nspid) == 1 and proc_ns is not None:
                self.procs[pid][NS] = proc_ns
                self.members.setdefault(proc_ns, []).append(pid)
            else:
                self.procs.pop(pid, None)
                if nspid is not None:
                    unknown.append(pid)
        self.unreadable = unknown

    def init_candidates(self, ns):
        """Members of ``ns`` that may be its PID 1, most likely first: those whose parent process is
        not in ``ns`` (PID 1's parent never is: it made the namespace from outside, or adopted PID 1
        there), by start time."""
        procs = self.procs
        candidates = []
        for pid in self.members[ns]:
            above = procs.get(procs[pid][PPID])
            if above is None or above[NS] != ns:
                candidates.append(pid)
        candidates.sort(key=lambda pid: (complete(procs[pid])[START], pid))
        return candidates

    def find_init(self, candidates):
        """PID 1 among init_candidates(), confirmed by its NSpid; ties on the first start tick are
        all tried. None when PID 1 is gone."""
        if not candidates:
            return None
        procs = self.procs
        first_start = procs[candidates[0]][START]
        for index, pid in enumerate(candidates):
            if index >= 3 and procs[pid][START] != first_start:
                break
            nspid = self.nspid(pid)
            if nspid and nspid[-1] == 1:
                return pid
        return None

    # -- reads done ahead (in_parallel) --------------------------------------------------------
    def read_ahead(self, paths):
        """Read these files (or ns links) now, split by in_parallel, for read() to take later;
        whatever was not read ahead is read when asked for. Used where the scan knows in advance
        that it will read a file of many processes."""
        self.ahead.update(in_parallel(_read_paths, paths))

    def init_paths(self, pids):
        """What the per-namespace steps read about each likely PID 1: its status, cmdline and
        cgroup, and the ns link of PID 1 in its /proc."""
        paths = []
        for pid in pids:
            base = "%s/%d/" % (self.proc, pid)
            paths += [base + "status", base + "cmdline", base + "cgroup", base + _PROC1_LINK]
        return paths

    def read(self, path):
        """_read_path(path), as read ahead if it was."""
        result = self.ahead.pop(path, _NOT_READ)
        if result is _NOT_READ:
            return _read_path(path)
        if isinstance(result, tuple):
            raise OSError(*result)
        return result

    def read_handles(self):
        try:
            data = read_bytes(self.proc + "/self/mountinfo", one_record=False)
        except OSError:
            data = None
        if data:
            self.handles = pid_ns_handles(data.decode("utf-8", "surrogateescape"))

    # -- parents ---------------------------------------------------------------------------
    def resolve_parents(self, known, handle_paths, levels, inits):
        """Parents of every known namespace; True when they are exact (NS_GET_PARENT works).

        First from the process tree (parents_from_processes, exact where it answers), then via
        NS_GET_PARENT for the rest; ancestors with neither process nor handle become 'hidden'.
        Without the ioctl, namespaces the process tree does not place get no parent (None).
        """
        self.parents_from_processes(levels, inits)
        if not self.use_ioctl:
            return False
        probed = self._ioctl_parents(known, handle_paths)
        if probed is None and known:
            # Every parent came from the process tree: still say whether the ioctl works, so that
            # parents_from tells the same thing whatever the shape of the tree. One call.
            probed = self._ioctl_probe(sorted(known)[0], handle_paths)
        return probed is not False

    def _ioctl_probe(self, ns, handle_paths):
        path = self._ns_path(ns, handle_paths)
        if path is None:
            return None
        try:
            _parent, fd = ioctl_parent(path)
        except OSError as exc:
            return False if exc.errno in _NO_IOCTL else None
        if fd is not None:
            os.close(fd)
        return True

    def _ioctl_parents(self, known, handle_paths):
        """NS_GET_PARENT for the known namespaces without a parent yet; True if it worked, False if
        it is unsupported, None if there was nothing to ask."""
        import fcntl
        tried = None
        for ns in sorted(known):
            if ns in self.parents:
                continue
            path = self._ns_path(ns, handle_paths)
            if path is None:
                continue
            try:
                parent, fd = ioctl_parent(path)
            except OSError as exc:
                if exc.errno in _NO_IOCTL:
                    return False
                continue
            tried = True
            self.parents[ns] = parent
            # Walk up through ancestors the scan did not see otherwise (no process, no handle).
            while fd is not None:
                if parent in known or parent in self.parents:
                    os.close(fd)
                    break
                self.hidden.add(parent)
                try:
                    grand, grand_fd = _parent_of_fd(fd, fcntl)
                except OSError:
                    grand, grand_fd = None, None
                finally:
                    os.close(fd)
                self.parents[parent] = grand
                parent, fd = grand, grand_fd
        return tried

    def _ns_path(self, ns, handle_paths):
        for pid in self.members.get(ns, ()):
            return "%s/%d/ns/pid" % (self.proc, pid)
        paths = handle_paths.get(ns)
        return paths[0] if paths else None

    def parents_from_processes(self, levels, inits):
        """Parents from the process tree, set only where they are certain.

        From PID 1 (or a member) of a namespace, follow PPid up to the first process in another
        namespace. A parent process is always in the same PID namespace as its child or in an
        ancestor of it (fork places a child in the caller's namespace or a descendant; an orphan
        is adopted by a process of its dead parent's namespace), so that namespace is an ancestor;
        if its level is exactly one less, it is the parent. Levels come from NSpid lengths read in
        one /proc, so they are consistent with each other even where not absolute. A parent
        process started after its child is a reused PID: the walk stops there.
        """
        procs = self.procs
        parents = self.parents
        for ns, pids in self.members.items():
            if ns in parents:
                continue
            level = levels.get(ns)
            if level is None:
                continue
            entry = procs[inits.get(ns) or min(pids)]
            seen = set()
            pid = entry[PPID]
            while pid and pid not in seen:
                above = procs.get(pid)
                if above is None or complete(above)[START] > complete(entry)[START]:
                    break
                seen.add(pid)
                other = above[NS]
                if other != ns:
                    if levels.get(other) == level - 1:
                        parents[ns] = other
                    break
                entry = above
                pid = above[PPID]

    # -- per-namespace details ----------------------------------------------------------------
    def proc_check(self, ns, pids_in, init_pid):
        """Whether the processes of ``ns`` see a /proc of their own: (own, other_ns).

        Through /proc/P/root/proc of a member P: that /proc's PID 1 is the init of the namespace it
        belongs to, so the link of its ns/pid names it. When PID 1 there is not readable (some
        hosts protect their PID 1), a member's PID *inside* ``ns`` is looked up instead: in the
        namespace's own /proc that PID is the member itself. Returns (None, None) when there is no
        /proc to look at or nothing readable.
        """
        candidates = ([init_pid] if init_pid is not None else []) + sorted(pids_in)[:2]
        for viewer in candidates:
            base = "%s/%d/root/proc" % (self.proc, viewer)
            try:
                first = parse_ns_link(self.read("%s/%d/%s" % (self.proc, viewer, _PROC1_LINK)))
            except OSError:
                first = None
            if first is not None:
                return first == ns, (None if first == ns else first)
            for member in candidates:
                nspid = self.nspid(member)
                inner = nspid[-1] if nspid else 1
                if inner == 1:
                    continue
                try:
                    seen = ns_link_inode(base, inner, "pid")
                except OSError:
                    continue
                if seen is not None:
                    return seen == ns, None
        return None, None

    def init_details(self, pid):
        data = self.read("%s/%d/cmdline" % (self.proc, pid))
        cmdline = None if data is None else parse_cmdline(data)
        nspid = self.nspid(pid)
        if cmdline is None or nspid is None:
            return None
        entry = complete(self.procs[pid])
        return {
            "pid": pid,
            "ns_pid": nspid[-1],
            "comm": entry[COMM],
            "cmdline": cmdline,
            "start_time": entry[START],
        }

    def orphans(self, ns, init_pid):
        """Children of PID 1 whose process group leader is gone and is not PID 1's group.

        Such a process was adopted by PID 1 when the shell or program that started it died: a
        hint (not a proof) that PID 1 has to reap processes it never started.
        """
        procs = self.procs
        init_pgrp = procs[init_pid][PGRP]
        found = []
        for pid in self.members[ns]:
            entry = procs[pid]
            if pid == init_pid or entry[PPID] != init_pid or entry[STATE] == "Z":
                continue
            pgrp = entry[PGRP]
            if pgrp == init_pgrp or pgrp == pid or pgrp in procs:
                continue
            found.append(pid)
        return found


# Below this many items a second process costs more than it saves.
PARALLEL_MIN_ITEMS = 256


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


_PROC1_LINK = "root/proc/1/ns/pid"
_NOT_READ = object()


def _read_path(path):
    """The target of an ns link, else the file's bytes (None if the process vanished)."""
    return os.readlink(path) if path.endswith("/ns/pid") else read_bytes(path)


def _read_paths(paths):
    """[(path, _read_path(path))] for _Scan.read_ahead. An OSError is kept as (errno, strerror,
    path), to be raised when the path is asked for."""
    found = []
    for path in paths:
        try:
            found.append((path, _read_path(path)))
        except OSError as exc:
            found.append((path, (exc.errno, exc.strerror, path)))
    return found


def parse_stat_fields(data):
    """A process entry [None, None, state, ppid, pgrp, None, None, data] from raw /proc/PID/stat
    bytes, or None; complete() adds comm and start_time.

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
        return [None, None, fields[0].decode("ascii"), int(fields[1]), int(fields[2]), None, None, data]
    except (ValueError, UnicodeDecodeError):
        return None


def complete(entry):
    """Fill in comm and start_time of a process entry from its stat bytes; returns the entry."""
    if entry[COMM] is None:
        data = entry[RAW]
        close = data.rfind(b")")
        comm = data[data.find(b"(") + 1:close].decode("utf-8", "replace")
        try:
            start = int(data[close + 2:].split(b" ", 20)[19])
        except (IndexError, ValueError):
            start = 0
        entry[COMM], entry[START] = comm, start
    return entry


def _warning(code, message, **extra):
    entry = {"code": code, "message": message}
    entry.update(extra)
    return entry


def scan(proc_root=PROC, state_dir=DEFAULT_STATE_DIR, processes=False, pids=None, known_inits=(),
         use_ioctl=True, euid=None):
    """Gather the pidns facts. See the pidns_facts module's RETURN for the schema."""
    state = _Scan(proc_root, state_dir, known_inits, use_ioctl)
    state.read_handles()
    state.read_processes()
    procs, members = state.procs, state.members

    try:
        self_ns = ns_link_inode(proc_root, "self", "pid")
    except OSError:
        self_ns = None
    self_fields = None
    try:
        self_fields = read_status_fields(proc_root, "self")
    except OSError:
        pass
    proc_ns = None  # the namespace the scanned /proc belongs to
    try:
        proc_ns = ns_link_inode(proc_root, 1, "pid")
    except OSError:
        pass
    if proc_ns is None and self_fields is not None and len(self_fields[3]) == 1:
        proc_ns = self_ns  # PID 1 of this /proc is not readable, but the module is at its top level
    if proc_ns is None:
        # Otherwise a readable process at depth 0 of its NSpid tells: try the lowest PIDs.
        for pid in sorted(procs)[:8]:
            nspid = state.nspid(pid)
            if procs[pid][NS] is not None and nspid is not None and len(nspid) == 1:
                proc_ns = procs[pid][NS]
                break
    state.attribute_unreadable(proc_ns)

    # Levels: absolute when the /proc is the initial namespace's, else counted from a lower bound.
    if proc_ns == INITIAL_PID_NS_INODE:
        base, exact = 0, True
    else:
        base, exact = 1, False
    levels = {}
    inits = {}
    candidates = dict((ns, state.init_candidates(ns)) for ns in members)
    state.read_ahead(state.init_paths([likely[0] for likely in candidates.values() if likely]))
    for ns in list(members):
        init_pid = state.find_init(candidates[ns])
        nspid = None
        if init_pid is not None:
            inits[ns] = init_pid
            nspid = state.nspid(init_pid)
        else:
            for pid in members[ns]:
                nspid = state.nspid(pid)
                if nspid is not None:
                    break
        if nspid:
            levels[ns] = base + len(nspid) - 1
    if proc_ns is not None and proc_ns not in levels:
        levels[proc_ns] = base

    handle_paths = {}
    for path, inode in sorted(state.handles.items()):
        handle_paths.setdefault(inode, []).append(path)
    known = set(members) | set(handle_paths)
    if proc_ns is not None:
        known.add(proc_ns)
    ioctl_ok = state.resolve_parents(known, handle_paths, levels, inits)
    if not ioctl_ok:
        # What the ioctl found before it failed is dropped too: either every parent is exact or
        # parents_from says they are not.
        state.parents.clear()
        state.hidden.clear()
        state.parents_from_processes(levels, inits)
    parents = state.parents
    # A handle to a namespace outside the visible tree (the kernel will not name its parent: a
    # sibling or ancestor of the module's own namespace, seen through an inherited mount table)
    # is reported apart, not as part of the tree.
    foreign = set()
    if ioctl_ok:
        for ns in handle_paths:
            if ns not in members and ns != proc_ns and ns != self_ns and parents.get(ns) is None:
                foreign.add(ns)
    all_ns = (known | state.hidden) - foreign

    # Levels of namespaces without processes: one below their parent.
    changed = True
    while changed:
        changed = False
        for ns in all_ns:
            if levels.get(ns) is None:
                parent = parents.get(ns)
                if parent is not None and levels.get(parent) is not None:
                    levels[ns] = levels[parent] + 1
                    changed = True
    children = {}
    for ns in all_ns:
        parent = parents.get(ns)
        if parent is not None:
            children.setdefault(parent, []).append(ns)

    sandboxes = sandbox_handles(state.handles, state_dir)
    namespaces = []
    all_warnings = []
    for ns in all_ns:
        pids_in = members.get(ns, [])
        init_pid = inits.get(ns)
        init = state.init_details(init_pid) if init_pid is not None else None
        zombies = [pid for pid in pids_in if procs[pid][STATE] == "Z"]
        warnings = []
        owner = None
        if ns in sandboxes:
            owner = {"type": "sandbox", "runtime": "linuxns.pidns", "name": sandboxes[ns], "id": None,
                     "pod": None, "cgroup": None}
        elif init is not None and ns != INITIAL_PID_NS_INODE:
            try:
                owner = _owner_of(state.read("%s/%d/cgroup" % (state.proc, init_pid)))
            except OSError:
                owner = None

        if not pids_in:
            if handle_paths.get(ns):
                why = "kept alive only by the handle %s" % ", ".join(handle_paths[ns])
            else:
                why = "kept alive only by a descendant namespace"
            warnings.append(_warning(
                "no_init", "PID namespace %d has no process: %s; no process can be started in it any more."
                % (ns, why)))
        if zombies:
            zparents = sorted(set(procs[pid][PPID] for pid in zombies))
            warnings.append(_warning(
                "zombies", "PID namespace %d has %d zombie process%s, not reaped by parent%s %s."
                % (ns, len(zombies), "es" if len(zombies) > 1 else "", "s" if len(zparents) > 1 else "",
                   ", ".join("%d (%s)" % (p, complete(procs[p])[COMM] if p in procs else "?") for p in zparents)),
                count=len(zombies), pids=sorted(zombies), parents=zparents))
        if init is not None and ns != INITIAL_PID_NS_INODE and not is_known_init(init["comm"], state.known_inits):
            orphans = state.orphans(ns, init_pid)
            if zombies or orphans:
                warnings.append(_warning(
                    "init_not_reaper",
                    "PID 1 of PID namespace %d is %r (host PID %d), not a known init, and the namespace has "
                    "%d zombie(s) and %d orphan(s): run an init such as tini or catatonit as PID 1."
                    % (ns, init["comm"], init_pid, len(zombies), len(orphans)),
                    zombies=len(zombies), orphans=sorted(orphans)))
        if pids_in:
            own_proc, seen_proc = state.proc_check(ns, pids_in, init_pid)
            if own_proc is False:
                warnings.append(_warning(
                    "proc_not_remounted",
                    "Processes of PID namespace %d see a /proc that belongs to %s: /proc was not "
                    "remounted after entering it (unshare --mount-proc), so ps and /proc show foreign PIDs."
                    % (ns, "PID namespace %d" % seen_proc if seen_proc else "another PID namespace"),
                    proc_ns=seen_proc))
        for warning in warnings:
            all_warnings.append(dict(warning, namespace=ns))
        # Every key costs the controller once per namespace and host (result handling, fact
        # caching, the callback's dump): what the warnings already say is not repeated here.
        namespaces.append({
            "id": ns,
            "parent": parents.get(ns),
            "level": levels.get(ns),
            "children": sorted(children.get(ns, [])),
            "init": init,
            "nprocs": len(pids_in),
            "zombies": len(zombies),
            "owner": owner,
            "warnings": warnings,
        })
    namespaces.sort(key=lambda entry: (entry["level"] is None, entry["level"] or 0, entry["id"]))

    if euid is None:
        euid = os.geteuid()
    partial = euid != 0 or bool(state.unreadable)
    if partial:
        reason = "not running as root" if euid != 0 else "access denied"
        all_warnings.insert(0, {
            "code": "partial_view", "namespace": None,
            "message": "Partial view (%s): the PID namespace of %d process(es) could not be read, and processes "
                       "of other users are placed only when they are in the namespace of /proc itself; "
                       "counts are lower bounds." % (reason, len(state.unreadable)),
            "pids": sorted(state.unreadable)[:50],
        })

    self_level = None
    if self_fields is not None:
        self_level = base + len(self_fields[3]) - 1
    if self_ns is not None and levels.get(self_ns) is not None:
        self_level = levels[self_ns]
    facts = {
        "schema": SCHEMA_VERSION,
        "kernel": os.uname()[2],
        "self": {
            "id": self_ns,
            "initial": self_ns == INITIAL_PID_NS_INODE,
            "level": 0 if self_ns == INITIAL_PID_NS_INODE else self_level,
            "level_exact": exact or self_ns == INITIAL_PID_NS_INODE,
            "pid": self_fields[3][-1] if self_fields else None,
            "proc_ns": proc_ns,
        },
        "root": euid == 0,
        "partial": partial,
        "unreadable": len(state.unreadable),
        "parents_from": "ioctl" if ioctl_ok else "ppid",
        "handles": [{"path": path, "id": inode} for path, inode in sorted(state.handles.items())
                    if inode not in foreign],
        "foreign_handles": sorted(path for ns in foreign for path in handle_paths[ns]),
        "namespaces": namespaces,
        "count": len(namespaces),
        "nprocs": len(procs),
        "max_depth": max([entry["level"] for entry in namespaces if entry["level"] is not None] or [0]),
        "warnings": all_warnings,
    }
    if processes:
        state.read_ahead(["%s/%d/status" % (state.proc, pid) for pid, entry in procs.items() if entry[NSPID] is None])
        facts["processes"] = [
            {"pid": pid, "nspid": state.nspid(pid), "ns": entry[NS], "ppid": entry[PPID], "state": entry[STATE],
             "comm": complete(entry)[COMM]}
            for pid, entry in sorted(procs.items())
        ]
    if pids is not None:
        facts["pids"] = [translate(pid, procs.get(pid), state.nspid(pid), parents, levels) for pid in pids]
    return facts


def translate(pid, entry, nspid, parents, levels):
    """The PID a process has at every level it is visible at, outermost first."""
    if entry is None or not nspid:
        return {"pid": pid, "found": False, "ns": None, "levels": []}
    ns = entry[NS]
    chain = [ns]
    while len(chain) < len(nspid):
        parent = parents.get(chain[-1])
        chain.append(parent)
        if parent is None:
            break
    chain += [None] * (len(nspid) - len(chain))
    chain.reverse()
    level = levels.get(ns)
    out = []
    for depth, (inner_pid, inner_ns) in enumerate(zip(nspid, chain)):
        out.append({
            "level": None if level is None else level - (len(nspid) - 1 - depth),
            "ns": inner_ns,
            "pid": inner_pid,
        })
    return {"pid": pid, "found": True, "ns": ns, "levels": out}


def dumps(obj):
    """json.dumps(obj) with the C encoder of the json package, without importing the package.

    ``import json`` imports ``re`` (and enum with it), a few ms that a scan run as a whole Python
    process would spend for nothing; the output is the same as json.dumps(obj). Falls back to
    json.dumps where the _json accelerator is missing or differs.
    """
    try:
        import _json

        def default(value):
            raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)

        encoder = _json.make_encoder(None, default, _json.encode_basestring_ascii, None, ": ", ", ",
                                     False, False, True)
        return "".join(encoder(obj, 0))
    except (ImportError, AttributeError, TypeError):
        import json
        return json.dumps(obj)


def main():
    """Print the facts of this host as one line of JSON (the module's defaults)."""
    import sys
    sys.stdout.write(dumps(scan()) + "\n")


if __name__ == "__main__":
    main()
