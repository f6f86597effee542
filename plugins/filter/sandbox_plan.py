# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sandbox_plan: what the sandboxes role must change on a host, from one sandbox_info result.

Documentation in sandbox_plan.yml. The checks and decisions are the sandbox module's own
(module_utils _spec and _decision), so the role and the module never disagree on what is kept.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.validation import check_type_bool, check_type_float, check_type_int, check_type_list

from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._decision import decide, order
from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import (
    LIMIT_KEYS, spec_of_options, validate_name)

# The options of a list entry that the sandbox module takes (sandboxes[].*).
MODULE_OPTIONS = ("name", "state", "namespaces", "hostname", "parent", "mount_proc", "stop_timeout", "recreate",
                  "pids_limit", "memory", "memory_swap", "cpus", "cpu_shares", "paused",
                  "rootfs", "binds", "shm_size", "cap_add", "cap_drop", "privileged", "userns", "network_mode",
                  "bridge", "published_ports", "dns_servers", "init", "restart_on_boot", "reset_rootfs")
# A workload of the role's list: the module's workloads[] options, its name given or its place.
WORKLOAD_KEYS = ("name", "argv", "env", "user", "group", "chdir", "restart", "stop_signal", "stop_timeout")
# How the sandbox module's argument spec converts the typed limits (the others, memory sizes, are text).
_INT_OPTIONS = ("pids_limit", "cpu_shares")
_FLOAT_OPTIONS = ("cpus",)


def sandbox_plan(entries, on_host=None, state=None):
    """{"changes"}: see sandbox_plan.yml; AnsibleFilterError naming every bad entry."""
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise AnsibleFilterError("sandbox_plan: the input must be a list of sandbox entries (dicts)")
    found = dict((box.get("name"), box) for box in (on_host or []) if isinstance(box, dict))
    errors = []
    planned = []
    for index, entry in enumerate(entries):
        planned.append(_Planned(index, entry, state, errors))
    problems, _removals, _creations = order(
        [{"name": p.name, "present": p.present, "parent": p.parent} for p in planned],
        [name for name, box in found.items() if box.get("alive")])
    errors.extend("%s: %s" % (planned[index].label, message) for index, message in problems)
    if errors:
        raise AnsibleFilterError("; ".join(errors))

    children = {}
    for name, box in found.items():
        if box.get("parent"):
            children.setdefault(box["parent"], []).append(name)
    removed = set()
    changing = set()
    for p in planned:
        current = found.get(p.name)
        record = None
        if current is not None:
            record = {"health": "alive" if current.get("alive") else "broken",
                      "problems": current.get("problems") or [], "spec": current.get("spec") or {}}
        decision = decide(p.name, record, p.wanted, _nested(children, p.name), p.recreate)
        if decision.changes:
            changing.add(p.name)
            removed.update(decision.removes)
    # A listed sandbox that dies with an ancestor being recreated must be made again.
    changing.update(p.name for p in planned if p.present and p.name in removed)

    return {"changes": [p.module_entry() for p in planned if p.name in changing]}


class _Planned(object):
    """One entry of the role's list, checked as the sandbox module checks it."""

    def __init__(self, index, entry, forced_state, errors):
        self.entry = entry
        # As the sandbox module's argument spec converts them (the role's spec checks but keeps types).
        self.name = _text(entry.get("name"))
        self.label = "sandboxes_list[%d] (name %s)" % (index, self.name)
        self.present = (forced_state or entry.get("state") or "present") == "present"
        self.parent = _text(entry.get("parent")) or None
        self.workloads = None
        self.wanted = None
        self.recreate = False
        try:
            self.recreate = _converted(entry, "recreate", check_type_bool, False)
            validate_name(self.name)
            if self.present:
                # As the module's _sandbox._Entry builds it (but _rootfs.check_host, which looks at
                # the host: the module does that, before it changes anything).
                options = dict((key, _limit(entry, key)) for key in LIMIT_KEYS)
                options.update(namespaces=entry.get("namespaces"), hostname=_text(entry.get("hostname")),
                               mount_proc=_converted(entry, "mount_proc", check_type_bool, True),
                               parent=self.parent, stop_timeout=entry.get("stop_timeout"),
                               paused=_converted(entry, "paused", check_type_bool, False),
                               rootfs=_rootfs(entry.get("rootfs")), binds=_binds(entry.get("binds")),
                               shm_size=_text(entry.get("shm_size")), cap_add=_text_list(entry, "cap_add"),
                               cap_drop=_text_list(entry, "cap_drop"),
                               privileged=_converted(entry, "privileged", check_type_bool, False),
                               userns=_text(entry.get("userns")), network_mode=_text(entry.get("network_mode")),
                               bridge=entry.get("bridge"), published_ports=_text_list(entry, "published_ports"),
                               dns_servers=_text_list(entry, "dns_servers"))
                options["init"] = _text(entry.get("init"))
                options["restart_on_boot"] = _converted(entry, "restart_on_boot", check_type_bool, False)
                self.workloads = _workloads(entry.get("workloads"))
                options["workloads"] = self.workloads
                self.wanted = spec_of_options(self.name, options)[0]
        except SandboxError as exc:
            errors.append("%s: %s" % (self.label, exc))

    def module_entry(self):
        """The entry as the sandbox module's sandboxes option takes it (no role-only keys)."""
        item = dict((key, self.entry[key]) for key in MODULE_OPTIONS if self.entry.get(key) is not None)
        item["state"] = "present" if self.present else "absent"
        if self.present and self.workloads:
            item["workloads"] = self.workloads
        return item


