# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""sandbox_info's cgroup reporting (issue 11), the module run as its own process, checked against the cgroup
files themselves (the oracle: cgroup.procs, memory.*, cpu.stat/cpuacct.usage, freezer.state,
/proc/PID/cgroup), and pidns_facts' recognition of this collection's cgroup layout.

This host is hybrid: v1 pids/memory/cpu/cpuacct/freezer hierarchies, v2 without controllers. So
the memory figures come from v1; CPU time from v2's cpu.stat (kept without a controller).
"""

from __future__ import annotations

import os
import signal
import sys

import psutil
import pytest

from ansible_cli import COLLECTIONS, run_module_main
from sandboxes import exited, make_sandbox, state_of, wait_for

sys.path.insert(0, str(COLLECTIONS))
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _listing  # noqa: E402


def cgroup_mounts():
    """{"v2": mount point, controller: mount point} from /proc/self/mountinfo."""
    found = {}
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            tail = fields[fields.index("-") + 1:]
            fstype, options = tail[0], tail[2].split(",") + fields[5].split(",")
            if fstype == "cgroup2":
                found.setdefault("v2", fields[4])
            elif fstype == "cgroup":
                for controller in ("pids", "memory", "cpu", "cpuacct", "freezer"):
                    if controller in options:
                        found.setdefault(controller, fields[4])
    return found


MOUNTS = cgroup_mounts()
needs_v1_memory = pytest.mark.skipif("memory" not in MOUNTS, reason="no cgroup v1 memory hierarchy here")


def info(name):
    result = run_module_main("sandbox_info", {"name": name})
    assert not result["failed"], result
    assert [entry["name"] for entry in result["sandboxes"]] == [name]
    return result["sandboxes"][0]


def sx(name, **options):
    result = run_module_main("sandbox_exec", dict(sandbox=name, **options))
    assert not result["failed"], result
    return result


def read(path):
    with open(path) as handle:
        return handle.read()


def procs_below(directory):
    """PIDs in cgroup.procs of `directory` and every cgroup below it."""
    found = set()
    for folder, _subdirs, files in os.walk(directory):
        if "cgroup.procs" in files:
            found.update(int(pid) for pid in read(os.path.join(folder, "cgroup.procs")).split())
    return found


def keyed(path):
    return dict((key, int(value)) for key, value in (line.split() for line in read(path).splitlines()))


def cpu_seconds_oracle(paths):
    if "v2" in paths and os.path.exists(os.path.join(paths["v2"], "cpu.stat")):
        return keyed(os.path.join(paths["v2"], "cpu.stat"))["usage_usec"] / 1e6
    return int(read(os.path.join(paths["cpuacct"], "cpuacct.usage"))) / 1e9


def v1_oom_kills(directory):
    return sum(keyed(os.path.join(folder, "memory.oom_control")).get("oom_kill", 0)
               for folder, _subdirs, files in os.walk(directory) if "memory.oom_control" in files)


@pytest.fixture
def make(names):
    """make(**options): a new sandbox's result; removed afterwards with state=absent (so that its
    cgroup goes too), then by the names fixture's force_remove if that failed."""
    made = []

    def create(**options):
        name = names("inf")
        made.append(name)
        result = make_sandbox(name, **options)  # the subject here is sandbox_info
        assert result["changed"] and not result["failed"], result
        return result["sandbox"]

    yield create
    for name in reversed(made):
        if state_of(name) is not None:
            make_sandbox(name, state="absent")


@pytest.fixture
def box(make):
    return make(pids_limit=100, memory="64M")


