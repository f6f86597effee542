# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _cgroup: the pure parts, and SandboxCgroup against a FAKE cgroupfs in a tmp dir.

The fake (FakeKernel) stands in for the kernel where a real cgroupfs differs from plain files:
mkdir makes the interface files (limit files only for the controllers the parent enabled in its
cgroup.subtree_control on v2, as the kernel does), a write replaces a file's value, cgroup.freeze
updates cgroup.events, cgroup.kill empties the subtree, rmdir refuses a cgroup with processes or
children (EBUSY), and v1 memory keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes (EINVAL).
v2 limits can only be tested this way on this machine (its v2 hierarchy has no controller bound)."""

from __future__ import annotations

import errno
import os

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _cgroup, _procfs
from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError

# This machine's cgroup mounts (hybrid), as /proc/self/mountinfo shows them.
HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
# A v1 host where cpu and cpuacct share one hierarchy (the usual systemd layout), and a pure v2 host.
COMOUNTED = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
PURE_V2 = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
UNLIMITED = {"pids_limit": None, "memory": None, "memory_swap": None, "cpus": None, "cpu_shares": None}
MIB = 1024 * 1024


# ---------------------------------------------------------------- pure parts

def test_parse_hierarchies_on_this_machines_hybrid_mounts():
    found = _cgroup.parse_hierarchies(_procfs.parse_mountinfo(HYBRID_MOUNTINFO))
    assert found == {"v2": "/sys/fs/cgroup/unified",
                     "v1": {"pids": "/sys/fs/cgroup/pids", "memory": "/sys/fs/cgroup/memory",
                            "cpu": "/sys/fs/cgroup/cpu", "cpuacct": "/sys/fs/cgroup/cpuacct",
                            "freezer": "/sys/fs/cgroup/freezer"}}


def test_parse_hierarchies_comounted_and_pure_v2_and_none():
    comounted = _cgroup.parse_hierarchies(_procfs.parse_mountinfo(COMOUNTED))
    assert comounted == {"v2": None, "v1": {"cpu": "/sys/fs/cgroup/cpu,cpuacct",
                                            "cpuacct": "/sys/fs/cgroup/cpu,cpuacct"}}
    assert _cgroup.parse_hierarchies(_procfs.parse_mountinfo(PURE_V2)) == {"v2": "/sys/fs/cgroup", "v1": {}}
    assert _cgroup.parse_hierarchies([]) == {"v2": None, "v1": {}}


@pytest.mark.parametrize("shares, weight", [(2, 1), (1024, 39), (262144, 10000), (512, 20), (2048, 79)])
def test_cpu_weight_maps_shares_as_runc_does(shares, weight):
    assert _cgroup.cpu_weight(shares) == weight


def test_parse_flat_keyed():
    text = "populated 1\nfrozen 0\n"
    assert _cgroup.parse_flat_keyed(text) == {"populated": 1, "frozen": 0}
    oom = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"
    assert _cgroup.parse_flat_keyed(oom)["oom_kill"] == 3
    assert _cgroup.parse_flat_keyed("max 5\nbroken line here\nword x\n\n") == {"max": 5}


def test_limit_files_v2():
    limits = {"pids_limit": 64, "memory": 64 * MIB, "memory_swap": 96 * MIB, "cpus": 0.5, "cpu_shares": 512}
    assert _cgroup.limit_files(limits, "v2") == [
        ("pids", "pids.max", "64"),
        ("memory", "memory.max", str(64 * MIB)),
        ("memory", "memory.swap.max", str(32 * MIB)),  # docker's memory_swap is memory plus swap
        ("cpu", "cpu.max", "50000 100000"),
        ("cpu", "cpu.weight", "20"),
    ]


def test_limit_files_v2_unlimited():
    assert _cgroup.limit_files(UNLIMITED, "v2") == [
        ("pids", "pids.max", "max"), ("memory", "memory.max", "max"), ("memory", "memory.swap.max", "max"),
        ("cpu", "cpu.max", "max 100000"), ("cpu", "cpu.weight", "39")]


def test_limit_files_v1_and_unlimited():
    limits = {"pids_limit": 10, "memory": 64 * MIB, "memory_swap": None, "cpus": 1.5, "cpu_shares": 2048}
    assert _cgroup.limit_files(limits, "v1") == [
        ("pids", "pids.max", "10"),
        ("memory", "memory.memsw.limit_in_bytes", "-1"),
        ("memory", "memory.limit_in_bytes", str(64 * MIB)),
        ("cpu", "cpu.cfs_period_us", "100000"),
        ("cpu", "cpu.cfs_quota_us", "150000"),
        ("cpu", "cpu.shares", "2048"),
    ]
    assert [text for _c, _f, text in _cgroup.limit_files(UNLIMITED, "v1")] == [
        "max", "-1", "-1", "100000", "-1", "1024"]


def _apply_v1_memory(files, limit, memsw):
    """The kernel's rule for v1 memory writes: memory <= memsw at every step; -1 is unlimited."""
    big = float("inf")
    for _controller, name, text in files:
        value = big if text == "-1" else int(text)
        if name == "memory.limit_in_bytes":
            if value > memsw:
                raise OSError(errno.EINVAL, "memory above memsw")
            limit = value
        elif name == "memory.memsw.limit_in_bytes":
            if value < limit:
                raise OSError(errno.EINVAL, "memsw below memory")
            memsw = value
    return limit, memsw


