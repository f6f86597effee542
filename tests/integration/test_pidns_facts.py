# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""linuxns.pidns.pidns_facts through real `ansible` runs, checked against util-linux (lsns, findmnt) and psutil.

The hierarchies are built with util-linux `unshare` alone, never with this collection's code.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import psutil
import pytest

from ansible_cli import run_module, run_playbook
from sandboxes import wait_for

HOST_PID_NS = os.stat("/proc/self/ns/pid").st_ino
UNSHARE = ["unshare", "--pid", "--fork", "--kill-child"]

# PID 1 of every namespace below is either `sh` that waits for its children, or `sleep`.
# L1 (remounted /proc) holds: 6 x [L2 sh -> 2 x L3 sleep], one L2 `sleep` without its own /proc,
# and one L2 whose PID 1 is `sleep` exec'd by a shell that left two children to become zombies.
TREE_SCRIPT = r"""
for i in 1 2 3 4 5 6; do
  unshare --pid --fork --kill-child --mount-proc sh -c '
    for j in 1 2; do unshare --pid --fork --kill-child --mount-proc sleep infinity & done
    wait' &
done
unshare --pid --fork --kill-child sleep infinity &
unshare --pid --fork --kill-child --mount-proc sh -c 'sleep 0.2 & sleep 0.2 & exec sleep infinity' &
wait
"""
TREE_SIZE = 1 + 6 + 12 + 1 + 1


def lsns_pid():
    """lsns's view. lsns exits 1 when a namespace it found goes away while it reads it (other tests'
    namespaces come and go, the matrix step runs three test jobs at once): read it again then."""
    for _attempt in range(5):
        proc = subprocess.run(["lsns", "-t", "pid", "-J", "-o", "NS,PNS,NPROCS"], capture_output=True, text=True,
                              check=False)
        if proc.returncode == 0:
            return {int(row["ns"]): (int(row["pns"]), int(row["nprocs"])) for row in json.loads(proc.stdout)["namespaces"]}
    raise AssertionError("lsns failed five times: %s" % proc.stderr)


def descendants(parents, root):
    """root and every namespace below it, from a {ns: parent} map."""
    found = {root}
    changed = True
    while changed:
        changed = False
        for ns, parent in parents.items():
            if parent in found and ns not in found:
                found.add(ns)
                changed = True
    return found


def pid_ns(pid):
    return int(os.readlink("/proc/%d/ns/pid" % pid).split("[")[1].rstrip("]"))


def stop(proc, init_pid=None):
    """Stop what this test started: SIGKILL to the PID 1 it made (the kernel then kills its whole
    namespace and those below), so `unshare` reaps it and exits; the process group this test
    created (start_new_session made proc its leader) only as a last resort. Killing unshare
    first would hand PID 1 to the host's init, which may never reap it."""
    if init_pid is not None:
        try:
            os.kill(init_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=30)
        return
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


@pytest.fixture
def handle_only_ns(tmp_path):
    """A PID namespace whose processes all died, kept alive by a bind-mounted handle only."""
    handle = tmp_path / "pidns-handle"
    handle.touch()
    proc = subprocess.Popen(UNSHARE + ["--mount-proc", "sleep", "infinity"], start_new_session=True,
                            stdin=subprocess.DEVNULL)
    mounted = False
    inner = []
    try:
        inner = wait_for(lambda: psutil.Process(proc.pid).children(), timeout=10)
        assert inner, "unshare did not start its child"
        ns = pid_ns(inner[0].pid)
        parent_before = wait_for(lambda: lsns_pid().get(ns), timeout=10)
        subprocess.run(["mount", "--bind", "/proc/%d/ns/pid" % inner[0].pid, str(handle)], check=True)
        mounted = True
        stop(proc, inner[0].pid)
        assert ns not in lsns_pid(), "the namespace still has processes"
        yield {"ns": ns, "handle": str(handle), "lsns_parent": parent_before[0]}
    finally:
        stop(proc, inner[0].pid if inner else None)
        if mounted:
            subprocess.run(["umount", str(handle)], check=True)


