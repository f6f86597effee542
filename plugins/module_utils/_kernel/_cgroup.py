# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A cgroup of its own for every sandbox: placement, limits, freeze, exact kill, removal.

Layout, in v2 and in each v1 hierarchy of pids, memory, cpu, cpuacct, freezer::

    <base>/<name>/                 the sandbox: limits are set here
        _supervisor/               PID 1 (and whatever it forks)
        _workloads/                detached workloads of sandbox_exec
        _exec.<id>/                one per sandbox_exec command, removed after it
        <child name>/              a nested sandbox, laid out the same way

Processes live only in leaves (v2's no-internal-process rule, kept on v1 so a leaf's kill is exact);
leaf names start with "_", which no sandbox name can. <base> is ``<hierarchy root>/linuxns-pidns``,
or on systemd hosts the sandbox's delegated scope (see _systemd): systemd owns the tree there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import time

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError

TREE = "linuxns-pidns"
SYSTEMD_SLICE = "linuxns-pidns.slice"  # _systemd.SLICE
SUPERVISOR_LEAF = "_supervisor"
# Below a sandbox's cgroup: sandboxes made from inside it.
NESTED = "_sandboxes"
WORKLOADS_LEAF = "_workloads"
EXEC_PREFIX = "_exec."
V1_CONTROLLERS = ("pids", "memory", "cpu", "cpuacct", "freezer")
# Enabled top-down for the sandbox's cgroup where the host has them.
V2_CONTROLLERS = ("pids", "memory", "cpu")
CPU_PERIOD_US = 100000
# The kernel's bounds (v1 cpu.shares, v2 cpu.weight).
SHARES_MIN, SHARES_MAX = 2, 262144
WEIGHT_MIN, WEIGHT_MAX = 1, 10000
LIMIT_KEYS = ("pids_limit", "memory", "memory_swap", "cpus", "cpu_shares")


# ---------------------------------------------------------------- pure parts

def parse_hierarchies(mounts):
    """{"v2": mount point or None, "v1": {controller: mount point}} from parsed mountinfo entries."""
    found = {"v2": None, "v1": {}}
    for mount in mounts:
        if mount["fstype"] == "cgroup2" and found["v2"] is None:
            found["v2"] = mount["mount_point"]
        elif mount["fstype"] == "cgroup":
            options = mount["super_options"].split(",") + mount["options"].split(",")
            for controller in V1_CONTROLLERS:
                if controller in options and controller not in found["v1"]:
                    found["v1"][controller] = mount["mount_point"]
    return found


def cpu_weight(shares):
    """v1 cpu.shares -> v2 cpu.weight, the mapping runc and crun use (2 -> 1, 1024 -> 39, 262144 -> 10000)."""
    return 1 + ((shares - SHARES_MIN) * (WEIGHT_MAX - 1)) // (SHARES_MAX - SHARES_MIN)


def limit_files(limits, version):
    """[(controller, file, text)] for `limits` on `version` ("v1"/"v2"); None writes the unlimited value."""
    files = []
    pids = limits.get("pids_limit")
    memory = limits.get("memory")
    swap = limits.get("memory_swap")
    cpus = limits.get("cpus")
    shares = limits.get("cpu_shares")
    if version == "v2":
        files.append(("pids", "pids.max", "max" if pids is None else str(pids)))
        files.append(("memory", "memory.max", "max" if memory is None else str(memory)))
        # Docker's memory_swap is memory plus swap; v2 limits the swap alone.
        files.append(("memory", "memory.swap.max", "max" if swap is None else str(swap - (memory or 0))))
        files.append(("cpu", "cpu.max", "max %d" % CPU_PERIOD_US if cpus is None
                      else "%d %d" % (int(round(cpus * CPU_PERIOD_US)), CPU_PERIOD_US)))
        files.append(("cpu", "cpu.weight", str(cpu_weight(1024 if shares is None else shares))))
    else:
        files.append(("pids", "pids.max", "max" if pids is None else str(pids)))
        if swap is None:
            # memsw must stay >= memory: lift it first.
            files.append(("memory", "memory.memsw.limit_in_bytes", "-1"))
            files.append(("memory", "memory.limit_in_bytes", "-1" if memory is None else str(memory)))
        else:
            # The kernel refuses (EINVAL) a memory limit above the current memsw one.
            files.append(("memory", "memory.memsw.limit_in_bytes", "-1"))
            files.append(("memory", "memory.limit_in_bytes", str(memory)))
            files.append(("memory", "memory.memsw.limit_in_bytes", str(swap)))
        files.append(("cpu", "cpu.cfs_period_us", str(CPU_PERIOD_US)))
        files.append(("cpu", "cpu.cfs_quota_us", "-1" if cpus is None else str(int(round(cpus * CPU_PERIOD_US)))))
        files.append(("cpu", "cpu.shares", str(1024 if shares is None else shares)))
    return files


