# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Who owns a PID namespace: a linuxns.pidns sandbox (by its handle under the state directory, or
by this collection's own cgroup layout, ``.../linuxns-pidns/[<parent>/]<name>/_supervisor``), or a
container runtime and container/pod id recognised from the cgroup path of its PID 1.

Pure: plain data in, owner dictionaries out. Regular expressions are compiled on first use, and
only for cgroup paths that name a runtime at all, so that a scan of a host without containers
never imports ``re``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.linuxns.pidns.plugins.module_utils._kernel._procfs import parse_cgroup

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

# This collection's own layout (_cgroup): PID 1 of sandbox <name> lives in the `_supervisor` leaf of
# <name>'s cgroup, which is below <tree>/ (nested: below its parent's cgroup), where <tree> is the
# collection's tree `linuxns-pidns` or systemd's `linuxns-pidns.slice` (then a scope in between).
# Sandbox names never start with "_" (leaf names do). Tried before the runtimes' rules and in every
# hierarchy: a sandbox made inside a container has the container's path before ours.
_SANDBOX_LEAF = "/_supervisor"
_SANDBOX_TREES = ("/linuxns-pidns/", "/linuxns-pidns.slice/")

# Every pattern above needs one of these substrings: paths without any are not tried (no regex).
_CGROUP_HINTS = ("kubepods", "cri-containerd-", "crio-", "libpod-", "docker", "/lxc", "/machine.slice/")
_CGROUP_HINTS_BYTES = tuple(hint.encode("ascii") for hint in _CGROUP_HINTS + (_SANDBOX_LEAF,))


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


def sandbox_from_cgroup_path(path):
    """Name of the linuxns.pidns sandbox whose supervisor leaf `path` is, or None.

    No regex: string checks on the last two components and a tree marker before them."""
    if not path.endswith(_SANDBOX_LEAF):
        return None
    head = path[:-len(_SANDBOX_LEAF)]
    cut = head.rfind("/")
    name = head[cut + 1:]
    if not name or name.startswith("_"):
        return None
    tree = head[:cut + 1]
    if not any(marker in tree for marker in _SANDBOX_TREES):
        return None
    return name


def owner_from_cgroup(entries):
    """The owner from an init's cgroup entries [(id, controllers, path)], or None: a linuxns.pidns
    sandbox by this collection's layout (any hierarchy), else a runtime and container/pod id.

    For the runtimes the unified (v2) entry is tried first, then the systemd named hierarchy,
    then the others.
    """
    for _hier, _controllers, path in entries or []:
        name = sandbox_from_cgroup_path(path)
        if name is not None:
            return dict(sandbox_owner(name), cgroup=path)

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


def owner_from_cgroup_bytes(data):
    """owner_from_cgroup of raw /proc/PID/cgroup bytes (None: gone); parsed only when they can match."""
    if not data or not any(hint in data for hint in _CGROUP_HINTS_BYTES):
        return None
    return owner_from_cgroup(parse_cgroup(data.decode("utf-8", "replace")))


def sandboxes_by_namespace(handles, state_dir):
    """{pid ns inode: sandbox name} for handles {mount point: inode} mounted at <state_dir>/<name>/ns/pid."""
    prefix = state_dir.rstrip("/") + "/"
    owned = {}
    for path, inode in handles.items():
        if not path.startswith(prefix) or not path.endswith("/ns/pid"):
            continue
        name = path[len(prefix):-len("/ns/pid")]
        if name and "/" not in name:
            owned[inode] = name
    return owned


def sandbox_owner(name):
    """The owner entry of a namespace held by the linuxns.pidns sandbox ``name``."""
    return {"type": "sandbox", "runtime": "linuxns.pidns", "name": name, "id": None, "pod": None, "cgroup": None}