@pytest.fixture
def unshare_tree():
    """TREE_SIZE PID namespaces, three levels deep, made with util-linux unshare only."""
    proc = subprocess.Popen(UNSHARE + ["--mount-proc", "sh", "-c", TREE_SCRIPT], start_new_session=True,
                            stdin=subprocess.DEVNULL)
    top_init = []
    try:
        top_init = wait_for(lambda: psutil.Process(proc.pid).children(), timeout=10)
        assert top_init, "unshare did not start its child"
        top = pid_ns(top_init[0].pid)

        def built():
            table = lsns_pid()
            tree = descendants({ns: pns for ns, (pns, _n) in table.items()}, top)
            zombies = [p for p in psutil.Process(top_init[0].pid).children(recursive=True)
                       if _status(p) == psutil.STATUS_ZOMBIE]
            return len(tree) == TREE_SIZE and len(zombies) == 2 and (table, tree)

        state = wait_for(built, timeout=30)
        assert state, "the unshare tree did not come up"
        yield {"top": top, "top_init": top_init[0].pid, "lsns": state[0], "tree": state[1]}
    finally:
        stop(proc, top_init[0].pid if top_init else None)


def _status(proc):
    try:
        return proc.status()
    except psutil.NoSuchProcess:
        return None


def gather(args=None, **kwargs):
    """pidns_facts through a real `ansible localhost -m` run (ad hoc wants at least one argument)."""
    result = run_module("pidns_facts", args or {"processes": False}, **kwargs)
    assert not result.get("failed"), result
    assert result["changed"] is False
    return result


def proc_pid1_comm(pid):
    """comm of PID 1 in the /proc that process ``pid`` sees, read by util-linux nsenter + cat."""
    out = subprocess.run(["nsenter", "-t", str(pid), "-m", "-p", "--", "cat", "/proc/1/comm"],
                         capture_output=True, text=True, check=True, timeout=30)
    return out.stdout.strip()


def by_id(facts):
    return {entry["id"]: entry for entry in facts["namespaces"]}


def test_oracle_against_lsns(needs_root, unshare_tree, handle_only_ns):
    result = gather()
    facts = result["ansible_facts"]["pidns"]
    spaces = by_id(facts)
    lsns = lsns_pid()  # again: the tree is static, other tests' namespaces may come and go
    tree = unshare_tree["tree"]

    # Namespaces, parents and process counts of everything the test built equal lsns's.
    ours = descendants({ns: e["parent"] for ns, e in spaces.items()}, unshare_tree["top"])
    assert ours == tree
    assert len(tree) >= 20
    for ns in tree:
        assert (spaces[ns]["parent"], spaces[ns]["nprocs"]) == lsns[ns], ns
    assert spaces[unshare_tree["top"]]["parent"] == HOST_PID_NS
    levels = {spaces[ns]["level"] for ns in tree}
    assert levels == {1, 2, 3}
    assert facts["max_depth"] >= 3
    for ns in tree:
        entry = spaces[ns]
        assert entry["children"] == sorted(c for c in tree if lsns[c][0] == ns)
        assert entry["init"]["ns_pid"] == 1 and pid_ns(entry["init"]["pid"]) == ns
        assert entry["init"]["comm"] in ("sh", "sleep")

    # The handle-only namespace: lsns 2.38 does not list it; findmnt (util-linux) is the oracle.
    handle = handle_only_ns
    findmnt = json.loads(subprocess.run(["findmnt", "-J", "-t", "nsfs", "-o", "TARGET,FSROOT", handle["handle"]],
                                        capture_output=True, text=True, check=True).stdout)
    assert findmnt["filesystems"][0]["fsroot"] == "pid:[%d]" % handle["ns"]
    kept = spaces[handle["ns"]]
    assert kept["nprocs"] == 0 and kept["init"] is None
    assert [entry["path"] for entry in facts["handles"] if entry["id"] == handle["ns"]] == [handle["handle"]]
    assert kept["parent"] == handle["lsns_parent"] == HOST_PID_NS
    assert kept["level"] == 1

    # Warnings name exactly the faulty namespaces among those built here.
    mine = tree | {handle["ns"]}
    flagged = {}
    for warning in facts["warnings"]:
        if warning["namespace"] in mine:
            flagged.setdefault(warning["code"], set()).add(warning["namespace"])
            assert warning in [dict(w, namespace=warning["namespace"])
                               for w in spaces[warning["namespace"]]["warnings"]]
    # Oracles: nsenter shows whose /proc each namespace's init sees (its PID 1 is another program
    # when /proc belongs to another namespace); psutil finds the zombies.
    no_proc = [ns for ns in tree if proc_pid1_comm(spaces[ns]["init"]["pid"]) != psutil.Process(
        spaces[ns]["init"]["pid"]).name()]
    assert len(no_proc) == 1, "exactly one namespace without its own /proc"
    zombie_pids = [p.pid for p in psutil.Process(unshare_tree["top_init"]).children(recursive=True)
                   if _status(p) == psutil.STATUS_ZOMBIE]
    zombie_ns = sorted(set(pid_ns(pid) for pid in zombie_pids))
    assert len(zombie_ns) == 1
    assert flagged == {
        "proc_not_remounted": set(no_proc),
        "zombies": set(zombie_ns),
        "init_not_reaper": set(zombie_ns),
        "no_init": {handle["ns"]},
    }
    # psutil as the independent oracle for the zombies and their parent.
    zentry = spaces[zombie_ns[0]]
    init = psutil.Process(zentry["init"]["pid"])
    zombies = [c.pid for c in init.children() if c.status() == psutil.STATUS_ZOMBIE]
    zwarn = [w for w in zentry["warnings"] if w["code"] == "zombies"][0]
    assert zentry["zombies"] == zwarn["count"] == len(zombies) == 2
    assert zwarn["parents"] == [init.pid] and zwarn["pids"] == sorted(zombies)
    remount = [w for w in spaces[no_proc[0]]["warnings"] if w["code"] == "proc_not_remounted"][0]
    assert remount["proc_ns"] == unshare_tree["top"]