@pytest.mark.parametrize("start", [(float("inf"), float("inf")), (64 * MIB, 128 * MIB), (256 * MIB, 256 * MIB),
                                   (32 * MIB, float("inf"))])
@pytest.mark.parametrize("memory, swap", [(96 * MIB, 192 * MIB), (16 * MIB, 24 * MIB), (64 * MIB, None),
                                          (None, None)])
def test_limit_files_v1_memory_order_keeps_the_kernels_invariant(start, memory, swap):
    """From any current pair of limits to any wanted one, no write breaks memory <= memsw."""
    files = [f for f in _cgroup.limit_files(dict(UNLIMITED, memory=memory, memory_swap=swap), "v1")
             if f[0] == "memory"]
    limit, memsw = _apply_v1_memory(files, *start)
    assert limit == (float("inf") if memory is None else memory)
    assert memsw == (float("inf") if swap is None else swap)


# ---------------------------------------------------------------- a fake cgroupfs

V2_CORE = ("cgroup.procs", "cgroup.events", "cgroup.freeze", "cgroup.kill", "cgroup.subtree_control",
           "cgroup.controllers", "cpu.stat")
V2_LIMIT_FILES = {"pids": ("pids.max", "pids.current"),
                  "memory": ("memory.max", "memory.swap.max", "memory.current", "memory.peak", "memory.events"),
                  "cpu": ("cpu.max", "cpu.weight")}
V1_FILES = {"pids": ("pids.max", "pids.current"),
            "memory": ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.usage_in_bytes",
                       "memory.max_usage_in_bytes", "memory.oom_control"),
            "cpu": ("cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.shares"),
            "cpuacct": ("cpuacct.usage",),
            "freezer": ("freezer.state",)}
V1_DEFAULTS = {"pids.max": "max", "memory.limit_in_bytes": "9223372036854771712",
               "memory.memsw.limit_in_bytes": "9223372036854771712", "cpu.cfs_quota_us": "-1",
               "cpu.shares": "1024", "cpu.cfs_period_us": "100000", "freezer.state": "THAWED",
               "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "cpuacct.usage": "0",
               "memory.usage_in_bytes": "0", "memory.max_usage_in_bytes": "0", "pids.current": "0"}


