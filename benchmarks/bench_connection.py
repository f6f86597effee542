#!/usr/bin/env python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark the linuxns.pidns.sandbox connection plugin and the Molecule scenario (issue 13).

Run as root from the repository root (about 5 minutes on a quiet machine, more on a busy one):

    .venv/bin/python benchmarks/bench_connection.py [--rounds 5] [--molecule-rounds 3] [--json FILE]
    .venv/bin/python benchmarks/bench_connection.py --skip-molecule
    .venv/bin/python benchmarks/bench_connection.py --skip-play --molecule-rounds 5
    .venv/bin/python benchmarks/bench_connection.py --skip-play --skip-molecule --exec

1. A play of 20 small tasks (6 `command`, 5 `copy`, 5 `stat`, 4 `lineinfile`, in a fresh directory
   that the last task removes), ansible-playbook with pipelining on, against four hosts of one
   inventory, one at a time (`--limit`), interleaved round by round (the order rotates):
     local         this machine, `ansible_connection: local`
     sandbox       a sandbox on this machine through `linuxns.pidns.sandbox` (no ansible_sandbox_machine)
     ssh           an SSH test host (tests/integration/fleet.py: a sandbox with its own sshd on
                   127.0.0.1), plain `ssh`
     ssh+sandbox   a sandbox on that SSH test host through `linuxns.pidns.sandbox` with
                   ansible_sandbox_machine = that host (same key, port, user, ssh args, same
                   ControlPersist directory: both ride the same ssh master)
   One untimed warm-up run each (installs the joiner, opens the ssh master). Wall time of the
   whole ansible-playbook run; the tests' task_times callback gives the seconds of each task, so
   the cost the connection adds is also reported per task and per module. Goal: sandbox / local
   <= 1.3 and ssh+sandbox / ssh <= 1.3 (medians).
2. Molecule, scenario molecule/sandbox (3 instances, ephemeral overlay root): `molecule create -s
   sandbox` and `molecule destroy -s sandbox` (environment of scripts/env.sh), timed as wholes;
   an `ansible-playbook` shim first on PATH records how long the playbook molecule runs takes (the
   rest is molecule's own start-up and bookkeeping) and the environment molecule gives it. Then
   the same create.yml / destroy.yml run directly with ansible-playbook with that environment and
   inventory, an empty play on localhost (ansible-playbook's own floor), and molecule's floor: `molecule
   create` + `destroy` of a scenario with the same molecule.yml whose create.yml and destroy.yml are
   empty plays (floor), or run one `ping` each (floor-ping), interleaved with the molecule runs.
   Goal: create + destroy <= 3 s.

3. (--exec, alone or with 1) what one command costs inside a local sandbox, the way the plugin runs
   it on the machine: `/bin/sh -c 'if test -f JOINER; then python3 JOINER STATE_DIR BOX CMD; ...'`
   against `/bin/sh -c CMD` on the machine and util-linux `nsenter -t PID -p -m -u -i CMD` into the
   same sandbox; CMD = `/bin/sh -c true`, 30 each, interleaved, medians.

A benchmark, not a test: it prints figures and ratios and asserts nothing about timing. What it
creates (sandboxes by name, the SSH test host, tmp dirs) is removed at the end, also on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / ".build" / "collections"))  # scripts/env.sh links the checkout there

from ansible_cli import TARGET_PYTHON, ansible_env, run_module  # noqa: E402
from fleet import start_fleet  # noqa: E402
from sandboxes import force_remove, state_of  # noqa: E402
from ansible_collections.linuxns.pidns.plugins.plugin_utils._joiner_payload import (  # noqa: E402
    joiner_command_line, payload)

BIN = Path(sys.executable).parent
TAG = "bconn-%d" % os.getpid()
VARIANTS = ["local", "sandbox", "ssh", "ssh+sandbox"]
MOLECULE_INSTANCES = ["molecule-sbx-a", "molecule-sbx-b", "molecule-sbx-c"]
MOLECULE_CACHE = Path.home() / ".ansible" / "tmp"

