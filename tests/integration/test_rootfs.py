# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A root filesystem of a sandbox's own (issue 12): overlay over the host's root, a prepared tree,
binds; the modules run as their own processes (run_module_main), through real `ansible` where the
controller matters (diff mode, the interpreter), with real mounts, checked from the host with plain
file reads, dpkg and /proc/self/mountinfo."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from ansible_cli import COLLECTIONS, run_module, run_module_main
from sandboxes import STATE_DIR, exited, mounts_under, state_of, wait_for

LAYERS_DIR = Path("/var/lib/linuxns-pidns")


@pytest.fixture
def boxes(names):
    """names, and each one's upper layers removed afterwards too (force_remove knows only the state dir)."""
    made = []

    def make(prefix="rfs"):
        name = names(prefix)
        made.append(name)
        return name

    yield make
    for name in made:
        shutil.rmtree(LAYERS_DIR / name, ignore_errors=True)


def sandbox(name, **options):
    return run_module_main("sandbox", dict(name=name, **options))


def inside(name, script, **options):
    """sh -c script inside the sandbox through sandbox_exec; the result."""
    result = run_module_main("sandbox_exec", dict(sandbox=name, argv=["sh", "-c", script], **options))
    assert not result.get("failed"), result
    return result


def mount_points(text):
    return [line.split()[4] for line in text.splitlines()]


def kill_supervisor(name):
    """SIGKILL a sandbox's supervisor by the PID in its record (start time checked): it becomes broken."""
    supervisor = state_of(name)["supervisor"]
    with open("/proc/%d/stat" % supervisor["pid"]) as handle:
        assert int(handle.read().rpartition(")")[2].split()[19]) == supervisor["start_time"]
    os.kill(supervisor["pid"], signal.SIGKILL)
    assert wait_for(lambda: exited(supervisor["pid"]), 10)


def no_mounts_left(name):
    with open("/proc/self/mountinfo") as handle:
        table = handle.read()
    return mounts_under(STATE_DIR / name) == [] and str(LAYERS_DIR / name) not in table


def test_overlay_keeps_writes_inside_and_shows_host_changes(boxes, host_dir):
    name = boxes()
    (host_dir / "keep.txt").write_text("host\n")
    (host_dir / "change.txt").write_text("host\n")
    (host_dir / "later.txt").write_text("before\n")
    host_tmp = Path("/tmp") / ("pidns-rootfs-%s" % uuid.uuid4().hex[:8])
    host_tmp.write_text("host tmp\n")
    motd = Path("/etc/motd").read_bytes() if Path("/etc/motd").exists() else None
    try:
        made = sandbox(name, rootfs={"type": "overlay"}, hostname="ovl-box")
        assert made["changed"] and made["sandbox"]["rootfs"]["type"] == "overlay", made
        assert made["sandbox"]["rootfs"]["upper"] == str(LAYERS_DIR / name)

        out = inside(name, "echo new > %s/new.txt && rm %s/keep.txt && echo inside > %s/change.txt && "
                           "rm -rf /tmp/* /tmp/.[!.]* ; echo sandbox > /etc/motd; "
                           "ls %s; cat %s/change.txt; hostname; cat /etc/hostname"
                     % ((host_dir,) * 5))
        assert out["stdout_lines"] == ["change.txt", "later.txt", "new.txt", "inside", "ovl-box", "ovl-box"], out
        # The host saw none of it.
        assert sorted(p.name for p in host_dir.iterdir()) == ["change.txt", "keep.txt", "later.txt"]
        assert (host_dir / "change.txt").read_text() == "host\n"
        assert host_tmp.read_text() == "host tmp\n"
        assert (Path("/etc/motd").read_bytes() if Path("/etc/motd").exists() else None) == motd
        # sandbox_info shows the root's type and what the upper layer takes on disk.
        [info] = run_module_main("sandbox_info", {"name": name})["sandboxes"]
        assert info["rootfs"]["type"] == "overlay" and info["rootfs"]["upper_bytes"] > 0, info
        # A host change after creation shows through the lower layer.
        (host_dir / "later.txt").write_text("after\n")
        assert inside(name, "cat %s/later.txt" % host_dir)["stdout"] == "after"

        # Nothing of the state directory or of the old root is mounted inside; / is the overlay.
        mountinfo = inside(name, "cat /proc/self/mountinfo")["stdout"]
        points = mount_points(mountinfo)
        first = mountinfo.splitlines()[0]
        assert points.count("/") == 1 and " / / " in first and "overlay" in first
        assert not [p for p in points if p.startswith(str(STATE_DIR))], mountinfo
        assert "nsfs" not in mountinfo
        assert {"/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/run", "/tmp"} <= set(points)
        # sandbox_exec's chdir, creates and the command resolve inside the sandbox's root.
        chdir = run_module_main("sandbox_exec", dict(sandbox=name, argv=["cat", "new.txt"], chdir=str(host_dir)))
        assert chdir["stdout"] == "new", chdir
        skipped = run_module_main("sandbox_exec", dict(sandbox=name, argv=["true"], creates=str(host_dir / "new.txt")))
        assert skipped["changed"] is False, skipped  # skipped: the file exists in the sandbox's root

        # The upper layer survives a recreation of the broken sandbox.
        kill_supervisor(name)
        again = sandbox(name, rootfs={"type": "overlay"}, hostname="ovl-box")
        assert again["changed"] and again["recreated_because"], again
        assert inside(name, "cat %s/new.txt; ls %s" % (host_dir, host_dir))["stdout_lines"] == [
            "new", "change.txt", "later.txt", "new.txt"]

        gone = sandbox(name, state="absent")
        assert gone["removed_layers"] == [name], gone
        assert not (LAYERS_DIR / name).exists() and not (STATE_DIR / name).exists()
        assert no_mounts_left(name)
    finally:
        host_tmp.unlink()