def parse_flat_keyed(text):
    """"key value" lines (memory.events, cpu.stat, cgroup.events, memory.oom_control) -> {key: int}."""
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                values[parts[0]] = int(parts[1])
            except ValueError:
                pass
    return values


# ---------------------------------------------------------------- the host's hierarchies

class Hierarchies(object):
    """The host's cgroup mounts: ``v2`` (or None), ``v1`` {controller: mount}; ``problem``: why no
    cgroup can be made here, or None."""

    def __init__(self, found, sys_root=""):
        self.v2 = found["v2"]
        self.v1 = dict(found["v1"])
        self.sys_root = sys_root
        self.problem = None
        if self.v2 is None and not self.v1:
            self.problem = "the host has no cgroup hierarchy mounted"
        else:
            for mount in self.mounts():
                if not os.access(self._real(mount), os.W_OK):
                    self.problem = "the cgroup hierarchy at %s is not writable here (no delegation)" % mount
                    break

    @classmethod
    def detect(cls, mounts, sys_root=""):
        return cls(parse_hierarchies(mounts), sys_root)

    def mounts(self):
        """Mount points to build in, v2 first, each once (cpu and cpuacct may share one)."""
        seen = []
        for mount in ([self.v2] if self.v2 else []) + [self.v1[c] for c in V1_CONTROLLERS if c in self.v1]:
            if mount not in seen:
                seen.append(mount)
        return seen

    def _real(self, path):
        return self.sys_root + path if self.sys_root else path

    def supports(self, limits):
        """Messages naming each option in `limits` the host cannot enforce."""
        needed = {"pids_limit": "pids", "memory": "memory", "memory_swap": "memory", "cpus": "cpu",
                  "cpu_shares": "cpu"}
        problems = []
        for key, controller in sorted(needed.items()):
            if limits.get(key) is None:
                continue
            if self.problem:
                problems.append("%s: the sandbox cannot have a cgroup here (%s)" % (key, self.problem))
            elif controller not in self.v1 and controller not in self.v2_controllers():
                problems.append("%s: the host's cgroups have no %s controller to enforce it" % (key, controller))
        if limits.get("memory_swap") is not None and "memory" in self.v1 and self.v2_controllers().isdisjoint(["memory"]):
            if not os.path.exists(self._real(os.path.join(self.v1["memory"], "memory.memsw.limit_in_bytes"))):
                problems.append("memory_swap: the kernel does not account swap (boot with swapaccount=1)")
        return problems

    def v2_controllers(self):
        if not self.v2:
            return frozenset()
        try:
            with open(self._real(os.path.join(self.v2, "cgroup.controllers"))) as handle:
                return frozenset(handle.read().split())
        except (IOError, OSError):
            return frozenset()


# ---------------------------------------------------------------- one sandbox's cgroup

