# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _hierarchy.scan over fake /proc trees written into tmp dirs."""

from __future__ import annotations

import errno
import os

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._facts import _hierarchy, _pidns_parents, _pidns_scan
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel._procfs import INITIAL_PID_NS_INODE as HOST

A, B, C, D, E = 4026532201, 4026532202, 4026532203, 4026532204, 4026532205


class FakeProc:
    """A fake /proc: per process status, stat, cmdline, cgroup, ns/pid link and root/proc view."""

    def __init__(self, root):
        self.root = root
        root.mkdir(exist_ok=True)
        self.mounts = []

    def add(self, nspid, ns, comm="sleep", ppid=0, state="S", cmdline=None, cgroup="0::/", pgrp=None,
            proc_view=None, start=100):
        pid = nspid[0]
        base = self.root / str(pid)
        (base / "ns").mkdir(parents=True)
        os.symlink("pid:[%d]" % ns, str(base / "ns" / "pid"))
        (base / "status").write_text(
            "Name:\t%s\nUmask:\t0022\nState:\t%s (x)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n"
            "NStgid:\t%s\nNSpid:\t%s\nNSpgid:\t1\nVmPeak:\t1 kB\n"
            % (comm.replace("\\", "\\\\").replace("\n", "\\n"), state, pid, pid, ppid,
               "\t".join(map(str, nspid)), "\t".join(map(str, nspid))))
        (base / "stat").write_text("%d (%s) %s %d %d %d 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n"
                                   % (pid, comm, state, ppid, pgrp if pgrp is not None else pid, pid, start))
        (base / "cmdline").write_bytes(b"\0".join(a.encode() for a in (cmdline or [comm])) + b"\0")
        (base / "cgroup").write_text(cgroup + "\n")
        if proc_view is not None:
            # What /proc/PID/root/proc/1/ns/pid resolves to: the init of the namespace whose /proc it sees.
            view = base / "root" / "proc" / "1" / "ns"
            view.mkdir(parents=True)
            os.symlink("pid:[%d]" % proc_view, str(view / "pid"))
        return pid

    def self_is(self, pid):
        os.symlink(str(pid), str(self.root / "self"))

    def handle(self, path, ns, mount_id=500):
        self.mounts.append("%d 27 0:4 pid:[%d] %s rw - nsfs nsfs rw" % (mount_id, ns, path.replace(" ", "\\040")))

    def write_mountinfo(self):
        (self.root / "self" / "mountinfo").write_text(
            "\n".join(["22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw"] + self.mounts) + "\n")


def host_tree(tmp_path, parents=None):
    """Host: init 1 (systemd), kthread 2, shell 100; sandbox A (supervisor) with child B (sh that
    leaves zombies, /proc not remounted) and grandchild C; D kept by a handle only."""
    fake = FakeProc(tmp_path / "proc")
    fake.add([1], HOST, comm="systemd", proc_view=HOST, cmdline=["/sbin/init"], start=1)
    fake.add([2], HOST, comm="kthreadd", cmdline=[])
    fake.add([100], HOST, comm="bash", ppid=1)
    fake.add([200, 1], A, comm="pidns:web", ppid=1, proc_view=A, cmdline=["python3", "-", "web"], start=5000)
    fake.add([201, 2], A, comm="sleep", ppid=200)
    fake.add([300, 7, 1], B, comm="sleep", ppid=201, proc_view=A, pgrp=300)
    fake.add([301, 8, 2], B, comm="sh", ppid=300, state="Z")
    fake.add([302, 9, 3], B, comm="sh", ppid=300, state="Z")
    fake.add([303, 10, 4], B, comm="worker", ppid=300, pgrp=9999)  # adopted: its group leader is gone
    fake.add([400, 20, 5, 1], C, comm="tini", ppid=303, proc_view=C,
             cgroup="0::/system.slice/docker-%s.scope" % ("ab" * 32))
    fake.self_is(100)
    fake.handle("/run/linuxns-pidns/web/ns/pid", A)
    fake.handle("/srv/keep me", D, mount_id=501)
    fake.write_mountinfo()
    return fake