def test_pids_and_processes_translate_like_the_kernel(needs_root, unshare_tree):
    leaf = [p for p in psutil.Process(unshare_tree["top_init"]).children(recursive=True)
            if p.name() == "sleep" and p.status() != psutil.STATUS_ZOMBIE]
    leaf_pid = leaf[0].pid
    absent = next(pid for pid in range(4194303, 4190000, -1) if not os.path.exists("/proc/%d" % pid))
    result = gather({"processes": True, "pids": [leaf_pid, absent]})
    facts = result["ansible_facts"]["pidns"]
    with open("/proc/%d/status" % leaf_pid) as handle:
        nspid = [int(x) for x in [line for line in handle if line.startswith("NSpid:")][0].split()[1:]]
    found, missing = facts["pids"]
    assert missing == {"pid": absent, "found": False, "ns": None, "levels": []}
    assert [level["pid"] for level in found["levels"]] == nspid
    assert found["levels"][0] == {"level": 0, "ns": HOST_PID_NS, "pid": leaf_pid}
    assert found["levels"][-1]["ns"] == pid_ns(leaf_pid)
    chain_ns = [level["ns"] for level in found["levels"]]
    spaces = by_id(facts)
    for outer, inner in zip(chain_ns, chain_ns[1:]):
        assert spaces[inner]["parent"] == outer

    rows = {row["pid"]: row for row in facts["processes"]}
    for proc in psutil.Process(unshare_tree["top_init"]).children(recursive=True):
        row = rows[proc.pid]
        assert row["ppid"] == proc.ppid()
        assert row["comm"] == proc.name()
        assert row["ns"] == pid_ns(proc.pid)
        assert (row["state"] == "Z") == (proc.status() == psutil.STATUS_ZOMBIE)
    assert sum(1 for row in facts["processes"] if row["ns"] in unshare_tree["tree"]) == \
        sum(unshare_tree["lsns"][ns][1] for ns in unshare_tree["tree"])


def test_inside_a_child_pid_namespace_sees_only_its_subtree(needs_root):
    # ansible itself runs as PID 1 of a fresh PID namespace that has one child namespace.
    prefix = UNSHARE + ["--mount-proc", "sh", "-c",
                        "unshare --pid --fork --kill-child --mount-proc sleep infinity & exec \"$@\"", "sh"]
    result = gather(prefix=prefix)
    facts = result["ansible_facts"]["pidns"]
    me = facts["self"]
    assert me["initial"] is False and me["id"] != HOST_PID_NS
    assert me["level"] == 1 and me["level_exact"] is False
    spaces = by_id(facts)
    assert set(spaces) == {me["id"]} | set(spaces[me["id"]]["children"])
    assert len(spaces) == 2
    own = spaces[me["id"]]
    assert own["parent"] is None and own["init"]["ns_pid"] == 1 and own["init"]["pid"] == 1
    child = spaces[own["children"][0]]
    assert child["parent"] == me["id"] and child["level"] == 2 and child["init"]["comm"] == "sleep"
    assert child["init"]["ns_pid"] == 1 and child["init"]["pid"] != 1
    assert HOST_PID_NS not in spaces


