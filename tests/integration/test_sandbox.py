# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""linuxns.pidns.sandbox through real `ansible`/`ansible-playbook` runs (a play, ad hoc, check and diff mode),
and as its own main() in a process (run_module_main) where what it does on the host is the subject; checked
with util-linux and psutil."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from ansible_cli import COLLECTIONS, run_local_play, run_module, run_module_main
from sandboxes import (STATE_DIR, exited, live_processes_in_ns, mounts_under, nsenter, processes_in_ns,
                       state_of, wait_for)

HOST_PID_NS = os.stat("/proc/self/ns/pid").st_ino


def sandbox(name, **options):
    """Through real `ansible`: the matrix runs the tests that use it with the modules on its target Pythons."""
    return run_module("sandbox", dict(name=name, **options))


def sandbox_main(name, **options):
    """The module's own main() in a process (run_module_main), for tests whose subject is what it does
    on the host. Real `ansible` runs it in the play, ad hoc (sandbox() above, check and diff mode: the
    first tests here), in the roles' plays (test_roles.py) and over SSH (test_fleet.py)."""
    return run_module_main("sandbox", dict(name=name, **options))


def lsns_parents():
    """{pid ns inode: parent pid ns inode} as util-linux lsns reports them (read again when a namespace
    went away under lsns, which then exits 1: other tests run at the same time)."""
    for _attempt in range(5):
        proc = subprocess.run(["lsns", "-t", "pid", "-n", "-r", "-o", "NS,PNS"], capture_output=True, text=True,
                              check=False)
        if proc.returncode == 0:
            return {int(ns): int(pns) for ns, pns in (line.split() for line in proc.stdout.splitlines())}
    raise AssertionError("lsns failed five times: %s" % proc.stderr)


def assert_nsfs_handles(result):
    with open("/proc/self/mountinfo") as handle:
        table = {line.split()[4]: line for line in handle}
    for ns_type, path in result["handles"].items():
        line = table[path]
        assert " - nsfs " in line and "%s:[%d]" % (ns_type, result["namespaces"][ns_type]) in line


def test_sandbox_outlives_the_play_and_holds_its_namespaces(names, tmp_path):
    name = names()
    proc, made = run_local_play(tmp_path, """
        - linuxns.pidns.sandbox:
            name: %s
            hostname: made-by-play
          register: made
        """ % name, keep="made")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = made["sandbox"]
    assert result["health"] == "alive" and result["level"] == 1
    assert_nsfs_handles(result)
    supervisor = psutil.Process(result["supervisor"]["pid"])
    assert supervisor.is_running() and supervisor.status() != psutil.STATUS_ZOMBIE
    assert supervisor.name() == ("pidns:" + name)[:15]
    assert name in supervisor.cmdline()

    listing = nsenter(name, "ps", "-e", "-o", "pid=,comm=")
    assert listing.returncode == 0, listing.stderr
    rows = [line.split(None, 1) for line in listing.stdout.strip().splitlines()]
    assert rows[0] == ["1", ("pidns:" + name)[:15]]
    assert [comm for _pid, comm in rows[1:]] == ["ps"], "only the sandbox's processes are visible"

    hostname = nsenter(name, "hostname", types=("uts",))
    assert hostname.stdout.strip() == "made-by-play"
    assert lsns_parents()[result["namespaces"]["pid"]] == HOST_PID_NS

    # The supervisor does not hold the play's pipes: only /dev/null, its log, its signalfd, its workloads'
    # folder and the _workloads leaf's cgroup.procs (one a hierarchy) are open.
    targets = sorted(os.readlink("/proc/%d/fd/%s" % (supervisor.pid, fd))
                     for fd in os.listdir("/proc/%d/fd" % supervisor.pid))
    procs = [target for target in targets if target.endswith("/%s/_workloads/cgroup.procs" % name)]
    assert procs and sorted(set(targets) - set(procs)) == sorted(
        ["/dev/null", str(STATE_DIR / name / "supervisor.log"), str(STATE_DIR / name / "workloads"),
         "anon_inode:[signalfd]"]), targets
    assert targets.count(str(STATE_DIR / name / "supervisor.log")) == 2


