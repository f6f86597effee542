# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The joiner program the sandbox connection copies to a machine, and the command line that runs it:
the line is run here by /bin/sh against a stand-in joiner that prints the arguments it got."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import zipfile

import pytest

from ansible_collections.linuxns.pidns.plugins.plugin_utils._joiner_payload import (
    MISSING, NOT_JOINABLE, joiner_command_line, joiner_folder, payload)

AWKWARD = [
    "echo 'single' \"double\" $HOME `id` ; exit 3",
    "printf '%s\\n' ünï cödé ✓",
    "a\nb",
]


def test_payload_is_the_same_bytes_every_time_and_names_its_hash():
    data, digest = payload()
    assert payload() == (data, digest)
    assert joiner_folder("/run/x") == "/run/x/.joiner-%s" % digest
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "__main__.py" in names
    module_utils = "ansible_collections/linuxns/pidns/plugins/module_utils/"
    assert module_utils + "_exec/_join.py" in names
    assert module_utils + "_exec/__init__.py" in names
    # The supervisor is a program of its own, written by the sandbox module: not part of the joiner.
    assert module_utils + "_lifecycle/_supervisor.py" not in names
    assert module_utils + "_lifecycle/_spec.py" in names


@pytest.fixture
def stand_in(tmp_path):
    """A state directory whose joiner prints its arguments as JSON and exits 0."""
    folder = tmp_path / os.path.basename(joiner_folder(str(tmp_path)))
    folder.mkdir()
    (folder / "__main__.py").write_text("import json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    return tmp_path


@pytest.mark.parametrize("command", AWKWARD)
def test_the_line_hands_state_dir_sandbox_and_command_over_unchanged(stand_in, command):
    line = joiner_command_line(sys.executable, str(stand_in), "box-1.a", command)
    done = subprocess.run(["/bin/sh", "-c", line], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [str(stand_in), "box-1.a", command]


def test_without_the_program_the_line_exits_missing(tmp_path):
    line = joiner_command_line(sys.executable, str(tmp_path), "box", "true")
    assert subprocess.run(["/bin/sh", "-c", line], capture_output=True, check=False).returncode == MISSING


def test_a_python_the_machine_lacks_is_named(stand_in):
    line = joiner_command_line("/nonexistent/python3", str(stand_in), "box", "id")
    done = subprocess.run(["/bin/sh", "-c", line], capture_output=True, text=True, check=False)
    assert done.returncode == NOT_JOINABLE and done.stdout == ""
    assert done.stderr == ("linuxns.pidns.sandbox: the machine has no Python at /nonexistent/python3: "
                           "set ansible_sandbox_machine_python to one it has\n")


def test_the_redirect_applies_to_what_the_machine_writes_with_the_callers_umask(stand_in, tmp_path):
    """A fetched file gets the mode `local` gives it: the controller's umask (022: 0644)."""
    out = tmp_path / "out file"
    line = joiner_command_line(sys.executable, str(stand_in), "box", "cat", redirect=" > '%s'" % out)
    done = subprocess.run(["/bin/sh", "-c", "umask 022; " + line], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text()) == [str(stand_in), "box", "cat"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_sudo_asks_for_the_program_and_runs_it_through_sudo_without_a_prompt():
    line = joiner_command_line("/usr/bin/python3", "/run/linuxns-pidns", "box", "id", sudo=True)
    assert "; elif sudo -n test -f " in line
    assert "; then bad=$(sudo -n find /run/linuxns-pidns -maxdepth 0 " in line
    assert "; sudo -n /usr/bin/python3 -E -s -S " in line


@pytest.mark.skipif(os.geteuid() != 0, reason="the joiner must be root's: only root can make a folder root owns")
@pytest.mark.parametrize("damage", ["folder writable by its group", "a file writable by others",
                                    "state directory owned by nobody"])
def test_a_joiner_anyone_but_root_could_change_is_refused(stand_in, damage):
    folder = joiner_folder(str(stand_in))
    if damage == "folder writable by its group":
        os.chmod(folder, 0o775)
        culprit = folder
    elif damage == "a file writable by others":
        os.chmod(os.path.join(folder, "__main__.py"), 0o646)
        culprit = os.path.join(folder, "__main__.py")
    else:
        os.chown(str(stand_in), 65534, 65534)
        culprit = str(stand_in)
    line = joiner_command_line(sys.executable, str(stand_in), "box", "id")
    done = subprocess.run(["/bin/sh", "-c", line], capture_output=True, text=True, check=False)
    assert done.returncode == NOT_JOINABLE and done.stdout == ""
    assert done.stderr == ("linuxns.pidns.sandbox: refusing to run the joiner: %s is not owned by root or others "
                           "may write to it\n" % culprit)
