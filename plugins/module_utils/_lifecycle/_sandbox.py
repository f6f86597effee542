# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sandbox module's job: bring one sandbox, or a list of them, to the requested state."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._init import _workloads
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _rootfs
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel._process import signal_verified
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _boot, _decision
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._launch import create
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._records import (
    dependents, inspect_sandbox, network_view, public_view)
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import spec_of_options, validate_name
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._statedir import HostView, StateDir, require_root
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._stop import destroy_all
from ansible_collections.linuxns.pidns.plugins.module_utils._network import _host as _network


class _Entry(object):
    """One sandbox to act on: options, label for messages, wanted spec."""

    __slots__ = ("params", "name", "label", "wanted", "warnings")

    def __init__(self, params, label):
        self.params = params
        self.label = label
        self.name = validate_name(params["name"])
        self.wanted = None
        self.warnings = []
        if params.get("state", "present") == "present":
            self.wanted, self.warnings = spec_of_options(self.name, params)
            # A missing tree or bind source fails before anything is touched.
            _rootfs.check_host(self.wanted)


def run(params, check_mode=False, state_dir=None, run_command=None):
    """The module result (`failed` only if a listed sandbox failed). run_command: for systemd scopes."""
    state_dir = state_dir or StateDir()
    listed = params.get("sandboxes")
    if listed is None:
        entries = [_Entry(params, None)]
    else:
        entries = [_labelled(index, item) for index, item in enumerate(listed)]
    require_root(state_dir.proc_root)
    if not check_mode:
        state_dir.lock()
    try:
        view = HostView(state_dir)
        if listed is None:
            return _apply(view, entries[0], check_mode, {}, run_command)
        return _apply_list(view, entries, check_mode, run_command)
    finally:
        state_dir.unlock()


def _labelled(index, item):
    label = "sandboxes[%d] (name %s)" % (index, item.get("name"))
    try:
        return _Entry(item, label)
    except SandboxError as exc:
        raise SandboxError("%s: %s" % (label, exc))


def _apply_list(view, entries, check_mode, run_command):
    alive = [name for name in view.state_dir.names()
             if (inspect_sandbox(view, name) or {}).get("health") == "alive"]
    problems, removals, creations = _decision.order(
        [{"name": e.name, "present": e.wanted is not None, "parent": e.params.get("parent")}
         for e in entries], alive)
    if problems:
        raise SandboxError("; ".join("%s: %s" % (entries[index].label, message) for index, message in problems))
    results = [None] * len(entries)
    outcome = {"changed": False, "results": results, "warnings": [], "diff": []}
    planned = {}
    for index in removals + creations:
        entry = entries[index]
        try:
            result = _apply(view, entry, check_mode, planned, run_command)
        except (SandboxError, OSError) as exc:
            outcome.update(failed=True, msg="%s: %s" % (entry.label, exc))
            break
        result["name"] = entry.name
        diff = result.pop("diff")
        diff.update(before_header=entry.name, after_header=entry.name)
        outcome["diff"].append(diff)
        outcome["warnings"].extend(result.pop("warnings"))
        outcome["changed"] = outcome["changed"] or result["changed"]
        results[index] = result
    outcome["results"] = [result for result in results if result is not None]
    return outcome


