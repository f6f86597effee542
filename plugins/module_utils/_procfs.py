# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure readers and parsers for /proc.

Every reader takes ``proc_root`` so unit tests can point it at a fake tree.
Readers of per-process files return None when the process vanished mid-read:
a /proc scan always races with processes exiting.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re

PROC = "/proc"

# The initial PID namespace has this fixed inode (PROC_PID_INIT_INO in the kernel).
INITIAL_PID_NS_INODE = 4026531836

_NSFS_ROOT = re.compile(r"^(?P<type>[a-z_]+):\[(?P<inode>\d+)\]$")
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")

_VANISHED = (errno.ENOENT, errno.ESRCH, errno.EINVAL)


def _unescape(field):
    """mountinfo escapes space, tab, newline and backslash as \\ooo."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text):
    """Parse /proc/PID/mountinfo text into a list of dicts, one per mount.

    Keys: mount_id, parent_id, device, root, mount_point, options, propagation
    (dict of optional fields such as shared/master), fstype, source, super_options.
    Malformed lines are skipped.
    """
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
            key, _, value = tag.partition(":")
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
    """The namespace handles among parsed mounts: {mount_point: (type, inode)}.

    When several mounts stack on one point, the last (topmost) one wins.
    """
    handles = {}
    for mount in mounts:
        if mount["fstype"] != "nsfs":
            continue
        match = _NSFS_ROOT.match(mount["root"])
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
    """Parse /proc/PID/stat: comm may contain spaces and parentheses, so split at the last ')'."""
    head, _, rest = text.rpartition(")")
    pid, _, comm = head.partition(" (")
    fields = rest.split()
    # fields[0] is field 3 of proc(5) (state); start time is field 22.
    return {
        "pid": int(pid),
        "comm": comm,
        "state": fields[0],
        "ppid": int(fields[1]),
        "start_time": int(fields[19]),
    }


def read_stat(proc_root, pid):
    """Parsed /proc/PID/stat, or None if the process is gone."""
    try:
        with open(os.path.join(proc_root, str(pid), "stat")) as handle:
            return parse_stat(handle.read())
    except (IOError, OSError) as exc:
        if exc.errno in _VANISHED:
            return None
        raise


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
    try:
        with open(os.path.join(proc_root, str(pid), "status")) as handle:
            return parse_status(handle.read())
    except (IOError, OSError) as exc:
        if exc.errno in _VANISHED:
            return None
        raise


def nspid_chain(status):
    """The NSpid line as a list of ints, outermost namespace first."""
    value = status.get("NSpid")
    if not value:
        return [int(status["Pid"])] if "Pid" in status else []
    return [int(part) for part in value.split()]


def has_capability(status, bit):
    """Whether the effective capability set in a parsed status has capability ``bit``."""
    return bool(int(status.get("CapEff", "0"), 16) & (1 << bit))


def ns_inode(proc_root, pid, ns_type):
    """Inode of /proc/PID/ns/TYPE, or None if the process is gone."""
    try:
        return os.stat(os.path.join(proc_root, str(pid), "ns", ns_type)).st_ino
    except (IOError, OSError) as exc:
        if exc.errno in _VANISHED:
            return None
        raise


def read_boot_id(proc_root=PROC):
    with open(os.path.join(proc_root, "sys", "kernel", "random", "boot_id")) as handle:
        return handle.read().strip()
