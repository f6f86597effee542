# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The linuxns.pidns.sandboxes inventory plugin: this machine's sandboxes as hosts, through real
ansible-inventory and ansible runs against real sandboxes (one alive, one with a bind whose host path
holds template text, one broken by killing its supervisor)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from ansible_cli import TARGET_PYTHON, ansible_env
from sandboxes import exited, make_sandbox, wait_for

BIN = Path(sys.executable).parent
# Template text in host data (a bind's host path): it must come out of the inventory as written.
HOSTILE = "x{{ 7 * 7 }}y"

INVENTORY = """\
plugin: linuxns.pidns.sandboxes
keyed_groups:
  - key: pidns_sandbox.health
    prefix: health
compose:
  ansible_python_interpreter: "'%s'"
  bind_source: pidns_sandbox.rootfs.binds | map(attribute='src') | first | default('')
"""


def plain(value):
    """A value of ansible-inventory's JSON without its marks: strings not to be templated come as
    {"__ansible_unsafe": text} (ansible-core 2.19+ also marks values its plugins set)."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def test_sandboxes_of_this_machine_become_hosts_reached_through_the_connection(tmp_path, names):
    alive, bound, broken = names("inva"), names("invb"), names("invc")
    hostile_dir = tmp_path / HOSTILE
    hostile_dir.mkdir()
    # Made in process (the inventory plugin is the subject): no templating on the way in.
    assert not make_sandbox(alive, hostname="inv-alive")["failed"]
    made = make_sandbox(bound, binds=[{"src": str(hostile_dir), "dest": "/mnt"}])
    assert not made["failed"], made
    assert made["sandbox"]["rootfs"]["binds"][0]["src"] == str(hostile_dir)
    victim = make_sandbox(broken)["sandbox"]["supervisor"]["pid"]
    os.kill(victim, signal.SIGKILL)  # by PID, the one this test made
    assert wait_for(lambda: exited(victim), 20)

    source = tmp_path / "local.sandboxes.yml"
    source.write_text(INVENTORY % TARGET_PYTHON)
    env = ansible_env()
    listed = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), "--list"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert listed.returncode == 0, listed.stderr
    inventory = plain(json.loads(listed.stdout))
    hostvars = inventory["_meta"]["hostvars"]
    assert {alive, bound, broken} <= set(hostvars)
    assert alive in inventory["health_alive"]["hosts"] and bound in inventory["health_alive"]["hosts"]
    assert broken in inventory["health_broken"]["hosts"]
    assert hostvars[alive]["ansible_connection"] == "linuxns.pidns.sandbox"
    assert hostvars[alive]["ansible_sandbox_name"] == alive
    assert hostvars[alive]["pidns_sandbox"]["hostname"] == "inv-alive"

    # Used in a task, the bind's path is still the text read from the state file, on every ansible-core.
    shown = subprocess.run([str(BIN / "ansible"), "-i", str(source), bound, "-m", "ansible.builtin.debug",
                            "-a", "var=bind_source", "-o"], env=env, capture_output=True, text=True, timeout=120,
                           check=False)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert str(hostile_dir) in shown.stdout and "x49y" not in shown.stdout, shown.stdout

    # The hosts are reachable through the connection the plugin names: commands run inside.
    ran = subprocess.run([str(BIN / "ansible"), "-i", str(source), "%s,%s" % (alive, broken), "-m",
                          "ansible.builtin.command", "-a", "hostname", "-o"], env=env, capture_output=True, text=True,
                         timeout=180, check=False)
    lines = dict(line.split(" | ", 1) for line in ran.stdout.splitlines() if " | " in line)
    assert lines[alive].startswith("CHANGED") and "inv-alive" in lines[alive], ran.stdout
    assert lines[broken].startswith("UNREACHABLE") and "is broken" in lines[broken], ran.stdout


def test_a_missing_state_directory_is_an_empty_inventory(tmp_path):
    source = tmp_path / "none.sandboxes.yml"
    source.write_text("plugin: linuxns.pidns.sandboxes\nstate_dir: %s\n" % (tmp_path / "no-such-dir"))
    listed = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), "--list"], env=ansible_env(),
                            capture_output=True, text=True, timeout=120, check=False)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["_meta"]["hostvars"] == {}
