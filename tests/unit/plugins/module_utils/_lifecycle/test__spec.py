# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _spec: the name rule and the checks of a requested spec."""

from __future__ import annotations


import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _spec
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._decision import spec_differences
from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError


def _spec_of(*args, **kwargs):
    return _spec.normalize_spec(*args, **kwargs)[0]


@pytest.mark.parametrize("name", ["web", "a", "A9", "db-1.prod_x", "x" * 64, "9lives"])
def test_valid_names(name):
    assert _spec.validate_name(name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "../x", "a/b", "-a", ".hidden", "_a", "x" * 65,
                                  "a b", "a\nb", "x\n", "ü", None, 5])
def test_invalid_names_say_which_option(name):
    with pytest.raises(SandboxError, match="^name: .*not a valid sandbox name"):
        _spec.validate_name(name)


def test_default_spec():
    spec, warnings = _spec.normalize_spec("web")
    assert spec == {"namespaces": ["pid", "mnt", "uts", "ipc"], "hostname": "web", "mount_proc": True,
                    "parent": None, "stop_timeout": 10, "paused": False,
                    "rootfs": {"type": "host", "path": None, "read_only": False, "ephemeral": False}, "binds": [],
                    "shm_size": 64 * 1024 * 1024, "capabilities": {"add": [], "drop": [], "privileged": False},
                    "userns": "host", "network": None, "published_ports": [], "init": "supervisor", "workloads": [],
                    "restart_on_boot": False,
                    "limits": {"pids_limit": None, "memory": None, "memory_swap": None, "cpus": None,
                               "cpu_shares": None}}
    assert warnings == []


def test_shm_size_is_a_size_for_a_root_of_its_own_only():
    overlay = {"type": "overlay"}
    assert _spec.normalize_spec("web", rootfs=overlay, shm_size="128M")[0]["shm_size"] == 128 * 1024 * 1024
    assert _spec.normalize_spec("web", rootfs=overlay)[0]["shm_size"] == 64 * 1024 * 1024
    with pytest.raises(SandboxError, match="^shm_size: only a sandbox with a root of its own"):
        _spec.normalize_spec("web", shm_size="128M")
    with pytest.raises(SandboxError, match="^shm_size: at least 1M, got '512k'"):
        _spec.normalize_spec("web", rootfs=overlay, shm_size="512k")
    with pytest.raises(SandboxError, match="^shm_size: 'lots' is not a size"):
        _spec.normalize_spec("web", rootfs=overlay, shm_size="lots")


def test_namespaces_are_put_in_canonical_order_without_duplicates():
    spec = _spec_of("web", ["net", "pid", "net", "time", "mnt"])
    assert spec["namespaces"] == ["pid", "mnt", "net", "time"]
    assert spec["hostname"] is None


def test_unknown_namespace_is_named():
    with pytest.raises(SandboxError, match=r"namespaces: unknown namespace type\(s\) 'bogus'"):
        _spec.normalize_spec("web", ["pid", "bogus"])


def test_pid_is_required():
    with pytest.raises(SandboxError, match="namespaces: 'pid' is required"):
        _spec.normalize_spec("web", ["mnt", "uts"])


def test_hostname_needs_uts():
    with pytest.raises(SandboxError, match="hostname: .*needs the 'uts' namespace"):
        _spec.normalize_spec("web", ["pid", "mnt"], hostname="h")


def test_without_mnt_proc_cannot_be_remounted_and_a_warning_says_so():
    spec, warnings = _spec.normalize_spec("web", ["pid", "uts"])
    assert spec["mount_proc"] is False
    assert len(warnings) == 1 and "see the host's /proc" in warnings[0]


def test_without_mnt_and_without_mount_proc_no_warning():
    _unused, warnings = _spec.normalize_spec("web", ["pid"], mount_proc=False)
    assert warnings == []


