# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report's data (schema 1) from the pidns facts of many hosts, and their sandboxes.

Used by the linuxns.pidns.pidns_fleet filter and the linuxns.pidns.fleet_report action. The strings
in it are the hosts' own, unchanged: renderers make them safe (see _text.py). Of a host's
sandbox_info result the report keeps only the fields it shows, type-checked, with every list and
string cut to a bound (a host chooses their content and size).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping, Sequence

from ansible_collections.linuxns.pidns.plugins.plugin_utils._facts import FactsInputError, owner_label

SCHEMA = 1


def _plain(value):
    """Deep copy into plain dict/list/scalars (no lazy or tagged containers in the report)."""
    if isinstance(value, Mapping):
        return dict((str(key), _plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return str(value)


def _facts_of(result):
    """The pidns facts in a registered pidns_facts result, in ansible_facts, or given directly."""
    if not isinstance(result, Mapping):
        return None
    if isinstance(result.get("namespaces"), list):
        return result
    for outer in (result.get("ansible_facts"), result):
        if isinstance(outer, Mapping) and isinstance(outer.get("pidns"), Mapping) \
                and isinstance(outer["pidns"].get("namespaces"), list):
            return outer["pidns"]
    return None


# ansible-core 2.16-2.18's msg when a module could not even start; the reason is in module_stderr.
_GENERIC_FAILURE = "The module failed to execute correctly"
# A host's message is host data: bounded like every other string from it.
MESSAGE_LIMIT = 4000


def _message(result):
    if not isinstance(result, Mapping):
        return None
    message = next((str(result[key]).strip() for key in ("msg", "stderr", "module_stderr") if result.get(key)), None)
    if message is None:
        return None
    stderr = str(result.get("module_stderr") or "").strip()
    if message.startswith(_GENERIC_FAILURE) and stderr and stderr not in message:
        message += "\n" + stderr
    return message[:MESSAGE_LIMIT]


def _summary(facts):
    spaces = facts.get("namespaces") or []
    warnings = facts.get("warnings") or []
    codes = {}
    for warning in warnings:
        code = str(warning.get("code") or "?")
        codes[code] = codes.get(code, 0) + 1
    owners = sorted(set(label for label in (owner_label(entry.get("owner")) for entry in spaces) if label))
    levels = [entry.get("level") for entry in spaces if isinstance(entry.get("level"), int)]
    max_depth = facts.get("max_depth")
    if not isinstance(max_depth, int):
        max_depth = max(levels) if levels else 0
    return {
        "kernel": facts.get("kernel"),
        "root": facts.get("root"),
        "partial": bool(facts.get("partial")),
        "namespaces": len(spaces),
        "nprocs": sum(int(entry.get("nprocs") or 0) for entry in spaces),
        "max_depth": max_depth,
        "zombies": sum(int(entry.get("zombies") or 0) for entry in spaces),
        "warnings": len(warnings),
        "warning_codes": dict(sorted(codes.items())),
        "owners": owners,
    }


# ---------------------------------------------------------------- sandboxes (sandbox_info results)

# Bounds on what one host's sandbox_info result adds to the report: beyond them entries are counted
# (sandbox_summary.omitted, workloads_omitted, problems_omitted, ports_omitted), not listed.
SANDBOX_LIMIT = 200       # sandboxes listed per host
WORKLOAD_LIMIT = 50       # workloads listed per sandbox
PROBLEM_LIMIT = 10        # problems listed per sandbox
PORT_LIMIT = 20           # published ports listed per sandbox
TEXT_LIMIT = 200          # characters of a name, state, address, ...
PROBLEM_TEXT_LIMIT = 500  # characters of one problem
LIMIT_KEYS = ("pids_limit", "memory", "memory_swap", "cpus", "cpu_shares")
USAGE_KEYS = ("memory_current", "memory_peak", "pids", "oom_kills")
BACKING_OFF = "backing off"


def _text(value, limit=TEXT_LIMIT):
    """A host string as plain str, cut to limit characters; None stays None."""
    if value is None:
        return None
    return (value if isinstance(value, str) else str(value))[:limit]


def _integer(value):
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value):
    if isinstance(value, float):
        return float(value)
    return _integer(value)


def _flag(value):
    return value if isinstance(value, bool) else None


def _list(value):
    return list(value) if isinstance(value, (list, tuple)) else []


def _workload(entry):
    return {
        "name": _text(entry.get("name")),
        "state": _text(entry.get("state")),
        "restart_count": _integer(entry.get("restart_count")),
        "exit_code": _integer(entry.get("exit_code")),
        "exit_signal": _integer(entry.get("exit_signal")),
    }


def _network(value):
    if not isinstance(value, Mapping):
        return None
    ports = [port for port in _list(value.get("published_ports")) if isinstance(port, Mapping)]
    shown = []
    for port in ports[:PORT_LIMIT]:
        shown.append({"host_ip": _text(port.get("host_ip")), "host_port": _integer(port.get("host_port")),
                      "port": _integer(port.get("port")), "protocol": _text(port.get("protocol"))})
    return {"mode": _text(value.get("mode")), "address": _text(value.get("address")),
            "published_ports": shown, "ports_omitted": len(ports) - len(shown)}


def _health(entry):
    """alive or broken (or what else the host says); from `alive` when there is no `health`."""
    health = entry.get("health")
    if health is None and isinstance(entry.get("alive"), bool):
        health = "alive" if entry["alive"] else "broken"
    return health


def _sandbox(entry):
    """One sandbox of sandbox_info, reduced to what the report shows."""
    spec = entry.get("spec") if isinstance(entry.get("spec"), Mapping) else {}
    problems = _list(entry.get("problems"))
    workloads = [item for item in _list(entry.get("workloads")) if isinstance(item, Mapping)]
    limits = entry.get("limits")
    usage = entry.get("cgroup_usage")
    return {
        "name": _text(entry.get("name")),
        "health": _text(_health(entry)),
        "problems": [_text(problem, PROBLEM_TEXT_LIMIT) for problem in problems[:PROBLEM_LIMIT]],
        "problems_omitted": max(0, len(problems) - PROBLEM_LIMIT),
        "parent": _text(entry.get("parent")),
        "level": _integer(entry.get("level")),
        "init": _text(spec.get("init")),
        "paused": _flag(entry.get("paused")),
        "limits": dict((key, _number(limits.get(key))) for key in LIMIT_KEYS) if isinstance(limits, Mapping) else None,
        "usage": dict((key, _integer(usage.get(key))) for key in USAGE_KEYS) if isinstance(usage, Mapping) else None,
        "network": _network(entry.get("network")),
        "workloads": [_workload(item) for item in workloads[:WORKLOAD_LIMIT]],
        "workloads_omitted": max(0, len(workloads) - WORKLOAD_LIMIT),
    }


def _sandbox_summary(entries):
    """Counts over every sandbox of a host (the ones beyond SANDBOX_LIMIT too)."""
    summary = {"sandboxes": len(entries), "broken": 0, "paused": 0, "workloads": 0, "restarted": 0,
               "backing_off": 0, "oom_kills": 0, "omitted": max(0, len(entries) - SANDBOX_LIMIT)}
    for entry in entries:
        if _health(entry) != "alive":
            summary["broken"] += 1
        if entry.get("paused") is True:
            summary["paused"] += 1
        usage = entry.get("cgroup_usage")
        if isinstance(usage, Mapping):
            summary["oom_kills"] += max(0, _integer(usage.get("oom_kills")) or 0)
        for workload in _list(entry.get("workloads")):
            if not isinstance(workload, Mapping):
                continue
            summary["workloads"] += 1
            if (_integer(workload.get("restart_count")) or 0) > 0:
                summary["restarted"] += 1
            if workload.get("state") == BACKING_OFF:
                summary["backing_off"] += 1
    return summary


def _sandbox_list(result):
    """(sandboxes, why not): the list in a registered sandbox_info result (or a bare list), or None and
    the reason there is none."""
    if isinstance(result, (list, tuple)):
        return list(result), None
    if not isinstance(result, Mapping):
        return None, "no sandbox_info result for this host"
    if result.get("unreachable"):
        return None, "unreachable: %s" % (_message(result) or "no message")
    if result.get("failed"):
        return None, _message(result) or "sandbox_info failed"
    if result.get("skipped"):
        return None, "not gathered (skipped)"
    if isinstance(result.get("sandboxes"), (list, tuple)):
        return list(result["sandboxes"]), None
    return None, _message(result) or "no sandbox list in the sandbox_info result"


def _host_sandboxes(result):
    """The sandbox keys of a host's row: sandboxes, sandbox_summary, sandboxes_message."""
    found, message = _sandbox_list(result)
    if found is None:
        return {"sandboxes": None, "sandbox_summary": None, "sandboxes_message": message}
    entries = [entry for entry in found if isinstance(entry, Mapping)]
    return {"sandboxes": [_sandbox(entry) for entry in entries[:SANDBOX_LIMIT]],
            "sandbox_summary": _sandbox_summary(entries), "sandboxes_message": None}


def _sandbox_totals(rows):
    summaries = [row["sandbox_summary"] for row in rows if row["sandbox_summary"] is not None]
    return {
        "sandboxes": sum(summary["sandboxes"] for summary in summaries),
        "sandboxes_broken": sum(summary["broken"] for summary in summaries),
        "workloads": sum(summary["workloads"] for summary in summaries),
        "workloads_restarted": sum(summary["restarted"] for summary in summaries),
        "workloads_backing_off": sum(summary["backing_off"] for summary in summaries),
        "sandbox_oom_kills": sum(summary["oom_kills"] for summary in summaries),
        "sandboxes_unavailable_hosts": [row["name"] for row in rows
                                        if row["status"] == "ok" and row["sandbox_summary"] is None],
    }


# ---------------------------------------------------------------- the report

def fleet(results, hosts=None, active=None, generated=None, sandboxes=None):
    """Build the fleet report: per host its status, facts and a summary, plus fleet totals. With
    sandboxes (host name to the registered result of linuxns.pidns.sandbox_info), each host also gets
    its sandboxes (or why there are none) and the totals count them."""
    if not isinstance(results, Mapping):
        raise FactsInputError("pidns_fleet expects a mapping of host name to the registered result of "
                              "linuxns.pidns.pidns_facts (or to its pidns facts), got %s"
                              % type(results).__name__)
    if sandboxes is not None and not isinstance(sandboxes, Mapping):
        raise FactsInputError("pidns_fleet: sandboxes must be a mapping of host name to the registered result "
                              "of linuxns.pidns.sandbox_info, got %s" % type(sandboxes).__name__)
    for label, value in (("hosts", hosts), ("active", active)):
        if value is not None and (isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence)):
            raise FactsInputError("pidns_fleet: %s must be a list of host names" % label)
    names = [str(name) for name in (hosts if hosts is not None else results.keys())]
    for name in results.keys():  # hosts with a result that the caller did not list
        if str(name) not in names:
            names.append(str(name))
    active_set = None if active is None else set(str(name) for name in active)
    if sandboxes is not None:
        sandboxes = dict((str(name), value) for name, value in sandboxes.items())

    rows = []
    for name in names:
        result = results.get(name)
        facts = _facts_of(result)
        row = {"name": name, "status": "ok", "message": None, "summary": None, "facts": None}
        if facts is not None:
            row["facts"] = _plain(facts)
            row["summary"] = _summary(row["facts"])
        elif isinstance(result, Mapping) and result.get("unreachable"):
            row.update(status="unreachable", message=_message(result) or "unreachable")
        elif isinstance(result, Mapping) and result.get("failed"):
            row.update(status="failed", message=_message(result) or "pidns_facts failed")
        elif isinstance(result, Mapping) and result.get("skipped"):
            row.update(status="skipped", message=_message(result) or "skipped")
        elif active_set is not None and name not in active_set:
            row.update(status="dropped", message="left the play before the report (failed or unreachable "
                                                 "in an earlier task)")
        else:
            row.update(status="failed", message=_message(result) or "no pidns facts for this host")
        if sandboxes is not None:
            row.update(_host_sandboxes(sandboxes.get(name)))
        rows.append(row)

    ok = [row for row in rows if row["status"] == "ok"]
    depth = max([row["summary"]["max_depth"] for row in ok]) if ok else None
    codes = {}
    for row in ok:
        for code, count in row["summary"]["warning_codes"].items():
            codes[code] = codes.get(code, 0) + count
    totals = {
        "hosts": len(rows),
        "ok": len(ok),
        "reachable": len([row for row in rows if row["status"] in ("ok", "failed")]),
        "unreachable": len([row for row in rows if row["status"] == "unreachable"]),
        "failed": len([row for row in rows if row["status"] == "failed"]),
        "skipped": len([row for row in rows if row["status"] == "skipped"]),
        "dropped": len([row for row in rows if row["status"] == "dropped"]),
        "namespaces": sum(row["summary"]["namespaces"] for row in ok),
        "nprocs": sum(row["summary"]["nprocs"] for row in ok),
        "max_depth": depth,
        "deepest_hosts": [row["name"] for row in ok if row["summary"]["max_depth"] == depth],
        "zombies": sum(row["summary"]["zombies"] for row in ok),
        "warnings": sum(row["summary"]["warnings"] for row in ok),
        "warning_codes": dict(sorted(codes.items())),
        "partial_hosts": [row["name"] for row in ok if row["summary"]["partial"]],
    }
    if sandboxes is not None:
        totals.update(_sandbox_totals(rows))
    return {"schema": SCHEMA, "kind": "linuxns.pidns.report",
            "generated": None if generated is None else str(generated),
            "totals": totals, "hosts": rows}
