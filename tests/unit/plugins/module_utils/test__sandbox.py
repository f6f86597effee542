# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the pure parts of _sandbox: names, spec, state files, health, state dir."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils import _sandbox
from ansible_collections.linuxns.pidns.plugins.module_utils._sandbox import SandboxError


def _spec_of(*args, **kwargs):
    return _sandbox.normalize_spec(*args, **kwargs)[0]


@pytest.mark.parametrize("name", ["web", "a", "A9", "db-1.prod_x", "x" * 64, "9lives"])
def test_valid_names(name):
    assert _sandbox.validate_name(name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "../x", "a/b", "-a", ".hidden", "_a", "x" * 65,
                                  "a b", "a\nb", "ü", None, 5])
def test_invalid_names_say_which_option(name):
    with pytest.raises(SandboxError, match="^name: .*not a valid sandbox name"):
        _sandbox.validate_name(name)


def test_default_spec():
    spec, warnings = _sandbox.normalize_spec("web")
    assert spec == {"namespaces": ["pid", "mnt", "uts", "ipc"], "hostname": "web", "mount_proc": True,
                    "parent": None, "stop_timeout": 10}
    assert warnings == []


def test_namespaces_are_put_in_canonical_order_without_duplicates():
    spec = _spec_of("web", ["net", "pid", "net", "time", "mnt"])
    assert spec["namespaces"] == ["pid", "mnt", "net", "time"]
    assert spec["hostname"] is None


def test_unknown_namespace_is_named():
    with pytest.raises(SandboxError, match=r"namespaces: unknown namespace type\(s\) 'bogus'"):
        _sandbox.normalize_spec("web", ["pid", "bogus"])


def test_pid_is_required():
    with pytest.raises(SandboxError, match="namespaces: 'pid' is required"):
        _sandbox.normalize_spec("web", ["mnt", "uts"])


def test_hostname_needs_uts():
    with pytest.raises(SandboxError, match="hostname: .*needs the 'uts' namespace"):
        _sandbox.normalize_spec("web", ["pid", "mnt"], hostname="h")


def test_without_mnt_proc_cannot_be_remounted_and_a_warning_says_so():
    spec, warnings = _sandbox.normalize_spec("web", ["pid", "uts"])
    assert spec["mount_proc"] is False
    assert len(warnings) == 1 and "see the host's /proc" in warnings[0]


def test_without_mnt_and_without_mount_proc_no_warning():
    _spec, warnings = _sandbox.normalize_spec("web", ["pid"], mount_proc=False)
    assert warnings == []


@pytest.mark.parametrize("parent, message", [("../up", "parent: .*not a valid"), ("web", "own parent")])
def test_bad_parent(parent, message):
    with pytest.raises(SandboxError, match=message):
        _sandbox.normalize_spec("web", parent=parent)


def test_negative_stop_timeout():
    with pytest.raises(SandboxError, match="stop_timeout: must be 0 or more"):
        _sandbox.normalize_spec("web", stop_timeout=-1)


def test_spec_differences_lists_changed_keys_in_order():
    before = _spec_of("web", hostname="a")
    after = _spec_of("web", ["pid", "mnt", "uts", "ipc", "net"], hostname="b")
    assert _sandbox.spec_differences(before, after) == ["namespaces", "hostname"]
    assert _sandbox.spec_differences(before, dict(before)) == []


def test_integer_and_float_timeouts_compare_equal():
    before = _spec_of("web", stop_timeout=10)
    after = _spec_of("web", stop_timeout=10.0)
    assert _sandbox.spec_differences(before, after) == []


def _state(**overrides):
    state = {"schema": 1, "name": "web", "spec": _sandbox.normalize_spec("web")[0],
             "supervisor": {"pid": 4242, "start_time": 777}, "boot_id": "boot-a",
             "namespaces": {"pid": 4026532001, "mnt": 4026532002}, "level": 1,
             "created": "2026-11-29T10:00:00Z"}
    state.update(overrides)
    return state


