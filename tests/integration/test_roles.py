# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Role linuxns.pidns.sandboxes and the playbooks, through real ansible-playbook runs on localhost.

Oracles are independent of the code under test: /proc (NSpid, PID namespaces) and psutil.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ansible_cli import REPO, run_playbook  # noqa: E402
from fleet import raw_results_env  # noqa: E402
from sandboxes import exited, force_remove, pid_ns_of, state_of, wait_for  # noqa: E402

LOCAL = ("-i", "localhost,", "-c", "local")

ROLE_PLAY = """\
- name: Role sandboxes under test
  hosts: localhost
  gather_facts: false
  roles:
    - role: linuxns.pidns.sandboxes
"""


def recap(stdout: str, host: str = "localhost") -> dict:
    match = re.search(r"^%s\s*:\s*(.*)$" % re.escape(host), stdout, re.M)
    assert match, "no PLAY RECAP in:\n" + stdout
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}


def apply_role(tmp_path: Path, sandboxes: list, *extra: str):
    playbook = tmp_path / "role.yml"
    playbook.write_text(ROLE_PLAY)
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({"sandboxes_list": sandboxes}))
    return run_playbook(playbook, *LOCAL, "-e", "@%s" % variables, *extra)


def ok(proc) -> dict:
    assert proc.returncode == 0, "ansible-playbook failed (rc=%s)\n%s\n%s" % (proc.returncode, proc.stdout, proc.stderr)
    return recap(proc.stdout)


def supervisor(name: str) -> psutil.Process:
    state = state_of(name)
    assert state is not None, "no sandbox %s" % name
    return psutil.Process(state["supervisor"]["pid"])


def nspid(pid: int) -> list:
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("NSpid:"):
                return [int(field) for field in line.split()[1:]]
    raise AssertionError("no NSpid for %d" % pid)


def parent_ns(pid: int) -> int | None:
    """PID namespace of the parent process (the supervisor of a nested sandbox is forked inside
    its parent sandbox's namespace, so its parent process lives there)."""
    return pid_ns_of(psutil.Process(pid).ppid())