def fake_ioctl(tree):
    """NS_GET_PARENT over the fake tree: path -> inode of the parent, EPERM above the initial one."""
    def ioctl_parent(path, expected):
        if os.path.islink(path):
            ns = int(os.readlink(path).split("[")[1].rstrip("]"))
        else:
            ns = {"/run/linuxns-pidns/web/ns/pid": A, "/srv/keep me": D, "/run/linuxns-pidns/other/ns/pid": D}[path]
        return tree.get(ns), None
    return ioctl_parent


PARENTS = {HOST: None, A: HOST, B: A, C: B, D: HOST}


def scan(fake, monkeypatch=None, parents=None, **kwargs):
    if parents is None:
        parents = PARENTS
    if monkeypatch is not None:
        monkeypatch.setattr(_pidns_parents, "ioctl_parent", fake_ioctl(parents))
    kwargs.setdefault("euid", 0)
    return _hierarchy.scan(proc_root=str(fake.root), use_ioctl=monkeypatch is not None, **kwargs)


def spaces(facts):
    return {entry["id"]: entry for entry in facts["namespaces"]}


def test_forest_levels_parents_children(tmp_path, monkeypatch):
    facts = scan(host_tree(tmp_path), monkeypatch)
    ns = spaces(facts)
    assert set(ns) == {HOST, A, B, C, D}
    assert [(ns[i]["parent"], ns[i]["level"]) for i in (HOST, A, B, C, D)] == [
        (None, 0), (HOST, 1), (A, 2), (B, 3), (HOST, 1)]
    assert ns[HOST]["children"] == [A, D] and ns[A]["children"] == [B] and ns[C]["children"] == []
    assert [entry["id"] for entry in facts["namespaces"]] == [HOST, A, D, B, C]
    assert (facts["count"], facts["max_depth"], facts["nprocs"]) == (5, 3, 10)
    assert [ns[i]["nprocs"] for i in (HOST, A, B, C, D)] == [3, 2, 4, 1, 0]
    assert facts["parents_from"] == "ioctl" and facts["schema"] == 1
    assert facts["self"] == {"id": HOST, "initial": True, "level": 0, "level_exact": True, "pid": 100,
                             "proc_ns": HOST}
    assert facts["partial"] is False and facts["foreign_handles"] == []
    assert all(set(entry) == {"id", "parent", "level", "children", "init", "nprocs", "zombies", "owner", "warnings"}
               for entry in facts["namespaces"])


def test_init_details_and_owners(tmp_path, monkeypatch):
    facts = scan(host_tree(tmp_path), monkeypatch)
    ns = spaces(facts)
    assert ns[A]["init"] == {"pid": 200, "ns_pid": 1, "comm": "pidns:web", "cmdline": ["python3", "-", "web"],
                             "start_time": 5000}
    assert ns[A]["owner"]["type"] == "sandbox" and ns[A]["owner"]["name"] == "web"
    assert facts["handles"] == [{"path": "/run/linuxns-pidns/web/ns/pid", "id": A}, {"path": "/srv/keep me", "id": D}]
    assert ns[C]["owner"]["runtime"] == "docker" and ns[C]["owner"]["id"] == "ab" * 32
    assert ns[HOST]["owner"] is None and ns[B]["owner"] is None
    assert ns[D]["init"] is None


def test_warnings_name_exactly_the_faulty_namespaces(tmp_path, monkeypatch):
    facts = scan(host_tree(tmp_path), monkeypatch)
    ns = spaces(facts)
    codes = {i: sorted(w["code"] for w in ns[i]["warnings"]) for i in ns}
    assert codes == {HOST: [], A: [], B: ["init_not_reaper", "proc_not_remounted", "zombies"], C: [],
                     D: ["no_init"]}
    zombies = [w for w in ns[B]["warnings"] if w["code"] == "zombies"][0]
    assert (zombies["count"], zombies["pids"], zombies["parents"]) == (2, [301, 302], [300])
    reaper = [w for w in ns[B]["warnings"] if w["code"] == "init_not_reaper"][0]
    assert reaper["orphans"] == [303] and reaper["zombies"] == 2 and "'sleep'" in reaper["message"]
    remount = [w for w in ns[B]["warnings"] if w["code"] == "proc_not_remounted"][0]
    assert remount["proc_ns"] == A
    assert "/srv/keep me" in ns[D]["warnings"][0]["message"]
    assert sorted((w["namespace"], w["code"]) for w in facts["warnings"]) == sorted(
        [(B, "init_not_reaper"), (B, "proc_not_remounted"), (B, "zombies"), (D, "no_init")])