def test_parse_state_round_trip_and_rejects_foreign_files():
    state = _state()
    assert _sandbox.parse_state(json.dumps(state)) == state
    with pytest.raises(ValueError):
        _sandbox.parse_state(json.dumps(dict(state, schema=99)))
    with pytest.raises(ValueError):
        _sandbox.parse_state(json.dumps({k: v for k, v in state.items() if k != "supervisor"}))
    with pytest.raises(ValueError):
        _sandbox.parse_state("not json")


ALIVE_STAT = {"pid": 4242, "comm": "pidns:web", "state": "S", "ppid": 1, "start_time": 777}
HANDLES = {"pid": 4026532001, "mnt": 4026532002}


def test_health_alive():
    assert _sandbox.health(_state(), HANDLES, ALIVE_STAT, "boot-a", 4026532001) == []


def test_health_supervisor_gone():
    problems = _sandbox.health(_state(), HANDLES, None, "boot-a", None)
    assert problems == ["its supervisor (host PID 4242) is gone: the kernel refuses new processes in a PID "
                        "namespace whose PID 1 died"]


def test_health_zombie_supervisor_counts_as_gone():
    problems = _sandbox.health(_state(), HANDLES, dict(ALIVE_STAT, state="Z"), "boot-a", 4026532001)
    assert len(problems) == 1 and "is gone" in problems[0]


def test_health_pid_reused():
    problems = _sandbox.health(_state(), HANDLES, dict(ALIVE_STAT, start_time=999), "boot-a", 4026531836)
    assert problems == ["its supervisor (host PID 4242) is gone and the PID now belongs to another process"]


def test_health_after_reboot_reports_reboot_and_stale_handles():
    problems = _sandbox.health(_state(), {}, dict(ALIVE_STAT, start_time=5), "boot-b", 4026531836)
    assert problems[0].startswith("the host rebooted")
    assert problems[1] == "namespace handle(s) not mounted: mnt, pid"


def test_health_one_handle_unmounted():
    problems = _sandbox.health(_state(), {"pid": 4026532001}, ALIVE_STAT, "boot-a", 4026532001)
    assert problems == ["namespace handle(s) not mounted: mnt"]


def test_state_dir_names_lists_only_valid_sandbox_folders(tmp_path):
    for entry in ("web", "db", ".supervisor.py", ".lock", "-bad"):
        (tmp_path / entry).mkdir() if not entry.startswith(".") else (tmp_path / entry).write_text("")
    (tmp_path / "file-not-dir").write_text("")
    state_dir = _sandbox.StateDir(str(tmp_path))
    assert state_dir.names() == ["db", "web"]
    assert _sandbox.StateDir(str(tmp_path / "missing")).names() == []


def test_state_dir_write_then_read_state(tmp_path):
    state_dir = _sandbox.StateDir(str(tmp_path))
    os.mkdir(state_dir.path("web"))
    state_dir.write_state("web", _state())
    assert state_dir.read_state("web") == _state()
    assert oct(os.stat(state_dir.path("web", "state.json")).st_mode & 0o777) == "0o600"
    assert state_dir.read_state("nothing") is None


def test_supervisor_is_installed_once_and_is_its_own_program(tmp_path):
    state_dir = _sandbox.StateDir(str(tmp_path))
    path = state_dir.install_supervisor()
    first = os.stat(path)
    assert state_dir.install_supervisor() == path
    assert os.stat(path).st_ino == first.st_ino  # unchanged content: not rewritten
    source = open(path).read()
    assert "sigwaitinfo" in source and 'if __name__ == "__main__":' in source
    assert oct(first.st_mode & 0o777) == "0o600"


class _FakeView:
    def __init__(self, state_dir):
        self.state_dir = state_dir


def test_dependents_are_listed_deepest_first(tmp_path):
    state_dir = _sandbox.StateDir(str(tmp_path))
    tree = {"top": None, "mid": "top", "leaf": "mid", "side": "top", "other": None}
    for name, parent in tree.items():
        os.mkdir(state_dir.path(name))
        spec = _spec_of(name, parent=parent)
        state_dir.write_state(name, _state(name=name, spec=spec))
    view = _FakeView(state_dir)
    assert _sandbox.dependents(view, "top") == ["leaf", "mid", "side"]
    assert _sandbox.dependents(view, "mid") == ["leaf"]
    assert _sandbox.dependents(view, "other") == []
