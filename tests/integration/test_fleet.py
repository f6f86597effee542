# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection over real SSH, against a fleet of test hosts on this machine (tests/integration/fleet.py):
each host is a sandbox with its own PID tree and hostname, reached through its own sshd on 127.0.0.1.

psutil and /proc, read here on the machine, are the oracle for what the hosts report about themselves.
Every ansible run has a timeout: a module that left a child holding the SSH channel would hang it.
"""

from __future__ import annotations

import json

import psutil
import pytest

from fleet import INITIAL_PID_NS, REPO, Fleet, raw_results_env, start_fleet
from sandboxes import pid_ns_of, wait_for

# Both ways Ansible sends a module over SSH: in the ssh process's stdin, or as a file through sftp
# and a temporary folder (with become). The module behaves the same either way: tests whose subject
# is the transfer itself (ping, a detached workload that must not hold the channel) run both; the
# others pipeline.
PIPELINING = [pytest.param(True, id="pipelining"), pytest.param(False, id="no-pipelining")]


def listening_pid(port: int) -> int | None:
    for conn in psutil.net_connections("tcp4"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.laddr.ip == "127.0.0.1":
            return conn.pid
    return None


def nspid(pid: int) -> list:
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("NSpid:"):
                return [int(x) for x in line.split()[1:]]
    return []


# -- the fleet itself ------------------------------------------------------------------------------

def test_each_host_sshd_runs_in_its_own_sandbox(fleet4):
    namespaces = set()
    for host in fleet4.hosts:
        pid = listening_pid(host.port)
        assert pid is not None, "nothing listens on 127.0.0.1:%d for %s" % (host.port, host.name)
        assert pid_ns_of(pid) == host.pid_ns != INITIAL_PID_NS
        # sshd is a child of the sandbox's PID 1 (the supervisor), as a detached workload should be
        assert psutil.Process(pid).ppid() == host.supervisor_pid
        assert nspid(pid)[-1] != pid  # it has a PID of its own inside
        namespaces.add(host.pid_ns)
    assert len(namespaces) == len(fleet4.hosts)


def test_plain_ssh_sees_own_hostname_and_pid_tree(fleet4):
    for host in fleet4.hosts:
        proc = fleet4.ssh(host.name, "hostname; readlink /proc/self/ns/pid; cat /proc/1/comm")
        assert proc.returncode == 0, proc.stderr
        hostname, ns, init = proc.stdout.split()
        assert hostname == host.name
        assert ns == "pid:[%d]" % host.pid_ns
        assert init.startswith("pidns:")


@pytest.mark.parametrize("pipelining", PIPELINING)
def test_ping_all_hosts(fleet4, pipelining):
    proc, results = fleet4.ansible_json("all", "ansible.builtin.ping", None, "-f", "4", pipelining=pipelining,
                                        timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(results) == sorted(fleet4.names)
    assert all(r["_status"] == "ok" and r["ping"] == "pong" for r in results.values()), results


def test_hostname_fact_matches_inventory_name(fleet4):
    proc, results = fleet4.ansible_json("all", "ansible.builtin.setup", "gather_subset=!all",
                                        "-f", "4", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in fleet4.names:
        assert results[name]["ansible_facts"]["ansible_hostname"] == name


def test_sandboxes_made_over_ssh_nest_under_the_host_and_pidns_facts_report_each_host(fleet4):
    """The sandbox module run over SSH inside a host manages that host's own sandboxes: a PID namespace
    nested one level under the host's, which the machine sees as a grandchild of the initial one.
    pidns_facts run over SSH reports each host's own namespace and what is nested in it, nothing of the
    machine or of the other hosts (one facts run for both: it costs an ansible run over the fleet)."""
    inner = "nested"
    proc, results = fleet4.ansible_json("all", "linuxns.pidns.sandbox", {"name": inner}, "-f", "4", "--become",
                                        pipelining=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    try:
        for host in fleet4.hosts:
            made = results[host.name]["sandbox"]
            assert made["health"] == "alive" and made["hostname"] == inner
            # the oracle: psutil finds a child of the host's supervisor in a PID ns whose parent is the host's
            host_children = psutil.Process(host.supervisor_pid).children()
            supervisors = [c for c in host_children if pid_ns_of(c.pid) not in (None, host.pid_ns)]
            assert len(supervisors) == 1, supervisors
            supervisor = supervisors[0]
            chain = nspid(supervisor.pid)
            assert len(chain) == 3 and chain[-1] == 1  # machine, test host, inner sandbox
            assert chain[1] == made["supervisor"]["pid"]  # the module reports PIDs as the test host sees them
            assert made["namespaces"]["pid"] == pid_ns_of(supervisor.pid)

        proc, facts = fleet4.ansible_json("all", "linuxns.pidns.pidns_facts", None, "-f", "4", "--become",
                                          pipelining=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert sorted(facts) == sorted(fleet4.names)
        for host in fleet4.hosts:
            tree = facts[host.name]["ansible_facts"]["pidns"]
            assert tree["self"]["initial"] is False
            assert tree["self"]["id"] == host.pid_ns  # the oracle: the sandbox's PID ns read here via /proc
            ids = {ns["id"] for ns in tree["namespaces"]}
            assert INITIAL_PID_NS not in ids
            assert host.pid_ns in ids
            # nothing of the machine or of the other hosts is visible from inside a host
            assert not ids & ({other.pid_ns for other in fleet4.hosts} - {host.pid_ns})
            assert tree["partial"] is False
            by_id = {ns["id"]: ns for ns in tree["namespaces"]}
            inner_ns = results[host.name]["sandbox"]["namespaces"]["pid"]
            assert by_id[inner_ns]["parent"] == host.pid_ns
            assert (by_id[inner_ns]["owner"] or {}).get("name") == inner
            assert inner_ns in by_id[host.pid_ns]["children"]
        assert len({facts[name]["ansible_facts"]["pidns"]["self"]["id"] for name in fleet4.names}) == 4
    finally:
        proc, removed = fleet4.ansible_json("all", "linuxns.pidns.sandbox", {"name": inner, "state": "absent"},
                                            "-f", "4", "--become", pipelining=True, timeout=180)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        for host in fleet4.hosts:
            assert wait_for(lambda: [c for c in psutil.Process(host.supervisor_pid).children()
                                     if pid_ns_of(c.pid) not in (None, host.pid_ns)] == [], 10)


@pytest.fixture(scope="module")
def fleet1(request):
    """One SSH test host: the matrix runs the test below with every ansible-core version, and needs
    no more. Where other tests of this module run too they start fleet4: its first host serves, as a
    fleet of its own would (the test makes and removes sandboxes of its own names on it)."""
    if any("fleet4" in item.fixturenames for item in request.session.items if item.module is request.module):
        fleet4 = request.getfixturevalue("fleet4")
        yield Fleet(root=fleet4.root, hosts=fleet4.hosts[:1], key=fleet4.key, inventory=fleet4.inventory,
                    control_dir=fleet4.control_dir, run_id=fleet4.run_id, _closed=True)  # fleet4 closes it
        return
    fleet = start_fleet(1)
    try:
        yield fleet
    finally:
        fleet.close()


@pytest.mark.parametrize("pipelining", PIPELINING)
def test_detached_workload_over_ssh_does_not_hold_the_channel(fleet1, pipelining):
    """A detached workload started over SSH stays in the host's nested sandbox after the run; the
    run ends (it would hang to its timeout if the workload kept the SSH session's pipes)."""
    name = "sleeper-%s" % ("p" if pipelining else "n")
    host = fleet1.hosts[0]
    proc = fleet1.ansible(host.name, "linuxns.pidns.sandbox", {"name": name}, "--become",
                          pipelining=pipelining, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    try:
        proc, results = fleet1.ansible_json(host.name, "linuxns.pidns.sandbox_exec",
                                            {"sandbox": name, "argv": ["sleep", "3600"], "detach": True},
                                            "--become", pipelining=pipelining, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        # the oracle: one `sleep 3600` three levels deep under the test host, not holding a socket
        sleepers = [p for p in psutil.Process(host.supervisor_pid).children(recursive=True)
                    if p.name() == "sleep"]
        assert len(sleepers) == 1
        sleeper = sleepers[0]
        assert len(nspid(sleeper.pid)) == 3
        assert not sleeper.net_connections()
        assert all(f.path in ("/dev/null",) for f in sleeper.open_files()), sleeper.open_files()
    finally:
        proc = fleet1.ansible(host.name, "linuxns.pidns.sandbox", {"name": name, "state": "absent"}, "--become",
                              pipelining=pipelining, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr


# -- the collection's playbooks across the fleet ---------------------------------------------------------

PLAYBOOKS = REPO / "playbooks"
SANDBOXES = {
    "sandboxes_list": [
        {"name": "web", "workloads": [{"argv": ["sleep", "3600"]}]},
        {"name": "inner", "parent": "web", "namespaces": ["pid", "mnt", "uts"]},
        {"name": "batch", "stop_timeout": 2},
    ],
}


def play_results(stdout: str) -> list:
    """Every raw_results JSON line of a playbook run: {host, task, status, result}."""
    found = []
    for line in stdout.splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                pass
    return found


def run_play(fleet, name: str, *options: str, pipelining: bool, extra: dict | None = None, timeout: float = 300):
    args = ["-f", "4"]
    if extra is not None:
        args += ["-e", json.dumps(extra)]
    proc = fleet.playbook(PLAYBOOKS / name, *args, *options, pipelining=pipelining, env=raw_results_env(),
                          timeout=timeout)
    return proc, play_results(proc.stdout)


def sandbox_supervisors(host) -> dict:
    """Oracle: PID namespaces under a test host, from psutil and /proc on the machine:
    {pid_ns: supervisor psutil.Process} for every PID 1 nested below the host's PID 1."""
    found = {}
    for child in psutil.Process(host.supervisor_pid).children(recursive=True):
        try:
            chain = nspid(child.pid)
        except FileNotFoundError:
            continue
        if len(chain) >= 3 and chain[-1] == 1:
            found[pid_ns_of(child.pid)] = child
    return found


def read_report(folder) -> dict:
    return json.loads((folder / "report.json").read_text())


def test_playbooks_across_the_fleet(fleet4, tmp_path):
    """provision -> exec -> report -> teardown over real SSH with become, 4 forks."""
    report_dir = tmp_path / "report"
    try:
        proc, results = run_play(fleet4, "provision.yml", pipelining=True, extra=SANDBOXES)
        assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
        assert not [r for r in results if r["status"] in ("failed", "unreachable")]
        for host in fleet4.hosts:
            nested = sandbox_supervisors(host)
            assert len(nested) == 3, (host.name, nested)
            levels = sorted(len(nspid(p.pid)) for p in nested.values())
            assert levels == [3, 3, 4]  # web and batch under the host, inner under web
            sleepers = [p for p in psutil.Process(host.supervisor_pid).children(recursive=True) if p.name() == "sleep"]
            assert len(sleepers) == 1 and len(nspid(sleepers[0].pid)) == 3

        # idempotent over SSH too
        proc, results = run_play(fleet4, "provision.yml", pipelining=True, extra=SANDBOXES)
        assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
        assert not [r for r in results if r["result"].get("changed")], [
            (r["host"], r["task"]) for r in results if r["result"].get("changed")]

        proc, results = run_play(fleet4, "exec.yml", pipelining=True,
                                 extra={"pidns_exec_argv": ["sh", "-c", "hostname; echo $$; cat /proc/1/comm"]})
        assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
        ran = [r for r in results if r["task"] == "Run the command in each sandbox"]
        seen = {}
        for r in ran:
            for item in r["result"]["results"]:
                hostname, pid, init = item["stdout_lines"]
                seen.setdefault(r["host"], set()).add(hostname)
                assert init.startswith("pidns:") and int(pid) > 1
        assert seen == {name: {"web", "inner", "batch"} for name in fleet4.names}

        proc, results = run_play(fleet4, "report.yml", pipelining=True,
                                 extra={"pidns_report_dir": str(report_dir)})
        assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
        report = read_report(report_dir)
        assert report["totals"]["hosts"] == 4 and report["totals"]["ok"] == 4
        assert report["totals"]["unreachable"] == 0
        by_name = {entry["name"]: entry for entry in report["hosts"]}
        assert sorted(by_name) == sorted(fleet4.names)
        selves = set()
        for host in fleet4.hosts:
            entry = by_name[host.name]
            assert entry["status"] == "ok"
            facts = entry["facts"]
            assert facts["self"]["initial"] is False and facts["self"]["id"] == host.pid_ns
            selves.add(facts["self"]["id"])
            namespaces = {ns["id"]: ns for ns in facts["namespaces"]}
            oracle = sandbox_supervisors(host)
            assert set(namespaces) == {host.pid_ns} | set(oracle)  # own hierarchy only, all of it
            owners = {(ns.get("owner") or {}).get("name"): ns for ns in namespaces.values()}
            assert {"web", "inner", "batch"} <= set(owners)
            assert owners["web"]["parent"] == owners["batch"]["parent"] == host.pid_ns
            assert owners["inner"]["parent"] == owners["web"]["id"]
        assert len(selves) == 4
        html = (report_dir / "report.html").read_text()
        assert all(name in html for name in fleet4.names)
    finally:
        proc, results = run_play(fleet4, "teardown.yml", pipelining=True, extra=SANDBOXES)
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
    for host in fleet4.hosts:
        assert wait_for(lambda: sandbox_supervisors(host) == {}, 15), (host.name, sandbox_supervisors(host))


def test_a_stopped_host_is_unreachable_others_answer_the_report_lists_it_and_close_removes_everything(
        fleet_factory, tmp_path):
    """One host goes down between provision and report: ad hoc facts say so and answer for the others;
    the report marks it unreachable and is complete for the others; nothing hangs or fails for them.
    Then Fleet.close() removes everything of the fleet, the ssh ControlMasters the runs left included."""
    fleet = fleet_factory(3)
    supervisors = [host.supervisor_pid for host in fleet.hosts]
    sshds = [listening_pid(host.port) for host in fleet.hosts]
    assert None not in sshds
    proc, _results = run_play(fleet, "provision.yml", pipelining=True, extra=SANDBOXES)
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
    down = fleet.hosts[1]
    fleet.stop_host(down.name)
    assert wait_for(lambda: listening_pid(down.port) is None, 10)

    proc, results = fleet.ansible_json("all", "linuxns.pidns.pidns_facts", None, "-f", "3", timeout=120)
    assert proc.returncode != 0
    assert results[down.name]["_status"] == "unreachable"
    for host in fleet.hosts:
        if host is not down:
            assert results[host.name]["_status"] == "ok"
            assert results[host.name]["ansible_facts"]["pidns"]["self"]["id"] == host.pid_ns

    report_dir = tmp_path / "report"
    proc, results = run_play(fleet, "report.yml", pipelining=True, extra={"pidns_report_dir": str(report_dir)})
    report = read_report(report_dir)
    assert report["totals"]["hosts"] == 3
    assert report["totals"]["ok"] == 2 and report["totals"]["unreachable"] == 1
    by_name = {entry["name"]: entry for entry in report["hosts"]}
    assert by_name[down.name]["status"] == "unreachable" and by_name[down.name]["facts"] is None
    assert by_name[down.name]["message"]
    for host in fleet.hosts:
        if host is not down:
            facts = by_name[host.name]["facts"]
            assert by_name[host.name]["status"] == "ok" and facts["self"]["id"] == host.pid_ns
            assert {"web", "inner", "batch"} <= {(ns.get("owner") or {}).get("name") for ns in facts["namespaces"]}
    html = (report_dir / "report.html").read_text()
    assert down.name in html and "unreachable" in html.lower()
    markdown = (report_dir / "report.md").read_text()
    assert down.name in markdown and "unreachable" in markdown.lower()

    # The runs above left ssh ControlMasters for the hosts that answered.
    assert fleet.control_dir.is_dir() and any(fleet.control_dir.iterdir())
    fleet.close()
    assert not fleet.root.exists()
    for pid in supervisors + sshds:
        assert wait_for(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, 10)
    for host in fleet.hosts:
        assert listening_pid(host.port) is None
    # no ssh client of this run is left (its ControlMasters named the run's control dir)
    left = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "ssh" and any(str(fleet.control_dir) in arg for arg in proc.info["cmdline"] or []):
            left.append(proc.pid)
    assert left == []
