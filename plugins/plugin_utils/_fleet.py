# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report's data (schema 1) from the pidns facts of many hosts.

Used by the linuxns.pidns.pidns_fleet filter and the linuxns.pidns.fleet_report action. The strings
in it are the hosts' own, unchanged: renderers make them safe (see _text.py).
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


def fleet(results, hosts=None, active=None, generated=None):
    """Build the fleet report: per host its status, facts and a summary, plus fleet totals."""
    if not isinstance(results, Mapping):
        raise FactsInputError("pidns_fleet expects a mapping of host name to the registered result of "
                              "linuxns.pidns.pidns_facts (or to its pidns facts), got %s"
                              % type(results).__name__)
    for label, value in (("hosts", hosts), ("active", active)):
        if value is not None and (isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence)):
            raise FactsInputError("pidns_fleet: %s must be a list of host names" % label)
    names = [str(name) for name in (hosts if hosts is not None else results.keys())]
    for name in results.keys():  # hosts with a result that the caller did not list
        if str(name) not in names:
            names.append(str(name))
    active_set = None if active is None else set(str(name) for name in active)

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
    return {"schema": SCHEMA, "kind": "linuxns.pidns.report",
            "generated": None if generated is None else str(generated),
            "totals": totals, "hosts": rows}