def test_cgroup_paths_limits_and_pids_match_the_cgroup_files(box):
    name = box["name"]
    workload = sx(name, argv=["sleep", "300"], detach=True)
    entry = info(name)
    assert entry["alive"] and entry["cgroup_problem"] is None and entry["paused"] is False
    cgroup = entry["cgroup"]
    # Where PID 1 really is, as the kernel tells it: <path>/_supervisor in every hierarchy we use.
    supervisor = entry["supervisor"]["pid"]
    lines = [line.split(":", 2) for line in read("/proc/%d/cgroup" % supervisor).splitlines()]
    for _hier, controllers, path in lines:
        if controllers == "" or set(controllers.split(",")) & {"pids", "memory", "cpu", "cpuacct", "freezer"}:
            assert path == cgroup["path"] + "/_supervisor", lines
    # One path per hierarchy this host has, each the mount point plus the cgroup's path.
    assert set(cgroup["paths"]) == set(MOUNTS)
    for key, directory in cgroup["paths"].items():
        assert directory == MOUNTS[key] + cgroup["path"] and os.path.isdir(directory)

    assert entry["limits"]["pids_limit"] == 100 and entry["limits"]["memory"] == 64 * 1024 * 1024
    if "pids" in MOUNTS:
        assert read(os.path.join(cgroup["paths"]["pids"], "pids.max")).strip() == "100"
    if "memory" in MOUNTS:
        assert int(read(os.path.join(cgroup["paths"]["memory"], "memory.limit_in_bytes"))) == 64 * 1024 * 1024

    usage = entry["cgroup_usage"]
    assert set(usage) == {"pids", "memory_current", "memory_peak", "oom_kills", "cpu_seconds"}
    # Nothing starts or ends in the sandbox meanwhile: the counts are exact.
    members = procs_below(cgroup["paths"]["v2"] if "v2" in cgroup["paths"] else cgroup["paths"]["pids"])
    assert members == {supervisor, workload["pid"]}
    assert usage["pids"] == len(members) == entry["nprocs"] == 2
    if "pids" in MOUNTS:
        assert procs_below(cgroup["paths"]["pids"]) == members
        assert usage["pids"] <= int(read(os.path.join(cgroup["paths"]["pids"], "pids.current")))
    assert usage["oom_kills"] == 0
    assert 0 < usage["memory_current"] <= usage["memory_peak"] <= 64 * 1024 * 1024
    assert isinstance(usage["cpu_seconds"], float) and usage["cpu_seconds"] > 0


@needs_v1_memory
def test_memory_figures_are_the_v1_memory_files(box):
    name = box["name"]
    directory = info(name)["cgroup"]["paths"]["memory"]
    peak_before = int(read(os.path.join(directory, "memory.max_usage_in_bytes")))
    # 16 MiB held in a pipe-fed tail, then released: the peak rises, current falls back.
    sx(name, argv=["sh", "-c", "head -c 16M /dev/zero | tail -n 1 >/dev/null"])
    peak_after = int(read(os.path.join(directory, "memory.max_usage_in_bytes")))
    usage = info(name)["cgroup_usage"]
    peak_later = int(read(os.path.join(directory, "memory.max_usage_in_bytes")))
    assert peak_before < peak_after <= usage["memory_peak"] <= peak_later
    assert usage["memory_peak"] >= 16 * 1024 * 1024
    assert 0 < usage["memory_current"] <= usage["memory_peak"]


def test_cpu_seconds_grow_with_a_busy_command_as_the_cgroup_counts_them(box):
    name = box["name"]
    paths = info(name)["cgroup"]["paths"]
    before = info(name)["cgroup_usage"]["cpu_seconds"]
    oracle_before = cpu_seconds_oracle(paths)
    # A busy shell loop (about a second of CPU here) that prints its own utime and stime in ticks.
    busy = sx(name, argv=["sh", "-c", "i=0; while [ $i -lt 1000000 ]; do i=$((i+1)); done; "
                                      "cut -d' ' -f14,15 /proc/$$/stat"], timeout=60)
    assert busy["rc"] == 0
    own = sum(int(ticks) for ticks in busy["stdout"].split()) / os.sysconf("SC_CLK_TCK")
    assert own > 0.1, busy
    oracle_mid = cpu_seconds_oracle(paths)
    after = info(name)["cgroup_usage"]["cpu_seconds"]
    oracle_after = cpu_seconds_oracle(paths)
    assert before <= oracle_before <= oracle_mid <= after <= oracle_after
    # The command's own cgroup is gone by now: its CPU time stays counted in the sandbox's.
    assert after - before >= own - 0.05, (before, after, own)
    if "cpuacct" in paths:  # v1 counts the same time (nanoseconds, hierarchical)
        v1 = int(read(os.path.join(paths["cpuacct"], "cpuacct.usage"))) / 1e9
        assert v1 >= oracle_mid - before - 0.5