def test_known_inits_option_silences_init_not_reaper(tmp_path, monkeypatch):
    ns = spaces(scan(host_tree(tmp_path), monkeypatch, known_inits=["sleep"]))
    assert sorted(w["code"] for w in ns[B]["warnings"]) == ["proc_not_remounted", "zombies"]


def test_processes_and_pid_translation(tmp_path, monkeypatch):
    facts = scan(host_tree(tmp_path), monkeypatch, processes=True, pids=[400, 2, 77777])
    rows = {row["pid"]: row for row in facts["processes"]}
    assert rows[301] == {"pid": 301, "nspid": [301, 8, 2], "ns": B, "ppid": 300, "state": "Z", "comm": "sh"}
    assert sorted(rows) == [1, 2, 100, 200, 201, 300, 301, 302, 303, 400]
    deep, kthread, missing = facts["pids"]
    assert deep == {"pid": 400, "found": True, "ns": C, "levels": [
        {"level": 0, "ns": HOST, "pid": 400}, {"level": 1, "ns": A, "pid": 20},
        {"level": 2, "ns": B, "pid": 5}, {"level": 3, "ns": C, "pid": 1}]}
    assert kthread["levels"] == [{"level": 0, "ns": HOST, "pid": 2}]
    assert missing == {"pid": 77777, "found": False, "ns": None, "levels": []}


def test_fallback_without_ioctl_infers_parents_from_ppid_and_depth(tmp_path):
    facts = scan(host_tree(tmp_path))
    ns = spaces(facts)
    assert facts["parents_from"] == "ppid"
    assert [ns[i]["parent"] for i in (HOST, A, B, C)] == [None, HOST, A, B]
    assert ns[D]["parent"] is None and ns[D]["level"] is None


def test_hidden_ancestor_found_through_the_parent_chain(tmp_path, monkeypatch):
    # E has neither process nor handle; D (handle only) is its child. Real fds walk up through it.
    fake = FakeProc(tmp_path / "proc")
    fake.add([1], HOST, comm="systemd", proc_view=HOST)
    fake.self_is(1)
    fake.handle("/srv/d", D)
    fake.write_mountinfo()

    def ioctl_parent(path, expected):
        # A real fd stands for E's namespace fd: the scan must close it.
        return (E, os.open(os.devnull, os.O_RDONLY)) if path == "/srv/d" else (None, None)

    asked = []

    def parent_of_fd(fd):
        asked.append(fd)
        return HOST, None

    monkeypatch.setattr(_pidns_parents, "ioctl_parent", ioctl_parent)
    monkeypatch.setattr(_pidns_parents, "parent_of_fd", parent_of_fd)
    ns = spaces(_hierarchy.scan(proc_root=str(fake.root), euid=0))
    assert ns[E]["init"] is None and ns[E]["nprocs"] == 0 and ns[E]["parent"] == HOST and ns[E]["level"] == 1
    assert ns[D]["parent"] == E and ns[D]["level"] == 2
    assert [w["code"] for w in ns[E]["warnings"]] == ["no_init"]
    assert "descendant" in ns[E]["warnings"][0]["message"]
    assert len(asked) == 1
    with pytest.raises(OSError):
        os.fstat(asked[0])  # closed