def test_second_run_is_unchanged_and_a_new_hostname_recreates(names):
    name = names()
    first = sandbox(name, hostname="one")
    assert first["changed"] is True
    again = sandbox(name, hostname="one")
    assert again["changed"] is False
    assert again["sandbox"]["supervisor"] == first["sandbox"]["supervisor"]

    renamed = run_module("sandbox", dict(name=name, hostname="two"), diff=True)
    assert renamed["changed"] is True and renamed["recreated_because"] == ["hostname"]
    assert renamed["diff"]["before"]["hostname"] == "one" and renamed["diff"]["after"]["hostname"] == "two"
    assert renamed["sandbox"]["supervisor"]["pid"] != first["sandbox"]["supervisor"]["pid"]
    assert exited(first["sandbox"]["supervisor"]["pid"])
    assert nsenter(name, "hostname", types=("uts",)).stdout.strip() == "two"


def test_check_mode_creates_nothing_and_absent_leaves_nothing(names):
    name = names()
    predicted = run_module("sandbox", dict(name=name), check=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["diff"] == {"before": {"state": "absent"},
                                 "after": dict(predicted["sandbox"]["spec"], state="present", health="alive")}
    assert not (STATE_DIR / name).exists()

    made = sandbox(name)["sandbox"]
    pid = made["supervisor"]["pid"]
    ns = made["namespaces"]["pid"]
    child = nsenter(name, "sh", "-c", "sleep 300 >/dev/null 2>&1 &")
    assert child.returncode == 0
    assert wait_for(lambda: len(processes_in_ns(ns)) == 2, 5)

    assert run_module("sandbox", dict(name=name, state="absent"), check=True)["changed"] is True
    assert psutil.pid_exists(pid) and (STATE_DIR / name).exists()

    removed = sandbox(name, state="absent")
    assert removed["changed"] is True and removed["removed"] == [name]
    assert live_processes_in_ns(ns) == []
    assert exited(pid)
    assert mounts_under(STATE_DIR / name) == []
    assert not (STATE_DIR / name).exists()
    assert sandbox(name, state="absent")["changed"] is False


def test_nested_sandbox_is_one_level_deeper_and_dies_with_its_parent(names):
    outer, inner = names("outer"), names("inner")
    top = sandbox_main(outer)["sandbox"]
    nested = sandbox_main(inner, parent=outer, namespaces=["pid", "mnt", "uts", "ipc", "net"])["sandbox"]
    assert nested["level"] == top["level"] + 1 == 2
    assert lsns_parents()[nested["namespaces"]["pid"]] == top["namespaces"]["pid"]
    # The parent sees the nested supervisor (its PID there is not 1); the nested one sees only itself.
    seen_by_parent = nsenter(outer, "ps", "-e", "-o", "comm=").stdout.split()
    assert ("pidns:" + inner)[:15] in seen_by_parent
    seen_inside = nsenter(inner, "ps", "-e", "-o", "pid=,comm=").stdout.split()
    assert seen_inside[:2] == ["1", ("pidns:" + inner)[:15]] and len(seen_inside) == 4
    assert psutil.Process(nested["supervisor"]["pid"]).ppid() == top["supervisor"]["pid"]
    links = nsenter(inner, "ip", "-o", "link", types=("net",)).stdout
    assert len(links.splitlines()) == 1 and "lo:" in links and ",UP," in links

    removed = sandbox_main(outer, state="absent")
    assert removed["removed"] == [inner, outer]
    for record in (top, nested):
        assert live_processes_in_ns(record["namespaces"]["pid"]) == []
        assert not (STATE_DIR / record["name"]).exists()


def test_orphans_are_reaped_by_the_supervisor(names):
    name = names()
    made = sandbox_main(name)["sandbox"]
    ns = made["namespaces"]["pid"]
    spawn = nsenter(name, "bash", "-c",
                    "for i in $(seq 50); do sleep 0.$((RANDOM % 9 + 1)) & done; exit 0")
    assert spawn.returncode == 0
    # The sleeps were orphaned when bash exited; PID 1 must have adopted them.
    supervisor = psutil.Process(made["supervisor"]["pid"])
    leftovers = wait_for(lambda: [p for p in processes_in_ns(ns) if p.pid != supervisor.pid] == [], 10)
    assert leftovers, "processes still in the sandbox: %s" % [
        (p.pid, p.status()) for p in processes_in_ns(ns) if p.pid != supervisor.pid]
    assert supervisor.status() == psutil.STATUS_SLEEPING


def test_sigterm_stops_every_process_within_stop_timeout(names):
    name = names()
    made = sandbox_main(name, stop_timeout=2)["sandbox"]
    ns = made["namespaces"]["pid"]
    nsenter(name, "sh", "-c", "sleep 600 >/dev/null 2>&1 & sleep 600 >/dev/null 2>&1 &")
    nsenter(name, "bash", "-c", "trap '' TERM; exec -a stubborn sleep 600 >/dev/null 2>&1 &")
    assert wait_for(lambda: len(processes_in_ns(ns)) == 4, 5)
    os.kill(made["supervisor"]["pid"], signal.SIGTERM)
    # stop_timeout (2 s) of grace for the stubborn one, then SIGKILL: all gone within 3 s.
    assert wait_for(lambda: live_processes_in_ns(ns) == [], 3), [p.info for p in live_processes_in_ns(ns)]
    log = (STATE_DIR / name / "supervisor.log").read_text()
    assert "grace period of 2.0s over" in log


def test_killed_supervisor_is_broken_then_recreated_then_cleaned(names):
    name = names()
    made = sandbox_main(name)["sandbox"]
    os.kill(made["supervisor"]["pid"], signal.SIGKILL)
    assert wait_for(lambda: exited(made["supervisor"]["pid"]), 5)

    seen = run_module("sandbox", dict(name=name), check=True, diff=True)
    assert seen["diff"]["before"]["health"] == "broken"
    assert any("supervisor" in why and "is gone" in why for why in seen["recreated_because"])
    assert state_of(name)["supervisor"] == made["supervisor"], "check mode changed nothing"

    back = sandbox_main(name)
    assert back["changed"] is True and back["sandbox"]["health"] == "alive"
    assert back["sandbox"]["supervisor"]["pid"] != made["supervisor"]["pid"]
    assert nsenter(name, "true").returncode == 0

    os.kill(back["sandbox"]["supervisor"]["pid"], signal.SIGKILL)
    wait_for(lambda: exited(back["sandbox"]["supervisor"]["pid"]), 5)
    gone = sandbox_main(name, state="absent")
    assert gone["changed"] is True
    assert not (STATE_DIR / name).exists() and mounts_under(STATE_DIR / name) == []


def test_stale_handles_as_after_a_reboot_are_broken_and_recreated(names):
    name = names()
    made = sandbox_main(name)["sandbox"]
    # What a reboot leaves on a /run that is not a tmpfs: the folder, no mounts, no supervisor.
    os.kill(made["supervisor"]["pid"], signal.SIGKILL)
    for path in made["handles"].values():
        subprocess.run(["umount", path], check=True)
    back = sandbox_main(name)
    assert back["changed"] is True
    assert "namespace handle(s) not mounted: ipc, mnt, pid, uts" in back["recreated_because"]
    assert_nsfs_handles(back["sandbox"])


@pytest.mark.parametrize("options, message", [
    ({"name": "../x"}, "name: '../x' is not a valid sandbox name"),
    ({"name": "a/b"}, "name: 'a/b' is not a valid sandbox name"),
    ({"name": "."}, "name: '.' is not a valid sandbox name"),
    ({"name": ""}, "name: '' is not a valid sandbox name"),
    ({"name": "x" * 65}, "is not a valid sandbox name"),
    ({"name": "ok-name", "namespaces": ["pid", "bogus"]}, "namespaces"),
    ({"name": "ok-name", "namespaces": ["pid", "mnt"], "hostname": "h"}, "hostname: setting a hostname needs"),
    ({"name": "ok-name", "parent": "no-such-parent-x"}, "parent: sandbox 'no-such-parent-x' does not exist"),
])
def test_bad_input_says_what_is_wrong_and_changes_nothing(options, message):
    # Only paths this test could have made are checked: other runs may share the state directory.
    could_make = {STATE_DIR / options["name"], STATE_DIR / os.path.basename(options["name"])} - {STATE_DIR}
    existed = {path for path in could_make if os.path.lexists(path)}
    result = run_module_main("sandbox", options)
    assert result.get("failed") is True
    assert message in result["msg"]
    if "bogus" in options.get("namespaces", []):
        assert "bogus" in result["msg"]
    assert {path for path in could_make if os.path.lexists(path)} == existed


def test_without_cap_sys_admin_the_message_says_to_use_become(names):
    name = names()
    result = run_module_main("sandbox", {"name": name},
                             prefix=["setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin", "--"])
    assert result.get("failed") is True
    assert "needs root (CAP_SYS_ADMIN)" in result["msg"] and "become: true" in result["msg"]
    assert not (STATE_DIR / name).exists()


def test_concurrent_runs_end_with_exactly_one_sandbox(names):
    name = names()
    results = [None] * 4

    def run(index):
        results[index] = sandbox_main(name, hostname="race")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.get("failed") is not True for r in results), results
    assert [r["changed"] for r in results].count(True) == 1
    pids = {r["sandbox"]["supervisor"]["pid"] for r in results}
    assert len(pids) == 1
    supervisors = [p for p in psutil.process_iter(["name"]) if p.info["name"] == ("pidns:" + name)[:15]]
    assert [p.pid for p in supervisors] == list(pids)
    assert stat.S_IMODE(os.stat(STATE_DIR).st_mode) == 0o700