class FakeKernel(object):
    """A cgroupfs in a tmp dir, with the kernel's behaviour where it matters (see the module doc)."""

    def __init__(self, root, v2=True, v2_controllers=("pids", "memory", "cpu"), v1=_cgroup.V1_CONTROLLERS,
                 comount=None):
        self.root = str(root)
        self.writes = []  # (path below root, text), in order
        self.v2 = "/sys/fs/cgroup/unified" if v2 else None
        self.v1 = {}
        for controller in v1:
            self.v1[controller] = "/sys/fs/cgroup/" + (comount if comount and controller in comount.split(",")
                                                       else controller)
        self.kinds = {}  # real mount dir -> "v2" or the v1 controllers there
        if self.v2:
            self.kinds[self.real(self.v2)] = "v2"
            os.makedirs(self.real(self.v2))
            self._files(self.real(self.v2), "v2", root_level=True)
            self.put(self.v2, "cgroup.controllers", " ".join(v2_controllers))
        for controller, mount in self.v1.items():
            self.kinds.setdefault(self.real(mount), [])
            self.kinds[self.real(mount)].append(controller)
        for mount in set(self.v1.values()):
            os.makedirs(self.real(mount), exist_ok=True)
            self._files(self.real(mount), self.kinds[self.real(mount)], root_level=True)

    def real(self, path):
        return self.root + path

    def found(self):
        return {"v2": self.v2, "v1": dict(self.v1)}

    def hierarchies(self):
        return _cgroup.Hierarchies(self.found(), sys_root=self.root)

    def put(self, mount, relative, text):
        with open(os.path.join(self.real(mount), relative), "w") as handle:
            handle.write(text)

    def get(self, mount, relative):
        with open(os.path.join(self.real(mount), relative)) as handle:
            return handle.read().strip()

    def _mount_of(self, path):
        for mount in sorted(self.kinds, key=len, reverse=True):
            if path == mount or path.startswith(mount + "/"):
                return mount
        raise AssertionError("not in the fake cgroupfs: %s" % path)

    def _files(self, directory, kind, root_level=False):
        names = ["cgroup.procs"]
        if kind == "v2":
            names = [n for n in V2_CORE if not (root_level and n in ("cgroup.freeze", "cgroup.kill"))]
            if not root_level:
                parent = os.path.dirname(directory)
                with open(os.path.join(parent, "cgroup.subtree_control")) as handle:
                    enabled = handle.read().split()
                for controller in enabled:
                    names += V2_LIMIT_FILES.get(controller, ())
        else:
            for controller in kind:
                names += [n for n in V1_FILES.get(controller, ()) if not (root_level and n.endswith(".max"))]
        for name in names:
            path = os.path.join(directory, name)
            if not os.path.exists(path):
                with open(path, "w") as handle:
                    handle.write({"cgroup.events": "populated 0\nfrozen 0\n"}.get(name, V1_DEFAULTS.get(name, "")))

    # ---- the kernel's side of _cgroup's three primitives

    def mkdir(self, path):
        try:
            os.mkdir(path, 0o755)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
            return
        self._files(path, self.kinds[self._mount_of(path)])

    def rmdir(self, path):
        if not os.path.isdir(path):
            return
        if [entry for entry in os.listdir(path) if os.path.isdir(os.path.join(path, entry))]:
            raise OSError(errno.EBUSY, "has children", path)
        with open(os.path.join(path, "cgroup.procs")) as handle:
            if handle.read().split():
                raise OSError(errno.EBUSY, "has processes", path)
        for entry in os.listdir(path):
            os.unlink(os.path.join(path, entry))
        os.rmdir(path)

    def write(self, path, text):
        if not os.path.exists(path):
            raise OSError(errno.ENOENT, "no such file", path)
        self.writes.append((path[len(self.root):], text))
        directory, name = os.path.split(path)
        if name == "cgroup.procs":
            self._move(directory, text)
            return
        if name == "cgroup.subtree_control":
            current = set(open(path).read().split())
            for item in text.split():
                (current.add if item[0] == "+" else current.discard)(item[1:])
            text = " ".join(sorted(current))
            with open(path, "w") as handle:
                handle.write(text)
            # The children get the interface files of the controllers enabled for them.
            for entry in os.listdir(directory):
                if os.path.isdir(os.path.join(directory, entry)):
                    self._files(os.path.join(directory, entry), "v2")
            return
        elif name == "cgroup.freeze":
            self._set_event(directory, "frozen", int(text))
        elif name == "cgroup.kill":
            self._kill(directory)
            return
        elif name == "memory.limit_in_bytes" and self._bytes(text) > self._bytes(
                open(os.path.join(directory, "memory.memsw.limit_in_bytes")).read()):
            raise OSError(errno.EINVAL, "memory above memsw", path)
        elif name == "memory.memsw.limit_in_bytes" and self._bytes(text) < self._bytes(
                open(os.path.join(directory, "memory.limit_in_bytes")).read()):
            raise OSError(errno.EINVAL, "memsw below memory", path)
        with open(path, "w") as handle:
            handle.write(text)

    @staticmethod
    def _bytes(text):
        text = text.strip()
        return float("inf") if text in ("-1", "9223372036854771712") else int(text)

    def _set_event(self, directory, key, value):
        events = _cgroup.parse_flat_keyed(open(os.path.join(directory, "cgroup.events")).read())
        events[key] = value
        with open(os.path.join(directory, "cgroup.events"), "w") as handle:
            handle.write("populated %d\nfrozen %d\n" % (events.get("populated", 0), events.get("frozen", 0)))

    def _move(self, directory, text):
        pid = os.getpid() if text == "0" else int(text)
        mount = self._mount_of(directory)
        for other, _dirs, files in os.walk(mount):
            if "cgroup.procs" in files:
                procs = os.path.join(other, "cgroup.procs")
                left = [p for p in open(procs).read().split() if int(p) != pid]
                if other == directory:
                    left.append(str(pid))
                with open(procs, "w") as handle:
                    handle.write("\n".join(left))
        self._refresh_populated(mount)

    def _refresh_populated(self, mount):
        if self.kinds[mount] != "v2":
            return
        for directory, _dirs, files in os.walk(mount):
            if "cgroup.events" in files and directory != mount:
                populated = any(open(os.path.join(d, "cgroup.procs")).read().split()
                                for d, _s, f in os.walk(directory) if "cgroup.procs" in f)
                self._set_event(directory, "populated", int(populated))

    def _kill(self, directory):
        """Every process of the subtree dies: it leaves every hierarchy."""
        dead = set()
        for other, _dirs, _files in os.walk(directory):
            dead.update(open(os.path.join(other, "cgroup.procs")).read().split())
        for mount in self.kinds:
            for other, _dirs, files in os.walk(mount):
                if "cgroup.procs" in files:
                    procs = os.path.join(other, "cgroup.procs")
                    left = [p for p in open(procs).read().split() if p not in dead]
                    with open(procs, "w") as handle:
                        handle.write("\n".join(left))
            self._refresh_populated(mount)


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    made = {}

    def make(**options):
        fake = FakeKernel(tmp_path / "root", **options)
        monkeypatch.setattr(_cgroup, "_mkdir", fake.mkdir)
        monkeypatch.setattr(_cgroup, "_rmdir", fake.rmdir)
        monkeypatch.setattr(_cgroup, "_write", fake.write)
        made["kernel"] = fake
        return fake

    return make