def test_process_vanishing_mid_scan_is_skipped(tmp_path, monkeypatch):
    fake = host_tree(tmp_path)
    # 500: its ns link is still there but its stat is gone; 501: listed, already gone entirely;
    # 201: exits between the ns link and the stat read; 302's status vanishes before its NSpid is read.
    (fake.root / "500" / "ns").mkdir(parents=True)
    os.symlink("pid:[%d]" % A, str(fake.root / "500" / "ns" / "pid"))
    (fake.root / "501").mkdir()
    real_open = os.open
    gone = str(fake.root / "201" / "stat")

    def vanishing_open(path, *args, **kwargs):
        if path == gone:
            raise OSError(errno.ENOENT, "No such file or directory", path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", vanishing_open)
    (fake.root / "302" / "status").unlink()
    facts = scan(fake, monkeypatch, processes=True)
    rows = dict((row["pid"], row) for row in facts["processes"])
    assert not set(rows) & {500, 501, 201}
    assert spaces(facts)[A]["nprocs"] == 1
    assert rows[302]["nspid"] is None and rows[302]["state"] == "Z"
    assert spaces(facts)[B]["init"]["pid"] == 300
    assert facts["partial"] is False


def test_init_vanishing_after_the_pass_gives_null_init(tmp_path, monkeypatch):
    fake = host_tree(tmp_path)
    real = _pidns_scan.read_bytes
    gone = str(fake.root / "400" / "cmdline")
    monkeypatch.setattr(_pidns_scan, "read_bytes", lambda path, **kw: None if path == gone else real(path, **kw))
    ns = spaces(scan(fake, monkeypatch))
    assert ns[C]["init"] is None and ns[C]["nprocs"] == 1


def test_init_found_among_processes_started_in_the_same_tick(tmp_path, monkeypatch):
    fake = FakeProc(tmp_path / "proc")
    fake.add([1], HOST, comm="systemd", proc_view=HOST, start=1)
    fake.add([50, 2], A, comm="worker", ppid=60, start=700)  # PID wrapped: lower host PID, same tick
    fake.add([60, 1], A, comm="tini", ppid=1, start=700)
    fake.add([70, 3], A, comm="late", ppid=60, start=900)
    fake.self_is(1)
    fake.write_mountinfo()
    ns = spaces(scan(fake, monkeypatch, parents={HOST: None, A: HOST}))
    assert ns[A]["init"]["pid"] == 60 and ns[A]["init"]["start_time"] == 700


def test_unreadable_processes_make_a_partial_view(tmp_path, monkeypatch):
    fake = host_tree(tmp_path)
    real = os.readlink
    denied_paths = set(str(fake.root / str(pid) / "ns" / "pid") for pid in (1, 400, 303))

    def denied(path, *args, **kwargs):
        if path in denied_paths:
            raise OSError(errno.EACCES, "Permission denied", path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "readlink", denied)
    facts = scan(fake, monkeypatch, euid=1000)
    ns = spaces(facts)
    # PID 1's NSpid has one entry: it is in the namespace of the scanned /proc; 400 and 303 are unknown.
    assert ns[HOST]["nprocs"] == 3 and ns[HOST]["init"]["comm"] == "systemd"
    assert C not in ns and ns[B]["nprocs"] == 3
    assert facts["partial"] is True and facts["unreadable"] == 2 and facts["root"] is False
    assert facts["warnings"][0]["code"] == "partial_view" and facts["warnings"][0]["pids"] == [303, 400]


def test_inside_a_child_namespace(tmp_path, monkeypatch):
    # The module runs in A with its own /proc: PIDs are A's; A's parent is not visible.
    fake = FakeProc(tmp_path / "proc")
    fake.add([1], A, comm="pidns:web", proc_view=A)
    fake.add([2], A, comm="ansible", ppid=1)
    fake.add([7, 1], B, comm="catatonit", ppid=2, proc_view=B)
    fake.self_is(2)
    fake.handle("/run/linuxns-pidns/other/ns/pid", D)  # a sibling's handle, inherited mount table
    fake.write_mountinfo()
    facts = scan(fake, monkeypatch, parents={A: None, B: A, D: None})
    assert facts["self"] == {"id": A, "initial": False, "level": 1, "level_exact": False, "pid": 2, "proc_ns": A}
    ns = spaces(facts)
    assert set(ns) == {A, B}
    assert (ns[A]["parent"], ns[A]["level"], ns[B]["parent"], ns[B]["level"]) == (None, 1, A, 2)
    assert facts["foreign_handles"] == ["/run/linuxns-pidns/other/ns/pid"]


def test_real_proc_scan_sees_this_process():
    facts = _hierarchy.scan(processes=True)
    me = [row for row in facts["processes"] if row["pid"] == os.getpid()]
    assert me and me[0]["ns"] == os.stat("/proc/self/ns/pid").st_ino
    assert facts["self"]["id"] == me[0]["ns"]


def recording_ioctl(monkeypatch, tree=None):
    """fake_ioctl that records the namespaces it was asked about."""
    inner = fake_ioctl(PARENTS if tree is None else tree)
    asked = []

    def ioctl_parent(path, expected):
        asked.append(int(os.readlink(path).split("[")[1].rstrip("]")) if os.path.islink(path) else path)
        return inner(path, expected)

    monkeypatch.setattr(_pidns_parents, "ioctl_parent", ioctl_parent)
    return asked


def test_parents_from_the_process_tree_need_no_ioctl(tmp_path, monkeypatch):
    # A, B and C have a PID 1 whose parent process is in a namespace exactly one level up: that
    # is their parent without asking the kernel. The host (no parent process) and D (no process)
    # are asked.
    asked = recording_ioctl(monkeypatch)
    facts = _hierarchy.scan(proc_root=str(host_tree(tmp_path).root), euid=0)
    ns = spaces(facts)
    assert [ns[i]["parent"] for i in (HOST, A, B, C, D)] == [None, HOST, A, B, HOST]
    assert sorted(asked, key=str) == sorted([HOST, "/srv/keep me"], key=str)
    assert facts["parents_from"] == "ioctl"


def test_parent_process_two_levels_up_asks_the_ioctl(tmp_path, monkeypatch):
    # C's PID 1 was adopted by a process of the host namespace (its parents died): level 0 is not
    # C's parent level (2), so the process tree says nothing and NS_GET_PARENT is asked.
    fake = FakeProc(tmp_path / "proc")
    fake.add([1], HOST, comm="systemd", proc_view=HOST, start=1)
    fake.add([200, 1], A, comm="sh", ppid=1, proc_view=A, start=10)
    fake.add([300, 5, 1], B, comm="sh", ppid=200, proc_view=B, start=20)
    fake.add([400, 9, 7, 1], C, comm="sh", ppid=1, proc_view=C, start=30)
    fake.self_is(1)
    fake.write_mountinfo()
    asked = recording_ioctl(monkeypatch, {HOST: None, A: HOST, B: A, C: B})
    ns = spaces(_hierarchy.scan(proc_root=str(fake.root), euid=0))
    assert [ns[i]["parent"] for i in (A, B, C)] == [HOST, A, B]
    assert sorted(asked) == sorted([HOST, C])


def test_reused_parent_pid_is_not_trusted(tmp_path, monkeypatch):
    # The PPid of B's PID 1 names a process started after it: the parent exited and its PID was
    # reused by a process of another namespace one level up. The ioctl decides.
    fake = FakeProc(tmp_path / "proc")
    fake.add([1], HOST, comm="systemd", proc_view=HOST, start=1)
    fake.add([200, 1], A, comm="sh", ppid=1, proc_view=A, start=10)
    fake.add([210, 1], D, comm="sh", ppid=1, proc_view=D, start=11)
    fake.add([211, 2], D, comm="reused", ppid=210, start=90)
    fake.add([300, 5, 1], B, comm="sh", ppid=211, proc_view=B, start=50)
    fake.self_is(1)
    fake.write_mountinfo()
    asked = recording_ioctl(monkeypatch, {HOST: None, A: HOST, D: HOST, B: A})
    ns = spaces(_hierarchy.scan(proc_root=str(fake.root), euid=0))
    assert ns[B]["parent"] == A and ns[B]["level"] == 2
    assert sorted(asked) == sorted([HOST, B])


def test_ioctl_probed_once_when_the_process_tree_places_everything(tmp_path, monkeypatch):
    fake = FakeProc(tmp_path / "proc")
    fake.add([1, 1], A, comm="sh", proc_view=A, start=10)  # scanned from inside A: ppid 0
    fake.add([5, 5], A, comm="sh", ppid=1, start=20)
    fake.self_is(5)
    fake.write_mountinfo()

    def unsupported(path, expected):
        raise OSError(errno.ENOTTY, "no NS_GET_PARENT")

    monkeypatch.setattr(_pidns_parents, "ioctl_parent", unsupported)
    facts = _hierarchy.scan(proc_root=str(fake.root), euid=0)
    assert facts["parents_from"] == "ppid" and facts["count"] == 1


def test_scan_entry_imports_neither_re_nor_json():
    # The benchmark runs the scan as a whole Python process: its imports are part of its cost.
    import subprocess
    import sys
    root = os.path.dirname(_hierarchy.__file__)
    for _level in range(6):  # up from module_utils to the folder holding ansible_collections
        root = os.path.dirname(root)
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from ansible_collections.linuxns.pidns.plugins.module_utils._facts import _hierarchy\n"
            "print(sorted(set(['re', 'json', 'enum']) & set(sys.modules)))\n" % root)
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_scan_split_over_two_processes_gives_the_same_facts(tmp_path, monkeypatch):
    fake = host_tree(tmp_path)
    serial = scan(fake, monkeypatch, processes=True, pids=[400, 2])
    monkeypatch.setattr(_pidns_scan, "PARALLEL_MIN_ITEMS", 0)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    forked = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forked.append(1) or real_fork())
    assert scan(fake, monkeypatch, processes=True, pids=[400, 2]) == serial
    assert len(forked) == 3  # the pass over processes, the reads about inits, the status of every process


