# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The supervisor's log is a host file: bounded, whatever happens inside the sandbox."""

from __future__ import annotations

import io

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _supervisor


@pytest.fixture(autouse=True)
def fresh_count(monkeypatch):
    monkeypatch.setattr(_supervisor, "_logged", [0])


def test_the_log_stops_at_its_limit_but_keeps_start_and_stop_lines(capsys):
    for number in range(20000):
        _supervisor.log("line %d from something inside" % number)
    written = capsys.readouterr().err
    assert _supervisor.LOG_LIMIT - 200 < len(written) <= _supervisor.LOG_LIMIT
    _supervisor.log("stopped", always=True)
    assert capsys.readouterr().err.endswith(" stopped\n")


def test_a_full_disk_under_the_log_is_ignored(monkeypatch):
    class Full(io.StringIO):
        def write(self, _text):
            raise OSError(28, "No space left on device")
    monkeypatch.setattr(_supervisor.sys, "stderr", Full())
    _supervisor.log("anything")  # no exception