def test_changing_rootfs_recreates_and_ephemeral_keeps_nothing(boxes, host_dir):
    name = boxes()
    assert sandbox(name)["sandbox"]["rootfs"]["type"] == "host"
    changed = run_module("sandbox", dict(name=name, rootfs={"type": "overlay", "ephemeral": True}), diff=True)
    assert changed["recreated_because"] == ["rootfs"], changed
    assert changed["diff"]["before"]["rootfs"]["type"] == "host"
    assert changed["diff"]["after"]["rootfs"] == {"type": "overlay", "path": None, "read_only": False,
                                                  "ephemeral": True}
    assert changed["sandbox"]["rootfs"]["upper"] is None
    inside(name, "echo x > %s/eph.txt" % host_dir)
    assert not (host_dir / "eph.txt").exists() and not (LAYERS_DIR / name).exists()
    again = sandbox(name, rootfs={"type": "overlay", "ephemeral": True}, recreate=True)
    assert again["changed"]
    assert inside(name, "ls %s" % host_dir)["stdout"] == ""
    rebound = run_module_main("sandbox", dict(name=name, rootfs={"type": "overlay", "ephemeral": True},
                                              binds=[{"src": str(host_dir), "dest": "/mnt/b"}]), diff=True)
    assert rebound["recreated_because"] == ["binds"], rebound
    unchanged = sandbox(name, rootfs={"type": "overlay", "ephemeral": True}, binds=[{"src": str(host_dir),
                                                                                     "dest": "/mnt/b"}])
    assert unchanged["changed"] is False


def build_deb(where: Path) -> Path:
    package = where / "pkg"
    (package / "DEBIAN").mkdir(parents=True)
    (package / "DEBIAN" / "control").write_text(
        "Package: pidns-rootfs-probe\nVersion: 1.0\nArchitecture: all\nMaintainer: tests <t@example.invalid>\n"
        "Description: a package installed only inside a sandbox\n")
    (package / "usr" / "share" / "pidns-rootfs-probe").mkdir(parents=True)
    (package / "usr" / "share" / "pidns-rootfs-probe" / "hello").write_text("hello\n")
    deb = where / "probe.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(package), str(deb)], check=True,
                   capture_output=True, timeout=60)
    return deb


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_dpkg_install_inside_an_overlay_leaves_the_host_untouched(boxes, host_dir):
    name = boxes()
    deb = build_deb(host_dir)
    status_before = digest(Path("/var/lib/dpkg/status"))
    info_before = sorted(os.listdir("/var/lib/dpkg/info"))
    made = sandbox(name, rootfs={"type": "overlay"},
                   binds=[{"src": str(host_dir), "dest": "/mnt/pkg", "read_only": True}])
    assert made["changed"], made
    installed = inside(name, "dpkg -i /mnt/pkg/probe.deb >/dev/null && dpkg-query -W -f '${Status}' "
                             "pidns-rootfs-probe && echo && cat /usr/share/pidns-rootfs-probe/hello")
    assert installed["stdout_lines"] == ["install ok installed", "hello"], installed
    # The read-only bind refuses writes.
    refused = run_module_main("sandbox_exec", dict(sandbox=name, argv=["touch", "/mnt/pkg/x"]))
    assert refused["rc"] != 0 and "Read-only file system" in refused["stderr"], refused
    assert not (host_dir / "x").exists()
    # The host's dpkg database and files are untouched.
    assert digest(Path("/var/lib/dpkg/status")) == status_before
    assert sorted(os.listdir("/var/lib/dpkg/info")) == info_before
    assert not Path("/usr/share/pidns-rootfs-probe").exists()
    assert subprocess.run(["dpkg-query", "-W", "pidns-rootfs-probe"], capture_output=True, check=False).returncode != 0