def test_a_scan_imports_neither_ctypes_util_nor_subprocess():
    # NS_GET_PARENT comes from _syscalls: asking for it must not pull in ctypes.util (re, shutil,
    # subprocess), ~15 ms of a scan run as a whole Python process.
    import subprocess
    import sys
    root = os.path.dirname(_hierarchy.__file__)
    for _level in range(6):
        root = os.path.dirname(root)
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from ansible_collections.linuxns.pidns.plugins.module_utils._facts import _hierarchy\n"
            "facts = _hierarchy.scan()\n"
            "print(facts['count'] > 0, sorted(set(['ctypes.util', 'subprocess', 'shutil']) & set(sys.modules)))\n"
            % root)
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True []"


def test_proc_not_remounted_is_found_through_self_when_no_pid_1_is_readable(tmp_path, monkeypatch):
    """`unshare --fork --pid sleep` with no --mount-proc, on a host that hides its PID 1's ns links
    (this machine's kind; and every host for a non-root scan): the lone member is PID 1 of its
    namespace, so only what `self` resolves to in the /proc it sees can tell."""
    fake = FakeProc(tmp_path / "proc")
    fake.add([1], HOST, comm="init")
    fake.add([100], HOST, comm="python3", ppid=1)
    shared = fake.add([200, 1], A, comm="sleep", ppid=100)                # sees the host's /proc
    own = fake.add([300, 1], B, comm="sleep", ppid=100)                   # sees a /proc of its own
    os.unlink(str(fake.root / "1" / "ns" / "pid"))                        # PID 1's links are hidden
    (fake.root / str(shared) / "root" / "proc").mkdir(parents=True)
    os.symlink("100", str(fake.root / str(shared) / "root" / "proc" / "self"))  # the scanner has a PID there
    (fake.root / str(own) / "root" / "proc").mkdir(parents=True)          # no `self`: ENOENT
    fake.self_is(100)
    fake.write_mountinfo()
    facts = _hierarchy.scan(proc_root=str(fake.root), euid=0)
    by_id = {entry["id"]: entry for entry in facts["namespaces"]}
    assert [w["code"] for w in by_id[A]["warnings"]] == ["proc_not_remounted"]
    assert [w["code"] for w in by_id[B]["warnings"]] == []


def test_a_proc_view_read_through_a_pid_that_changed_hands_is_not_believed(tmp_path, monkeypatch):
    """B's members are read through /proc/P/root/proc; if P exits and its PID goes to a process of
    another namespace in between, what was read is dropped (no proc_not_remounted on B's behalf)."""
    fake = host_tree(tmp_path)
    real_read = _pidns_scan.ProcessTable.read

    def read_then_reuse(table, path):
        data = real_read(table, path)
        if path.endswith("/root/proc/1/ns/pid"):
            link = os.path.join(path.split("/root/")[0], "ns", "pid")
            os.unlink(link)
            os.symlink("pid:[%d]" % HOST, link)  # the PID now belongs to a host process
        return data

    monkeypatch.setattr(_pidns_scan.ProcessTable, "read", read_then_reuse)
    ns = spaces(scan(fake, monkeypatch))
    assert "proc_not_remounted" not in [w["code"] for w in ns[B]["warnings"]]
