# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The PID-namespace forest of a host from one pass over /proc, with its classic faults.

``run(params)`` is pidns_facts' entry point; ``scan()`` returns the ``ansible_facts.pidns``
dictionary documented in the pidns_facts module, in named phases:

1. the pass over /proc (_pidns_scan.ProcessTable) and the namespace handles in mountinfo;
2. where the scan stands (ScanView: its own namespace, that of the scanned /proc);
3. each namespace's PID 1 and level (find_inits_and_levels), reading ahead what step 5 reads;
4. the tree: parents (_pidns_parents), handles outside the visible tree, levels of namespaces
   without processes, children (build_tree);
5. one entry per namespace: init, counts, owner (_owners) and warnings (_pidns_warnings);
6. the facts, with the processes and PID translations when asked for.

Standard library only, and nothing heavy at import time: the benchmark runs the scan as a whole
Python process against ``lsns`` (benchmarks/pidns_scan_json.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.linuxns.pidns.plugins.module_utils._common import STATE_DIR, SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._facts._owners import (
    owner_from_cgroup_bytes,
    sandbox_owner,
    sandboxes_by_namespace,
)
from ansible_collections.linuxns.pidns.plugins.module_utils._facts._pidns_parents import Parents
from ansible_collections.linuxns.pidns.plugins.module_utils._facts._pidns_scan import (
    PROC1_LINK,
    ProcessTable,
    read_pid_ns_handles,
)
from ansible_collections.linuxns.pidns.plugins.module_utils._facts._pidns_warnings import (
    is_known_init,
    namespace_warnings,
    partial_view_warning,
)
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel._procfs import (
    INITIAL_PID_NS_INODE,
    PROC,
    ns_link_inode,
    parse_cmdline,
    parse_ns_link,
    read_status_fields,
)

SCHEMA_VERSION = 1


def run(params, check_mode=False):
    """pidns_facts: the module's result for its parameters. Read-only, so check mode changes nothing.
    OSError (an unreadable /proc) propagates."""
    pids = params["pids"] or []
    bad = [pid for pid in pids if not 0 < pid <= PID_MAX_LIMIT]
    if bad:
        raise SandboxError("pids: %s: a PID is a number from 1 to %d" % (", ".join(map(str, bad[:5])), PID_MAX_LIMIT))
    bad = [name for name in params["known_inits"] if not 0 < len(name) <= 64 or "\0" in name or "/" in name]
    if bad:
        raise SandboxError("known_inits: %r is not a process name (1 to 64 characters, no NUL or /)" % bad[0])
    if not os.path.isabs(params["state_dir"]):
        raise SandboxError("state_dir: %r must be an absolute path" % params["state_dir"])
    facts = scan(state_dir=params["state_dir"], processes=params["processes"],
                 pids=pids or None, known_inits=params["known_inits"])
    return {"changed": False, "ansible_facts": {"pidns": facts}}


# The kernel's PID_MAX_LIMIT on 64-bit: no PID is larger.
PID_MAX_LIMIT = 4194304


def scan(proc_root=PROC, state_dir=STATE_DIR, processes=False, pids=None, known_inits=(),
         use_ioctl=True, euid=None):
    """Gather the pidns facts. See the pidns_facts module's RETURN for the schema."""
    table = ProcessTable(proc_root)
    handles = read_pid_ns_handles(table.proc)
    table.read_processes()
    view = ScanView(table)
    table.place_unreadable(view.proc_ns)
    inits, levels = find_inits_and_levels(table, view)
    tree = build_tree(table, view, handles, inits, levels, use_ioctl)
    namespaces, warnings = describe_namespaces(table, view, tree, inits, sandboxes_by_namespace(handles, state_dir),
                                               frozenset(known_inits or ()))
    if euid is None:
        euid = os.geteuid()
    partial = partial_view_warning(euid, table.unreadable)
    if partial is not None:
        warnings.insert(0, partial)
    facts = {
        "schema": SCHEMA_VERSION,
        "kernel": os.uname()[2],
        "self": view.self_facts(levels),
        "root": euid == 0,
        "partial": partial is not None,
        "unreadable": len(table.unreadable),
        "parents_from": "ioctl" if tree.parents.exact else "ppid",
        "handles": [{"path": path, "id": inode} for path, inode in sorted(handles.items())
                    if inode not in tree.foreign],
        "foreign_handles": sorted(path for ns in tree.foreign for path in tree.handle_paths[ns]),
        "namespaces": namespaces,
        "count": len(namespaces),
        "nprocs": len(table.procs),
        "max_depth": max([entry["level"] for entry in namespaces if entry["level"] is not None] or [0]),
        "warnings": warnings,
    }
    if processes:
        facts["processes"] = process_rows(table)
    if pids is not None:
        facts["pids"] = [translate(pid, table.procs.get(pid), table.nspid(pid), tree.parents.of, levels)
                         for pid in pids]
    return facts


class ScanView(object):
    """Where the scan stands: the module's own namespace (``self_ns``, ``self_fields`` its status
    fields) and the namespace the scanned /proc belongs to (``proc_ns``). Levels are absolute
    (``exact``, from ``base`` 0) when that /proc is the initial namespace's, else counted from a
    lower bound (``base`` 1)."""

    def __init__(self, table):
        proc_root = table.proc
        try:
            self.self_ns = ns_link_inode(proc_root, "self", "pid")
        except OSError:
            self.self_ns = None
        try:
            self.self_fields = read_status_fields(proc_root, "self")
        except OSError:
            self.self_fields = None
        self.proc_ns = self._proc_namespace(table)
        self.exact = self.proc_ns == INITIAL_PID_NS_INODE
        self.base = 0 if self.exact else 1

    def _proc_namespace(self, table):
        try:
            proc_ns = ns_link_inode(table.proc, 1, "pid")
        except OSError:
            proc_ns = None
        if proc_ns is not None:
            return proc_ns
        if self.self_fields is not None and len(self.self_fields[3]) == 1:
            return self.self_ns  # PID 1 of this /proc is not readable, but the module is at its top level
        # Otherwise a readable process at depth 0 of its NSpid tells: try the lowest PIDs.
        for pid in sorted(table.procs)[:8]:
            nspid = table.nspid(pid)
            if table.procs[pid].ns is not None and nspid is not None and len(nspid) == 1:
                return table.procs[pid].ns
        return None

    def self_facts(self, levels):
        self_ns, fields = self.self_ns, self.self_fields
        initial = self_ns == INITIAL_PID_NS_INODE
        level = None
        if fields is not None:
            level = self.base + len(fields[3]) - 1
        if self_ns is not None and levels.get(self_ns) is not None:
            level = levels[self_ns]
        return {
            "id": self_ns,
            "initial": initial,
            "level": 0 if initial else level,
            "level_exact": self.exact or initial,
            "pid": fields[3][-1] if fields else None,
            "proc_ns": self.proc_ns,
        }


# -- PID 1 and level of each namespace ---------------------------------------------------------

def find_inits_and_levels(table, view):
    """({namespace: host PID of its PID 1}, {namespace: level}) for the namespaces with processes
    (and the level of the scanned /proc's namespace). Reads ahead, for the likeliest PID 1 of
    each namespace, everything describe_namespaces reads about it."""
    candidates = dict((ns, init_candidates(table, ns)) for ns in table.members)
    table.read_ahead(init_paths(table, [likely[0] for likely in candidates.values() if likely]))
    inits = {}
    levels = {}
    for ns, pids in table.members.items():
        init_pid = find_init(table, candidates[ns])
        nspid = None
        if init_pid is not None:
            inits[ns] = init_pid
            nspid = table.nspid(init_pid)
        else:
            for pid in pids:
                nspid = table.nspid(pid)
                if nspid is not None:
                    break
        if nspid:
            levels[ns] = view.base + len(nspid) - 1
    if view.proc_ns is not None and view.proc_ns not in levels:
        levels[view.proc_ns] = view.base
    return inits, levels


def init_candidates(table, ns):
    """Members of ``ns`` that may be its PID 1, most likely first: those whose parent process is
    not in ``ns`` (PID 1's parent never is: it made the namespace from outside, or adopted PID 1
    there), by start time."""
    procs = table.procs
    candidates = []
    for pid in table.members[ns]:
        above = procs.get(procs[pid].ppid)
        if above is None or above.ns != ns:
            candidates.append(pid)
    candidates.sort(key=lambda pid: (procs[pid].start_time, pid))
    return candidates


def find_init(table, candidates):
    """PID 1 among init_candidates(), confirmed by its NSpid; ties on the first start tick are
    all tried. None when PID 1 is gone."""
    if not candidates:
        return None
    procs = table.procs
    first_start = procs[candidates[0]].start_time
    for index, pid in enumerate(candidates):
        if index >= 3 and procs[pid].start_time != first_start:
            break
        nspid = table.nspid(pid)
        if nspid and nspid[-1] == 1:
            return pid
    return None


def init_paths(table, pids):
    """What describe_namespaces reads about each likely PID 1: its status, cmdline and cgroup,
    and the ns link of PID 1 in its /proc."""
    paths = []
    for pid in pids:
        base = "%s/%d/" % (table.proc, pid)
        paths += [base + "status", base + "cmdline", base + "cgroup", base + PROC1_LINK]
    return paths


# -- the tree ------------------------------------------------------------------------------------

class Tree(object):
    """The namespaces to report (``all_ns``) with their ``parents`` (a _pidns_parents.Parents),
    ``levels``, ``children``; ``handle_paths`` {namespace: [mount points]}; ``foreign``: namespaces
    of handles outside the visible tree."""

    __slots__ = ("parents", "levels", "children", "all_ns", "handle_paths", "foreign")


def build_tree(table, view, handles, inits, levels, use_ioctl):
    """The Tree of the scan; fills in ``levels`` of namespaces without processes."""
    tree = Tree()
    tree.levels = levels
    handle_paths = tree.handle_paths = {}
    for path, inode in sorted(handles.items()):
        handle_paths.setdefault(inode, []).append(path)
    known = set(table.members) | set(handle_paths)
    if view.proc_ns is not None:
        known.add(view.proc_ns)
    parents = tree.parents = Parents(table, handle_paths).resolve(known, levels, inits, use_ioctl)
    # A handle to a namespace outside the visible tree (the kernel will not name its parent: a
    # sibling or ancestor of the module's own namespace, seen through an inherited mount table)
    # is reported apart, not as part of the tree.
    foreign = tree.foreign = set()
    if parents.exact:
        for ns in handle_paths:
            if (ns not in table.members and ns != view.proc_ns and ns != view.self_ns
                    and parents.of.get(ns) is None):
                foreign.add(ns)
    all_ns = tree.all_ns = (known | parents.hidden) - foreign
    _levels_below_parents(all_ns, parents.of, levels)
    children = tree.children = {}
    for ns in all_ns:
        parent = parents.of.get(ns)
        if parent is not None:
            children.setdefault(parent, []).append(ns)
    return tree


def _levels_below_parents(all_ns, parents, levels):
    """Levels of namespaces without processes: one below their parent."""
    changed = True
    while changed:
        changed = False
        for ns in all_ns:
            if levels.get(ns) is None:
                parent = parents.get(ns)
                if parent is not None and levels.get(parent) is not None:
                    levels[ns] = levels[parent] + 1
                    changed = True


# -- one entry per namespace ---------------------------------------------------------------------

def describe_namespaces(table, view, tree, inits, sandboxes, known_inits):
    """(namespace entries sorted by level and id, every warning with its namespace)."""
    procs = table.procs
    namespaces = []
    all_warnings = []
    for ns in tree.all_ns:
        pids_in = table.members.get(ns, [])
        init_pid = inits.get(ns)
        init = init_details(table, init_pid) if init_pid is not None else None
        zombies = [pid for pid in pids_in if procs[pid].state == "Z"]
        owner = None
        if ns in sandboxes:
            owner = sandbox_owner(sandboxes[ns])
        elif init is not None and ns != INITIAL_PID_NS_INODE:
            try:
                owner = owner_from_cgroup_bytes(table.read("%s/%d/cgroup" % (table.proc, init_pid)))
            except OSError:
                owner = None
        zombie_parents = [(pid, procs[pid].comm if pid in procs else None)
                          for pid in sorted(set(procs[pid].ppid for pid in zombies))]
        unknown_init = orphans = None
        if init is not None and ns != INITIAL_PID_NS_INODE and not is_known_init(init["comm"], known_inits):
            unknown_init = (init_pid, init["comm"])
            orphans = adopted_orphans(table, ns, init_pid)
        own_proc = seen_proc = None
        if pids_in:
            own_proc, seen_proc = proc_view(table, view, ns, pids_in, init_pid)
        warnings = namespace_warnings(ns, len(pids_in), handles=tree.handle_paths.get(ns, ()), zombies=zombies,
                                      zombie_parents=zombie_parents, init=unknown_init, orphans=orphans or (),
                                      own_proc=own_proc, seen_proc=seen_proc)
        for warning in warnings:
            all_warnings.append(dict(warning, namespace=ns))
        # Every key costs the controller once per namespace and host (result handling, fact
        # caching, the callback's dump): what the warnings already say is not repeated here.
        namespaces.append({
            "id": ns,
            "parent": tree.parents.of.get(ns),
            "level": tree.levels.get(ns),
            "children": sorted(tree.children.get(ns, [])),
            "init": init,
            "nprocs": len(pids_in),
            "zombies": len(zombies),
            "owner": owner,
            "warnings": warnings,
        })
    namespaces.sort(key=lambda entry: (entry["level"] is None, entry["level"] or 0, entry["id"]))
    return namespaces, all_warnings


def init_details(table, pid):
    """The ``init`` entry of a namespace whose PID 1 is host PID ``pid``; None if it is gone."""
    data = table.read("%s/%d/cmdline" % (table.proc, pid))
    cmdline = None if data is None else parse_cmdline(data)
    nspid = table.nspid(pid)
    if cmdline is None or nspid is None:
        return None
    process = table.procs[pid]
    return {
        "pid": pid,
        "ns_pid": nspid[-1],
        "comm": process.comm,
        "cmdline": cmdline,
        "start_time": process.start_time,
    }


def proc_view(table, view, ns, pids_in, init_pid):
    """Whether the processes of ``ns`` see a /proc of their own: (own, other_ns).

    Through /proc/P/root/proc of a member P: that /proc's PID 1 is the init of the namespace it
    belongs to, so the link of its ns/pid names it. When PID 1 there is not readable (some
    hosts protect their PID 1, and without root nobody else's is), that /proc's ``self`` tells:
    it resolves to this module's own PID in the namespace the /proc belongs to, and to nothing
    in a namespace the module is not in. The members of a namespace below the module's own see
    a /proc in which the module has a PID only if that /proc is not theirs. Returns (None, None)
    when there is no /proc to look at or nothing readable.
    """
    candidates = ([init_pid] if init_pid is not None else []) + sorted(pids_in)[:2]
    for viewer in candidates:
        try:
            first = parse_ns_link(table.read("%s/%d/%s" % (table.proc, viewer, PROC1_LINK)))
        except OSError:
            first = None
        if first is not None:
            if _still_in(table, viewer, ns):
                return first == ns, (None if first == ns else first)
            continue
        if ns == view.self_ns:
            return None, None
        try:
            os.readlink("%s/%d/root/proc/self" % (table.proc, viewer))
            own = False  # this module has a PID there: a /proc of its own namespace or one above
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                continue  # no access to this member's root (another user's process)
            own = True  # a /proc where this module has no PID: one of a namespace below it
        # A viewer that exited meanwhile (ENOENT too) may have left its PID to another process.
        if _still_in(table, viewer, ns):
            return own, (view.proc_ns if not own and view.proc_ns != ns else None)
    return None, None


def _still_in(table, pid, ns):
    """Whether host PID ``pid`` is still a process of PID namespace ``ns`` (checked after reading
    through it, so that a PID reused in between is not believed)."""
    try:
        return ns_link_inode(table.proc, pid, "pid") == ns
    except OSError:
        return False


def adopted_orphans(table, ns, init_pid):
    """Children of PID 1 whose process group leader is gone and is not PID 1's group.

    Such a process was adopted by PID 1 when the shell or program that started it died: a
    hint (not a proof) that PID 1 has to reap processes it never started.
    """
    procs = table.procs
    init_pgrp = procs[init_pid].pgrp
    found = []
    for pid in table.members[ns]:
        process = procs[pid]
        if pid == init_pid or process.ppid != init_pid or process.state == "Z":
            continue
        pgrp = process.pgrp
        if pgrp == init_pgrp or pgrp == pid or pgrp in procs:
            continue
        found.append(pid)
    return found


# -- asked-for extras ------------------------------------------------------------------------------

def process_rows(table):
    """The ``processes`` list: every scanned process, by PID."""
    table.read_ahead(["%s/%d/status" % (table.proc, pid) for pid, process in table.procs.items()
                      if process.nspid is None])
    return [
        {"pid": pid, "nspid": table.nspid(pid), "ns": process.ns, "ppid": process.ppid, "state": process.state,
         "comm": process.comm}
        for pid, process in sorted(table.procs.items())
    ]


def translate(pid, process, nspid, parents, levels):
    """The PID a process has at every level it is visible at, outermost first."""
    if process is None or not nspid:
        return {"pid": pid, "found": False, "ns": None, "levels": []}
    ns = process.ns
    chain = [ns]
    while len(chain) < len(nspid):
        parent = parents.get(chain[-1])
        chain.append(parent)
        if parent is None:
            break
    chain += [None] * (len(nspid) - len(chain))
    chain.reverse()
    level = levels.get(ns)
    out = []
    for depth, (inner_pid, inner_ns) in enumerate(zip(nspid, chain)):
        out.append({
            "level": None if level is None else level - (len(nspid) - 1 - depth),
            "ns": inner_ns,
            "pid": inner_pid,
        })
    return {"pid": pid, "found": True, "ns": ns, "levels": out}