# 20 tasks: command x6, copy x5, stat x5, lineinfile x4. Everything under d, which the last removes.
PLAY = """\
- name: 20 small tasks
  hosts: all
  gather_facts: false
  vars:
    d: "/tmp/{{ bench_dir }}"
  tasks:
    - {name: "01 command mkdir", ansible.builtin.command: "mkdir -p {{ d }}"}
    - {name: "02 copy content", ansible.builtin.copy: {content: "alpha\\n", dest: "{{ d }}/a.conf", mode: "0644"}}
    - {name: "03 stat", ansible.builtin.stat: {path: "{{ d }}/a.conf"}}
    - {name: "04 lineinfile", ansible.builtin.lineinfile: {path: "{{ d }}/a.conf", line: "beta"}}
    - {name: "05 command cat", ansible.builtin.command: "cat {{ d }}/a.conf"}
    - {name: "06 copy content", ansible.builtin.copy: {content: "key = 1\\n", dest: "{{ d }}/b.conf", mode: "0600"}}
    - {name: "07 stat checksum", ansible.builtin.stat: {path: "{{ d }}/b.conf", checksum_algorithm: sha256}}
    - {name: "08 lineinfile regexp", ansible.builtin.lineinfile: {path: "{{ d }}/b.conf", regexp: "^key =", line: "key = 2"}}
    - {name: "09 command ls", ansible.builtin.command: "ls -l {{ d }}"}
    - {name: "10 copy src", ansible.builtin.copy: {src: "{{ src_file }}", dest: "{{ d }}/c.bin", mode: "0644"}}
    - {name: "11 stat", ansible.builtin.stat: {path: "{{ d }}/c.bin"}}
    - {name: "12 lineinfile create", ansible.builtin.lineinfile: {path: "{{ d }}/c.conf", line: "x", create: true, mode: "0644"}}
    - {name: "13 command uname", ansible.builtin.command: "uname -n"}
    - {name: "14 copy content", ansible.builtin.copy: {content: "[main]\\nname = a\\n", dest: "{{ d }}/d.conf", mode: "0644"}}
    - {name: "15 stat", ansible.builtin.stat: {path: "{{ d }}/d.conf", get_checksum: false}}
    - {name: "16 lineinfile insertafter", ansible.builtin.lineinfile: {path: "{{ d }}/d.conf", line: "more = b", insertafter: "^\\\\[main\\\\]"}}
    - {name: "17 command wc", ansible.builtin.command: "wc -l {{ d }}/a.conf {{ d }}/b.conf"}
    - {name: "18 copy content", ansible.builtin.copy: {content: "last\\n", dest: "{{ d }}/e.conf", mode: "0644"}}
    - {name: "19 stat", ansible.builtin.stat: {path: "{{ d }}/e.conf"}}
    - {name: "20 command rm", ansible.builtin.command: "rm -rf {{ d }}"}
"""

EMPTY_PLAY = """\
- name: Nothing
  hosts: localhost
  connection: local
  gather_facts: false
  tasks: []
"""

PING_PLAY = EMPTY_PLAY.replace("  tasks: []\n", "  tasks:\n    - name: One module run\n      ansible.builtin.ping:\n")

SHIM = """#!/bin/sh
# ansible-playbook as molecule runs it, timed (benchmarks/bench_connection.py)
if [ "$1" != --version ] && [ ! -f "$BENCH_SHIM_ENV" ]; then
  # molecule's environment and its ephemeral directory (inventory, ansible.cfg, merged molecule.yml),
  # which it does not keep: for the direct runs of the same playbooks
  env -0 > "$BENCH_SHIM_ENV"
  cp -a "$MOLECULE_EPHEMERAL_DIRECTORY" "$BENCH_SHIM_SAVE"
fi
s=$(date +%s.%N)
"$BENCH_SHIM_REAL" "$@"
rc=$?
e=$(date +%s.%N)
echo "$s $e $rc $*" >> "$BENCH_SHIM_LOG"
exit $rc
"""


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def fail(proc, what: str):
    raise SystemExit("%s failed (rc=%d):\n%s\n%s" % (what, proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))