class SandboxCgroup(object):
    """One sandbox's cgroup; ``relative``, its path below every mount point, is the same in each."""

    def __init__(self, hierarchies, relative):
        self.hierarchies = hierarchies
        self.relative = relative.strip("/")

    def path(self, mount, *leaf):
        return os.path.join(self.hierarchies._real(mount), self.relative, *leaf)

    def paths(self):
        """{"v2" or controller: host path}, as the state file records."""
        found = {}
        if self.hierarchies.v2:
            found["v2"] = os.path.join(self.hierarchies.v2, self.relative)
        for controller in V1_CONTROLLERS:
            if controller in self.hierarchies.v1:
                found[controller] = os.path.join(self.hierarchies.v1[controller], self.relative)
        return found

    def exists(self):
        return any(os.path.isdir(self.path(mount)) for mount in self.hierarchies.mounts())

    # ---- making and placing

    def create(self):
        """Make the cgroup and its leaves everywhere, enabling v2 controllers on the way down."""
        v2 = self.hierarchies.v2
        wanted = [c for c in V2_CONTROLLERS if c in self.hierarchies.v2_controllers()]
        for mount in self.hierarchies.mounts():
            parts = self.relative.split("/")
            for depth in range(1, len(parts) + 1):
                directory = os.path.join(self.hierarchies._real(mount), *parts[:depth])
                _mkdir(directory)
                if mount == v2 and wanted:
                    # The parent's subtree_control enables them here; ours, in the leaves.
                    _enable(os.path.dirname(directory), wanted)
                    if depth == len(parts):
                        _enable(directory, wanted)
            for leaf in (SUPERVISOR_LEAF, WORKLOADS_LEAF):
                _mkdir(self.path(mount, leaf))

    def _leaf_in(self, mount, leaf):
        """The leaf standing for `leaf` at `mount`. v1 counts an OOM kill only in the victim's own
        memory cgroup, so a removed exec leaf would lose it: in a v1 memory-only hierarchy, exec
        commands use _workloads (their kill goes through v2 or the freezer)."""
        memory = self.hierarchies.v1.get("memory")
        if (leaf and leaf.startswith(EXEC_PREFIX) and mount == memory
                and "memory" not in self.hierarchies.v2_controllers()
                and [c for c in V1_CONTROLLERS if self.hierarchies.v1.get(c) == memory] == ["memory"]):
            return WORKLOADS_LEAF
        return leaf

    def _exact_mounts(self, leaf):
        """Mounts where `leaf` is its own cgroup (see _leaf_in)."""
        return [mount for mount in self.hierarchies.mounts() if self._leaf_in(mount, leaf) == leaf]

    def place(self, pid, leaf=SUPERVISOR_LEAF):
        """Move process `pid` (0: the caller) into `leaf` of every hierarchy."""
        for mount in self.hierarchies.mounts():
            _write(self.path(mount, self._leaf_in(mount, leaf), "cgroup.procs"), str(pid))

    def open_procs(self, leaf):
        """Write ends of `leaf`'s cgroup.procs in every hierarchy, opened while the paths are the
        host's, for a process that joins the sandbox's namespaces to enter it later (enter_through)."""
        fds = []
        try:
            for mount in self.hierarchies.mounts():
                fds.append(os.open(self.path(mount, self._leaf_in(mount, leaf), "cgroup.procs"),
                                   os.O_WRONLY | os.O_CLOEXEC))
        except BaseException:
            for fd in fds:
                os.close(fd)
            raise
        return fds

    def make_leaf(self, leaf):
        for mount in self.hierarchies.mounts():
            _mkdir(self.path(mount, self._leaf_in(mount, leaf)))

    # ---- limits and pause

    def set_limits(self, limits):
        """Write each limit file whose controller the host has."""
        v2_controllers = self.hierarchies.v2_controllers()
        for controller, name, text in limit_files(limits, "v1"):
            if controller in self.hierarchies.v1 and controller not in v2_controllers:
                target = self.path(self.hierarchies.v1[controller], name)
                if os.path.exists(target):
                    _write(target, text)
        if self.hierarchies.v2:
            for controller, name, text in limit_files(limits, "v2"):
                target = self.path(self.hierarchies.v2, name)
                if controller in v2_controllers and os.path.exists(target):
                    _write(target, text)

    def freeze(self, frozen, timeout=10.0):
        """Freeze or thaw the sandbox (v2 cgroup.freeze, else the v1 freezer)."""
        v2 = self.hierarchies.v2
        if v2 and os.path.exists(self.path(v2, "cgroup.freeze")):
            _write(self.path(v2, "cgroup.freeze"), "1" if frozen else "0")
            self._wait_for(lambda: self.frozen() == frozen, timeout)
            return
        if "freezer" in self.hierarchies.v1:
            _write(self.path(self.hierarchies.v1["freezer"], "freezer.state"), "FROZEN" if frozen else "THAWED")
            self._wait_for(lambda: self.frozen() == frozen, timeout)
            return
        raise SandboxError("paused: the host's cgroups can freeze nothing (no cgroup v2, no v1 freezer)")

    def frozen(self):
        """True/False, or None when it cannot be told."""
        v2 = self.hierarchies.v2
        if v2:
            events = _read_keyed(self.path(v2, "cgroup.events"))
            if "frozen" in events:
                return events["frozen"] == 1
        if "freezer" in self.hierarchies.v1:
            state = _read(self.path(self.hierarchies.v1["freezer"], "freezer.state"))
            if state is not None:
                return state.strip() == "FROZEN"
        return None

    @staticmethod
    def _wait_for(condition, timeout):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SandboxError("the sandbox's cgroup did not change its frozen state within %ds" % timeout)
            time.sleep(0.01)

    # ---- what runs in it

    def pids(self, leaf=None):
        """Host PIDs in the cgroup (or one leaf) and below."""
        found = set()
        for mount in self._exact_mounts(leaf)[:1]:
            top = self.path(mount, leaf) if leaf else self.path(mount)
            for directory, _subdirs, files in os.walk(top):
                if "cgroup.procs" in files:
                    text = _read(os.path.join(directory, "cgroup.procs")) or ""
                    found.update(int(line) for line in text.split() if line.isdigit())
        return found

    def populated(self, leaf=None):
        v2 = self.hierarchies.v2
        if v2:
            events = _read_keyed(self.path(v2, leaf, "cgroup.events") if leaf else self.path(v2, "cgroup.events"))
            if "populated" in events:
                return events["populated"] == 1
        return bool(self.pids(leaf))

    def kill(self, leaf=None, timeout=10.0):
        """SIGKILL everything in the cgroup (or a leaf): v2 cgroup.kill, else freeze, kill each, thaw
        (frozen processes cannot fork). Returns whether it emptied in time."""
        v2 = self.hierarchies.v2
        target = self.path(v2, leaf) if (v2 and leaf) else (self.path(v2) if v2 else None)
        if target and os.path.exists(os.path.join(target, "cgroup.kill")):
            _write(os.path.join(target, "cgroup.kill"), "1")
        else:
            self._kill_each(leaf)
        deadline = time.monotonic() + timeout
        while self.populated(leaf):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _kill_each(self, leaf):
        import signal
        from ansible_collections.linuxns.pidns.plugins.module_utils._kernel._process import signal_if
        freezer = self.hierarchies.v1.get("freezer")
        state = None
        if freezer:
            state = self.path(freezer, leaf, "freezer.state") if leaf else self.path(freezer, "freezer.state")
            _write(state, "FROZEN")
        try:
            for pid in self.pids(leaf):
                # Frozen, it cannot exit: still listed once pinned means it is the one listed.
                signal_if(pid, signal.SIGKILL, lambda pid=pid: pid in self.pids(leaf))
        finally:
            if state:
                _write(state, "THAWED")

    def retire_leaf(self, leaf, into, attempts=50):
        """Move what is left in `leaf` into `into` (in rounds: it may fork meanwhile), then remove `leaf`."""
        for _attempt in range(attempts):
            left = self.pids(leaf)
            if not left:
                break
            for pid in left:
                for mount in self._exact_mounts(leaf):
                    try:
                        _write(self.path(mount, into, "cgroup.procs"), str(pid))
                    except OSError as exc:
                        if exc.errno != errno.ESRCH:
                            raise
        for mount in self._exact_mounts(leaf):
            try:
                _rmdir(self.path(mount, leaf))
            except OSError as exc:
                if exc.errno != errno.EBUSY:  # a zombie not yet reaped: the next removal takes it
                    raise

    def remove(self):
        """Remove the cgroup everywhere, deepest first; SandboxError while it has processes."""
        if self.populated():
            raise SandboxError("its cgroup %s still has processes" % self.relative)
        for mount in self.hierarchies.mounts():
            top = self.path(mount)
            if not os.path.isdir(top):
                continue
            for directory, _subdirs, _files in sorted(os.walk(top), key=lambda entry: -entry[0].count("/")):
                _rmdir(directory)

    # ---- reporting

    def usage(self):
        """Usage as sandbox_info reports it."""
        v1, v2 = self.hierarchies.v1, self.hierarchies.v2
        v2_controllers = self.hierarchies.v2_controllers()
        report = {"pids": len(self.pids()), "memory_current": None, "memory_peak": None, "oom_kills": None,
                  "cpu_seconds": None, "paused": self.frozen()}
        if v2 and "memory" in v2_controllers:
            report["memory_current"] = _read_int(self.path(v2, "memory.current"))
            report["memory_peak"] = _read_int(self.path(v2, "memory.peak"))
            report["oom_kills"] = _read_keyed(self.path(v2, "memory.events")).get("oom_kill")
        elif "memory" in v1:
            report["memory_current"] = _read_int(self.path(v1["memory"], "memory.usage_in_bytes"))
            report["memory_peak"] = _read_int(self.path(v1["memory"], "memory.max_usage_in_bytes"))
            report["oom_kills"] = self._v1_oom_kills()
        if v2:
            usage = _read_keyed(self.path(v2, "cpu.stat")).get("usage_usec")
            if usage is not None:
                report["cpu_seconds"] = usage / 1e6
        if report["cpu_seconds"] is None and "cpuacct" in v1:
            nanoseconds = _read_int(self.path(v1["cpuacct"], "cpuacct.usage"))
            report["cpu_seconds"] = None if nanoseconds is None else nanoseconds / 1e9
        return report

    def oom_kills_in(self, leaf):
        """OOM kills counted in `leaf` alone (0 or more), or None where no memory controller counts them."""
        v1, v2 = self.hierarchies.v1, self.hierarchies.v2
        if v2 and "memory" in self.hierarchies.v2_controllers():
            return _read_keyed(self.path(v2, leaf, "memory.events")).get("oom_kill")
        if "memory" in v1:
            return _read_keyed(self.path(v1["memory"], leaf, "memory.oom_control")).get("oom_kill")
        return None

    def _v1_oom_kills(self):
        """v1 OOM kills summed over the subtree (None if none counted): v1 counts a kill only in the
        victim's own cgroup, not in its ancestors as v2 does."""
        total = None
        for directory, _subdirs, files in os.walk(self.path(self.hierarchies.v1["memory"])):
            if "memory.oom_control" in files:
                count = _read_keyed(os.path.join(directory, "memory.oom_control")).get("oom_kill")
                if count is not None:
                    total = (total or 0) + count
        return total


