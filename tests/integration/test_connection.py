# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The linuxns.pidns.sandbox connection plugin: a sandbox as an Ansible host, on this machine and on an
SSH test host (tests/integration/fleet.py), through real ansible-playbook runs.

The checks follow ansible-core's own connection test target (exec; put and fetch of text, binary and
large files, names with spaces and unicode; pipelining on and off; become), and the oracles are outside
the plugin: util-linux nsenter on the handles, hashes of the files, psutil.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ansible_cli import TARGET_PYTHON, ansible_env, run_playbook
from fleet import raw_results_env, results_by_host
from sandboxes import exited, make_sandbox, nsenter, wait_for

PIPELINING = [pytest.param(True, id="pipelining"), pytest.param(False, id="no-pipelining")]
ANSIBLE = str(Path(sys.executable).parent / "ansible")
NAMES = ["plain.txt", "with space.bin", "ünï cödé ✓.dat", "empty"]
# Files move through put_file and fetch_file whether or not modules are piped: on this machine,
# without pipelining (every module is a put_file too) two files show they still move. Over SSH the one
# play runs without pipelining (Ansible's default) and moves all four: the small ones on the command's
# standard input, the 24 MB one through the staging folder.


def write_files(directory: Path) -> dict:
    """Text, binary, large (24 MB) and empty files with awkward names; {name: sha256}. Over SSH the
    small ones go on the command's standard input, the large one through a staging folder."""
    directory.mkdir(parents=True, exist_ok=True)
    contents = {NAMES[0]: b"line one\nline two\n", NAMES[1]: bytes(range(256)) * 4096, NAMES[2]: os.urandom(24 << 20),
                NAMES[3]: b""}
    for name, data in contents.items():
        (directory / name).write_bytes(data)
    return {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}


PLAY = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Where the commands run
      ansible.builtin.command: sh -c 'hostname; cat /proc/1/comm; readlink /proc/self/ns/pid'
      register: where

    - name: A place inside
      ansible.builtin.file:
        path: "{{{{ inside }}}}"
        state: directory
        mode: "0755"

    - name: Files in
      ansible.builtin.copy:
        src: "{src}/{{{{ item }}}}"
        dest: "{{{{ inside }}}}/{{{{ item }}}}"
        mode: "0644"
      loop: {names}

    - name: Their hashes inside
      ansible.builtin.stat:
        path: "{{{{ inside }}}}/{{{{ item }}}}"
        checksum_algorithm: sha256
      loop: {names}
      register: hashes

    - name: Files out
      ansible.builtin.fetch:
        src: "{{{{ inside }}}}/{{{{ item }}}}"
        dest: "{back}/"
        flat: true
      loop: {names}

    - name: A line in a file
      ansible.builtin.lineinfile:
        path: "{{{{ inside }}}}/plain.txt"
        line: line three

    - name: Become another user inside
      ansible.builtin.command: id -un
      become: true
      become_user: nobody
      register: someone
      vars:
        # One that nobody may run (the tests' own interpreter lives under /root).
        ansible_python_interpreter: /usr/bin/python3
