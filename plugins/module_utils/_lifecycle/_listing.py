# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sandbox_info module's job: the sandboxes on a host with their health and processes; and
sandbox_logs': the last lines a workload wrote."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._init import _workloads
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _procfs
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel._process import pids_in
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._records import inspect_sandbox, public_view
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import validate_name
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._statedir import HostView, StateDir


def run(params, check_mode=False, state_dir=None):
    """The module result: {"changed": False, "sandboxes": [...]}."""
    state_dir = state_dir or StateDir()
    try:
        sandboxes = describe(state_dir, params.get("name"), params.get("processes", False))
    except PermissionError:
        raise SandboxError("reading the sandboxes' state in %s needs root; run the task with become: true"
                           % state_dir.root)
    return {"changed": False, "sandboxes": sandboxes}


def _processes_by_namespace(proc_root, namespaces, with_details):
    """{pid ns inode: [process]} for the given namespaces."""
    found = dict((ns, []) for ns in namespaces)
    for pid, ns in pids_in(proc_root, found):
        fields = _procfs.read_status_fields(proc_root, pid)
        if fields is None:
            continue
        comm, state, ppid, nspid = fields
        process = {"pid": pid, "nspid": nspid, "ppid": ppid, "state": state, "comm": comm}
        if with_details:
            process["cmdline"] = _procfs.read_cmdline(proc_root, pid) or []
            process["command"] = " ".join(process["cmdline"]) or "[%s]" % comm
        found[ns].append(process)
    return found


def describe(state_dir, name=None, processes=False):
    """The sandboxes on this host (or the one named) with health and process counts."""
    if not state_dir.exists():
        return []
    if name is not None:
        validate_name(name)
    state_dir.lock(shared=True)
    try:
        view = HostView(state_dir)
        records = [inspect_sandbox(view, entry) for entry in ([name] if name else state_dir.names())]
    finally:
        state_dir.unlock()
    records = [record for record in records if record is not None]
    alive_ns = [r["namespaces"]["pid"] for r in records if r["health"] == "alive"]
    scanned = _processes_by_namespace(state_dir.proc_root, alive_ns, processes)
    listed = []
    for record in records:
        entry = public_view(record)
        entry["alive"] = record["health"] == "alive"
        members = scanned.get(record["namespaces"]["pid"], []) if entry["alive"] else []
        entry["nprocs"] = len(members)
        entry["cgroup_usage"] = None
        if entry["alive"]:
            entry["cgroup_usage"], problem = cgroup_usage(record)
            entry["cgroup_problem"] = entry["cgroup_problem"] or problem
        entry["zombies"] = sum(1 for member in members if member["state"] == "Z")
        entry["rootfs"] = rootfs_report(record)
        if processes:
            depth = record.get("level") or 0
            # host PID -> PID inside this sandbox's namespace
            ns_pid_of = dict((m["pid"], m["nspid"][depth] if len(m["nspid"]) > depth else None)
                             for m in members)
            entry["processes"] = [{
                "pid": m["pid"],
                "ns_pid": ns_pid_of[m["pid"]],
                "ppid": m["ppid"],
                "ns_ppid": ns_pid_of.get(m["ppid"], 0),
                "state": m["state"],
                "comm": m["comm"],
                "command": m["command"],
                "cmdline": m["cmdline"],
            } for m in sorted(members, key=lambda m: m["pid"])]
        listed.append(entry)
    return listed


def cgroup_usage(record):
    """(usage, problem) of an alive sandbox's cgroup: usage as sandbox_info returns it (None without
    a cgroup), and why it has none when the record does not say already."""
    cgroup = record.get("_cgroup")
    state = record.get("_state") or {}
    if cgroup is None:
        if state.get("cgroup") is None and "cgroup_problem" not in state:
            return None, "it was created before sandboxes had cgroups (recreate it to get one)"
        return None, None
    if not cgroup.exists():
        return None, "its cgroup %s is gone (removed by hand?)" % ("/" + cgroup.relative)
    usage = cgroup.usage()
    usage.pop("paused", None)  # the entry's own `paused`
    return usage, None


def rootfs_report(record):
    """The sandbox's root (see _rootfs.describe) with the disk use of its upper layers in bytes
    (`upper_bytes`; null unless it is a persistent overlay whose layers are on the host)."""
    from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _rootfs
    rootfs = record.get("rootfs")
    if rootfs is None:
        return None
    return dict(rootfs, upper_bytes=_rootfs.disk_usage(rootfs["upper"]) if rootfs.get("upper") else None)


MAX_TAIL = 100000


def run_logs(params, check_mode=False, state_dir=None):
    """The sandbox_logs module's job: the last lines of a workload's output."""
    state_dir = state_dir or StateDir()
    name = validate_name(params["sandbox"], "sandbox")
    workload = params["workload"]
    lines = params.get("tail")
    lines = 100 if lines is None else lines
    if isinstance(lines, bool) or not isinstance(lines, int) or not 0 <= lines <= MAX_TAIL:
        raise SandboxError("tail: a number of lines from 0 to %d, got %r" % (MAX_TAIL, lines))
    try:
        state = state_dir.read_state(name) if state_dir.exists() else None
    except PermissionError:
        raise SandboxError("reading the sandboxes' state in %s needs root; run the task with become: true"
                           % state_dir.root)
    if state is None:
        raise SandboxError("sandbox: there is no sandbox %r on this host" % name)
    declared = [entry["name"] for entry in state["spec"].get("workloads") or []]
    if workload not in declared:
        raise SandboxError("workload: sandbox %s has no workload %r (it has: %s)"
                           % (name, workload, ", ".join(declared) or "none"))
    folder = state_dir.path(name)
    return {"changed": False, "lines": _workloads.tail(folder, workload, lines),
            "log": _workloads.log_path(folder, workload)}