def _apply(view, entry, check_mode, planned, run_command=None):
    """Bring one sandbox to its state. planned: {name: "present"/"absent"} by earlier entries (in check
    mode only predicted: the host does not show them)."""
    name, wanted = entry.name, entry.wanted
    current = None if planned.get(name) == "absent" else inspect_sandbox(view, name)
    result = {"changed": False, "removed": [], "warnings": list(entry.warnings),
              "diff": {"before": _diff_view(current), "after": {"state": "absent"}}}
    parent_record = None
    if wanted is not None and wanted["parent"]:
        parent_record = _parent_record(view, wanted["parent"], check_mode, planned, result["warnings"])
        _check_userns_nesting(wanted, parent_record)
    doomed = dependents(view, name) if current is not None else []
    decision = _decision.decide(name, current, wanted, [d for d in doomed if planned.get(d) != "absent"],
                                entry.params.get("recreate", False))
    if wanted is None:
        result["sandbox"] = {"name": name, "state": "absent"}
        if decision.action == _decision.NOTHING and os.path.lexists(_rootfs.layers_path(name)):
            # Upper layers of a sandbox already gone (with its parent, say).
            result.update(changed=True, removed_layers=[name])
            if not check_mode:
                _rootfs.remove_layers(name)
            return result
    else:
        result["diff"]["after"] = dict(wanted, state="present", health="alive")
    if decision.action == _decision.KEEP:
        result["sandbox"] = public_view(current)
        result["diff"]["after"] = result["diff"]["before"]
        return result
    if not decision.changes:
        return result
    if decision.action == _decision.UPDATE:
        return _update_in_place(view, current, wanted, decision, check_mode, result)
    result.update(changed=True, removed=decision.removes)
    if decision.action == _decision.RECREATE:
        result["recreated_because"] = decision.reasons
        nested = decision.removes[:-1]
        if nested:
            result["warnings"].append(
                "recreating sandbox %s also removed the sandboxes nested in it (%s): their PID namespaces "
                "die with their parent's; create them again" % (name, ", ".join(nested)))
    for doomed_name in decision.removes:
        planned[doomed_name] = "absent"
    if wanted is not None:
        planned[name] = "present"
        if wanted["network"]:
            # Only for a sandbox about to be made: a rerun that keeps it lists no firewall.
            result["warnings"].extend(_network.host_warnings(wanted["network"]))
    if check_mode:
        if wanted is not None:
            problems = view.hierarchies.supports(wanted["limits"])
            if problems:
                raise SandboxError("; ".join(problems))
            result["sandbox"] = _predicted(view.state_dir, name, wanted, parent_record)
        return result
    destroy_all(view, decision.removes)
    for gone in decision.removes:
        if gone != name or wanted is None:
            _boot.forget(gone)
    view.refresh()
    if wanted is None:
        # A recreation keeps the upper layers; absent removes them.
        result["removed_layers"] = [gone for gone in decision.removes if _rootfs.remove_layers(gone)]
    elif entry.params.get("reset_rootfs") or not _rootfs.keeps_layers(wanted):
        _rootfs.remove_layers(name)
    if wanted is not None:
        result["sandbox"] = public_view(create(view, name, wanted, parent_record, run_command=run_command))
        _keep_for_boot(name, wanted)
    return result


def _keep_for_boot(name, spec):
    """restart_on_boot: the spec kept on persistent storage for the boot program, or no record."""
    if spec.get("restart_on_boot"):
        _boot.remember(name, spec)
    else:
        _boot.forget(name)


def _update_in_place(view, current, wanted, decision, check_mode, result):
    """New limits, pause or thaw, published ports, in place: the processes keep running."""
    name = current["name"]
    cgroup = current["_cgroup"]
    needs_cgroup = [reason for reason in decision.reasons if reason in ("limits", "paused")]
    if needs_cgroup and cgroup is None:
        raise SandboxError("%s: sandbox %s has no cgroup (%s); recreate it (recreate: true) to give it one"
                           % ("/".join(needs_cgroup), name,
                              current.get("cgroup_problem") or "it was made before sandboxes had cgroups"))
    problems = view.hierarchies.supports(wanted["limits"]) if needs_cgroup else []
    if problems:
        raise SandboxError("; ".join(problems))
    network = current["_state"].get("network")
    if "published_ports" in decision.reasons:
        netns = _network.netns_id(view.state_dir.proc_root)
        if network["netns"] != netns:
            raise SandboxError("published_ports: sandbox %s was bridged from another network namespace; change "
                               "its ports from there" % name)
        others = _network.bridged_records(view.state_dir, netns, skip=(name,))
        new_ports = [port for port in wanted["published_ports"] if port not in current["spec"]["published_ports"]]
        _network.check_ports(new_ports, others)
    result.update(changed=True, updated=decision.reasons)
    if check_mode:
        result["sandbox"] = dict(public_view(current), spec=wanted, limits=wanted["limits"], paused=wanted["paused"],
                                 network=network_view(wanted, network))
        return result
    if "limits" in decision.reasons:
        cgroup.set_limits(wanted["limits"])
    view.state_dir.write_state(name, dict(current["_state"], spec=wanted))
    if "paused" in decision.reasons:
        cgroup.freeze(wanted["paused"])
    if "published_ports" in decision.reasons:
        _network.sync(view.state_dir, network["netns"])
    if "workloads" in decision.reasons:
        _send_workloads(view, current, wanted)
    _keep_for_boot(name, wanted)
    view.refresh()
    result["sandbox"] = public_view(inspect_sandbox(view, name))
    return result


