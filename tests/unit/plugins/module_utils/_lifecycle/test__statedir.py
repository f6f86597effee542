# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _statedir: state files, sandbox folders, the supervisor program."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _statedir

from state_fixtures import _state


def test_parse_state_round_trip_and_rejects_foreign_files():
    state = _state()
    assert _statedir.parse_state(json.dumps(state)) == state
    with pytest.raises(ValueError):
        _statedir.parse_state(json.dumps(dict(state, schema=99)))
    with pytest.raises(ValueError):
        _statedir.parse_state(json.dumps({k: v for k, v in state.items() if k != "supervisor"}))
    with pytest.raises(ValueError):
        _statedir.parse_state("not json")


def test_state_dir_names_lists_only_valid_sandbox_folders(tmp_path):
    for entry in ("web", "db", ".supervisor.py", ".lock", "-bad"):
        (tmp_path / entry).mkdir() if not entry.startswith(".") else (tmp_path / entry).write_text("")
    (tmp_path / "file-not-dir").write_text("")
    state_dir = _statedir.StateDir(str(tmp_path))
    assert state_dir.names() == ["db", "web"]
    assert _statedir.StateDir(str(tmp_path / "missing")).names() == []


def test_state_dir_write_then_read_state(tmp_path):
    state_dir = _statedir.StateDir(str(tmp_path))
    os.mkdir(state_dir.path("web"))
    state_dir.write_state("web", _state())
    assert state_dir.read_state("web") == _state()
    assert oct(os.stat(state_dir.path("web", "state.json")).st_mode & 0o777) == "0o600"
    assert state_dir.read_state("nothing") is None


@pytest.mark.parametrize("damage", [
    {"supervisor": "4242"}, {"supervisor": {"pid": "4242", "start_time": 777}}, {"supervisor": {"pid": 0, "start_time": 1}},
    {"supervisor": {"pid": True, "start_time": 1}}, {"namespaces": [4026532001]}, {"namespaces": {"mnt": 4026532002}},
    {"namespaces": {"pid": "4026532001", "mnt": 4026532002}}, {"namespaces": {"pid": 1, "mnt": 2, "bogus": 3}},
    {"spec": []}, {"name": 7}, {"boot_id": None}, {"level": "1"},
])
def test_parse_state_rejects_wrong_types(damage):
    """A state.json that is JSON but not ours down to its values is unreadable, not a crash later."""
    with pytest.raises(ValueError):
        _statedir.parse_state(json.dumps(_state(**damage)))


@pytest.mark.parametrize("spec_damage", [
    {"stop_timeout": "10"}, {"stop_timeout": None}, {"stop_timeout": 1e308}, {"namespaces": "pid"},
    {"namespaces": ["pid"]}, {"hostname": 5}, {"parent": "../x"}, {"mount_proc": "yes"},
])
def test_parse_state_rejects_a_wrong_spec(spec_damage):
    state = _state()
    state["spec"] = dict(state["spec"], **spec_damage)
    with pytest.raises(ValueError):
        _statedir.parse_state(json.dumps(state))


def test_read_state_treats_wrong_types_as_unreadable(tmp_path):
    state_dir = _statedir.StateDir(str(tmp_path))
    os.mkdir(state_dir.path("web"))
    (tmp_path / "web" / "state.json").write_text(json.dumps(_state(supervisor=[1, 2])))
    assert state_dir.read_state("web") is None
