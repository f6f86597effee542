# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Workloads: their checks, docker's policies and back-off, and what the module reads of PID 1's files."""

from __future__ import annotations

import json

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._init import _workloads
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _supervisor


def test_a_workload_is_normalized_with_dockers_defaults():
    [one] = _workloads.normalize([{"name": "web", "argv": ["nginx", "-g", "daemon off;", ""], "env": {"A": 1}}])
    assert one == {"name": "web", "argv": ["nginx", "-g", "daemon off;", ""], "env": {"A": "1"}, "user": None,
                   "group": None, "chdir": None, "restart": "no", "max_retries": None, "stop_signal": 15,
                   "stop_timeout": 10.0}
    assert _workloads.normalize(None) == []


@pytest.mark.parametrize("value, expected", [
    (None, ("no", None)), ("no", ("no", None)), ("always", ("always", None)),
    ("unless-stopped", ("unless-stopped", None)), ("on-failure", ("on-failure", None)),
    ("on-failure:5", ("on-failure", 5)),
])
def test_restart_takes_dockers_values(value, expected):
    assert _workloads.parse_restart(value, "r") == expected


@pytest.mark.parametrize("value", ["sometimes", "always:3", "on-failure:", "on-failure:0", "on-failure:-1",
                                   "on-failure:x", "on-failure:٣", "", False, 3])
def test_other_restart_values_are_refused(value):
    with pytest.raises(SandboxError, match=r"^r: "):
        _workloads.parse_restart(value, "r")


@pytest.mark.parametrize("value, number", [("SIGTERM", 15), ("term", 15), ("15", 15), (3, 3), ("SIGQUIT", 3),
                                           ("USR1", 10), ("SIGKILL", 9)])
def test_stop_signals(value, number):
    assert _workloads.parse_signal(value, "s") == number


@pytest.mark.parametrize("value", ["SIGSTOP", "CONT", "19", "0", "65", "SIGNOPE", "", None, True, 1.5])
def test_signals_that_do_not_stop_are_refused(value):
    with pytest.raises(SandboxError, match=r"^s: "):
        _workloads.parse_signal(value, "s")


@pytest.mark.parametrize("value, message", [
    ("x", "workloads: a list of at most 64"),
    ([{"name": "a", "argv": ["x"]}] * 2, "workloads[1].name: 'a' is listed twice"),
    (["x"], "workloads[0]: 'x' is not a dict"),
    ([{"name": "a", "argv": ["x"], "bogus": 1}], "workloads[0]: unknown key(s) bogus"),
    ([{"name": "", "argv": ["x"]}], "workloads[0].name: '' is not a workload name"),
    ([{"name": "a\n", "argv": ["x"]}], "workloads[0].name: 'a\\n' is not a workload name"),
    ([{"name": "a", "argv": "ls"}], "workloads[0].argv: must be a non-empty list"),
    ([{"name": "a", "argv": [""]}], "workloads[0].argv[0]: '' must be non-empty text"),
    ([{"name": "a", "argv": ["x\x00y"]}], "workloads[0].argv[0]"),
    ([{"name": "a", "argv": [["x"]]}], "workloads[0].argv[0]: ['x'] is not text"),
    ([{"name": "a", "argv": ["x"], "env": {"A=B": "1"}}], "workloads[0].env: 'A=B' is not a variable name"),
    ([{"name": "a", "argv": ["x"], "env": ["A"]}], "workloads[0].env: ['A'] is not a dict"),
    ([{"name": "a", "argv": ["x"], "chdir": "tmp"}], "workloads[0].chdir: 'tmp' is not an absolute path"),
    ([{"name": "a", "argv": ["x"], "stop_timeout": -1}], "workloads[0].stop_timeout: a number of seconds"),
    ([{"name": "a", "argv": ["x"], "stop_timeout": "nan"}], "workloads[0].stop_timeout"),
    ([{"name": "a", "argv": ["x"], "user": ""}], "workloads[0].user"),
])
def test_bad_workloads_name_the_entry_and_option(value, message):
    with pytest.raises(SandboxError) as caught:
        _workloads.normalize(value)
    assert message in str(caught.value)


def test_backoff_doubles_from_100_ms_and_is_capped_as_dockers():
    assert [_supervisor.backoff(n) for n in range(4)] == [0.1, 0.2, 0.4, 0.8]
    assert _supervisor.backoff(100) == _supervisor.BACKOFF_MAX == 60.0
    assert _supervisor.BACKOFF_RESET_AFTER == 10.0
    # PID 1 (a program of its own) names the same files and sizes as the module side.
    assert (_supervisor.LOG_MAX_BYTES, _supervisor.LOG_FILES, _supervisor.SPEC_FILE, _supervisor.STATUS_FILE) == (
        _workloads.LOG_MAX_BYTES, _workloads.LOG_FILES, _workloads.SPEC_FILE, _workloads.STATUS_FILE)


def test_status_written_by_pid_1_is_read_as_host_data(tmp_path):
    folder = tmp_path / "workloads"
    folder.mkdir()
    status = _supervisor._to_json({"web": {"state": "backing off", "pid": None, "restart_count": 2, "exit_code": 1,
                                           "exit_signal": None, "started": "2026-12-06T06:36:53Z",
                                           "finished": "2026-12-06T06:36:54Z"}})
    (folder / "status.json").write_text(status)
    assert _workloads.read_status(str(tmp_path)) == {"web": {
        "state": "backing off", "pid": None, "restart_count": 2, "exit_code": 1, "exit_signal": None,
        "started": "2026-12-06T06:36:53Z", "finished": "2026-12-06T06:36:54Z"}}
    # What a process inside could write there: odd keys, types and sizes are dropped or bounded.
    (folder / "status.json").write_text(json.dumps({"web": {"state": "pwned", "pid": "1", "started": "x" * 100,
                                                            "extra": 1}, "../x": {}, "b": []}))
    assert _workloads.read_status(str(tmp_path)) == {"web": {
        "state": "unknown", "pid": None, "restart_count": None, "exit_code": None, "exit_signal": None,
        "started": None, "finished": None}}
    (folder / "status.json").write_text("[" * 300000)
    assert _workloads.read_status(str(tmp_path)) == {}


def test_tail_reads_the_rotated_logs_oldest_first(tmp_path):
    folder = tmp_path / "workloads"
    folder.mkdir()
    (folder / "web.log.2").write_text("one\ntwo\n")
    (folder / "web.log.1").write_text("three\n")
    (folder / "web.log").write_text("four\nfi\xffve\n".encode("latin-1").decode("latin-1"))
    assert _workloads.tail(str(tmp_path), "web", 3) == ["three", "four", "fi\xffve"]
    assert _workloads.tail(str(tmp_path), "web", 0) == []
    assert _workloads.tail(str(tmp_path), "nope", 5) == []


def test_init_kinds_and_workloads_need_the_supervisor():
    from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import normalize_spec
    assert normalize_spec("web")[0]["init"] == "supervisor"
    assert normalize_spec("web", init="catatonit")[0]["init"] == "catatonit"
    with pytest.raises(SandboxError, match=r"^init: 'systemd' is not one of supervisor, catatonit"):
        normalize_spec("web", init="systemd")
    with pytest.raises(SandboxError, match=r"^workloads: PID 1 runs them, and init catatonit only reaps and waits"):
        normalize_spec("web", init="catatonit", workloads=[{"name": "a", "argv": ["true"]}])