def busybox_tree(where: Path) -> Path:
    """A root tree unpacked from Debian's busybox-static (statically linked): nothing else in it."""
    debs = sorted(Path("/var/cache/apt/archives").glob("busybox-static_*.deb"))
    tree = where / "tree"
    if debs:
        subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(tree)], check=True, timeout=60)
    elif Path("/bin/busybox").exists():
        (tree / "bin").mkdir(parents=True)
        shutil.copy2("/bin/busybox", tree / "bin" / "busybox")
    else:
        pytest.fail("busybox-static is missing: scripts/bootstrap.sh installs it")
    busybox = next(p for p in (tree / "bin" / "busybox", tree / "usr" / "bin" / "busybox") if p.exists())
    out = subprocess.run(["file", "-L", str(busybox)], capture_output=True, text=True, check=False).stdout
    assert "dynamically linked" not in out, out
    bindir = busybox.parent
    for applet in ("sh", "ls", "cat", "touch", "echo", "hostname", "ps", "wc"):
        if not (bindir / applet).exists():
            (bindir / applet).symlink_to("busybox")
    if bindir != tree / "bin" and not (tree / "bin").exists():
        (tree / "bin").symlink_to("usr/bin")
    for folder in ("proc", "sys", "dev", "etc", "data"):
        (tree / folder).mkdir(exist_ok=True)
    (tree / "etc" / "hostname").write_text("from-the-tree\n")
    (tree / "etc" / "marker").write_text("tree\n")
    return tree


def test_directory_root_runs_a_static_tool_read_only_with_a_writable_bind(boxes, host_dir):
    name = boxes()
    tree = busybox_tree(host_dir)
    shared = host_dir / "shared"
    shared.mkdir()
    made = sandbox(name, hostname="bb-box", rootfs={"type": "directory", "path": str(tree), "read_only": True},
                   binds=[{"src": str(shared), "dest": "/data"}])
    assert made["changed"] and made["sandbox"]["rootfs"]["read_only"] is True, made
    listing = run_module_main("sandbox_exec", dict(sandbox=name, argv=["ls", "/"]))
    assert listing["rc"] == 0, listing
    assert set(listing["stdout_lines"]) <= {"bin", "usr", "etc", "proc", "sys", "dev", "data", "run", "tmp"}
    assert "root" not in listing["stdout_lines"] and "var" not in listing["stdout_lines"]
    seen = inside(name, "cat /etc/marker; cat /etc/hostname; hostname; echo shared > /data/from-inside; "
                        "ps -o pid,comm | wc -l", chdir="/etc")
    assert seen["stdout_lines"][:3] == ["tree", "bb-box", "bb-box"], seen
    assert (shared / "from-inside").read_text() == "shared\n"
    refused = run_module_main("sandbox_exec", dict(sandbox=name, argv=["touch", "/etc/new"]))
    assert refused["rc"] != 0 and "Read-only file system" in refused["stderr"], refused
    assert not (tree / "etc" / "new").exists()
    assert (tree / "etc" / "hostname").read_text() == "from-the-tree\n"
    mountinfo = inside(name, "cat /proc/self/mountinfo")["stdout"]
    assert not [p for p in mount_points(mountinfo) if p.startswith(str(STATE_DIR))]
    assert sandbox(name, state="absent")["changed"]
    assert no_mounts_left(name)