def summary(values: list) -> dict:
    return {"median": statistics.median(values), "mean": statistics.fmean(values), "min": min(values),
            "max": max(values), "runs": [round(v, 3) for v in values]}


def rotate(items: list, by: int) -> list:
    by %= len(items)
    return items[by:] + items[:by]


# ---------------------------------------------------------------- part 1: the play

class Play:
    def __init__(self, work: Path, fleet, local_box: str, remote_box: str):
        self.work = work
        self.playbook = work / "play.yml"
        self.playbook.write_text(PLAY)
        src = work / "src.bin"
        src.write_bytes(bytes(range(256)) * 16)  # 4 KiB
        self.src = src
        machine = json.loads(fleet.inventory.read_text())["all"]["vars"]
        [host] = fleet.hosts
        self.hosts = {"local": "bench-local", "sandbox": local_box, "ssh": host.name, "ssh+sandbox": remote_box}
        ssh_vars = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": host.port,
                    "ansible_user": "root", "ansible_ssh_private_key_file": machine["ansible_ssh_private_key_file"],
                    "ansible_ssh_common_args": machine["ansible_ssh_common_args"]}
        inventory = {"all": {"vars": {"ansible_python_interpreter": TARGET_PYTHON}, "hosts": {
            "bench-local": {"ansible_connection": "local"},
            local_box: {"ansible_connection": "linuxns.pidns.sandbox"},
            host.name: ssh_vars,
            remote_box: {"ansible_connection": "linuxns.pidns.sandbox",
                         "ansible_sandbox_machine": "127.0.0.1",
                         "ansible_sandbox_machine_port": host.port,
                         "ansible_sandbox_machine_user": "root",
                         "ansible_sandbox_machine_private_key_file": machine["ansible_ssh_private_key_file"],
                         "ansible_sandbox_machine_ssh_common_args": machine["ansible_ssh_common_args"],
                         "ansible_sandbox_machine_python": TARGET_PYTHON},
        }}}
        self.inventory = work / "inventory.json"
        self.inventory.write_text(json.dumps(inventory, indent=1))
        self.env = ansible_env(
            ANSIBLE_PIPELINING="True", ANSIBLE_SSH_CONTROL_PATH_DIR=str(fleet.control_dir),
            ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_GATHERING="explicit", ANSIBLE_SSH_RETRIES="0",
            ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_DISPLAY_OK_HOSTS="False",
            ANSIBLE_DISPLAY_SKIPPED_HOSTS="False", ANSIBLE_CALLBACKS_ENABLED="task_times",
            ANSIBLE_CALLBACK_PLUGINS=str(REPO / "tests" / "callback_plugins"))
        self.env.pop("ANSIBLE_PYTHON_INTERPRETER", None)  # the inventory says it
        self.count = 0

    def run(self, variant: str) -> tuple:
        """(wall seconds, {task name: seconds}) of one run against one variant's host."""
        self.count += 1
        times = self.work / "times.json"
        env = dict(self.env, PIDNS_TASK_TIMES=str(times))
        cmd = [str(BIN / "ansible-playbook"), str(self.playbook), "-i", str(self.inventory),
               "--limit", self.hosts[variant], "-e",
               json.dumps({"bench_dir": "%s-%d" % (TAG, self.count), "src_file": str(self.src)})]
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600,
                              stdin=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - start
        if proc.returncode != 0 or "failed=0" not in proc.stdout or "unreachable=0" not in proc.stdout:
            fail(proc, "play against %s (%s)" % (variant, self.hosts[variant]))
        document = json.loads(times.read_text())
        tasks = {task["name"]: (task["end"] or task["start"]) - task["start"] for task in document["tasks"]}
        if len(tasks) != 20:
            raise SystemExit("expected 20 tasks, task_times saw %d" % len(tasks))
        return wall, tasks


