# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure parts of _rootfs: option checks, submount planning, path resolution inside a root."""

from __future__ import annotations

import os

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _rootfs
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._decision import RECREATE, decide
from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import normalize_spec

MNT = ["pid", "mnt", "uts", "ipc"]


def test_default_is_the_hosts_root_and_old_specs_compare_equal():
    spec, _warnings = normalize_spec("a")
    assert spec["rootfs"] == {"type": "host", "path": None, "read_only": False, "ephemeral": False}
    assert spec["binds"] == []
    old = dict(spec)
    del old["rootfs"], old["binds"]  # recorded before the keys existed
    assert decide("a", {"health": "alive", "problems": [], "spec": old}, spec).action == "keep"


def test_changing_rootfs_or_binds_recreates():
    spec = normalize_spec("a")[0]
    overlay = normalize_spec("a", rootfs={"type": "overlay"})[0]
    bound = normalize_spec("a", binds=[{"src": "/srv", "dest": "/srv"}])[0]
    current = {"health": "alive", "problems": [], "spec": spec}
    assert decide("a", current, overlay).action == RECREATE
    assert decide("a", current, overlay).reasons == ["rootfs"]
    assert decide("a", current, bound).reasons == ["binds"]


@pytest.mark.parametrize("rootfs, message", [
    ("overlay", "rootfs: 'overlay' is not a dictionary"),
    ({"type": "docker"}, "rootfs.type"),
    ({"type": "directory"}, "rootfs.path: type directory needs"),
    ({"type": "directory", "path": "relative"}, "rootfs.path: 'relative' must be an absolute path"),
    ({"type": "directory", "path": "/srv/../etc"}, "rootfs.path"),
    ({"type": "directory", "path": "/"}, "rootfs.path: / is the host's own root"),
    ({"type": "directory", "path": "/run"}, "rootfs.path: /run holds"),
    ({"type": "overlay", "path": "/srv"}, "rootfs.path: only type directory"),
    ({"type": "overlay", "read_only": True}, "rootfs.read_only"),
    ({"type": "directory", "path": "/srv", "ephemeral": True}, "rootfs.ephemeral"),
    ({"type": "overlay", "size": 1}, "rootfs: unknown key(s) size"),
])
def test_bad_rootfs_names_the_option(rootfs, message):
    with pytest.raises(SandboxError) as error:
        normalize_spec("a", rootfs=rootfs)
    assert message in str(error.value)


def test_a_root_of_its_own_needs_a_mount_namespace():
    with pytest.raises(SandboxError, match="needs the 'mnt' namespace"):
        normalize_spec("a", namespaces=["pid"], rootfs={"type": "overlay"})
    with pytest.raises(SandboxError, match="binds: binding paths needs the 'mnt' namespace"):
        normalize_spec("a", namespaces=["pid"], binds=[{"src": "/srv"}])


@pytest.mark.parametrize("binds, message", [
    ([{"src": "srv", "dest": "/srv"}], "binds[0].src"),
    ([{"src": "/srv", "dest": "/a/../../b"}], "binds[0].dest"),
    ([{"src": "/srv", "dest": "/"}], "binds[0].dest: / is made by the sandbox"),
    ([{"src": "/srv", "dest": "/proc/x"}], "binds[0].dest: /proc/x is made"),
    ([{"src": "/srv", "dest": "/a"}, {"src": "/etc", "dest": "/a"}], "binds[1].dest: /a overlaps binds[0].dest /a"),
    ([{"src": "/srv", "dest": "/a/b"}, {"src": "/etc", "dest": "/a"}], "binds[1].dest: /a overlaps"),
    ([{"src": "/run/linuxns-pidns/x", "dest": "/a"}], "binds[0].src"),
    ([{"src": "/var/lib/linuxns-pidns", "dest": "/a"}], "binds[0].src"),
    ([{"src": "/srv", "dest": "/a", "read_only": "yes"}], "binds[0].read_only"),
    ([{"src": "/srv", "target": "/a"}], "binds[0]: unknown key(s) target"),
])
def test_bad_binds_name_the_entry(binds, message):
    with pytest.raises(SandboxError) as error:
        normalize_spec("a", rootfs={"type": "overlay"}, binds=binds)
    assert message in str(error.value)


def test_binds_keep_their_order_and_dest_defaults_to_src():
    spec = normalize_spec("a", binds=[{"src": "/srv/b", "dest": "/b", "read_only": True}, {"src": "/opt"}])[0]
    assert spec["binds"] == [{"src": "/srv/b", "dest": "/b", "read_only": True},
                             {"src": "/opt", "dest": "/opt", "read_only": False}]


def test_check_host_finds_a_missing_tree_and_sources(tmp_path):
    spec = normalize_spec("a", rootfs={"type": "directory", "path": str(tmp_path / "none")})[0]
    with pytest.raises(SandboxError, match="rootfs.path: .* is not a directory"):
        _rootfs.check_host(spec)
    spec = normalize_spec("a", binds=[{"src": str(tmp_path), "dest": str(tmp_path / "nodest")}])[0]
    with pytest.raises(SandboxError, match=r"binds\[0\].dest: .* does not exist"):
        _rootfs.check_host(spec)
    spec = normalize_spec("a", rootfs={"type": "overlay"}, binds=[{"src": str(tmp_path / "x"), "dest": "/x"}])[0]
    with pytest.raises(SandboxError, match=r"binds\[0\].src: .* does not exist"):
        _rootfs.check_host(spec)