# ---------------------------------------------------------------- Hierarchies

def test_hierarchies_mounts_v2_first_and_comounted_once(kernel):
    fake = kernel(comount="cpu,cpuacct")
    hierarchies = fake.hierarchies()
    assert hierarchies.problem is None
    assert hierarchies.mounts() == ["/sys/fs/cgroup/unified", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory",
                                    "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/freezer"]
    assert hierarchies.v2_controllers() == frozenset(["pids", "memory", "cpu"])


def test_hierarchies_problems(tmp_path):
    none = _cgroup.Hierarchies({"v2": None, "v1": {}}, sys_root=str(tmp_path))
    assert none.problem == "the host has no cgroup hierarchy mounted"
    assert none.supports({"pids_limit": 5}) == [
        "pids_limit: the sandbox cannot have a cgroup here (the host has no cgroup hierarchy mounted)"]
    missing = _cgroup.Hierarchies({"v2": "/nowhere", "v1": {}}, sys_root=str(tmp_path))
    assert "not writable" in missing.problem and "/nowhere" in missing.problem
    assert none.supports(UNLIMITED) == []


def test_hierarchies_supports_names_a_missing_controller(kernel):
    fake = kernel(v2_controllers=("hugetlb",), v1=("pids", "freezer"))
    problems = fake.hierarchies().supports(dict(UNLIMITED, pids_limit=5, memory=64 * MIB, cpus=1.0))
    assert problems == ["cpus: the host's cgroups have no cpu controller to enforce it",
                        "memory: the host's cgroups have no memory controller to enforce it"]


