# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A user namespace of a sandbox's own (``userns: auto``): root inside is a range of unprivileged host
ids, as with podman's ``--userns=auto`` and docker's userns-remap.

The ranges are subordinate ids of one dedicated entry, SUBID_OWNER, in /etc/subuid and /etc/subgid,
cut into blocks of RANGE ids; a sandbox takes the first block no other sandbox's record holds (under
the state directory's lock) and keeps it in its record. The module, as host root, writes the maps
itself (no newuidmap), so setgroups stays allowed inside.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError

MODES = ("host", "auto")
SUBID_OWNER = "linuxns-pidns"
SUBUID = "/etc/subuid"
SUBGID = "/etc/subgid"
RANGE = 65536
EXAMPLE_ENTRY = "%s:1879048192:65536000" % SUBID_OWNER  # 1000 sandboxes, above useradd's 100000-600100000


def parse_subids(text, owner=SUBID_OWNER):
    """[(start, count)] of `owner`'s lines in a subuid/subgid file, in file order; bad lines skipped."""
    ranges = []
    for line in text.splitlines():
        fields = line.strip().split(":")
        if len(fields) != 3 or fields[0] != owner:
            continue
        try:
            start, count = int(fields[1]), int(fields[2])
        except ValueError:
            continue
        if start > 0 and count > 0:
            ranges.append((start, count))
    return ranges


def read_subids(path, owner=SUBID_OWNER):
    try:
        with open(path) as handle:
            return parse_subids(handle.read(65536), owner)
    except (IOError, OSError):
        return []


def _blocks(ranges):
    for start, count in ranges:
        for index in range(count // RANGE):
            yield start + index * RANGE


def allocate(uid_ranges, gid_ranges, taken, prefer=None):
    """The first free block: {"uid": first host uid, "gid": first host gid, "count": RANGE}. taken: the
    allocations of existing sandboxes. The n-th uid block goes with the n-th gid block. prefer: the
    (uid, gid) block to take if it is one of them and free (a persistent overlay's earlier ids)."""
    if not uid_ranges or not gid_ranges:
        raise SandboxError(
            "userns: auto needs subordinate ids for %s in %s and %s (a line such as %s in each; podman's "
            "'containers' entry is the same idea); %s has none" % (
                SUBID_OWNER, SUBUID, SUBGID, EXAMPLE_ENTRY, SUBUID if not uid_ranges else SUBGID))
    blocks = list(zip(_blocks(uid_ranges), _blocks(gid_ranges)))
    if prefer in blocks:
        blocks.insert(0, prefer)
    for uid, gid in blocks:
        if not _overlaps(uid, taken, "uid") and not _overlaps(gid, taken, "gid"):
            return {"uid": uid, "gid": gid, "count": RANGE}
    raise SandboxError("userns: every block of %d ids in %s's entries of %s and %s is taken by a sandbox (%d); "
                       "give %s a larger range" % (RANGE, SUBID_OWNER, SUBUID, SUBGID, len(taken), SUBID_OWNER))


def _overlaps(start, taken, key):
    return any(entry[key] < start + RANGE and start < entry[key] + entry["count"] for entry in taken)


def allocate_on_host(taken, prefer=None):
    return allocate(read_subids(SUBUID), read_subids(SUBGID), taken, prefer)


def reachable_by_others(path):
    """Whether a user with only the rights of 'others' reaches `path` (every folder above it searchable)
    and may read it: what root inside a user namespace is to the host's files."""
    real = os.path.realpath(path)
    parts = real.split("/")
    try:
        for index in range(1, len(parts)):
            if not os.stat("/".join(parts[:index]) or "/").st_mode & 0o001:
                return False
        return bool(os.stat(real).st_mode & 0o004)
    except OSError:
        return False


def supervisor_python(python, own_prefixes=(), fallback="/usr/bin/python3"):
    """The interpreter PID 1 execs in a user namespace of its own: `python` (its prefixes too, where its
    standard library is) if root inside can run it, else `fallback` (the supervisor needs the standard
    library only). A virtualenv under /root is closed to it."""
    if reachable_by_others(python) and all(reachable_by_others(prefix) for prefix in own_prefixes):
        return python
    if os.path.exists(fallback) and reachable_by_others(fallback):
        return fallback
    raise SandboxError("userns: auto: root inside is an unprivileged user on the host, who cannot run %s (a "
                       "folder above it or its library is closed to others) nor %s; run the module with an "
                       "interpreter others can reach (ansible_python_interpreter)" % (python, fallback))


def write_maps(pid, allocation, proc_root="/proc"):
    """Map 0..count-1 inside to the allocation, for the process `pid` that has just unshared its user
    namespace. Written by host root: setgroups stays allowed inside."""
    for kind, first in (("uid_map", allocation["uid"]), ("gid_map", allocation["gid"])):
        with open(os.path.join(proc_root, str(pid), kind), "w") as handle:
            handle.write("0 %d %d\n" % (first, allocation["count"]))


def become_root():
    """In a user namespace just joined or made (and mapped): root inside, no supplementary groups."""
    os.setgroups([])
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