def sandbox_cgroup(hierarchies, name, parent_relative=None, base=TREE):
    """The cgroup a new sandbox gets: below its parent sandbox's, else below `base`."""
    return SandboxCgroup(hierarchies, os.path.join(parent_relative or base, name))


def own_base(cgroup_text):
    """Base for sandboxes made from inside a sandbox (say, a sandboxed sshd): ``<its cgroup>/_sandboxes``,
    so its limits bound them and host sandboxes of the same name never clash. None outside one.

    `cgroup_text` is /proc/self/cgroup; the ``0::`` line is read, else the first."""
    lines = [line.split(":", 2) for line in cgroup_text.splitlines() if line.count(":") >= 2]
    chosen = [fields for fields in lines if fields[0] == "0"] or lines
    if not chosen:
        return None
    parts = chosen[0][2].strip("/").split("/")
    for index, part in enumerate(parts):
        if part in (SUPERVISOR_LEAF, WORKLOADS_LEAF) or part.startswith(EXEC_PREFIX):
            if TREE in parts[:index] or any(p.startswith("linuxns-pidns-") for p in parts[:index]):
                return "/".join(parts[:index] + [NESTED])
    return None


def find_by_name(hierarchies, name, base=TREE):
    """Sandbox `name`'s cgroup, walking below `base` (for a lost state file)."""
    for mount in hierarchies.mounts()[:1]:
        # Our tree, and systemd's slice where scopes were asked for.
        for base in ((base, SYSTEMD_SLICE) if base == TREE else (base,)):
            found = _walk_for(hierarchies, mount, os.path.join(hierarchies._real(mount), base), name)
            if found is not None:
                return found
    return None