def test_hierarchies_supports_memory_swap_needs_swap_accounting_on_v1(kernel):
    fake = kernel(v2_controllers=("hugetlb",))
    hierarchies = fake.hierarchies()
    wanted = dict(UNLIMITED, memory=64 * MIB, memory_swap=128 * MIB)
    assert hierarchies.supports(wanted) == []
    os.unlink(fake.real("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"))
    assert hierarchies.supports(wanted) == [
        "memory_swap: the kernel does not account swap (boot with swapaccount=1)"]


# ---------------------------------------------------------------- SandboxCgroup on a fake v2 with controllers

def test_create_makes_the_tree_and_enables_v2_controllers_top_down(kernel):
    fake = kernel(v1=())
    cgroup = _cgroup.sandbox_cgroup(fake.hierarchies(), "web")
    assert cgroup.relative == "linuxns-pidns/web"
    assert not cgroup.exists()
    cgroup.create()
    assert cgroup.exists()
    v2 = "/sys/fs/cgroup/unified"
    for leaf in ("_supervisor", "_workloads"):
        assert os.path.isdir(fake.real(v2 + "/linuxns-pidns/web/" + leaf))
    for directory in ("", "/linuxns-pidns", "/linuxns-pidns/web"):
        assert fake.get(v2, directory.lstrip("/") + "/cgroup.subtree_control" if directory
                        else "cgroup.subtree_control") == "cpu memory pids"
    # So the limit files exist in the sandbox's cgroup and in its leaves.
    assert os.path.exists(fake.real(v2 + "/linuxns-pidns/web/pids.max"))
    assert os.path.exists(fake.real(v2 + "/linuxns-pidns/web/_supervisor/memory.max"))
    assert cgroup.paths() == {"v2": v2 + "/linuxns-pidns/web"}


def test_set_limits_writes_v2_files_and_goes_back_to_max(kernel):
    fake = kernel(v1=())
    cgroup = _cgroup.sandbox_cgroup(fake.hierarchies(), "web")
    cgroup.create()
    v2, top = "/sys/fs/cgroup/unified", "linuxns-pidns/web/"
    cgroup.set_limits({"pids_limit": 64, "memory": 64 * MIB, "memory_swap": 128 * MIB, "cpus": 0.5,
                       "cpu_shares": 2048})
    assert [fake.get(v2, top + name) for name in ("pids.max", "memory.max", "memory.swap.max", "cpu.max",
                                                  "cpu.weight")] == [
        "64", str(64 * MIB), str(64 * MIB), "50000 100000", "79"]
    cgroup.set_limits(UNLIMITED)
    assert [fake.get(v2, top + name) for name in ("pids.max", "memory.max", "memory.swap.max", "cpu.max",
                                                  "cpu.weight")] == ["max", "max", "max", "max 100000", "39"]
    assert not [path for path, _text in fake.writes if "/sys/fs/cgroup/pids" in path]


def test_set_limits_skips_v1_for_controllers_v2_has(kernel):
    fake = kernel(v2_controllers=("pids",), v1=("pids", "memory"))
    cgroup = _cgroup.sandbox_cgroup(fake.hierarchies(), "web")
    cgroup.create()
    cgroup.set_limits(dict(UNLIMITED, pids_limit=7, memory=64 * MIB))
    assert fake.get("/sys/fs/cgroup/unified", "linuxns-pidns/web/pids.max") == "7"
    assert fake.get("/sys/fs/cgroup/pids", "linuxns-pidns/web/pids.max") == "max"  # not written twice
    assert fake.get("/sys/fs/cgroup/memory", "linuxns-pidns/web/memory.limit_in_bytes") == str(64 * MIB)


def test_v2_no_internal_processes_enabling_is_tolerated(kernel, monkeypatch):
    """EBUSY from cgroup.subtree_control (a cgroup with processes of its own) is not an error."""
    fake = kernel(v1=())
    real_write = fake.write

    def busy(path, text):
        if path.endswith("cgroup.subtree_control"):
            raise OSError(errno.EBUSY, "internal processes", path)
        real_write(path, text)

    monkeypatch.setattr(_cgroup, "_write", busy)
    _cgroup.sandbox_cgroup(fake.hierarchies(), "web").create()