def _send_workloads(view, current, wanted):
    """Give PID 1 the new list and tell it (SIGHUP from outside) to apply the difference."""
    state = current["_state"]
    folder = view.state_dir.path(current["name"])
    if not os.path.isdir(_workloads.folder(folder)):
        raise SandboxError("workloads: sandbox %s was made before sandboxes had workloads; recreate it "
                           "(recreate: true) to give it some" % current["name"])
    _workloads.write_spec(folder, wanted["workloads"])
    if state.get("userns"):
        os.lchown(os.path.join(_workloads.folder(folder), _workloads.SPEC_FILE), state["userns"]["uid"],
                  state["userns"]["gid"])
    supervisor = state["supervisor"]
    if not signal_verified(view.state_dir.proc_root, supervisor["pid"], supervisor["start_time"],
                           state["namespaces"]["pid"], signal.SIGHUP):
        raise SandboxError("workloads: the supervisor of sandbox %s (host PID %d) is gone"
                           % (current["name"], supervisor["pid"]))


def _parent_record(view, parent, check_mode, planned, warnings):
    record = None if planned.get(parent) == "absent" else inspect_sandbox(view, parent)
    if check_mode and planned.get(parent) == "present":
        return record if record is not None and record["health"] == "alive" else None
    if record is None and check_mode:
        # An earlier task of the same check run may create it.
        warnings.append("parent sandbox %s does not exist yet; the prediction assumes an earlier "
                        "task creates it" % parent)
    elif record is None:
        raise SandboxError("parent: sandbox %r does not exist on this host; create it first" % parent)
    elif record["health"] != "alive":
        raise SandboxError("parent: sandbox %r is broken (%s); bring it back with state=present first"
                           % (parent, "; ".join(record["problems"])))
    return record


def _check_userns_nesting(spec, parent_record):
    """A sandbox nested in one with userns: auto shares that user namespace (a new one could not see
    the parent's root with the right owners); one with the host's users cannot be nested in it."""
    if parent_record is None or parent_record.get("spec") is None:
        return
    parent_auto = parent_record["spec"].get("userns") == "auto"
    if parent_auto and spec["userns"] != "auto":
        raise SandboxError("userns: sandbox %r has a user namespace of its own (userns: auto), which a sandbox "
                           "nested in it shares: set userns: auto" % parent_record["name"])
    if spec["userns"] == "auto" and not parent_auto:
        raise SandboxError("userns: auto for a nested sandbox shares its parent's user namespace, and %r has "
                           "none (userns: host); give the parent userns: auto, or nest none" % parent_record["name"])


def _diff_view(record):
    if record is None:
        return {"state": "absent"}
    view = {"state": "present", "health": record["health"]}
    if record.get("spec"):
        view.update(record["spec"])
    return view


def _predicted(state_dir, name, spec, parent_record):
    return {
        "name": name, "state": "present", "health": "alive", "problems": [], "spec": spec,
        "supervisor": None, "namespaces": {},
        "handles": dict((ns, state_dir.handle_path(name, ns)) for ns in spec["namespaces"]),
        "hostname": spec["hostname"], "parent": spec["parent"],
        "level": (parent_record["level"] + 1) if parent_record and parent_record.get("level") else None,
        "created": None, "cgroup": None, "cgroup_problem": None, "limits": spec["limits"], "paused": spec["paused"],
        "rootfs": _rootfs.describe(spec, name),
        "userns": None,  # its ids are taken when it is made
        "network": network_view(spec, None),  # its address is taken when it is made
    }