def bench_play(args, figures: dict) -> None:
    work = Path(tempfile.mkdtemp(prefix="pidns-bench-conn-"))
    local_box, remote_box = TAG + "-l", TAG + "-r"
    fleet = None
    try:
        start = time.perf_counter()
        fleet = start_fleet(1, prefix="bconn")
        log("part 1: SSH test host up in %.2f s" % (time.perf_counter() - start))
        [host] = fleet.hosts
        made = run_module("sandbox", {"name": local_box, "hostname": local_box})
        if made.get("failed"):
            raise SystemExit("local sandbox: %s" % made)
        proc, results = fleet.ansible_json(host.name, "linuxns.pidns.sandbox", {"name": remote_box, "hostname": remote_box},
                                           timeout=120)
        if results.get(host.name, {}).get("_status") != "ok":
            fail(proc, "sandbox on the SSH test host")
        play = Play(work, fleet, local_box, remote_box)
        for variant in VARIANTS:  # untimed: joiner copied, ssh master up, page cache
            play.run(variant)
        walls = {variant: [] for variant in VARIANTS}
        tasks = {variant: [] for variant in VARIANTS}
        for round_ in range(args.rounds):
            for variant in rotate(VARIANTS, round_):
                wall, per_task = play.run(variant)
                walls[variant].append(wall)
                tasks[variant].append(per_task)
            log("part 1: round %d: %s" % (round_ + 1, ", ".join("%s %.2f s" % (v, walls[v][-1]) for v in VARIANTS)))
        result = {"walls": {v: summary(walls[v]) for v in VARIANTS}}
        names = list(tasks["local"][0])
        result["tasks"] = {v: {name: statistics.median(run[name] for run in tasks[v]) for name in names}
                           for v in VARIANTS}
        # Per round, the pair (sandbox, local) and (ssh+sandbox, ssh) ran next to each other.
        result["pair_ratios"] = {
            "sandbox/local": [s / l for s, l in zip(walls["sandbox"], walls["local"])],
            "ssh+sandbox/ssh": [s / l for s, l in zip(walls["ssh+sandbox"], walls["ssh"])]}
        figures["play"] = result
    finally:
        if fleet is not None:
            try:
                fleet.ansible(fleet.hosts[0].name, "linuxns.pidns.sandbox", {"name": remote_box, "state": "absent"},
                              timeout=120)
            finally:
                fleet.close()
        if state_of(local_box) is not None:
            run_module("sandbox", {"name": local_box, "state": "absent"})
            force_remove(local_box)
        shutil.rmtree(work, ignore_errors=True)


def kind_of(name: str) -> str:
    return name.split()[1]


