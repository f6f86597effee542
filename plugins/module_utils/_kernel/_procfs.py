# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Readers and parsers for /proc (``proc_root`` lets tests use a fake tree).

Per-process readers return None when the process vanished: a scan always races with exits.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

PROC = "/proc"

# PROC_PID_INIT_INO in the kernel.
INITIAL_PID_NS_INODE = 4026531836

# Compiled on first use: importing re (and enum) costs pidns_facts, a whole process, a few ms.
_PATTERNS = {
    "nsfs_root": r"^(?P<type>[a-z_]+):\[(?P<inode>\d+)\]$",
    "octal_escape": r"\\([0-7]{3})",
    "comm_escape": r"\\(n|\\)",
}
_COMPILED = {}


def _pattern(name):
    compiled = _COMPILED.get(name)
    if compiled is None:
        import re
        compiled = _COMPILED[name] = re.compile(_PATTERNS[name])
    return compiled


_VANISHED = (errno.ENOENT, errno.ESRCH, errno.EINVAL)


def _unescape(field):
    """mountinfo escapes space, tab, newline and backslash as \\ooo."""
    if "\\" not in field:
        return field
    return _pattern("octal_escape").sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text):
    """/proc/PID/mountinfo -> one dict per mount (propagation: the optional fields); bad lines skipped."""
    mounts = []
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            sep = fields.index("-", 6)
        except ValueError:
            continue
        if len(fields) < sep + 3:
            continue
        propagation = {}
        for tag in fields[6:sep]:
            key, _sep, value = tag.partition(":")
            propagation[key] = value
        mounts.append({
            "mount_id": int(fields[0]),
            "parent_id": int(fields[1]),
            "device": fields[2],
            "root": _unescape(fields[3]),
            "mount_point": _unescape(fields[4]),
            "options": fields[5],
            "propagation": propagation,
            "fstype": fields[sep + 1],
            "source": _unescape(fields[sep + 2]),
            "super_options": fields[sep + 3] if len(fields) > sep + 3 else "",
        })
    return mounts


def read_mountinfo(proc_root=PROC, pid="self"):
    with open(os.path.join(proc_root, str(pid), "mountinfo")) as handle:
        return parse_mountinfo(handle.read())


def nsfs_mounts(mounts):
    """Namespace handles among parsed mounts: {mount_point: (type, inode)}, the topmost per point."""
    handles = {}
    for mount in mounts:
        if mount["fstype"] != "nsfs":
            continue
        match = _pattern("nsfs_root").match(mount["root"])
        if match:
            handles[mount["mount_point"]] = (match.group("type"), int(match.group("inode")))
    return handles


def mount_at(mounts, path):
    """The topmost mount whose mount point is exactly ``path``, or None."""
    found = None
    for mount in mounts:
        if mount["mount_point"] == path:
            found = mount
    return found


def parse_stat(text):
    """Parse /proc/PID/stat, split at the last ')': comm may contain spaces and parentheses."""
    head, _paren, rest = text.rpartition(")")
    pid, _sep, comm = head.partition(" (")
    fields = rest.split()
    # fields[0] is proc(5)'s field 3.
    return {
        "pid": int(pid),
        "comm": comm,
        "state": fields[0],
        "ppid": int(fields[1]),
        "pgrp": int(fields[2]),
        "session": int(fields[3]),
        "start_time": int(fields[19]),
    }


def _read_parsed(proc_root, pid, name, parse):
    """parse() of /proc/PID/<name>, or None if the process is gone."""
    try:
        with open(os.path.join(proc_root, str(pid), name)) as handle:
            return parse(handle.read())
    except (IOError, OSError) as exc:
        if exc.errno in _VANISHED:
            return None
        raise


def read_stat(proc_root, pid):
    """Parsed /proc/PID/stat, or None if the process is gone."""
    return _read_parsed(proc_root, pid, "stat", parse_stat)


def parse_status(text):
    """Parse /proc/PID/status into {key: raw value string}."""
    status = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            status[key] = value.strip()
    return status


def read_status(proc_root, pid):
    """Parsed /proc/PID/status, or None if the process is gone."""
    return _read_parsed(proc_root, pid, "status", parse_status)


def children(proc_root, pid):
    """PIDs of a process's children (its main thread's), or [] if it is gone."""
    try:
        with open(os.path.join(proc_root, str(pid), "task", str(pid), "children")) as handle:
            return [int(part) for part in handle.read().split()]
    except (IOError, OSError, ValueError):
        return []


def nspid_chain(status):
    """The NSpid line as a list of ints, outermost namespace first."""
    value = status.get("NSpid")
    if not value:
        return [int(status["Pid"])] if "Pid" in status else []
    return [int(part) for part in value.split()]


def has_capability(status, bit):
    """Whether the effective capability set in a parsed status has capability ``bit``."""
    return bool(int(status.get("CapEff", "0"), 16) & (1 << bit))


def read_boot_id(proc_root=PROC):
    with open(os.path.join(proc_root, "sys", "kernel", "random", "boot_id")) as handle:
        return handle.read().strip()


# --- Fast per-process readers for whole-/proc scans (pidns_facts) -------------------------------
# A scan touches every process: raw os.read and a few finds, no text files or full parses.

_READ_CHUNK = 8192