def test_ad_hoc_schema_and_check_mode(needs_root):
    for check in (False, True):
        result = gather(check=check)
        facts = result["ansible_facts"]["pidns"]
        assert result["changed"] is False
        assert facts["schema"] == 1 and facts["kernel"] == os.uname().release
        assert facts["self"] == dict(facts["self"], id=HOST_PID_NS, initial=True, level=0, level_exact=True)
        assert facts["count"] == len(facts["namespaces"]) >= 1
        assert facts["namespaces"][0]["id"] == HOST_PID_NS and facts["namespaces"][0]["level"] == 0
        assert "processes" not in facts and "pids" not in facts
        for entry in facts["namespaces"]:
            assert set(entry) == {"id", "parent", "level", "children", "init", "nprocs", "zombies", "owner",
                                  "warnings"}
            assert entry["init"] is None or set(entry["init"]) == {"pid", "ns_pid", "comm", "cmdline", "start_time"}
        assert all(set(handle) == {"path", "id"} for handle in facts["handles"])
    result = gather({"processes": True})
    rows = result["ansible_facts"]["pidns"]["processes"]
    pids = {row["pid"] for row in rows}
    assert os.getpid() in pids, "the test process itself was alive during the whole scan"
    assert all(set(row) == {"pid", "nspid", "ns", "ppid", "state", "comm"} for row in rows)


def test_pidns_tree_filter_in_a_real_play(needs_root, unshare_tree, tmp_path):
    out = tmp_path / "tree.txt"
    playbook = tmp_path / "tree.yml"
    playbook.write_text(
        "- hosts: localhost\n"
        "  connection: local\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - linuxns.pidns.pidns_facts:\n"
        "        processes: true\n"
        "    - ansible.builtin.copy:\n"
        "        content: \"{{ ansible_facts.pidns | linuxns.pidns.pidns_tree(processes=true, width=0) }}\"\n"
        "        dest: %s\n"
        "        mode: \"0600\"\n" % out)
    proc = run_playbook(playbook, "-i", "localhost,", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = out.read_text().splitlines()
    top = [line for line in lines if line.lstrip(u"\u251c\u2502\u2514\u2500 ").startswith("%d " % unshare_tree["top"])]
    assert len(top) == 1 and "level 1" in top[0] and "PID 1 (host %d) sh -c" % unshare_tree["top_init"] in top[0]
    indent = len(top[0]) - len(top[0].lstrip(u"\u251c\u2502\u2514\u2500 "))
    for ns in unshare_tree["tree"]:
        assert sum(1 for line in lines if (" %d  level" % ns) in line or line.startswith("%d  level" % ns)) == 1
    assert any(u"\u2500 PID 1 (host %d): sh" % unshare_tree["top_init"] in line for line in lines)
    assert indent >= 3


def test_proc_not_remounted_in_its_simplest_form(needs_root):
    """`unshare --fork --pid sleep` without --mount-proc: the lone member is PID 1 of its namespace and
    sees the host's /proc. On this machine's kind the host's PID 1 hides its ns links, so reading
    anyone's PID 1 through that /proc cannot tell (issue 10 item 19)."""
    proc = subprocess.Popen(UNSHARE + ["sleep", "600"], start_new_session=True, stdin=subprocess.DEVNULL)
    inner = []
    try:
        inner = wait_for(lambda: psutil.Process(proc.pid).children(), timeout=10)
        assert inner, "unshare did not start its child"
        ns = pid_ns(inner[0].pid)
        facts = gather()["ansible_facts"]["pidns"]
        [entry] = [e for e in facts["namespaces"] if e["id"] == ns]
        assert entry["nprocs"] == 1
        codes = [w["code"] for w in entry["warnings"]]
        assert "proc_not_remounted" in codes, entry
    finally:
        stop(proc, inner[0].pid if inner else None)


def test_facts_stay_bounded_when_pid_1_has_a_huge_command_line(needs_root):
    """An unprivileged user chooses the argv of a namespace's PID 1: 1.5 MB of it must not become
    1.5 MB of facts (issue 10 item 15)."""
    big = ["x" * 100000] * 15
    proc = subprocess.Popen(UNSHARE + ["--mount-proc", sys.executable, "-c", "import time; time.sleep(600)"] + big,
                            start_new_session=True, stdin=subprocess.DEVNULL)
    inner = []
    try:
        inner = wait_for(lambda: psutil.Process(proc.pid).children(), timeout=10)
        assert inner, "unshare did not start its child"
        ns = pid_ns(inner[0].pid)
        result = gather()
        [entry] = [e for e in result["ansible_facts"]["pidns"]["namespaces"] if e["id"] == ns]
        cmdline = entry["init"]["cmdline"]
        assert cmdline[-1].startswith("[truncated at ") and len(json.dumps(cmdline)) < 10000
        assert len(json.dumps(result)) < 1000000
    finally:
        stop(proc, inner[0].pid if inner else None)
