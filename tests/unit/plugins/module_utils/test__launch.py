# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_launch's pure helper: the end of a supervisor's log, put in the message of a failed creation
(the folder, and the log in it, are removed with it)."""

from __future__ import annotations

from ansible_collections.linuxns.pidns.plugins.module_utils._launch import _log_end


def test_an_empty_or_missing_log_adds_nothing(tmp_path):
    (tmp_path / "empty.log").write_bytes(b"")
    assert _log_end(str(tmp_path / "empty.log")) == ""
    assert _log_end(str(tmp_path / "missing.log")) == ""


def test_the_last_bytes_of_the_log_are_said(tmp_path):
    log = tmp_path / "supervisor.log"
    log.write_bytes(b"early line\n" * 100 + b"Traceback: \xff boom\n")
    end = _log_end(str(log), size=40)
    assert end.startswith("; its log ends: ") and end.endswith("boom")
    assert "\ufffd" in end  # undecodable bytes do not fail the message
    assert len(end) <= len("; its log ends: ") + 40