def print_play(figures: dict) -> None:
    result = figures["play"]
    med = {v: result["walls"][v]["median"] for v in VARIANTS}
    print("\n1. play of 20 tasks, ansible-playbook wall, pipelining on, %d rounds" % len(result["walls"]["local"]["runs"]))
    print("| | " + " | ".join(VARIANTS) + " |")
    print("| --- |" + " ---: |" * len(VARIANTS))
    for key in ("median", "mean", "min"):
        print("| %s | " % key + " | ".join("%.2f s" % result["walls"][v][key] for v in VARIANTS) + " |")
    print("| runs | " + " | ".join(", ".join("%.2f" % x for x in result["walls"][v]["runs"]) for v in VARIANTS) + " |")
    for over, under in (("sandbox", "local"), ("ssh+sandbox", "ssh")):
        ratio = med[over] / med[under]
        pairs = statistics.median(result["pair_ratios"]["%s/%s" % (over, under)])
        print("%s / %s: %.2f (median of the round pairs %.2f), goal <= 1.3: %s; adds %.0f ms per task"
              % (over, under, ratio, pairs, "met" if max(ratio, pairs) <= 1.3 else "NOT met",
                 1000 * (med[over] - med[under]) / 20))
    print("\nper task, median seconds of each task over the rounds, by module (sum over its tasks / count)")
    print("| module | tasks | " + " | ".join(VARIANTS) + " | sandbox - local | ssh+sandbox - ssh |")
    print("| --- | ---: |" + " ---: |" * (len(VARIANTS) + 2))
    kinds = {}
    for name in result["tasks"]["local"]:
        kinds.setdefault(kind_of(name), []).append(name)
    rows = {}
    for kind, names in list(kinds.items()) + [("all 20", list(result["tasks"]["local"]))]:
        per = {v: sum(result["tasks"][v][n] for n in names) / len(names) for v in VARIANTS}
        rows[kind] = per
        print("| %s | %d | " % (kind, len(names)) + " | ".join("%.0f ms" % (1000 * per[v]) for v in VARIANTS)
              + " | %+.0f ms | %+.0f ms |" % (1000 * (per["sandbox"] - per["local"]),
                                              1000 * (per["ssh+sandbox"] - per["ssh"])))
    result["per_module"] = rows
    inside = {v: sum(result["tasks"][v].values()) for v in VARIANTS}
    print("sum of the 20 task medians: " + ", ".join("%s %.2f s" % (v, inside[v]) for v in VARIANTS)
          + "; the rest of the wall is ansible-playbook start-up and exit")


# ---------------------------------------------------------------- part 3: one command

def bench_exec(args, figures: dict) -> None:
    box = TAG + "-x"
    work = Path(tempfile.mkdtemp(prefix="pidns-bench-exec-"))
    try:
        made = run_module("sandbox", {"name": box, "hostname": box})
        if made.get("failed"):
            raise SystemExit("sandbox: %s" % made)
        pid = made["sandbox"]["supervisor"]["pid"]
        # One real task first: the plugin copies its joiner program into the state directory.
        (work / "inventory.json").write_text(json.dumps({"all": {"hosts": {box: {
            "ansible_connection": "linuxns.pidns.sandbox", "ansible_python_interpreter": TARGET_PYTHON}}}}))
        proc = subprocess.run([str(BIN / "ansible"), box, "-i", str(work / "inventory.json"), "-m", "ansible.builtin.ping"],
                              env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)
        if proc.returncode != 0:
            fail(proc, "ping through the connection")
        cmd = "/bin/sh -c true"
        lines = {
            "sh on the machine": cmd,
            # the plugin's default machine_python
            "joiner (the plugin's command line)": joiner_command_line("/usr/bin/python3", "/run/linuxns-pidns", box, cmd),
            "nsenter -p -m -u -i": "nsenter -t %d -p -m -u -i %s" % (pid, cmd),
        }
        times = {label: [] for label in lines}
        for i in range(args.exec_count + 1):
            for label in rotate(list(lines), i):
                start = time.perf_counter()
                done = subprocess.run(["/bin/sh", "-c", lines[label]], capture_output=True, stdin=subprocess.DEVNULL,
                                      check=False)
                seconds = time.perf_counter() - start
                if done.returncode != 0:
                    raise SystemExit("%s: rc %d %s" % (label, done.returncode, done.stderr))
                if i:
                    times[label].append(seconds)
        figures["exec"] = {label: summary(values) for label, values in times.items()}
        figures["exec"]["joiner_bytes"] = len(payload()[0])
    finally:
        if state_of(box) is not None:
            run_module("sandbox", {"name": box, "state": "absent"})
            force_remove(box)
        shutil.rmtree(work, ignore_errors=True)