# ---------------------------------------------------------------- the hybrid layout of this machine, faked

def test_hybrid_set_limits_in_place_including_memory_swap(kernel):
    fake = kernel(v2_controllers=("hugetlb",))
    cgroup = _cgroup.sandbox_cgroup(fake.hierarchies(), "web")
    cgroup.create()
    memory = "/sys/fs/cgroup/memory"
    cgroup.set_limits(dict(UNLIMITED, memory=64 * MIB, memory_swap=128 * MIB))
    # In place: up, down, and back to no limit; the fake kernel refuses writes that break memory <= memsw.
    for mem, swap in ((96 * MIB, 192 * MIB), (16 * MIB, 24 * MIB), (None, None)):
        cgroup.set_limits(dict(UNLIMITED, memory=mem, memory_swap=swap))
        got = [fake.get(memory, "linuxns-pidns/web/" + name)
               for name in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes")]
        assert got == [str(mem) if mem else "-1", str(swap) if swap else "-1"]
    cgroup.set_limits(dict(UNLIMITED, pids_limit=3, cpus=0.25, cpu_shares=100))
    assert fake.get("/sys/fs/cgroup/pids", "linuxns-pidns/web/pids.max") == "3"
    assert fake.get("/sys/fs/cgroup/cpu", "linuxns-pidns/web/cpu.cfs_quota_us") == "25000"
    assert fake.get("/sys/fs/cgroup/cpu", "linuxns-pidns/web/cpu.shares") == "100"
    assert not [path for path, _text in fake.writes if path.startswith("/sys/fs/cgroup/unified/linuxns-pidns/web/")
                and not path.endswith("cgroup.subtree_control")]


def test_place_kill_and_remove(kernel):
    fake = kernel(v2_controllers=("hugetlb",))
    cgroup = _cgroup.sandbox_cgroup(fake.hierarchies(), "web")
    cgroup.create()
    cgroup.place(4242)
    for mount in fake.hierarchies().mounts():
        assert fake.get(mount, "linuxns-pidns/web/_supervisor/cgroup.procs") == "4242"
    assert cgroup.pids() == {4242}
    assert cgroup.populated()
    with pytest.raises(SandboxError, match="still has processes"):
        cgroup.remove()
    assert cgroup.kill(timeout=1) is True
    assert ("/sys/fs/cgroup/unified/linuxns-pidns/web/cgroup.kill", "1") in fake.writes
    cgroup.remove()
    assert not cgroup.exists()
    for mount in fake.hierarchies().mounts():
        top = fake.real(mount + "/linuxns-pidns")
        assert [entry for entry in os.listdir(top) if os.path.isdir(os.path.join(top, entry))] == []


def test_exec_leaf_is_exact_except_in_v1_memory(kernel):
    """The per-exec leaf is a cgroup of its own everywhere but in the v1 memory hierarchy, where the
    command runs in _workloads: v1 counts an OOM kill only in the victim's own memory cgroup, and the
    exec leaf is removed after the command."""
    fake = kernel(v2_controllers=("hugetlb",))
    cgroup = _cgroup.sandbox_cgroup(fake.hierarchies(), "web")
    cgroup.create()
    leaf = _cgroup.EXEC_PREFIX + "1.2"
    cgroup.make_leaf(leaf)
    cgroup.place(777, leaf)
    for mount in fake.hierarchies().mounts():
        where = "_workloads" if mount == "/sys/fs/cgroup/memory" else leaf
        assert fake.get(mount, "linuxns-pidns/web/%s/cgroup.procs" % where) == "777", mount
    assert not os.path.exists(fake.real("/sys/fs/cgroup/memory/linuxns-pidns/web/" + leaf))
    assert cgroup.pids(leaf) == {777}
    cgroup.retire_leaf(leaf, _cgroup.WORKLOADS_LEAF)
    for mount in fake.hierarchies().mounts():
        assert not os.path.exists(fake.real(mount + "/linuxns-pidns/web/" + leaf))
        assert fake.get(mount, "linuxns-pidns/web/_workloads/cgroup.procs") == "777", mount


def test_exec_leaf_exact_in_v2_memory(kernel):
    fake = kernel(v1=("pids", "memory"))
    cgroup = _cgroup.sandbox_cgroup(fake.hierarchies(), "web")
    cgroup.create()
    cgroup.make_leaf(_cgroup.EXEC_PREFIX + "9")
    for mount in fake.hierarchies().mounts():
        assert os.path.isdir(fake.real(mount + "/linuxns-pidns/web/_exec.9"))


def test_freeze_through_v2_then_v1(kernel):
    fake = kernel(v2_controllers=("hugetlb",))
    cgroup = _cgroup.sandbox_cgroup(fake.hierarchies(), "web")
    cgroup.create()
    assert cgroup.frozen() is False
    cgroup.freeze(True, timeout=1)
    assert cgroup.frozen() is True
    assert fake.get("/sys/fs/cgroup/unified", "linuxns-pidns/web/cgroup.freeze") == "1"
    assert fake.get("/sys/fs/cgroup/freezer", "linuxns-pidns/web/freezer.state") == "THAWED"  # v2 did it
    cgroup.freeze(False, timeout=1)
    assert cgroup.frozen() is False

    v1_only = _cgroup.SandboxCgroup(_cgroup.Hierarchies({"v2": None, "v1": fake.found()["v1"]}, fake.root),
                                    "linuxns-pidns/web")
    v1_only.freeze(True, timeout=1)
    assert fake.get("/sys/fs/cgroup/freezer", "linuxns-pidns/web/freezer.state") == "FROZEN"
    assert v1_only.frozen() is True


def test_freeze_that_never_takes_effect_times_out(kernel, monkeypatch):
    fake = kernel(v2_controllers=("hugetlb",))
    cgroup = _cgroup.sandbox_cgroup(fake.hierarchies(), "web")
    cgroup.create()
    monkeypatch.setattr(fake, "_set_event", lambda *args: None)
    with pytest.raises(SandboxError, match="did not change its frozen state"):
        cgroup.freeze(True, timeout=0.05)


def test_freeze_without_any_freezer_fails_clearly(kernel):
    fake = kernel(v2=False, v1=("pids",))
    cgroup = _cgroup.sandbox_cgroup(fake.hierarchies(), "web")
    cgroup.create()
    with pytest.raises(SandboxError, match="paused: the host's cgroups can freeze nothing"):
        cgroup.freeze(True)


def test_v1_only_kill_freezes_signals_each_by_pidfd_and_thaws(kernel, monkeypatch):
    """Without v2 cgroup.kill: freeze, SIGKILL each listed process through a pidfd, thaw."""
    from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _syscalls
    fake = kernel(v2=False)
    cgroup = _cgroup.sandbox_cgroup(fake.hierarchies(), "web")
    cgroup.create()
    cgroup.place(101)
    cgroup.place(102, _cgroup.WORKLOADS_LEAF)
    signalled = []
    monkeypatch.setattr(_syscalls, "pidfd_open", lambda pid: os.open(os.devnull, os.O_RDONLY) if pid != 102
                        else (item for item in ()).throw(OSError(errno.ESRCH, "gone")))
    monkeypatch.setattr(_syscalls, "pidfd_send_signal", lambda fd, sig: signalled.append(sig))

    def emptied(*_args):  # the processes die: the fake's procs files empty
        for mount in fake.hierarchies().mounts():
            fake._kill(fake.real(mount + "/linuxns-pidns/web"))
    monkeypatch.setattr(_cgroup.time, "sleep", emptied)
    assert cgroup.kill(timeout=2) is True
    assert signalled == [9]  # 101 only: 102 was gone by the time its pidfd was asked for
    freezer = [text for path, text in fake.writes if path.endswith("freezer.state")]
    assert freezer == ["FROZEN", "THAWED"]


def test_find_by_name_walks_nested_sandboxes_but_not_leaves(kernel):
    fake = kernel(v2_controllers=("hugetlb",))
    hierarchies = fake.hierarchies()
    outer = _cgroup.sandbox_cgroup(hierarchies, "outer")
    outer.create()
    inner = _cgroup.sandbox_cgroup(hierarchies, "inner", outer.relative)
    inner.create()
    assert inner.relative == "linuxns-pidns/outer/inner"
    assert _cgroup.find_by_name(hierarchies, "inner").relative == inner.relative
    assert _cgroup.find_by_name(hierarchies, "outer").relative == outer.relative
    assert _cgroup.find_by_name(hierarchies, "_supervisor") is None
    assert _cgroup.find_by_name(hierarchies, "missing") is None
    # Removing the outer one takes the nested one with it, deepest first.
    outer.remove()
    assert not inner.exists() and not outer.exists()


def test_usage_from_v2_and_v1(kernel):
    fake = kernel(v1=("cpuacct",))
    cgroup = _cgroup.sandbox_cgroup(fake.hierarchies(), "web")
    cgroup.create()
    v2 = "/sys/fs/cgroup/unified"
    fake.put(v2, "linuxns-pidns/web/memory.current", "1000\n")
    fake.put(v2, "linuxns-pidns/web/memory.peak", "5000\n")
    fake.put(v2, "linuxns-pidns/web/memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n")
    fake.put(v2, "linuxns-pidns/web/cpu.stat", "usage_usec 1500000\nuser_usec 1000000\n")
    cgroup.place(5)
    usage = cgroup.usage()
    assert usage == {"pids": 1, "memory_current": 1000, "memory_peak": 5000, "oom_kills": 2,
                     "cpu_seconds": 1.5, "paused": False}


def test_write_mkdir_rmdir_helpers_on_plain_files(tmp_path):
    """The three primitives themselves (the fake replaces them above): tolerant of EEXIST/ENOENT."""
    target = tmp_path / "cg"
    _cgroup._mkdir(str(target))
    _cgroup._mkdir(str(target))
    (target / "pids.max").write_text("")
    _cgroup._write(str(target / "pids.max"), "64")
    assert (target / "pids.max").read_text() == "64"
    with pytest.raises(OSError):
        _cgroup._write(str(target / "absent"), "1")  # never creates a file
    (target / "pids.max").unlink()
    _cgroup._rmdir(str(target))
    _cgroup._rmdir(str(target))
    assert _cgroup._read_int(str(target / "nothing")) is None
    assert _cgroup._read_keyed(str(target / "nothing")) == {}


def test_oom_kills_in_one_leaf_from_v2(kernel):
    fake = kernel()
    cgroup = _cgroup.sandbox_cgroup(fake.hierarchies(), "web")
    cgroup.create()
    cgroup.make_leaf(_cgroup.SUPERVISOR_LEAF)
    fake.put(fake.v2, "linuxns-pidns/web/_supervisor/memory.events", "low 0\nmax 3\noom 1\noom_kill 1\n")
    assert cgroup.oom_kills_in(_cgroup.SUPERVISOR_LEAF) == 1


def test_oom_kills_in_one_leaf_from_v1_where_v2_has_no_memory(kernel):
    v1_only = kernel(v2_controllers=("pids",))
    cgroup = _cgroup.sandbox_cgroup(v1_only.hierarchies(), "db")
    cgroup.create()
    cgroup.make_leaf(_cgroup.SUPERVISOR_LEAF)
    assert cgroup.oom_kills_in(_cgroup.SUPERVISOR_LEAF) == 0
    v1_only.put("/sys/fs/cgroup/memory", "linuxns-pidns/db/_supervisor/memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert cgroup.oom_kills_in(_cgroup.SUPERVISOR_LEAF) == 2


def test_enter_through_writes_0_to_each_procs_file_opened_before(kernel):
    fake = kernel()
    cgroup = _cgroup.sandbox_cgroup(fake.hierarchies(), "web")
    cgroup.create()
    cgroup.make_leaf(_cgroup.WORKLOADS_LEAF)
    fds = cgroup.open_procs(_cgroup.WORKLOADS_LEAF)
    assert len(fds) == len(fake.hierarchies().mounts())
    _cgroup.enter_through(fds)
    for fd in fds:
        with pytest.raises(OSError):
            os.fstat(fd)  # closed