def test_one_run_makes_every_kind_of_entry_a_rerun_changes_nothing_and_runs_one_module(tmp_path, names):
    """One list with every kind of entry, so that the role runs four times where each kind in a test of
    its own ran it eleven times: children listed before their parents, workloads, a workload that dies
    (PID 1 restarts it), limits, an overlay root with binds, a paused child. The first run makes them
    all; a second changes nothing; a third runs one module; a workload that died is back without the role."""
    # Children listed before parents.
    top, middle, leaf = names("rtop"), names("rmid"), names("rleaf")
    nested = [
        {"name": leaf, "parent": middle},
        {"name": middle, "parent": top, "hostname": "middle.test"},
        {"name": top, "namespaces": ["pid", "mnt", "uts", "ipc"]},
    ]
    # Workloads started once.
    work = names("rwork")
    marker = str(100000 + int(work.rsplit("-", 1)[1], 16) % 800000)  # a unique `sleep` argument
    loop = "while :; do sleep 7; done # %s" % work
    working = [{"name": work, "workloads": [
        {"argv": ["sleep", marker]},
        {"name": "loop", "argv": ["sh", "-c", loop]},
    ]}]
    # A workload PID 1 restarts when it dies (restart: always); the role has nothing to do then.
    gone = names("rgone")
    gone_argv = ["sh", "-c", "while :; do sleep 7; done # %s" % gone]
    going = [{"name": gone, "workloads": [{"argv": gone_argv, "restart": "always"}]}]
    # Workloads and nesting for the rerun that runs one module.
    boxes = [{"name": names("rone"), "workloads": [{"argv": ["sleep", "infinity"]}]} for _box in range(3)]
    boxes.append({"name": names("ronec"), "parent": boxes[0]["name"]})
    # Limits, an overlay root with binds, a paused child.
    shared = tmp_path / "shared"
    shared.mkdir()
    limited = [
        {"name": names("rlim"), "pids_limit": 64, "memory": "96M", "memory_swap": "128M", "cpus": 0.5,
         "cpu_shares": 512, "workloads": [{"argv": ["sleep", "infinity"]}]},
        {"name": names("rroot"), "rootfs": {"type": "overlay", "ephemeral": True}, "reset_rootfs": True,
         "binds": [{"src": str(shared), "dest": "/mnt", "read_only": True}], "pids_limit": "32", "paused": "no"},
    ]
    limited.append({"name": names("rpause"), "parent": limited[0]["name"], "paused": True})
    sandboxes = nested + working + going + boxes + limited

    first = ok(apply_role(tmp_path, sandboxes))
    assert first["changed"] >= 1 and first["failed"] == 0

    # /proc oracle: nesting depth from NSpid, and each namespace's parent is the one above it.
    sup = {name: supervisor(name) for name in (top, middle, leaf)}
    assert [len(nspid(sup[n].pid)) for n in (top, middle, leaf)] == [2, 3, 4]
    assert all(nspid(sup[n].pid)[-1] == 1 for n in sup)
    assert parent_ns(sup[middle].pid) == pid_ns_of(sup[top].pid)
    assert parent_ns(sup[leaf].pid) == pid_ns_of(sup[middle].pid)
    supervisors = {box["name"]: supervisor(box["name"]).pid for box in sandboxes}
    assert state_of(limited[1]["name"])["spec"]["rootfs"]["type"] == "overlay"
    before = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == gone_argv]
    assert len(before) == 1

    run = apply_role(tmp_path, sandboxes)
    assert ok(run)["changed"] == 0, "second run changed something:\n" + run.stdout
    # Nothing recreated: the same supervisors.
    for name, proc in sup.items():
        assert supervisor(name).pid == proc.pid

    # A third run with nothing to change runs one module: the rest is skipped or controller-side.
    proc = run_playbook(tmp_path / "role.yml", *LOCAL, "-e", "@%s" % (tmp_path / "vars.json"), env=raw_results_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    documents = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    ran = [d["task"] for d in documents if d["status"] != "skipped" and d["result"].get("invocation")]
    assert len(ran) == 1 and "Find the sandboxes on the host" in ran[0], ran
    statuses = {d["task"].split(" : ")[-1]: d["status"] for d in documents}
    assert statuses["Create, recreate and remove sandboxes in one run (parents first, nested ones removed first)"] \
        == "skipped"
    assert {box["name"]: supervisor(box["name"]).pid for box in sandboxes} == supervisors

    # Each workload runs once, inside its sandbox, a child of the sandbox's PID 1.
    work_sup = supervisor(work)
    inode = pid_ns_of(work_sup.pid)
    for argv in (["sleep", marker], ["sh", "-c", loop]):
        found = [p for p in psutil.process_iter(["pid", "cmdline", "ppid", "status"])
                 if p.info["cmdline"] == argv and p.info["status"] != psutil.STATUS_ZOMBIE]
        assert len(found) == 1, "%s: %d processes" % (argv, len(found))
        workload = found[0]
        assert pid_ns_of(workload.pid) == inode, "workload is not inside the sandbox"
        assert workload.info["ppid"] == work_sup.pid, "workload's parent is not the sandbox's PID 1"
        assert nspid(workload.info["ppid"])[-1] == 1

    # A workload that dies is started again by PID 1 (its policy), not by the role: a rerun changes nothing.
    before[0].kill()  # by PID, the one this test started

    def restarted():
        return [p for p in psutil.process_iter(["cmdline", "status"])
                if p.info["cmdline"] == gone_argv and p.info["status"] != psutil.STATUS_ZOMBIE
                and p.pid != before[0].pid]
    assert wait_for(lambda: len(restarted()) == 1, 10)
    assert restarted()[0].ppid() == supervisor(gone).pid
    again = ok(apply_role(tmp_path, sandboxes))
    assert again["changed"] == 0


BAD_INPUT_PLAY = """\
- name: Role sandboxes under test, one bad list per host
  hosts: all
  gather_facts: false
  roles:
    - role: linuxns.pidns.sandboxes
"""


def bad_list(case: str, good: str, other: str) -> tuple:
    """A sandboxes_list with one bad entry, and the words its failure must have."""
    return {
        "choice": ([{"name": good}, {"name": other, "state": "running"}], ["state", "running"]),
        "unknown_field": ([{"name": good}, {"name": other, "hostnme": "x"}], ["hostnme"]),
        "missing_argv": ([{"name": good}, {"name": other, "workloads": [{"chdir": "/"}]}],
                         ["argv", "workloads"]),
        "unknown_parent": ([{"name": good}, {"name": other, "parent": "no-such-" + other}],
                           ["sandboxes_list[1]", other, "parent", "no-such-" + other]),
        "cycle": ([{"name": good, "parent": other}, {"name": other, "parent": good}],
                  ["sandboxes_list[0]", good, "parent", "cycle"]),
        "duplicate": ([{"name": good}, {"name": good}], ["sandboxes_list[1]", good, "more than once"]),
    }[case]


def test_bad_input_fails_before_any_change(tmp_path, names):
    """Each bad list on a host of its own (local connection), in one run: each host fails naming what
    is wrong in its list, and nothing changes on any."""
    cases = {}
    for case in ("choice", "unknown_field", "missing_argv", "unknown_parent", "cycle", "duplicate"):
        good, other = names("rbad"), names("rbad")
        cases[case] = (good, other) + bad_list(case, good, other)
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {
        "bad-" + case: {"ansible_connection": "local", "sandboxes_list": sandboxes}
        for case, (_good, _other, sandboxes, _words) in cases.items()}}}))
    playbook = tmp_path / "role.yml"
    playbook.write_text(BAD_INPUT_PLAY)
    proc = run_playbook(playbook, "-i", str(inventory), "-f", "6")
    assert proc.returncode != 0
    for case, (good, other, _sandboxes, words) in cases.items():
        host = "bad-" + case
        failure = "\n".join(line for line in proc.stdout.splitlines() if line.startswith("fatal: [%s]" % host))
        assert failure, "no failure of %s in:\n%s" % (host, proc.stdout)
        for word in words:
            assert word in failure, "%r not in the failure of %s:\n%s" % (word, host, proc.stdout)
        assert recap(proc.stdout, host)["changed"] == 0
        assert state_of(good) is None and state_of(other) is None