"""


def run_connection_play(tmp_path: Path, inventory: dict, pipelining: bool, env: dict | None = None,
                        inside: str | None = None, names: list | None = None) -> dict:
    names = names or NAMES
    src = tmp_path / "src"
    expected = write_files(src)
    back = tmp_path / "back"
    back.mkdir()
    # Unique on the machine: the matrix runs this test in several jobs at once, and a sandbox that
    # shares the host's root shares its /tmp (tmp_path.name alone is the same in every job).
    inside = inside or "/tmp/%s-%d-inside" % (tmp_path.name, os.getpid())
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "play.yml").write_text(PLAY.format(src=src, back=back, names=json.dumps(names)))
    run_env = raw_results_env()
    run_env.update(env or {})
    run_env["ANSIBLE_PIPELINING"] = "True" if pipelining else "False"
    proc = run_playbook(tmp_path / "play.yml", "-i", str(tmp_path / "inventory.json"), "-e", "inside=%s" % inside,
                        env=run_env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    documents = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    found = {}
    for host in inventory["all"]["hosts"]:
        mine = dict((d["task"], d["result"]) for d in documents if d["host"] == host)
        assert "Where the commands run" in mine, proc.stdout[-3000:]
        found[host] = {"where": mine["Where the commands run"]["stdout_lines"],
                       "hashes": [r["stat"]["checksum"] for r in mine["Their hashes inside"]["results"]],
                       "someone": mine["Become another user inside"]["stdout"]}
        assert found[host]["hashes"] == [expected[name] for name in names]
        for name in names:
            assert hashlib.sha256((back / name).read_bytes()).hexdigest() == expected[name] or name == "plain.txt"
        assert (back / "plain.txt").read_bytes() == b"line one\nline two\n"
        assert found[host]["someone"] == "nobody"
    return found


def local_inventory(*names: str) -> dict:
    # The joiner is managed-host code too: it runs on the target Python (the matrix's oldest and newest).
    return {"all": {"hosts": {name: {} for name in names},
                    "vars": {"ansible_connection": "linuxns.pidns.sandbox",
                             "ansible_python_interpreter": TARGET_PYTHON,
                             "ansible_sandbox_machine_python": TARGET_PYTHON}}}


@pytest.mark.parametrize("pipelining", PIPELINING)
def test_tasks_run_inside_a_local_sandbox(tmp_path, names, pipelining):
    box = names("conn")
    made = make_sandbox(box, hostname="conn-box")
    assert not made["failed"], made
    inside = "/tmp/%s-inside" % box  # the box's name is unique on the machine
    found = run_connection_play(tmp_path, local_inventory(box), pipelining, inside=inside,
                                names=NAMES if pipelining else NAMES[:2])
    hostname, init, pid_ns = found[box]["where"]
    assert hostname == "conn-box" and init == ("pidns:" + box)[:15]
    assert pid_ns == "pid:[%d]" % made["sandbox"]["namespaces"]["pid"]
    # The oracle: util-linux nsenter on the sandbox's handles sees the line added inside.
    seen = nsenter(box, "cat", "%s/plain.txt" % inside)
    assert seen.stdout == "line one\nline two\nline three\n", seen.stderr
    nsenter(box, "rm", "-rf", inside)


def test_commands_start_in_home_and_relative_paths_resolve_there_as_over_ssh(tmp_path, names):
    """Issue 21's defects 2 and 4: a relative remote_tmp (ansible/ansible#80710's test) works without
    pipelining (put_file gets relative paths), commands start in the user's home, copy and fetch take
    relative paths, and a fetched file gets the controller's umask, as with `local` (0644, not 0600).
    An own root, so nothing reaches the host's /root."""
    box = names("connr")
    assert not make_sandbox(box, rootfs={"type": "overlay", "ephemeral": True})["failed"]
    (tmp_path / "inventory.json").write_text(json.dumps(local_inventory(box)))
    playbook = tmp_path / "play.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: all
          gather_facts: false
          tasks:
            - ansible.builtin.command: pwd
              register: where
            - ansible.builtin.copy: {content: "relative\\n", dest: relative-copy.txt, mode: "0644"}
            - ansible.builtin.fetch: {src: relative-copy.txt, dest: "%s/fetched.txt", flat: true}
            - ansible.builtin.stat: {path: ansible-relative-tmp}
              register: remote_tmp
            - ansible.builtin.assert:
                that: [where.stdout == "/root", remote_tmp.stat.isdir]
        """ % tmp_path))
    proc = run_playbook(playbook, "-i", str(tmp_path / "inventory.json"),
                        env={"ANSIBLE_REMOTE_TMP": "./ansible-relative-tmp", "ANSIBLE_PIPELINING": "False"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    fetched = tmp_path / "fetched.txt"
    assert fetched.read_text() == "relative\n"
    assert stat.S_IMODE(fetched.stat().st_mode) == 0o644 & ~current_umask()
    assert not Path("/root/relative-copy.txt").exists() and not Path("/root/ansible-relative-tmp").exists()


def test_remote_user_is_the_user_inside_and_an_unknown_one_is_unreachable(tmp_path, names):
    """Issue 21's defect 3: ansible_user / -u runs the commands as that user inside (as docker exec
    --user does), in that user's home ("/" where it has none); a user the sandbox does not have makes the
    host unreachable, naming it."""
    box = names("connu")
    assert not make_sandbox(box)["failed"]
    # One run, three hosts on the one sandbox: -u nobody for the first, ansible_user for the others
    # (a host's ansible_user outranks -u).
    inventory = local_inventory(box)
    inventory["all"]["hosts"].update({
        "as-root-" + box: {"ansible_sandbox_name": box, "ansible_user": "root"},
        "as-unknown-" + box: {"ansible_sandbox_name": box, "ansible_user": "no-such-user"},
    })
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    proc = subprocess.run(
        # raw: the module's Python (a venv under /root) is closed to nobody, as over ssh
        [ANSIBLE, "all", "-i", str(tmp_path / "inventory.json"), "-u", "nobody", "-m", "ansible.builtin.raw",
         "-a", "id -un; pwd"],
        env=dict(ansible_env(ANSIBLE_PIPELINING="True"), **raw_results_env()), capture_output=True, text=True,
        timeout=300, check=False)
    results = results_by_host(proc.stdout)

    seen = results[box]
    assert seen["_status"] == "ok", proc.stdout[-3000:] + proc.stderr[-2000:]
    assert seen["stdout_lines"] == ["nobody", "/"]  # nobody's home, /nonexistent, is missing
    seen = results["as-root-" + box]
    assert seen["stdout_lines"] == ["root", "/root"], proc.stdout[-3000:]
    seen = results["as-unknown-" + box]
    assert seen["_status"] == "unreachable", proc.stdout[-3000:]
    assert "has no user 'no-such-user' (remote_user)" in seen["msg"], seen


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_setup_reports_the_sandbox_and_a_missing_or_broken_one_or_an_unreachable_machine_is_unreachable(
        tmp_path, names):
    """One inventory, two runs: setup reports the sandbox's own hostname, and the hosts that cannot be
    reached say why; then the same sandbox, its supervisor killed, is broken."""
    box = names("connb")
    made = make_sandbox(box, hostname="facts-box")
    inventory = local_inventory(box, "no-such-" + box)
    # A sandbox on a machine that cannot be reached: nothing listens on port 1.
    inventory["all"]["hosts"]["somebox"] = {
        "ansible_sandbox_machine": "127.0.0.1", "ansible_sandbox_machine_port": 1,
        "ansible_sandbox_machine_ssh_common_args": "-o ConnectTimeout=5 -o BatchMode=yes"}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    env = dict(ansible_env(), **raw_results_env())

    def run(pattern, *module):
        proc = subprocess.run([ANSIBLE, pattern, "-i", str(tmp_path / "inventory.json"), "-m", *module],
                              env=env, capture_output=True, text=True, timeout=300, check=False)
        return results_by_host(proc.stdout), proc

    results, proc = run("all", "ansible.builtin.setup", "-a", "gather_subset=min")
    assert results[box]["_status"] == "ok", proc.stdout[-3000:] + proc.stderr[-3000:]
    assert results[box]["ansible_facts"]["ansible_hostname"] == "facts-box"
    missing = results["no-such-" + box]
    assert missing["_status"] == "unreachable" and "there is no sandbox named" in missing["msg"]
    unreachable = results["somebox"]
    assert unreachable["_status"] == "unreachable" and "port 1" in unreachable["msg"], unreachable
    os.kill(made["sandbox"]["supervisor"]["pid"], signal.SIGKILL)  # by PID, the one this test made
    assert wait_for(lambda: exited(made["sandbox"]["supervisor"]["pid"]), 20)
    broken = run(box, "ansible.builtin.ping")[0][box]
    assert broken["_status"] == "unreachable" and "is broken" in broken["msg"]


def test_tasks_run_inside_a_sandbox_on_an_ssh_host(tmp_path, fleet_factory):
    fleet = fleet_factory(1)
    [host] = fleet.hosts
    box = "remote-box"
    proc, results = fleet.ansible_json(host.name, "linuxns.pidns.sandbox", {"name": box, "hostname": "far-box"},
                                       timeout=120)
    assert results[host.name]["_status"] == "ok", proc.stdout[-3000:] + proc.stderr[-2000:]
    inventory = json.loads(fleet.inventory.read_text())
    machine = inventory["all"]["vars"]
    boxes = {"all": {"hosts": {box: {}}, "vars": {
        "ansible_connection": "linuxns.pidns.sandbox",
        "ansible_sandbox_machine": "127.0.0.1",
        "ansible_sandbox_machine_port": host.port,
        "ansible_sandbox_machine_user": "root",
        "ansible_sandbox_machine_private_key_file": machine["ansible_ssh_private_key_file"],
        "ansible_sandbox_machine_ssh_common_args": machine["ansible_ssh_common_args"],
        "ansible_python_interpreter": TARGET_PYTHON,
        "ansible_sandbox_machine_python": TARGET_PYTHON,
    }}}
    env = {"ANSIBLE_SSH_CONTROL_PATH_DIR": str(fleet.control_dir)}
    found = run_connection_play(tmp_path, boxes, False, env=env)
    hostname, init, _pid_ns = found[box]["where"]
    assert hostname == "far-box" and init == ("pidns:" + box)[:15]


def test_where_no_cgroup_is_writable_a_sandbox_still_works_and_a_limit_fails_clearly(tmp_path, names):
    """Inside an overlay sandbox /sys (and the cgroup mounts in it) is read-only, as in a container
    without delegation. The collection run in there, through the connection: a sandbox without limits
    is made and says why it has no cgroup; one with a limit fails naming the option and makes nothing."""
    box = names("nocg")
    # privileged: making sandboxes inside one needs CAP_SYS_ADMIN, which a root of its own drops by default.
    made = make_sandbox(box, rootfs={"type": "overlay", "ephemeral": True}, privileged=True)
    assert not made["failed"], made
    (tmp_path / "inventory.json").write_text(json.dumps(local_inventory(box)))
    (tmp_path / "play.yml").write_text(textwrap.dedent("""\
        - hosts: all
          gather_facts: false
          tasks:
            - name: A sandbox in the sandbox, no limits
              linuxns.pidns.sandbox:
                name: inner
            - name: What it says of its cgroup
              linuxns.pidns.sandbox_info:
                name: inner
              register: inner
            - name: One with a limit
              linuxns.pidns.sandbox:
                name: limited
                pids_limit: 10
              ignore_errors: true
              register: limited
            - name: What is there afterwards
              linuxns.pidns.sandbox_info:
              register: after
        """))
    proc = run_playbook(tmp_path / "play.yml", "-i", str(tmp_path / "inventory.json"), env=raw_results_env(),
                        timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    documents = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    results = dict((d["task"], dict(d["result"], _status=d["status"])) for d in documents)
    [inner] = results["What it says of its cgroup"]["sandboxes"]
    assert inner["alive"] and inner["cgroup"] is None and "not writable" in inner["cgroup_problem"]
    limited = results["One with a limit"]
    assert limited["_status"] == "failed", limited
    assert limited["msg"].startswith("pids_limit: the sandbox cannot have a cgroup here"), limited
    assert [entry["name"] for entry in results["What is there afterwards"]["sandboxes"]] == ["inner"]