def print_exec(figures: dict) -> None:
    rows = {label: value for label, value in figures["exec"].items() if isinstance(value, dict)}
    print("\n3. one command (/bin/sh -c true), %d each, ms (joiner %d bytes)"
          % (len(next(iter(rows.values()))["runs"]), figures["exec"]["joiner_bytes"]))
    print("| | median | mean | min |")
    print("| --- | ---: | ---: | ---: |")
    for label, value in rows.items():
        print("| %s | %.1f | %.1f | %.1f |" % (label, 1000 * value["median"], 1000 * value["mean"], 1000 * value["min"]))


# ---------------------------------------------------------------- part 2: molecule

class Molecule:
    def __init__(self, work: Path):
        self.work = work
        shim_dir = work / "shim"
        shim_dir.mkdir()
        shim = shim_dir / "ansible-playbook"
        shim.write_text(SHIM)
        shim.chmod(0o755)
        self.log_file = work / "shim.log"
        self.env_file = work / "shim.env"
        # scripts/env.sh, then the shim first on PATH.
        self.env = dict(os.environ)
        self.env.update({"ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections"),
                         "ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
                         "PIDNS_REPO": str(REPO),
                         "PATH": "%s:%s:%s" % (shim_dir, BIN, os.environ.get("PATH", "")),
                         "BENCH_SHIM_REAL": str(BIN / "ansible-playbook"), "BENCH_SHIM_LOG": str(self.log_file),
                         "BENCH_SHIM_ENV": str(self.env_file), "BENCH_SHIM_SAVE": str(work / "ephemeral"),
                         "NO_COLOR": "1"})
        self.empty = work / "empty.yml"
        self.empty.write_text(EMPTY_PLAY)
        # Molecule's floor: the same molecule.yml, with create.yml and destroy.yml that do nothing
        # (scenario floor), or that run one trivial module each (floor-ping), as the real ones run one.
        self.floor = work / "floor-project"
        config = (REPO / "molecule" / "sandbox" / "molecule.yml").read_text()
        for scenario, play in (("floor", EMPTY_PLAY), ("floor-ping", PING_PLAY)):
            folder = self.floor / "molecule" / scenario
            folder.mkdir(parents=True)
            folder.joinpath("molecule.yml").write_text(config.replace("${MOLECULE_PROJECT_DIRECTORY}", str(REPO)))
            for playbook in ("create.yml", "destroy.yml"):
                folder.joinpath(playbook).write_text(play)

    def molecule(self, action: str, project: Path = REPO, scenario: str = "sandbox") -> tuple:
        """(wall, seconds of the playbook run, seconds of `ansible-playbook --version` runs) of
        `molecule <action> -s <scenario>` in a project directory."""
        self.log_file.write_text("")
        start = time.perf_counter()
        proc = subprocess.run([str(BIN / "molecule"), action, "-s", scenario], cwd=project, env=self.env,
                              capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            fail(proc, "molecule " + action)
        calls = [line.split() for line in self.log_file.read_text().splitlines()]
        books = [call for call in calls if call[3:4] != ["--version"]]
        if len(books) != 1 or books[0][2] != "0":
            raise SystemExit("molecule %s: expected one playbook run, the shim saw %s" % (action, calls))
        # molecule also runs `ansible-playbook --version` (its own start-up, counted as molecule's)
        versions = sum(float(call[1]) - float(call[0]) for call in calls if call[3:4] == ["--version"])
        return wall, float(books[0][1]) - float(books[0][0]), versions

    def direct_env(self) -> dict:
        env = dict(item.split("=", 1) for item in self.env_file.read_bytes().decode().split("\0") if "=" in item)
        ephemeral, saved = env["MOLECULE_EPHEMERAL_DIRECTORY"], str(self.work / "ephemeral")
        env = {key: value.replace(ephemeral, saved) for key, value in env.items()}
        env["PATH"] = "%s:%s" % (BIN, os.environ.get("PATH", ""))
        return env

    def direct(self, playbook: str) -> float:
        """ansible-playbook <scenario>/<playbook> as molecule runs it (its inventory, environment)."""
        env = self.direct_env()
        inventory = os.path.join(env["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory")
        cmd = [str(BIN / "ansible-playbook"), "--inventory", inventory, "--skip-tags", "molecule-notest,notest",
               str(REPO / "molecule" / "sandbox" / playbook)]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
                              stdin=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            fail(proc, "ansible-playbook " + playbook)
        return wall

    def empty_play(self) -> float:
        env = self.direct_env()
        start = time.perf_counter()
        proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(self.empty)], env=env,
                              capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            fail(proc, "empty play")
        return wall

    def version(self) -> float:
        start = time.perf_counter()
        proc = subprocess.run([str(BIN / "molecule"), "--version"], cwd=REPO, env=self.env, capture_output=True,
                              text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)
        if proc.returncode != 0:
            fail(proc, "molecule --version")
        return time.perf_counter() - start


def instances_present() -> list:
    return [name for name in MOLECULE_INSTANCES if state_of(name) is not None]


def bench_molecule(args, figures: dict) -> None:
    if instances_present():
        raise SystemExit("sandboxes %s exist already (someone else's molecule run?): not touching them"
                         % instances_present())
    work = Path(tempfile.mkdtemp(prefix="pidns-bench-mol-"))
    floor_caches = set(MOLECULE_CACHE.glob("molecule.*.floor*"))
    mol = Molecule(work)
    series = {key: [] for key in ("m_create", "m_create_book", "m_destroy", "m_destroy_book", "m_version", "d_create", "d_destroy",
                                  "empty", "version", "floor", "floor_ping")}
    try:
        # Warm-up: destroy (molecule's own state may say "created" from an interrupted run: it would
        # skip create), then one create + destroy (also gives the environment molecule passes).
        mol.molecule("destroy")
        mol.molecule("create")
        mol.molecule("destroy")
        for round_ in range(args.molecule_rounds):
            def by_molecule():
                for action in ("create", "destroy"):
                    wall, book, versions = mol.molecule(action)
                    series["m_" + action].append(wall)
                    series["m_%s_book" % action].append(book)
                    series["m_version"].append(versions)

            def direct():
                for scenario in ("floor", "floor-ping"):
                    walls = [mol.molecule(action, mol.floor, scenario)[0] for action in ("create", "destroy")]
                    series[scenario.replace("-", "_")].append(sum(walls))
                series["d_create"].append(mol.direct("create.yml"))
                series["d_destroy"].append(mol.direct("destroy.yml"))
                series["empty"].append(mol.empty_play())
                series["version"].append(mol.version())
            for step in ((by_molecule, direct) if round_ % 2 == 0 else (direct, by_molecule)):
                step()
            if instances_present():
                raise SystemExit("instances left after destroy: %s" % instances_present())
            log("part 2: round %d: molecule create %.2f (playbook %.2f) + destroy %.2f (playbook %.2f) s; "
                "floor scenario create + destroy %.2f, floor-ping %.2f; direct create.yml %.2f, destroy.yml %.2f, empty play %.2f, "
                "molecule --version %.2f s"
                % (round_ + 1, series["m_create"][-1], series["m_create_book"][-1], series["m_destroy"][-1],
                   series["m_destroy_book"][-1], series["floor"][-1], series["floor_ping"][-1], series["d_create"][-1], series["d_destroy"][-1],
                   series["empty"][-1], series["version"][-1]))
        figures["molecule"] = {key: summary(values) for key, values in series.items()}
        figures["molecule"]["total"] = summary([c + d for c, d in zip(series["m_create"], series["m_destroy"])])
    finally:
        for ephemeral in set(MOLECULE_CACHE.glob("molecule.*.floor*")) - floor_caches:
            shutil.rmtree(ephemeral, ignore_errors=True)  # molecule's own folder for the floor scenario
        if instances_present():
            subprocess.run([str(BIN / "molecule"), "destroy", "-s", "sandbox"], cwd=REPO, env=mol.env,
                           capture_output=True, timeout=600, stdin=subprocess.DEVNULL, check=False)
        for name in instances_present():
            log("cleanup: removing molecule instance %s" % name)
            run_module("sandbox", {"name": name, "state": "absent"})
            force_remove(name)
        shutil.rmtree(work, ignore_errors=True)


def print_molecule(figures: dict) -> None:
    m = figures["molecule"]
    md = {key: value["median"] for key, value in m.items()}
    print("\n2. molecule scenario sandbox (3 instances), medians of %d rounds" % len(m["total"]["runs"]))
    print("| | create | destroy | create + destroy |")
    print("| --- | ---: | ---: | ---: |")
    print("| `molecule create/destroy -s sandbox` | %.2f s | %.2f s | %.2f s |"
          % (md["m_create"], md["m_destroy"], md["total"]))
    print("| of which its ansible-playbook run (shim) | %.2f s | %.2f s | %.2f s |"
          % (md["m_create_book"], md["m_destroy_book"], md["m_create_book"] + md["m_destroy_book"]))
    print("| of which `ansible-playbook --version` run by molecule (median per action) | %.2f s | %.2f s | %.2f s |"
          % (md["m_version"], md["m_version"], 2 * md["m_version"]))
    print("| of which molecule's own (the rest, incl. --version) | %.2f s | %.2f s | %.2f s |"
          % (md["m_create"] - md["m_create_book"], md["m_destroy"] - md["m_destroy_book"],
             md["total"] - md["m_create_book"] - md["m_destroy_book"]))
    print("| create.yml / destroy.yml with ansible-playbook directly | %.2f s | %.2f s | %.2f s |"
          % (md["d_create"], md["d_destroy"], md["d_create"] + md["d_destroy"]))
    print("| empty play (ansible-playbook's floor) | %.2f s | %.2f s | %.2f s |"
          % (md["empty"], md["empty"], 2 * md["empty"]))
    print("| `molecule --version` | %.2f s | | |" % md["version"])
    print("| floor: the same molecule.yml, create.yml and destroy.yml empty plays | | | %.2f s |" % md["floor"])
    print("| floor-ping: the same, with one `ping` task in each | | | %.2f s |" % md["floor_ping"])
    print("runs: molecule total %s; floor %s; floor-ping %s" % tuple(
        ", ".join("%.2f" % x for x in m[key]["runs"]) for key in ("total", "floor", "floor_ping")))
    print("the scenario above the floor (making and removing 3 overlay sandboxes): %.2f s" % (md["total"] - md["floor"]))
    print("goal create + destroy <= 3 s: %s%s" % (
        "met" if md["total"] <= 3 else "NOT met",
        "; molecule with one trivial module run in each playbook is above it already" if md["floor_ping"] > 3 else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the play (each: the four variants)")
    parser.add_argument("--molecule-rounds", type=int, default=3)
    parser.add_argument("--skip-play", action="store_true")
    parser.add_argument("--skip-molecule", action="store_true")
    parser.add_argument("--exec", action="store_true", help="also part 3: the cost of one command")
    parser.add_argument("--exec-count", type=int, default=30)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 2
    figures = {"machine": {"nproc": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
                           "loadavg_start": os.getloadavg()}}
    start = time.perf_counter()
    if not args.skip_play:
        bench_play(args, figures)
    if args.exec:
        bench_exec(args, figures)
    if not args.skip_molecule:
        bench_molecule(args, figures)
    figures["machine"]["loadavg_end"] = os.getloadavg()
    if "play" in figures:
        print_play(figures)
    if "molecule" in figures:
        print_molecule(figures)
    if "exec" in figures:
        print_exec(figures)
    print("\nload average at start %s, at end %s; whole run %.0f s"
          % ("/".join("%.1f" % x for x in figures["machine"]["loadavg_start"]),
             "/".join("%.1f" % x for x in figures["machine"]["loadavg_end"]), time.perf_counter() - start))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