def _text(value):
    return None if value is None else str(value)


def _converted(entry, key, check, default, label=None):
    """entry[key] converted as the module's argument spec converts it; SandboxError naming the key."""
    value = entry.get(key)
    if value is None:
        return default
    try:
        return check(value)
    except (TypeError, ValueError) as exc:
        raise SandboxError("%s: %s" % (label or key, exc))


def _text_list(entry, key):
    """A list of str option, converted as the module's argument spec converts it."""
    value = _converted(entry, key, check_type_list, None)
    return None if value is None else [_text(item) for item in value]


def _limit(entry, key):
    if key in _INT_OPTIONS:
        return _converted(entry, key, check_type_int, None)
    if key in _FLOAT_OPTIONS:
        return _converted(entry, key, check_type_float, None)
    return _converted(entry, key, _text, None)


def _rootfs(value):
    """rootfs with its suboptions converted and defaulted as the module's argument spec does."""
    if not isinstance(value, dict):
        return value  # normalize_rootfs names what is wrong
    rootfs = dict(value)
    rootfs["type"] = _converted(value, "type", _text, "host", "rootfs.type")
    rootfs["path"] = _converted(value, "path", _text, None, "rootfs.path")
    for key in ("read_only", "ephemeral"):
        rootfs[key] = _converted(value, key, check_type_bool, False, "rootfs." + key)
    return rootfs


def _binds(value):
    """binds with their suboptions converted and defaulted as the module's argument spec does."""
    if not isinstance(value, list):
        return value  # normalize_binds names what is wrong
    binds = []
    for index, bind in enumerate(value):
        if isinstance(bind, dict):
            label = "binds[%d]." % index
            bind = dict(bind, src=_converted(bind, "src", _text, None, label + "src"),
                        dest=_converted(bind, "dest", _text, None, label + "dest"),
                        read_only=_converted(bind, "read_only", check_type_bool, False, label + "read_only"))
        binds.append(bind)
    return binds


def _nested(children, name, seen=()):
    """The sandboxes nested in `name` on the host, deepest first (a loop in host data ends the walk)."""
    ordered = []
    for child in sorted(children.get(name, [])):
        if child in seen or child == name:
            continue
        ordered.extend(_nested(children, child, seen + (name,)))
        ordered.append(child)
    return ordered


def _workloads(value):
    """The role's workloads as the module's workloads option takes them: a workload without a name is
    named by its place (workload-1, ...); the module's own checks follow in spec_of_options."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise SandboxError("workloads: %r is not a list of {argv, ...}" % (value,))
    converted = []
    for number, item in enumerate(value):
        unknown = sorted(set(item) - set(WORKLOAD_KEYS))
        if unknown:
            raise SandboxError("workloads[%d]: unknown key(s) %s; a workload takes %s"
                               % (number, ", ".join(unknown), ", ".join(WORKLOAD_KEYS)))
        workload = dict((key, item[key]) for key in WORKLOAD_KEYS if item.get(key) is not None)
        workload.setdefault("name", "workload-%d" % (number + 1))
        if isinstance(workload.get("argv"), list):
            workload["argv"] = [_text(arg) for arg in workload["argv"]]
        converted.append(workload)
    return converted


class FilterModule(object):

    def filters(self):
        return {"sandbox_plan": sandbox_plan}
