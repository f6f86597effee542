# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The state directory: where sandboxes are recorded and their namespaces pinned, and its lock.

Layout (a private bind mount of itself, mode 0700)::

    .lock                 flock taken by every change
    .supervisor.py        the PID-1 program, shared by all sandboxes
    <name>/state.json     requested spec, supervisor PID + start time, boot id
    <name>/ns/<type>      namespace handles: nsfs bind mounts
    <name>/supervisor.log the supervisor's stdout/stderr
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os

from ansible_collections.linuxns.pidns.plugins.module_utils._common import STATE_DIR, SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _cgroup
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _procfs
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _syscalls
from ansible_collections.linuxns.pidns.plugins.module_utils._network import _config as _network
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import (
    HELD_NAMESPACE_TYPES, MAX_STOP_TIMEOUT, is_valid_name, normalize_limits, seconds)

STATE_SCHEMA = 1
CAP_SYS_ADMIN = 21
NEEDS_ROOT = ("creating and managing namespaces needs root (CAP_SYS_ADMIN); "
              "run the task with become: true")


def require_root(proc_root):
    status = _procfs.read_status(proc_root, "self") or {}
    if not _procfs.has_capability(status, CAP_SYS_ADMIN):
        raise SandboxError(NEEDS_ROOT)


def parse_state(text):
    """Parse a state.json; ValueError unless it is ours, down to each value's type."""
    state = json.loads(text)
    if not isinstance(state, dict) or state.get("schema") != STATE_SCHEMA:
        raise ValueError("unknown state schema")
    for key, kind in (("name", str), ("spec", dict), ("supervisor", dict), ("namespaces", dict),
                      ("boot_id", str)):
        if not isinstance(state.get(key), kind):
            raise ValueError("state: %s must be a %s" % (key, kind.__name__))
    supervisor, namespaces, spec = state["supervisor"], state["namespaces"], state["spec"]
    if not (_is_int(supervisor.get("pid")) and supervisor["pid"] > 0 and _is_int(supervisor.get("start_time"))):
        raise ValueError("state: supervisor must have a PID and a start time")
    if "pid" not in namespaces or not all(ns in HELD_NAMESPACE_TYPES and _is_int(inode)
                                          for ns, inode in namespaces.items()):
        raise ValueError("state: namespaces must map namespace types to inode numbers, pid among them")
    if not isinstance(spec.get("namespaces"), list) or not set(namespaces) == set(spec["namespaces"]):
        raise ValueError("state: spec.namespaces must list the namespaces held")
    try:
        if isinstance(spec.get("stop_timeout"), (bool, str)):
            raise SandboxError("not a number")
        seconds(spec.get("stop_timeout"), "stop_timeout", MAX_STOP_TIMEOUT)
    except SandboxError:
        raise ValueError("state: spec.stop_timeout is not a bounded number of seconds")
    for key in ("hostname", "parent"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise ValueError("state: spec.%s must be text" % key)
    if spec.get("parent") is not None and not is_valid_name(spec["parent"]):
        raise ValueError("state: spec.parent is not a sandbox name")
    if not isinstance(spec.get("mount_proc"), bool) or not (state.get("level") is None or _is_int(state["level"])):
        raise ValueError("state: spec.mount_proc must be a boolean and level a number")
    cgroup = state.get("cgroup")
    if cgroup is not None and not (
            isinstance(cgroup, dict) and isinstance(cgroup.get("relative"), str) and ".." not in cgroup["relative"]
            and isinstance(cgroup.get("paths"), dict)
            and all(isinstance(path, str) for path in cgroup["paths"].values())):
        raise ValueError("state: cgroup must name the sandbox's cgroup")
    userns = state.get("userns")
    if userns is not None and not (isinstance(userns, dict) and all(
            _is_int(userns.get(key)) and userns[key] > 0 for key in ("uid", "gid", "count"))):
        raise ValueError("state: userns must give the first host uid and gid and a count")
    if not _is_network(state.get("network")):
        raise ValueError("state: network must give the bridge, subnet, gateway, address and veth of a bridged sandbox")
    try:
        normalize_limits(spec.get("limits") or {})
    except SandboxError:
        raise ValueError("state: spec.limits are not limits")
    return state


def _is_network(network):
    """None, or a bridged sandbox's network: its names and addresses go into `ip` batches, so check them."""
    if network is None:
        return True
    if not isinstance(network, dict) or not _is_int(network.get("netns")) or \
            not all(_network.is_bridge_name(network.get(key)) for key in ("bridge", "veth")):
        return False
    try:
        _network.parse_subnet(network.get("subnet"), "subnet")
        for key in ("gateway", "address"):
            _network.parse_ipv4(network.get(key), key)
    except SandboxError:
        return False
    return True


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class StateDir(object):

    def __init__(self, root=STATE_DIR, proc_root=_procfs.PROC):
        self.root = root
        self.proc_root = proc_root
        self._lock_fd = None

    def path(self, name, *parts):
        return os.path.join(self.root, name, *parts)

    def handle_path(self, name, ns_type):
        return self.path(name, "ns", ns_type)

    @property
    def supervisor_path(self):
        return os.path.join(self.root, ".supervisor.py")

    def exists(self):
        return os.path.isdir(self.root)

    def names(self):
        """Names of the sandbox folders present (valid names only, sorted)."""
        if not self.exists():
            return []
        return sorted(entry for entry in os.listdir(self.root)
                      if is_valid_name(entry) and os.path.isdir(os.path.join(self.root, entry)))

    def lock(self, shared=False):
        """Exclusive for changes, shared for readers (who never see half a sandbox). Exclusive also
        makes the directory a private bind mount of itself under the lock, so two first runs cannot
        stack two mounts; the lock file is the same inode under it, so the lock holds."""
        if not shared:
            os.makedirs(self.root, 0o700, exist_ok=True)
            os.chmod(self.root, 0o700)
        fd = os.open(os.path.join(self.root, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            if not shared:
                self._make_private_mount()
        except BaseException:
            os.close(fd)
            raise
        self._lock_fd = fd

    def _make_private_mount(self):
        mount = _procfs.mount_at(_procfs.read_mountinfo(self.proc_root), self.root)
        if mount is None:
            _syscalls.mount(self.root, self.root, None, _syscalls.MS_BIND)
            mount = {"propagation": {"shared": True}}
        if mount["propagation"]:
            # A mount-namespace handle cannot be bound onto a shared mount (EINVAL).
            _syscalls.mount(None, self.root, None, _syscalls.MS_PRIVATE)

    def unlock(self):
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def read_state(self, name):
        try:
            with open(self.path(name, "state.json")) as handle:
                return parse_state(handle.read())
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise
        except ValueError:
            return None

    def write_state(self, name, state):
        path = self.path(name, "state.json")
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(state, handle, indent=2, sort_keys=True)
        os.rename(path + ".tmp", path)


class HostView(object):
    """What a module run reads of the host once: handles, cgroups, boot id (works with no state directory)."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        mounts = _procfs.read_mountinfo(state_dir.proc_root)
        self.handles = _procfs.nsfs_mounts(mounts)
        self.hierarchies = _cgroup.Hierarchies.detect(mounts)
        try:
            with open(os.path.join(state_dir.proc_root, "self", "cgroup")) as handle:
                inside = _cgroup.own_base(handle.read())
        except (IOError, OSError):
            inside = None
        self.cgroup_base = inside or _cgroup.TREE
        self.inside_sandbox = inside is not None
        self.boot_id = _procfs.read_boot_id(state_dir.proc_root)

    def refresh(self):
        self.__init__(self.state_dir)