def test_pidns_facts_still_finds_the_proc_pitfall_with_an_own_root(boxes):
    fresh, stale = boxes(), boxes()
    ns = {}
    for name, mount_proc in ((fresh, True), (stale, False)):
        ns[name] = sandbox(name, rootfs={"type": "overlay", "ephemeral": True},
                           mount_proc=mount_proc)["sandbox"]["namespaces"]["pid"]
    facts = run_module_main("pidns_facts", {"processes": False})["ansible_facts"]["pidns"]
    codes = {entry["id"]: [w["code"] for w in entry["warnings"]] for entry in facts["namespaces"]}
    assert "proc_not_remounted" not in codes[ns[fresh]], codes[ns[fresh]]
    assert "proc_not_remounted" in codes[ns[stale]], codes[ns[stale]]


def test_nested_overlay_takes_its_parents_root_as_lower(boxes, host_dir):
    parent, child = boxes(), boxes()
    sandbox(parent, rootfs={"type": "overlay", "ephemeral": True})
    inside(parent, "echo parent > %s/p.txt" % host_dir)
    made = sandbox(child, parent=parent, rootfs={"type": "overlay"})
    assert made["changed"] and made["sandbox"]["level"] == 2, made
    assert inside(child, "cat %s/p.txt && echo child > %s/c.txt" % (host_dir, host_dir))["stdout"] == "parent"
    assert inside(parent, "ls %s" % host_dir)["stdout_lines"] == ["p.txt"]
    assert sorted(os.listdir(host_dir)) == []
    gone = sandbox(parent, state="absent")
    assert gone["removed"] == [child, parent] and gone["removed_layers"] == [child], gone
    assert not (LAYERS_DIR / child).exists() and no_mounts_left(child) and no_mounts_left(parent)


def test_a_nested_sandbox_says_when_the_modules_python_is_not_in_its_parents_root(boxes):
    """A root of its own has a fresh /tmp: a module whose Python lives there cannot start a nested
    sandbox's supervisor inside it. The error says so (the exec failure used to be silent), and
    nothing of the child is left."""
    parent, child = boxes(), boxes()
    sandbox(parent, rootfs={"type": "overlay", "ephemeral": True})
    link_dir = Path("/tmp") / ("pidns-py-%s" % uuid.uuid4().hex[:8])
    link_dir.mkdir()
    try:
        (link_dir / "python").symlink_to(os.path.realpath("/usr/bin/python3"))
        failed = run_module("sandbox", {"name": child, "parent": parent},
                            env={"ANSIBLE_PYTHON_INTERPRETER": str(link_dir / "python")})
    finally:
        shutil.rmtree(link_dir)
    assert failed["failed"], failed
    assert "%s/python is not in the parent sandbox's root" % link_dir in failed["msg"], failed["msg"]
    assert state_of(child) is None and no_mounts_left(child)
    assert sandbox(parent, state="absent")["removed"] == [parent]


@pytest.mark.parametrize("options, message", [
    ({"rootfs": {"type": "directory"}}, "rootfs.path: type directory needs"),
    ({"rootfs": {"type": "directory", "path": "/nonexistent/pidns-tree"}},
     "rootfs.path: /nonexistent/pidns-tree is not a directory"),
    ({"rootfs": {"type": "directory", "path": "/"}}, "rootfs.path: / is the host's own root"),
    ({"rootfs": {"type": "overlay", "read_only": True}}, "rootfs.read_only"),
    ({"rootfs": {"type": "overlay"}, "namespaces": ["pid", "uts"]}, "needs the 'mnt' namespace"),
    ({"rootfs": {"type": "overlay"}, "binds": [{"src": "/etc", "dest": "/srv/a"}, {"src": "/usr", "dest": "/srv/a/b"}]},
     "binds[1].dest: /srv/a/b overlaps binds[0].dest /srv/a"),
    ({"rootfs": {"type": "overlay"}, "binds": [{"src": "/etc", "dest": "/srv/../../x"}]}, "binds[0].dest"),
    ({"rootfs": {"type": "overlay"}, "binds": [{"src": "/nonexistent/src", "dest": "/srv/x"}]},
     "binds[0].src: /nonexistent/src does not exist"),
    ({"rootfs": {"type": "overlay"}, "binds": [{"src": "/run", "dest": "/srv/x"}]}, "binds[0].src: /run holds"),
    ({"binds": [{"src": "/etc", "dest": "/nonexistent/dest"}]}, "binds[0].dest: /nonexistent/dest does not exist"),
])
def test_bad_input_names_the_option_and_creates_nothing(boxes, options, message):
    name = boxes()
    result = sandbox(name, **options)
    assert result["failed"] and message in result["msg"], result
    assert not (STATE_DIR / name).exists() and not (LAYERS_DIR / name).exists()