def test_check_host_resolves_symlinks_to_the_hosts_root_and_the_state(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (tmp_path / "to-root").symlink_to("/")
    (tmp_path / "to-state").symlink_to(state)
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree-link").symlink_to(tmp_path / "tree")
    spec = normalize_spec("a", rootfs={"type": "directory", "path": str(tmp_path / "to-root")})[0]
    with pytest.raises(SandboxError, match=r"^rootfs.path: .*/to-root is the host's own root \(as /\)"):
        _rootfs.check_host(spec, state_dir=str(state))
    spec = normalize_spec("a", rootfs={"type": "directory", "path": str(tmp_path / "to-state")})[0]
    with pytest.raises(SandboxError, match=r"^rootfs.path: .*/to-state is .*/state, which holds or lies in"):
        _rootfs.check_host(spec, state_dir=str(state))
    spec = normalize_spec("a", rootfs={"type": "overlay"}, binds=[{"src": str(tmp_path / "to-state"), "dest": "/x"}])[0]
    with pytest.raises(SandboxError, match=r"^binds\[0\].src: .*/to-state is .*/state, which holds or lies in"):
        _rootfs.check_host(spec, state_dir=str(state))
    spec = normalize_spec("a", rootfs={"type": "directory", "path": str(tmp_path / "tree-link")})[0]
    _rootfs.check_host(spec, state_dir=str(state))  # a symlink to a tree of its own is fine


@pytest.mark.parametrize("path, make, message", [
    ("dev", lambda where: where.symlink_to("/tmp/elsewhere"), "dev is a symlink \\(to /tmp/elsewhere\\)"),
    ("proc", lambda where: where.symlink_to("tmp/proc"), "proc is a symlink \\(to tmp/proc\\)"),
    ("run", lambda where: where.write_text(""), "run is not a directory"),
])
def test_check_host_refuses_a_tree_whose_fresh_paths_are_not_directories(tmp_path, path, make, message):
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "sys").mkdir()
    make(tree / path)
    spec = normalize_spec("a", rootfs={"type": "directory", "path": str(tree)})[0]
    with pytest.raises(SandboxError, match="^rootfs.path: .*/tree/" + message):
        _rootfs.check_host(spec, state_dir=str(tmp_path / "state"))


def mount(mount_id, parent, point, fstype):
    return {"mount_id": mount_id, "parent_id": parent, "mount_point": point, "fstype": fstype}


def test_plan_submounts_overlays_disk_filesystems_only():
    mounts = [
        mount(1, 0, "/", "ext4"),
        mount(2, 1, "/proc", "proc"),
        mount(3, 1, "/home", "ext4"),
        mount(4, 1, "/var", "xfs"),
        mount(5, 4, "/var/lib/docker", "btrfs"),
        mount(6, 1, "/run", "tmpfs"),
        mount(7, 6, "/run/user/0", "tmpfs"),
        mount(8, 1, "/boot", "vfat"),
        mount(9, 1, "/mnt/tools", "tmpfs"),
        mount(10, 9, "/mnt/tools/disk", "ext4"),
        mount(11, 1, "/srv/auto", "autofs"),
        mount(12, 1, "/run/linuxns-pidns", "ext4"),
        mount(13, 1, "/stage", "tmpfs"),
        mount(14, 1, "/dev/shm", "tmpfs"),
        mount(15, 1, "/tmp", "ext4"),
    ]
    assert _rootfs.plan_submounts(mounts, skip=["/stage"]) == ["/boot", "/home", "/var", "/var/lib/docker"]
    assert _rootfs.plan_submounts([]) == []


def test_overlay_options_escape_separators():
    assert _rootfs.overlay_options("/", "/l/up", "/l/work") == "lowerdir=/,upperdir=/l/up,workdir=/l/work"
    assert _rootfs.overlay_options("/a:b,c", "/u", "/w") == "lowerdir=/a\\:b\\,c,upperdir=/u,workdir=/w"
    assert _rootfs.layer_key("/var/lib%x") == "%2Fvar%2Flib%25x"


def test_resolve_in_root_keeps_symbolic_links_inside(tmp_path):
    root = tmp_path / "root"
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "bin").symlink_to("usr/bin")
    (root / "escape").symlink_to("/etc")
    (root / "up").symlink_to("../../../../etc")
    (root / "loop").symlink_to("loop")
    root = str(root)
    assert _rootfs.resolve_in_root(root, "/bin/tool") == os.path.join(root, "usr/bin/tool")
    assert _rootfs.resolve_in_root(root, "/escape/hostname") == os.path.join(root, "etc/hostname")
    assert _rootfs.resolve_in_root(root, "/up/passwd") == os.path.join(root, "etc/passwd")
    assert _rootfs.resolve_in_root(root, "/") == root
    assert _rootfs.resolve_in_root(root, "/new/dir") == os.path.join(root, "new/dir")
    with pytest.raises(OSError):
        _rootfs.resolve_in_root(root, "/loop/x")


def test_describe_and_disk_usage(tmp_path):
    spec = normalize_spec("a", rootfs={"type": "overlay"})[0]
    described = _rootfs.describe(spec, "a")
    assert described["type"] == "overlay" and described["upper"] == "/var/lib/linuxns-pidns/a"
    ephemeral = normalize_spec("a", rootfs={"type": "overlay", "ephemeral": True})[0]
    assert _rootfs.describe(ephemeral, "a")["upper"] is None
    assert _rootfs.disk_usage(str(tmp_path / "none")) is None
    (tmp_path / "f").write_bytes(b"x" * 10000)
    os.link(tmp_path / "f", tmp_path / "g")
    assert 8192 <= _rootfs.disk_usage(str(tmp_path)) < 20000