def test_supervisor_refuses_to_run_unless_it_is_pid_1():
    # Inside a throwaway PID namespace (sh is its PID 1) so a broken guard could only hit that namespace.
    script = STATE_DIR / ".supervisor.py"
    assert script.exists()
    proc = subprocess.run(["unshare", "--pid", "--fork", "--kill-child", "sh", "-c",
                           '"$0" -I -S - guard 1 < "$1"; echo "rc=$?"', sys.executable, str(script)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.stdout.strip() == "rc=2"
    assert "must run as PID 1" in proc.stderr


def test_inside_a_sandbox_the_state_directory_is_empty_and_its_own(names):
    outer, inner = names("own"), names("own-in")
    sandbox_main(outer)
    sandbox_main(inner, parent=outer)
    for name in (outer, inner):
        listing = nsenter(name, "ls", "-A", str(STATE_DIR))
        assert listing.returncode == 0 and listing.stdout == "", (name, listing)
    # The host's view is untouched.
    assert {outer, inner} <= set(os.listdir(STATE_DIR))


def test_check_mode_predicts_a_child_whose_parent_an_earlier_task_would_create(names):
    parent, child = names("pred"), names("pred-in")
    predicted = run_module("sandbox", {"name": child, "parent": parent}, check=True)
    assert predicted["changed"] is True and predicted.get("failed") is not True
    assert predicted["sandbox"]["parent"] == parent
    assert not (STATE_DIR / child).exists() and not (STATE_DIR / parent).exists()
    # Outside check mode the missing parent is an error.
    assert "does not exist on this host" in run_module("sandbox", {"name": child, "parent": parent})["msg"]


def test_creating_from_a_mount_namespace_that_is_not_the_initial_one(tmp_path):
    # Since Linux 6.18 namespace ids come from per-CPU batches: from a non-initial mount namespace
    # the kernel refuses about half of the new mount namespaces' handles unless creation retries
    # on the CPU that hands out newer ids (and then unpins the supervisor).
    root = "/run/linuxns-pidns-test-%d" % os.getpid()
    script = Path(__file__).parent / "scripts" / "create_from_own_mount_ns.py"
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, str(script),
                           str(COLLECTIONS), root, "8"], capture_output=True, text=True, timeout=300, check=False)
    try:
        assert proc.returncode == 0, proc.stderr
        outcome = json.loads(proc.stdout.strip().splitlines()[-1])
        assert outcome["errors"] == [] and outcome["created"] == 8
        assert all(cpus == outcome["allowed"] for cpus in outcome["affinities"])
        assert outcome["left"] == [".lock", ".supervisor.py"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def sandboxes(entries, **kwargs):
    return run_module("sandbox", {"sandboxes": entries}, **kwargs)


def sandboxes_main(entries):
    """A list outside check and diff mode, through the module's own main() (sandbox_main above)."""
    return run_module_main("sandbox", {"sandboxes": entries})


def test_a_list_in_one_run_parents_first_then_unchanged_then_removed_nested_first(names):
    top, child, grandchild = names("lst"), names("lstc"), names("lstg")
    # Listed children first: the module puts parents first.
    entries = [{"name": grandchild, "parent": child}, {"name": child, "parent": top}, {"name": top}]
    predicted = sandboxes(entries, check=True, diff=True)
    assert predicted["changed"] is True and not predicted["failed"]
    assert [r["name"] for r in predicted["results"]] == [grandchild, child, top]
    assert all(r["sandbox"]["health"] == "alive" for r in predicted["results"])
    assert [d["before_header"] for d in predicted["diff"]] == [top, child, grandchild]
    assert all(state_of(name) is None for name in (top, child, grandchild)), "check mode made something"

    made = sandboxes(entries, diff=True)
    assert made["changed"] is True and not made["failed"], made
    levels = {r["name"]: r["sandbox"]["level"] for r in made["results"]}
    assert levels == {top: 1, child: 2, grandchild: 3}
    parents = lsns_parents()
    by_name = {r["name"]: r["sandbox"]["namespaces"]["pid"] for r in made["results"]}
    assert parents[by_name[grandchild]] == by_name[child] and parents[by_name[child]] == by_name[top]

    again = sandboxes(entries, diff=True)
    assert again["changed"] is False and [r["changed"] for r in again["results"]] == [False] * 3
    assert all(d["before"] == d["after"] for d in again["diff"])

    supervisors = {name: state_of(name)["supervisor"]["pid"] for name in (top, child, grandchild)}
    gone = sandboxes_main([{"name": top, "state": "absent"},
                           {"name": grandchild, "state": "absent", "parent": child},
                           {"name": child, "state": "absent", "parent": top}])
    assert gone["changed"] is True
    # Nested ones first: each removal took only itself.
    assert {r["name"]: r["removed"] for r in gone["results"]} == {top: [top], child: [child], grandchild: [grandchild]}
    for name, pid in supervisors.items():
        assert state_of(name) is None
        assert wait_for(lambda pid=pid: exited(pid), 20)


def test_a_list_with_one_bad_entry_changes_nothing_and_names_the_entry(names):
    good, bad = names("lbad"), names("lbad")
    for entry, words in (({"name": bad, "namespaces": ["mnt"]}, "'pid' is required"),
                         ({"name": bad, "stop_timeout": "nan"}, "stop_timeout"),
                         ({"name": bad, "parent": "no-such-" + bad}, "neither listed"),
                         ({"name": good}, "listed more than once")):
        result = sandboxes_main([{"name": good}, entry])
        assert result["failed"], result
        assert result["msg"].startswith("sandboxes[1] (name %s): " % entry["name"]), result["msg"]
        assert words in result["msg"], result["msg"]
        assert "Traceback" not in str(result.get("exception", "")), "an error the module did not handle"
        assert state_of(good) is None and state_of(bad) is None


def test_a_list_recreates_a_child_that_died_with_its_recreated_parent_in_check_mode_too(names):
    top, child = names("lrc"), names("lrcc")
    assert not sandboxes_main([{"name": top}, {"name": child, "parent": top}])["failed"]
    entries = [{"name": top, "hostname": "changed"}, {"name": child, "parent": top}]
    predicted = sandboxes(entries, check=True)
    assert [(r["name"], r["changed"]) for r in predicted["results"]] == [(top, True), (child, True)]
    done = sandboxes_main(entries)
    assert [(r["name"], r["changed"]) for r in done["results"]] == [(top, True), (child, True)]
    assert done["results"][0]["recreated_because"] == ["hostname"]
    assert state_of(child) is not None and nsenter(child, "true").returncode == 0