RENAME_EXCHANGE = 2
RACE_ROUNDS = 200


def _race_swapping(first: Path, second: Path, stop_after: float) -> int:
    """A child that swaps two paths (renameat2 RENAME_EXCHANGE) as fast as it can; its PID."""
    pid = os.fork()
    if pid:
        return pid
    status = 1
    try:
        import ctypes
        import time
        libc = ctypes.CDLL(None, use_errno=True)
        deadline = time.monotonic() + stop_after
        a, b = str(first).encode(), str(second).encode()
        while time.monotonic() < deadline:
            libc.renameat2(-100, a, -100, b, RENAME_EXCHANGE)
            os.sched_yield()  # as often as it can, but not a core taken from the tests beside it
        status = 0
    finally:
        os._exit(status)


def _enter_once(spec, state_root) -> int:
    """_rootfs.prepare and enter, as PID 1 runs them, in a child with a mount namespace of its own;
    0 if the root was built, 1 if enter refused (the race made the tree invalid), 2 otherwise."""
    import sys
    sys.path.insert(0, str(COLLECTIONS))
    from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _rootfs, _syscalls
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            _syscalls.unshare(_syscalls.CLONE_NEWNS)
            _syscalls.mount(None, "/", None, _syscalls.MS_REC | _syscalls.MS_PRIVATE)
            try:
                _rootfs.enter(spec, state_root, _rootfs.prepare(spec, "race"))
                code = 0
            except OSError:
                code = 1
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.mark.parametrize("through_proc", [False, True], ids=["symlink", "symlink-via-proc-1-root"])
def test_a_folder_swapped_for_a_symlink_while_the_root_is_built_never_writes_the_host(
        host_dir, through_proc, needs_root):
    """Finding 5 of issue 18: whoever can write a directory root swaps its etc/ for a symlink to a host
    folder (renameat2 RENAME_EXCHANGE in a loop) while PID 1 writes /etc/hostname and makes a bind's
    missing destination in /etc; the host folder never changes. Through /proc/1/root too, with the
    host's /proc in the sandbox (mount_proc false)."""
    host_target = host_dir / "host-etc"
    host_target.mkdir()
    (host_target / "hostname").write_text("the host's\n")
    tree = host_dir / "tree"
    for folder in ("etc", "proc", "sys", "dev", "run", "tmp"):
        (tree / folder).mkdir(parents=True)
    (tree / "etc" / "hostname").write_text("tree\n")
    (tree / "etc-swap").symlink_to(("/proc/1/root" if through_proc else "") + str(host_target))
    bound = host_dir / "bound"
    bound.mkdir()
    state_root = host_dir / "state"
    state_root.mkdir()
    spec = {"rootfs": {"type": "directory", "path": str(tree), "read_only": False, "ephemeral": False},
            "binds": [{"src": str(bound), "dest": "/etc/made-by-bind/x", "read_only": False}],
            "namespaces": ["pid", "mnt", "uts"], "hostname": "raced", "mount_proc": not through_proc,
            "shm_size": 64 * 1024 * 1024, "limits": {}}
    racer = _race_swapping(tree / "etc", tree / "etc-swap", stop_after=600)
    try:
        outcomes = [_enter_once(spec, str(state_root)) for _round in range(RACE_ROUNDS)]
    finally:
        os.kill(racer, signal.SIGKILL)
        os.waitpid(racer, 0)
    assert sorted(path.name for path in host_target.iterdir()) == ["hostname"]
    assert (host_target / "hostname").read_text() == "the host's\n"
    assert outcomes.count(2) == 0, outcomes
    # The race was run: rounds built the root, and the swaps made others refuse (a bind's destination
    # in a folder that was a symlink just then).
    assert outcomes.count(0) >= 10 and outcomes.count(1) >= 10, outcomes