def read_bytes(path, one_record=True, limit=None):
    """A /proc file's bytes (at most ``limit``), or None if it vanished; other errors (EACCES) raise.

    ``one_record``: formatted in one piece (stat, status, cmdline), so a short read is the end; pass
    False for files of many records (mountinfo), which may read short before EOF.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        if exc.errno in _VANISHED:
            return None
        raise
    try:
        chunks = []
        while True:
            try:
                chunk = os.read(fd, _READ_CHUNK)
            except OSError as exc:
                if exc.errno in _VANISHED:
                    return None
                raise
            if not chunk:
                break
            chunks.append(chunk)
            if limit is not None and sum(len(c) for c in chunks) >= limit:
                return b"".join(chunks)[:limit]
            if one_record and len(chunk) < _READ_CHUNK and len(chunks) == 1:
                # A single_open seq_file hands over everything in one read.
                break
        return b"".join(chunks)
    finally:
        os.close(fd)


def proc_pids(proc_root=PROC):
    """Numeric entries of /proc (thread-group leaders), unsorted."""
    return [int(name) for name in os.listdir(proc_root) if name.isdigit()]


def ns_link_inode(proc_root, pid, ns_type="pid"):
    """Inode of /proc/PID/ns/TYPE, or None if gone; EACCES raises. readlink: cheaper than stat,
    and works on fake trees."""
    try:
        target = os.readlink(os.path.join(proc_root, str(pid), "ns", ns_type))
    except OSError as exc:
        if exc.errno in _VANISHED:
            return None
        raise
    return parse_ns_link(target)


def parse_ns_link(target):
    """"pid:[4026531836]" -> 4026531836; None for anything else."""
    start = target.find("[")
    if start < 0 or not target.endswith("]"):
        return None
    try:
        return int(target[start + 1:-1])
    except ValueError:
        return None


def _status_value(data, key):
    """Raw bytes value of one "Key:\\tvalue" line of /proc/PID/status, or None."""
    pos = data.find(b"\n" + key + b":")
    if pos < 0:
        if data.startswith(key + b":"):
            pos = -1
        else:
            return None
    start = pos + len(key) + 2
    end = data.find(b"\n", start)
    if end < 0:
        end = len(data)
    return data[start:end].strip()


def unescape_comm(raw):
    """Name in /proc/PID/status escapes newline and backslash; undo that and decode."""
    text = raw.decode("utf-8", "replace")
    if "\\" in text:
        text = _pattern("comm_escape").sub(lambda m: "\n" if m.group(1) == "n" else "\\", text)
    return text


def parse_status_fields(data):
    """(name, state letter, ppid, NSpid list outermost first, or [Pid]) from raw status bytes;
    None if they are missing."""
    name = _status_value(data, b"Name")
    state = _status_value(data, b"State")
    ppid = _status_value(data, b"PPid")
    if name is None or not state or ppid is None:
        return None
    nspid = _status_value(data, b"NSpid")
    if not nspid:
        nspid = _status_value(data, b"Pid")
        if not nspid:
            return None
    try:
        return (unescape_comm(name), state[:1].decode("ascii", "replace"), int(ppid),
                [int(part) for part in nspid.split()])
    except ValueError:
        return None


def read_status_fields(proc_root, pid):
    """parse_status_fields of /proc/PID/status, or None if the process vanished."""
    data = read_bytes(os.path.join(proc_root, str(pid), "status"))
    if data is None:
        return None
    return parse_status_fields(data)


# Any user picks their argv: a 1.5 MB one would be copied into facts and results per process.
CMDLINE_LIMIT = 4096


def parse_cmdline(data):
    """/proc/PID/cmdline bytes -> list of str; beyond CMDLINE_LIMIT (read_cmdline reads one byte
    more) it is cut and ends with ``[truncated at 4096 bytes]``."""
    if not data:
        return []
    truncated = len(data) > CMDLINE_LIMIT
    if truncated:
        data = data[:CMDLINE_LIMIT]
    elif data.endswith(b"\0"):
        data = data[:-1]
    args = [arg.decode("utf-8", "replace") for arg in data.split(b"\0")]
    if truncated:
        args.append("[truncated at %d bytes]" % CMDLINE_LIMIT)
    return args


def read_cmdline(proc_root, pid):
    data = read_bytes(os.path.join(proc_root, str(pid), "cmdline"), limit=CMDLINE_LIMIT + 1)
    return None if data is None else parse_cmdline(data)


def parse_cgroup(text):
    """/proc/PID/cgroup -> list of (hierarchy id, controllers, path)."""
    entries = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            entries.append((parts[0], parts[1], parts[2]))
    return entries


def pid_ns_handles(mountinfo_text):
    """PID-namespace handles in mountinfo text: {mount_point: inode}, as nsfs_mounts would give, but
    parsing only nsfs lines (cheap with thousands of mounts)."""
    handles = {}
    if " nsfs " not in mountinfo_text:
        return handles
    for line in mountinfo_text.splitlines():
        if " nsfs " not in line:
            continue
        fields = line.split(" ")
        try:
            sep = fields.index("-", 6)
        except ValueError:
            continue
        if len(fields) < sep + 3 or fields[sep + 1] != "nsfs":
            continue
        parsed = _nsfs_root(_unescape(fields[3]))
        if parsed is None:
            continue
        mount_point = _unescape(fields[4])
        if parsed[0] == "pid":
            handles[mount_point] = parsed[1]
        else:
            handles.pop(mount_point, None)  # another namespace type mounted on top
    return handles


_NS_TYPE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz_")


def _nsfs_root(root):
    """"pid:[4026531836]" -> ("pid", 4026531836), as the nsfs_root pattern; None otherwise."""
    ns_type, sep, rest = root.partition(":[")
    if not sep or not ns_type or not rest.endswith("]") or not set(ns_type) <= _NS_TYPE_CHARS:
        return None
    digits = rest[:-1]
    if not digits.isdigit():
        return None
    return ns_type, int(digits)
