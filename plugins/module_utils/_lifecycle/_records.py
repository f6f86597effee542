# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A sandbox as the host shows it: its record (state file, handles, supervisor) and its problems.

Also the one /proc pass that finds the processes of given PID namespaces (sandbox_info, and
sandbox_exec's timeout kill)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.linuxns.pidns.plugins.module_utils._init import _workloads
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _cgroup
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _procfs
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _rootfs
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel._process import pids_in
from ansible_collections.linuxns.pidns.plugins.module_utils._network import _config as _network_config
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import HELD_NAMESPACE_TYPES, NO_LIMITS


def problems_of(state, handles, supervisor_stat, boot_id, supervisor_pid_ns, supervisor_oom_kills=None):
    """Judge a sandbox from what the host shows; return its problems (empty: alive).

    handles: {type: inode} of the nsfs mounts found at its handle paths.
    supervisor_stat: parsed /proc/PID/stat of the recorded supervisor PID, or None.
    supervisor_pid_ns: inode of that process's PID namespace, or None.
    supervisor_oom_kills: OOM kills its cgroup counted in the supervisor's leaf, or None.
    """
    problems = []
    if state.get("boot_id") != boot_id:
        problems.append("the host rebooted since it was created: its namespaces are gone")
    missing = sorted(ns for ns, inode in state["namespaces"].items() if handles.get(ns) != inode)
    if missing:
        problems.append("namespace handle(s) not mounted: %s" % ", ".join(missing))
    supervisor = state["supervisor"]
    if supervisor_stat is None or supervisor_stat["state"] in ("Z", "X"):
        problems.append("its supervisor (host PID %d) is gone: the kernel refuses new processes in a PID "
                        "namespace whose PID 1 died" % supervisor["pid"])
        if supervisor_oom_kills:
            memory = (state["spec"].get("limits") or {}).get("memory")
            problems.append("the OOM killer killed its supervisor: %s was reached"
                            % ("its memory limit (%d bytes)" % memory if memory else "a memory limit above it"))
    elif (supervisor_stat["start_time"] != supervisor["start_time"]
          or supervisor_pid_ns != state["namespaces"].get("pid")):
        problems.append("its supervisor (host PID %d) is gone and the PID now belongs to another process"
                        % supervisor["pid"])
    return problems


def inspect_sandbox(view, name):
    """A sandbox as found on the host, or None if there is no folder for it.

    Returns a dict with the public keys (see the module's RETURN) plus `_state`.
    """
    state_dir = view.state_dir
    if not os.path.isdir(state_dir.path(name)):
        return None
    state = state_dir.read_state(name)
    if state is None:
        # What still pins it tells what may still run: a mounted PID-namespace handle leads to
        # its PID 1 (_stop.destroy finds and stops it).
        held = {}
        for ns_type in HELD_NAMESPACE_TYPES:
            found = view.handles.get(state_dir.handle_path(name, ns_type))
            if found and found[0] == ns_type:
                held[ns_type] = found[1]
        problems = ["its state file is missing or unreadable (an interrupted creation, or a damaged file)"]
        if "pid" in held:
            problems.append("its PID namespace is still held by a handle: state=absent stops what runs in it")
        cgroup = _cgroup.find_by_name(view.hierarchies, name, view.cgroup_base) if not view.hierarchies.problem else None
        if cgroup is not None:
            problems.append("its cgroup %s is still there: state=absent kills what runs in it" % cgroup.relative)
        return {"name": name, "state": "present", "health": "broken", "problems": problems,
                "spec": None, "supervisor": None, "namespaces": held,
                "handles": dict((ns, state_dir.handle_path(name, ns)) for ns in held), "hostname": None,
                "parent": None, "level": None, "created": None, "cgroup": _public_cgroup(cgroup),
                "cgroup_problem": view.hierarchies.problem, "limits": None, "paused": None, "rootfs": None,
                "userns": None, "network": None, "workloads": [], "_state": None, "_cgroup": cgroup}
    mounted = {}
    for ns_type in state["namespaces"]:
        found = view.handles.get(state_dir.handle_path(name, ns_type))
        if found and found[0] == ns_type:
            mounted[ns_type] = found[1]
    pid = state["supervisor"]["pid"]
    supervisor_stat = _procfs.read_stat(state_dir.proc_root, pid)
    cgroup = cgroup_of(view, state)
    oom_kills = None
    if supervisor_stat is None and cgroup is not None and cgroup.exists():
        oom_kills = cgroup.oom_kills_in(_cgroup.SUPERVISOR_LEAF)
    problems = problems_of(state, mounted, supervisor_stat, view.boot_id,
                           _procfs.ns_link_inode(state_dir.proc_root, pid, "pid"), oom_kills)
    paused = bool(cgroup.frozen()) if cgroup is not None else False
    # Frozen or not as the cgroup says now (someone may have thawed it by hand).
    spec = dict(state["spec"], paused=paused)
    return {
        "name": name,
        "state": "present",
        "health": "broken" if problems else "alive",
        "problems": problems,
        "spec": spec,
        "supervisor": dict(state["supervisor"]),
        "namespaces": dict(state["namespaces"]),
        "handles": dict((ns, state_dir.handle_path(name, ns)) for ns in state["namespaces"]),
        "hostname": spec.get("hostname"),
        "parent": spec.get("parent"),
        "level": state.get("level"),
        "created": state.get("created"),
        "cgroup": _public_cgroup(cgroup),
        "cgroup_problem": state.get("cgroup_problem") if cgroup is None else None,
        "limits": dict(spec.get("limits") or NO_LIMITS),
        "paused": paused,
        "rootfs": _rootfs.describe(spec, name),
        "userns": dict(state["userns"]) if state.get("userns") else None,
        "network": network_view(spec, state.get("network")),
        "workloads": workloads_view(state_dir, name, spec, pid if supervisor_stat else None),
        "_state": state,
        "_cgroup": cgroup,
    }


def workloads_view(state_dir, name, spec, supervisor_pid):
    """Each declared workload as PID 1 last reported it, with its host PID where it runs."""
    folder = state_dir.path(name)
    status = _workloads.read_status(folder)
    host_pids = {}
    if supervisor_pid is not None and any(entry.get("pid") for entry in status.values()):
        for child in _procfs.children(state_dir.proc_root, supervisor_pid):
            chain = _procfs.nspid_chain(_procfs.read_status(state_dir.proc_root, child) or {})
            if chain:
                host_pids[chain[-1]] = child
    views = []
    for declared in spec.get("workloads") or []:
        seen = status.get(declared["name"]) or {"state": "starting"}
        views.append({
            "name": declared["name"], "state": seen.get("state"), "pid": seen.get("pid"),
            "host_pid": host_pids.get(seen.get("pid")), "restart_count": seen.get("restart_count") or 0,
            "exit_code": seen.get("exit_code"), "exit_signal": seen.get("exit_signal"),
            "started": seen.get("started"), "finished": seen.get("finished"),
            "restart": declared["restart"] + (":%d" % declared["max_retries"] if declared["max_retries"] else ""),
            "log": _workloads.log_path(folder, declared["name"]),
        })
    return views


def network_view(spec, network):
    """The public `network`: the mode, and for a bridged sandbox where it is on the bridge."""
    view = {"mode": _network_config.network_mode(spec)}
    if spec.get("network"):
        view.update(bridge=spec["network"]["bridge"], dns_servers=list(spec["network"]["dns_servers"]),
                    published_ports=[dict(port) for port in spec.get("published_ports") or []],
                    subnet=None, gateway=None, address=None, interface=None)
        if network:
            view.update(subnet=network["subnet"], gateway=network["gateway"], address=network["address"],
                        interface=network["veth"])
    return view


def cgroup_of(view, state):
    """The SandboxCgroup a state file records, or None (made before cgroups, or where the host
    offered none)."""
    recorded = state.get("cgroup")
    if not recorded or view.hierarchies.problem:
        return None
    return _cgroup.SandboxCgroup(view.hierarchies, recorded["relative"])


def _public_cgroup(cgroup):
    return None if cgroup is None else {"path": "/" + cgroup.relative, "paths": cgroup.paths()}


def public_view(record):
    """The record as returned to the user."""
    return dict((key, value) for key, value in record.items() if not key.startswith("_"))


def dependents(view, name):
    """Sandboxes nested (at any depth) under `name`, deepest first."""
    children = {}
    for other in view.state_dir.names():
        state = view.state_dir.read_state(other)
        parent = state["spec"].get("parent") if state else None
        if parent:
            children.setdefault(parent, []).append(other)
    ordered = []

    def visit(node):
        for child in sorted(children.get(node, [])):
            visit(child)
            ordered.append(child)

    visit(name)
    return ordered


def find_init(proc_root, pid_ns):
    """(host PID, start time) of PID 1 of the PID namespace `pid_ns`, or None: the process of that
    namespace whose own PID in it (the last NSpid) is 1."""
    for pid, _ns in pids_in(proc_root, (pid_ns,)):
        status = _procfs.read_status(proc_root, pid)
        stat = _procfs.read_stat(proc_root, pid)
        if status and stat and _procfs.nspid_chain(status)[-1:] == [1]:
            return pid, stat["start_time"]
    return None