def test_teardown_removes_nested_first(tmp_path, names):
    top, child = names("rtd"), names("rtdc")
    sandboxes = [{"name": top, "workloads": [{"argv": ["sleep", "infinity"]}]},
                 {"name": child, "parent": top}]
    ok(apply_role(tmp_path, sandboxes))
    pids = {name: supervisor(name).pid for name in (top, child)}
    variables = tmp_path / "teardown.json"
    variables.write_text(json.dumps({"sandboxes_list": sandboxes, "pidns_hosts": "localhost"}))
    proc = run_playbook(REPO / "playbooks" / "teardown.yml", *LOCAL, "-e", "@%s" % variables, env=raw_results_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    documents = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    [removal] = [d["result"] for d in documents if "Create, recreate and remove sandboxes" in d["task"]]
    # The nested one went first: each removal took only itself.
    assert {r["name"]: r["removed"] for r in removal["results"]} == {top: [top], child: [child]}
    for name, pid in pids.items():
        assert state_of(name) is None
        assert wait_for(lambda pid=pid: exited(pid), 20), "supervisor of %s still runs" % name
    again = ok(run_playbook(REPO / "playbooks" / "teardown.yml", *LOCAL, "-e", "@%s" % variables))
    assert again["changed"] == 0


def test_demo_twice_second_run_unchanged(tmp_path):
    """playbooks/demo.yml with no inventory; it uses the fixed names web and inner."""
    env = {"PIDNS_DEMO_REPORT_DIR": str(tmp_path / "report")}
    try:
        first = run_playbook(REPO / "playbooks" / "demo.yml", env=env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "hostname inside inner: inner.web.sandbox" in first.stdout
        assert "200 OK" in first.stdout
        assert "ps inside web:" in first.stdout and "http.server" in first.stdout
        assert "sandbox inner" in first.stdout  # the pidns tree names the owner
        assert (tmp_path / "report" / "report.html").is_file()
        second = run_playbook(REPO / "playbooks" / "demo.yml", env=env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert recap(second.stdout)["changed"] == 0, second.stdout
        # psutil oracle: the HTTP server runs once, a child of web's PID 1.
        web = supervisor("web")
        servers = [p for p in web.children() if "http.server" in " ".join(p.cmdline())]
        assert len(servers) == 1
    finally:
        for name in ("inner", "web"):
            force_remove(name)


def test_a_limit_changed_through_the_role_is_applied_in_place(tmp_path, names):
    box = names("rinplace")
    argv = ["sh", "-c", "while :; do sleep 7; done # %s" % box]
    entry = {"name": box, "pids_limit": 64, "workloads": [{"argv": argv}]}
    ok(apply_role(tmp_path, [entry]))
    before = supervisor(box).pid
    workload = [p.pid for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == argv]
    assert len(workload) == 1
    paths = state_of(box)["cgroup"]["paths"]
    assert Path(paths["pids"], "pids.max").read_text().strip() == "64"

    changed = ok(apply_role(tmp_path, [dict(entry, pids_limit=128, paused=True)]))
    assert changed["changed"] == 1
    assert supervisor(box).pid == before, "the sandbox was recreated, not updated in place"
    assert Path(paths["pids"], "pids.max").read_text().strip() == "128"  # the cgroup file itself
    frozen = Path(paths["v2"], "cgroup.events") if "v2" in paths else Path(paths["freezer"], "freezer.state")
    assert wait_for(lambda: re.search(r"^frozen 1$|^FROZEN$", frozen.read_text(), re.M), 10), frozen.read_text()

    thawed = ok(apply_role(tmp_path, [dict(entry, pids_limit=None)]))  # no limit, thawed
    assert thawed["changed"] == 1
    assert supervisor(box).pid == before
    assert Path(paths["pids"], "pids.max").read_text().strip() == "max"
    assert not re.search(r"^frozen 1$|^FROZEN$", frozen.read_text(), re.M)
    # The workload kept running through it all: same process, not started again.
    assert [p.pid for p in psutil.process_iter(["cmdline", "status"])
            if p.info["cmdline"] == argv and p.info["status"] != psutil.STATUS_ZOMBIE] == workload
    assert ok(apply_role(tmp_path, [dict(entry, pids_limit=None)]))["changed"] == 0


INVENTORY_PLAY = """\
- name: Provision sandboxes and add them to the inventory
  hosts: localhost
  gather_facts: false
  roles:
    - role: linuxns.pidns.sandboxes
      vars:
        sandboxes_inventory_group: made_here

- name: Inside the new hosts, through the linuxns.pidns.sandbox connection
  hosts: made_here
  gather_facts: false
  tasks:
    - name: Hostname inside
      ansible.builtin.command: hostname
      register: inside
      changed_when: false

    - name: Show it
      ansible.builtin.debug:
        msg: "inside {{ inventory_hostname }}: {{ inside.stdout }} via {{ ansible_connection }}"
"""


def test_the_role_adds_what_it_provisioned_to_an_inventory_group(tmp_path, names):
    one, two, gone = names("rinv"), names("rinv"), names("rinv")
    playbook = tmp_path / "inventory.yml"
    playbook.write_text(INVENTORY_PLAY)
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({"sandboxes_list": [
        {"name": one, "hostname": "one.inside", "rootfs": {"type": "overlay", "ephemeral": True}},
        {"name": two, "parent": one},
        {"name": gone, "state": "absent"},
    ]}))
    proc = run_playbook(playbook, *LOCAL, "-e", "@%s" % variables)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = set(re.findall(r'"msg": "(inside [^"]*)"', proc.stdout))
    assert lines == {"inside %s: one.inside via linuxns.pidns.sandbox" % one,
                     "inside %s: %s via linuxns.pidns.sandbox" % (two, two)}, proc.stdout
    assert gone not in proc.stdout.split("PLAY [Inside", 1)[1]
    # A rerun changes nothing, and still reaches them.
    again = run_playbook(playbook, *LOCAL, "-e", "@%s" % variables)
    assert again.returncode == 0, again.stdout + again.stderr
    assert all(value == "0" for value in re.findall(r"changed=(\d+)", again.stdout)), again.stdout
    assert len(re.findall(r'"msg": "inside ', again.stdout)) == 2