def _walk_for(hierarchies, mount, top, name):
    for directory, subdirs, _files in os.walk(top):
        if os.path.basename(directory) == name and SUPERVISOR_LEAF in subdirs:
            return SandboxCgroup(hierarchies, os.path.relpath(directory, hierarchies._real(mount)))
        # Not into leaves, nor into what processes inside made (their names are theirs).
        subdirs[:] = [d for d in subdirs if not d.startswith("_")]
    return None


# ---------------------------------------------------------------- small file helpers

def _mkdir(path):
    try:
        os.mkdir(path, 0o755)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise


def _rmdir(path):
    try:
        os.rmdir(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise


def enter_through(procs_fds):
    """Move the caller into the cgroup whose cgroup.procs `procs_fds` are open (open_procs); closes them."""
    try:
        for fd in procs_fds:
            os.write(fd, b"0")
    finally:
        for fd in procs_fds:
            os.close(fd)


def _write(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode("ascii"))
    finally:
        os.close(fd)


def _enable(directory, controllers):
    """v2 cgroup.subtree_control: `controllers` for the children of `directory`."""
    try:
        _write(os.path.join(directory, "cgroup.subtree_control"), " ".join("+" + c for c in controllers))
    except OSError as exc:
        # EBUSY: `directory` holds processes (no-internal-process rule); v2 cannot enforce limits here.
        if exc.errno not in (errno.EBUSY, errno.ENOENT):
            raise


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _read_int(path):
    text = _read(path)
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def _read_keyed(path):
    text = _read(path)
    return parse_flat_keyed(text) if text else {}
