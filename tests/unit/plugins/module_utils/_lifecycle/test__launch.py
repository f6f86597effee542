# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_launch's helpers that need no root: the end of a supervisor's log, put in the message of a
failed creation (the folder, and the log in it, are removed with it), and the supervisor program
written into the state directory."""

from __future__ import annotations

import os

from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _launch, _statedir
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._launch import _log_end


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


def test_supervisor_is_installed_once_and_is_its_own_program(tmp_path):
    state_dir = _statedir.StateDir(str(tmp_path))
    path = _launch.install_supervisor(state_dir)
    first = os.stat(path)
    assert _launch.install_supervisor(state_dir) == path
    assert os.stat(path).st_ino == first.st_ino  # unchanged content: not rewritten
    source = open(path).read()
    assert "signalfd" in source and 'if __name__ == "__main__":' in source
    assert oct(first.st_mode & 0o777) == "0o600"
