# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What to do with one sandbox, from what exists and what is wanted. Pure: plain data in and out,
shared by the sandbox module and the sandboxes role's plan filter on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import SPEC_DEFAULTS, SPEC_KEYS

KEEP = "keep"
CREATE = "create"
RECREATE = "recreate"
UPDATE = "update"
REMOVE = "remove"
NOTHING = "nothing"
# Spec keys a running sandbox takes in place: its cgroup's limits, frozen or not, its published ports,
# its workloads (PID 1 starts, stops and restarts what differs), whether it comes back after a reboot.
UPDATABLE_KEYS = frozenset(["limits", "paused", "published_ports", "workloads", "restart_on_boot"])


class Decision(object):
    """action: one of KEEP, CREATE, RECREATE, UPDATE, REMOVE, NOTHING.
    reasons: why (the spec keys that differ, the sandbox's problems, or what was asked).
    removes: the sandboxes that go, nested ones first, then this one (RECREATE and REMOVE)."""

    __slots__ = ("action", "reasons", "removes")

    def __init__(self, action, reasons=(), removes=()):
        self.action = action
        self.reasons = list(reasons)
        self.removes = list(removes)

    @property
    def changes(self):
        return self.action not in (KEEP, NOTHING)

    def __repr__(self):
        return "Decision(%r, %r, %r)" % (self.action, self.reasons, self.removes)

    def __eq__(self, other):
        return isinstance(other, Decision) and (self.action, self.reasons, self.removes) == (
            other.action, other.reasons, other.removes)

    def __ne__(self, other):
        return not self == other


def spec_differences(current, wanted):
    """The spec keys whose values differ, in SPEC_KEYS order (a key a spec lacks is its default)."""
    return [key for key in SPEC_KEYS
            if current.get(key, SPEC_DEFAULTS.get(key)) != wanted.get(key, SPEC_DEFAULTS.get(key))]


def decide(name, current, wanted, dependents=(), recreate=False, updatable=UPDATABLE_KEYS):
    """current: the sandbox as found ({"health", "problems", "spec"}), or None when there is none.
    wanted: the normalized spec, or None for state absent.
    dependents: the sandboxes nested in it on the host, deepest first (they die with it)."""
    if wanted is None:
        if current is None:
            return Decision(NOTHING)
        return Decision(REMOVE, ["state absent"], list(dependents) + [name])
    if current is None:
        return Decision(CREATE, ["it does not exist"])
    if current["health"] != "alive":
        return Decision(RECREATE, current["problems"], list(dependents) + [name])
    if recreate:
        return Decision(RECREATE, ["recreate requested"], list(dependents) + [name])
    differences = spec_differences(current["spec"], wanted)
    if not differences:
        return Decision(KEEP)
    if all(key in updatable for key in differences):
        return Decision(UPDATE, differences)
    return Decision(RECREATE, differences, list(dependents) + [name])


def order(entries, alive_on_host):
    """Check a list of sandboxes as a whole and put it in the order to act on it.

    entries: [{"name", "present" (bool), "parent" (or None)}] in the user's order.
    alive_on_host: names of the alive sandboxes on the host (parents need not be listed).
    Returns (problems, removals, creations): problems as (index, message); removals (entries
    not present, nested ones first) and creations (parents first) as lists of indexes.
    """
    by_name = {}
    problems = []
    for index, entry in enumerate(entries):
        if entry["name"] in by_name:
            problems.append((index, "the name is listed more than once"))
        else:
            by_name[entry["name"]] = entry
    depth = []
    for index, entry in enumerate(entries):
        level, problem = _depth(entry, by_name, alive_on_host)
        depth.append(level)
        if problem:
            problems.append((index, problem))
    removals = sorted((i for i, e in enumerate(entries) if not e["present"]), key=lambda i: -depth[i])
    creations = sorted((i for i, e in enumerate(entries) if e["present"]), key=lambda i: depth[i])
    return problems, removals, creations


def _depth(entry, by_name, alive_on_host):
    """(number of ancestors, problem or None), following `parent` through the list; an ancestor
    that is only on the host counts as one more and ends the walk."""
    seen = [entry["name"]]
    current = entry.get("parent")
    depth = 0
    while current:
        if current in seen:
            return depth, "parent: nesting cycle %s" % " -> ".join(seen + [current])
        if current in by_name:
            if entry["present"] and not by_name[current]["present"]:
                return depth, "parent: ancestor %s is listed with state absent" % current
            depth += 1
            seen.append(current)
            current = by_name[current].get("parent")
        elif current in alive_on_host:
            return depth + 1, None
        elif entry["present"]:
            return depth, ("parent: %s is neither listed with state present nor an alive sandbox on "
                           "the host" % current)
        else:
            return depth, None
    return depth, None