@needs_v1_memory
def test_an_oom_kill_is_counted(make):
    name = make(memory="16M")["name"]
    # A detached workload lives in the long-lived _workloads cgroup: tail holds 64 MiB > 16 MiB.
    hog = sx(name, argv=["sh", "-c", "head -c 64M /dev/zero | tail -n 1 >/dev/null"], detach=True)
    assert wait_for(lambda: exited(hog["pid"]), 30)
    entry = info(name)
    directory = entry["cgroup"]["paths"]["memory"]
    oracle = v1_oom_kills(directory)
    assert oracle >= 1
    assert entry["cgroup_usage"]["oom_kills"] == oracle
    # The supervisor survives it.
    assert entry["alive"] and psutil.Process(entry["supervisor"]["pid"]).is_running()


def test_paused_is_what_the_freezer_says(make):
    name = make(paused=True)["name"]
    entry = info(name)
    paths = entry["cgroup"]["paths"]
    if "v2" in paths and os.path.exists(os.path.join(paths["v2"], "cgroup.freeze")):
        assert keyed(os.path.join(paths["v2"], "cgroup.events"))["frozen"] == 1
    else:
        assert read(os.path.join(paths["freezer"], "freezer.state")).strip() == "FROZEN"
    assert entry["paused"] is True and entry["cgroup_usage"]["pids"] == 1
    assert psutil.Process(entry["supervisor"]["pid"]).status() in (psutil.STATUS_STOPPED, "frozen",
                                                                   psutil.STATUS_SLEEPING, "D")
    thawed = run_module_main("sandbox", {"name": name, "paused": False})
    assert not thawed["failed"], thawed
    assert info(name)["paused"] is False


def test_a_broken_sandbox_has_no_usage_and_removal_leaves_no_cgroup(make):
    made = make()
    name, paths = made["name"], made["cgroup"]["paths"]
    supervisor = made["supervisor"]["pid"]
    os.kill(supervisor, signal.SIGKILL)  # by PID, just made by this test
    assert wait_for(lambda: exited(supervisor), 10)
    entry = info(name)
    assert not entry["alive"] and entry["cgroup_usage"] is None
    assert entry["cgroup"]["paths"] == paths
    assert run_module_main("sandbox", {"name": name, "state": "absent"})["changed"]
    assert state_of(name) is None
    assert not any(os.path.exists(directory) for directory in paths.values())


def test_pidns_facts_knows_a_sandbox_by_its_cgroup_without_its_handle(box, tmp_path):
    """With a state_dir that holds no handle, the owner still comes from PID 1's cgroup path."""
    ns = box["namespaces"]["pid"]
    for state_dir in ("/run/linuxns-pidns", str(tmp_path)):
        result = run_module_main("pidns_facts", {"state_dir": state_dir})
        assert not result["failed"], result
        entry = [e for e in result["ansible_facts"]["pidns"]["namespaces"] if e["id"] == ns][0]
        assert entry["owner"]["type"] == "sandbox" and entry["owner"]["name"] == box["name"]
        if state_dir != "/run/linuxns-pidns":
            assert entry["owner"]["cgroup"] == box["cgroup"]["path"] + "/_supervisor"


def test_pidns_facts_knows_a_nested_sandbox_by_its_cgroup(make, tmp_path):
    outer = make()["name"]
    inner = make(parent=outer)
    assert inner["cgroup"]["path"].endswith("/%s/%s" % (outer, inner["name"]))
    result = run_module_main("pidns_facts", {"state_dir": str(tmp_path)})
    owners = dict((e["id"], e["owner"]) for e in result["ansible_facts"]["pidns"]["namespaces"])
    assert owners[inner["namespaces"]["pid"]]["name"] == inner["name"]


def test_why_a_sandbox_has_no_cgroup():
    made_before_cgroups = {"_cgroup": None, "_state": {"spec": {}}}
    assert _listing.cgroup_usage(made_before_cgroups) == (
        None, "it was created before sandboxes had cgroups (recreate it to get one)")
    # Made where the host offered none: the record already says why.
    no_hierarchy = {"_cgroup": None, "_state": {"cgroup": None, "cgroup_problem": "not writable"}}
    assert _listing.cgroup_usage(no_hierarchy) == (None, None)
