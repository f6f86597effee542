# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""pidns facts as a text tree like `lsns --tree=parent`.

Used by the linuxns.pidns.pidns_tree filter and by report.md and report.html. Every host string in a
line goes through printable() first, so a line of the tree is always one line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.linuxns.pidns.plugins.plugin_utils._facts import FactsInputError, owner_label
from ansible_collections.linuxns.pidns.plugins.plugin_utils._text import printable

_UNICODE = {"tee": u"\u251c\u2500 ", "last": u"\u2514\u2500 ", "pipe": u"\u2502  ", "blank": u"   "}
_ASCII = {"tee": "|- ", "last": "`- ", "pipe": "|  ", "blank": "   "}


def _shorten(text, width):
    if width and len(text) > width:
        return text[:max(width - 1, 1)] + u"\u2026"
    return text


def _init_text(entry, width):
    init = entry.get("init")
    if not init:
        return "no PID 1"
    command = " ".join(printable(arg) for arg in init.get("cmdline") or []) or "[%s]" % printable(init.get("comm", "?"))
    if init.get("pid") == init.get("ns_pid", 1):
        where = "PID %s" % init.get("pid")
    else:
        where = "PID %s (host %s)" % (init.get("ns_pid", 1), init.get("pid"))
    return "%s %s" % (where, _shorten(command, width))


def _namespace_line(entry, width, warnings):
    parts = [str(entry["id"]), "level %s" % ("?" if entry.get("level") is None else entry["level"]),
             _init_text(entry, width), "%d proc%s" % (entry.get("nprocs", 0), "" if entry.get("nprocs") == 1 else "s")]
    if entry.get("zombies"):
        parts.append("%d zombie%s" % (entry["zombies"], "" if entry["zombies"] == 1 else "s"))
    label = owner_label(entry.get("owner"))
    if label:
        parts.append(label)
    codes = [str(warning.get("code")) for warning in entry.get("warnings") or []]
    if warnings and codes:
        parts.append("WARN: " + ", ".join(codes))
    return printable("  ".join(parts))


def _process_line(row):
    nspid = row.get("nspid") or [row.get("pid")]
    if len(nspid) > 1:
        return printable("PID %s (host %s): %s" % (nspid[-1], nspid[0], row.get("comm", "?")))
    return printable("PID %s: %s" % (nspid[-1], row.get("comm", "?")))


def tree(facts, processes=False, ascii=False, width=60, warnings=True):
    """Render pidns facts (or the whole ansible_facts) as a tree; FactsInputError if they are not."""
    if isinstance(facts, Mapping) and "namespaces" not in facts and isinstance(facts.get("pidns"), Mapping):
        facts = facts["pidns"]  # the whole ansible_facts was given
    if not isinstance(facts, Mapping) or not isinstance(facts.get("namespaces"), list):
        raise FactsInputError("pidns_tree expects the pidns facts of linuxns.pidns.pidns_facts "
                              "(ansible_facts.pidns), got %s" % type(facts).__name__)
    if processes and "processes" not in facts:
        raise FactsInputError("pidns_tree: processes=true needs facts gathered with "
                              "linuxns.pidns.pidns_facts processes=true")
    glyph = _ASCII if ascii else _UNICODE
    spaces = dict((entry["id"], entry) for entry in facts["namespaces"])
    by_ns = {}
    if processes:
        for row in facts["processes"]:
            by_ns.setdefault(row.get("ns"), []).append(row)
        for rows in by_ns.values():
            rows.sort(key=lambda row: ((row.get("nspid") or [0])[-1], row.get("pid")))

    def level_key(ns):
        level = spaces[ns].get("level")
        return (level is None, level or 0, ns)

    roots = sorted((ns for ns, entry in spaces.items() if entry.get("parent") not in spaces), key=level_key)
    lines = []

    def walk(ns, prefix, branch, child_prefix, seen):
        entry = spaces[ns]
        lines.append(prefix + branch + _namespace_line(entry, width, warnings))
        if ns in seen:
            return
        seen.add(ns)
        kids = sorted((kid for kid in entry.get("children") or [] if kid in spaces), key=level_key)
        rows = by_ns.get(ns, [])
        items = [("proc", row) for row in rows] + [("ns", kid) for kid in kids]
        for index, (kind, item) in enumerate(items):
            last = index == len(items) - 1
            if kind == "proc":
                lines.append(child_prefix + (glyph["last"] if last else glyph["tee"]) + _process_line(item))
            else:
                walk(item, child_prefix, glyph["last"] if last else glyph["tee"],
                     child_prefix + (glyph["blank"] if last else glyph["pipe"]), seen)

    seen = set()
    for root in roots:
        walk(root, "", "", "", seen)
    for warning in facts.get("warnings") or []:
        if warnings and warning.get("namespace") is None:
            lines.append(printable("WARN: %s" % warning.get("message")))
    return "\n".join(lines)