@pytest.mark.parametrize("parent, message", [("../up", "parent: .*not a valid"), ("web", "own parent")])
def test_bad_parent(parent, message):
    with pytest.raises(SandboxError, match=message):
        _spec.normalize_spec("web", parent=parent)


def test_negative_stop_timeout():
    with pytest.raises(SandboxError, match="stop_timeout: must be a number of seconds from 0 to 3600"):
        _spec.normalize_spec("web", stop_timeout=-1)


def test_spec_differences_lists_changed_keys_in_order():
    before = _spec_of("web", hostname="a")
    after = _spec_of("web", ["pid", "mnt", "uts", "ipc", "net"], hostname="b")
    assert spec_differences(before, after) == ["namespaces", "hostname"]
    assert spec_differences(before, dict(before)) == []


def test_integer_and_float_timeouts_compare_equal():
    before = _spec_of("web", stop_timeout=10)
    after = _spec_of("web", stop_timeout=10.0)
    assert spec_differences(before, after) == []


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -0.5, 3601, "soon", None])
def test_stop_timeout_must_be_a_finite_bounded_number(value):
    with pytest.raises(SandboxError, match="^stop_timeout: "):
        _spec.normalize_spec("web", stop_timeout=value)


@pytest.mark.parametrize("hostname", ["", "a" * 65, "web sandbox", "a\nb", "a/b", "-web", ".web", "wéb", "\x1b[31m",
                                      "a\x00b"])
def test_bad_hostnames_are_refused_naming_the_option(hostname):
    with pytest.raises(SandboxError, match="^hostname: "):
        _spec.normalize_spec("web", hostname=hostname)


@pytest.mark.parametrize("hostname", ["web", "web.sandbox", "db-1_a", "a" * 64, "9lives"])
def test_good_hostnames(hostname):
    assert _spec.normalize_spec("web", hostname=hostname)[0]["hostname"] == hostname


@pytest.mark.parametrize("given, expected", [
    ("512M", 512 * 1024 ** 2), ("1g", 1024 ** 3), ("1.5G", int(1.5 * 1024 ** 3)), (4096 * 4096, 4096 * 4096),
    ("64MB", 64 * 1024 ** 2), ("7000000", 7000000), ("8k", 8192),
])
def test_sizes(given, expected):
    assert _spec.size(given, "memory") == expected


@pytest.mark.parametrize("given", ["", "M", "-5M", "1e400", "nan", "inf", "12Q", True, [], "1.2.3"])
def test_bad_sizes_name_the_option(given):
    with pytest.raises(SandboxError, match="^memory: "):
        _spec.size(given, "memory")


def test_limits_are_checked_and_normalized():
    limits = _spec.normalize_limits({"pids_limit": "64", "memory": "64M", "memory_swap": "128M", "cpus": 0.5,
                                     "cpu_shares": 512})
    assert limits == {"pids_limit": 64, "memory": 64 * 1024 ** 2, "memory_swap": 128 * 1024 ** 2, "cpus": 0.5,
                      "cpu_shares": 512}


@pytest.mark.parametrize("given, option", [
    ({"pids_limit": 0}, "pids_limit"), ({"pids_limit": 2 ** 40}, "pids_limit"), ({"pids_limit": "many"}, "pids_limit"),
    ({"memory": "1M"}, "memory"), ({"memory_swap": "64M"}, "memory_swap"),
    ({"memory": "64M", "memory_swap": "32M"}, "memory_swap"), ({"cpus": 0}, "cpus"), ({"cpus": float("nan")}, "cpus"),
    ({"cpus": "inf"}, "cpus"), ({"cpus": 5000}, "cpus"), ({"cpu_shares": 1}, "cpu_shares"),
    ({"cpu_shares": 10 ** 6}, "cpu_shares"),
])
def test_bad_limits_name_the_option(given, option):
    with pytest.raises(SandboxError, match="^%s: " % option):
        _spec.normalize_limits(given)
