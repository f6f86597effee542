# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _owners: sandbox and container owners of PID namespaces, from plain data."""

from __future__ import annotations

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._facts import _owners

A, B, C, D = 4026532201, 4026532202, 4026532203, 4026532204


@pytest.mark.parametrize("path, expected", [
    ("/system.slice/docker-%s.scope" % ("a1" * 32), ("docker", "a1" * 32, None)),
    ("/docker/%s" % ("b2" * 32), ("docker", "b2" * 32, None)),
    ("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_0000_1111_2222_333344445555.slice/"
     "cri-containerd-%s.scope" % ("c3" * 32), ("containerd", "c3" * 32, "1b2c3d4e-0000-1111-2222-333344445555")),
    ("/kubepods/besteffort/pod1b2c3d4e-0000-1111-2222-333344445555/%s" % ("d4" * 32),
     ("kubernetes", "d4" * 32, "1b2c3d4e-0000-1111-2222-333344445555")),
    ("/kubepods.slice/kubepods-pod1b2c3d4e_0000_1111_2222_333344445555.slice/crio-%s.scope" % ("e5" * 32),
     ("cri-o", "e5" * 32, "1b2c3d4e-0000-1111-2222-333344445555")),
    ("/machine.slice/libpod-%s.scope/container" % ("f6" * 32), ("podman", "f6" * 32, None)),
    ("/lxc.payload.web01", ("lxc", "web01", None)),
    ("/lxc/web02", ("lxc", "web02", None)),
    ("/machine.slice/machine-my\\x2dbox.scope/payload", ("systemd-nspawn", "my-box", None)),
])
def test_owner_from_cgroup(path, expected):
    owner = _owners.owner_from_cgroup([("0", "", path)])
    assert (owner["runtime"], owner["id"], owner["pod"]) == expected and owner["cgroup"] == path


def test_owner_from_cgroup_prefers_v2_then_systemd_and_ignores_root():
    assert _owners.owner_from_cgroup([("0", "", "/")]) is None
    assert _owners.owner_from_cgroup([("3", "cpu", "/user.slice"), ("0", "", "/init.scope")]) is None
    hybrid = [("4", "memory", "/lxc/other"), ("1", "name=systemd", "/docker/%s" % ("9" * 64)), ("0", "", "/")]
    assert _owners.owner_from_cgroup(hybrid)["runtime"] == "docker"


def test_sandbox_handles_only_direct_children_of_the_state_dir():
    handles = {"/run/linuxns-pidns/web/ns/pid": A, "/run/linuxns-pidns/a/b/ns/pid": B,
               "/run/other/web/ns/pid": C, "/run/linuxns-pidns/db/ns/pid": D}
    assert _owners.sandboxes_by_namespace(handles, "/run/linuxns-pidns/") == {A: "web", D: "db"}


def test_owner_needs_no_regex_for_plain_cgroups(monkeypatch):
    def no_regex():
        raise AssertionError("regexes used on a cgroup file without any runtime's marker")

    monkeypatch.setattr(_owners, "_cgroup_rules", no_regex)
    assert _owners.owner_from_cgroup_bytes(b"0::/user.slice/session-1.scope\n1:name=systemd:/user.slice") is None
    assert _owners.owner_from_cgroup_bytes(None) is None  # gone
    monkeypatch.undo()
    assert _owners.owner_from_cgroup_bytes(b"0::/system.slice/docker-%s.scope" % (b"cd" * 32))["id"] == "cd" * 32


def test_sandbox_owner_names_the_sandbox():
    assert _owners.sandbox_owner("web") == {"type": "sandbox", "runtime": "linuxns.pidns", "name": "web",
                                            "id": None, "pod": None, "cgroup": None}


@pytest.mark.parametrize("path, name", [
    ("/linuxns-pidns/web/_supervisor", "web"),
    ("/linuxns-pidns/outer/inner/_supervisor", "inner"),  # nested below its parent's cgroup
    ("/linuxns-pidns/a/b/c/_supervisor", "c"),
    ("/linuxns-pidns/linuxns-pidns/_supervisor", "linuxns-pidns"),  # a sandbox may be named so
    ("/linuxns-pidns.slice/linuxns-pidns-web.scope/web/_supervisor", "web"),  # systemd's delegated scope
    ("/linuxns-pidns.slice/linuxns-pidns-web.scope/web/db.1/_supervisor", "db.1"),
    ("/docker/%s/linuxns-pidns/web/_supervisor" % ("ab" * 32), "web"),  # made inside a container
    ("/linuxns-pidns/web/_workloads", None),  # a workload that made a PID namespace of its own
    ("/linuxns-pidns/web/_exec.123.456", None),
    ("/linuxns-pidns/web", None),
    ("/linuxns-pidns/_supervisor", None),
    ("/linuxns-pidns/web/_workloads/_supervisor", None),  # leaf names are not sandbox names
    ("/other/web/_supervisor", None),
    ("/linuxns-pidnsx/web/_supervisor", None),
    ("/_supervisor", None),  # seen from inside a cgroup namespace: no layout to recognise
])
def test_owner_from_our_own_cgroup_layout(path, name):
    owner = _owners.owner_from_cgroup([("0", "", path)])
    if name is None:
        assert owner is None or owner["type"] != "sandbox"
    else:
        assert owner == {"type": "sandbox", "runtime": "linuxns.pidns", "name": name, "id": None, "pod": None,
                         "cgroup": path}


def test_our_layout_wins_in_any_hierarchy_and_over_a_runtime():
    # Hybrid host: v2 and the v1 controllers carry our path, name=systemd the caller's (a container's).
    docker = "/docker/%s" % ("9" * 64)
    hybrid = [("12", "pids", "/linuxns-pidns/web/_supervisor"), ("1", "name=systemd", docker),
              ("0", "", "/linuxns-pidns/web/_supervisor")]
    assert _owners.owner_from_cgroup(hybrid)["name"] == "web"
    # Pure v1, our tree in pids only, the container's path in name=systemd ranked first for runtimes.
    v1_only = [("1", "name=systemd", docker), ("5", "pids", docker + "/linuxns-pidns/db/_supervisor")]
    assert _owners.owner_from_cgroup(v1_only)["name"] == "db"


def test_our_layout_needs_no_regex(monkeypatch):
    def no_regex():
        raise AssertionError("regexes used for this collection's own cgroup layout")

    monkeypatch.setattr(_owners, "_cgroup_rules", no_regex)
    data = (b"12:pids:/linuxns-pidns/web/_supervisor\n1:name=systemd:/\n"
            b"0::/linuxns-pidns/web/_supervisor\n")
    assert _owners.owner_from_cgroup_bytes(data)["name"] == "web"
    assert _owners.owner_from_cgroup_bytes(b"0::/linuxns-pidns/web/_exec.1.2\n") is None
