# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The classic faults of a PID namespace, as pidns_facts reports them. Pure: plain data in,
warning dictionaries out; no /proc, no root.

Codes: ``no_init`` (no process left: nothing can be started in it any more), ``zombies`` (not
reaped by their parents), ``init_not_reaper`` (PID 1 is not an init and there is something to
reap), ``proc_not_remounted`` (its processes see another namespace's /proc), and for the whole
scan ``partial_view``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SUPERVISOR_PREFIX

# comm names of programs that reap orphans when they run as PID 1.
KNOWN_INITS = frozenset([
    "tini", "tini-static", "docker-init", "dumb-init", "catatonit", "pause", "podman-pause",
    "systemd", "init", "s6-svscan", "runit", "runit-init", "openrc-init", "sinit", "busybox",
    "supervisord", "launchd",
])


def is_known_init(comm, extra=()):
    """Whether a PID 1 named ``comm`` reaps orphans: a known init, one of ``extra``, or a sandbox's supervisor."""
    return comm in KNOWN_INITS or comm in extra or comm.startswith(SUPERVISOR_PREFIX)


def _warning(code, message, **extra):
    entry = {"code": code, "message": message}
    entry.update(extra)
    return entry


def namespace_warnings(ns, nprocs, handles=(), zombies=(), zombie_parents=(), init=None, orphans=(),
                       own_proc=None, seen_proc=None):
    """The warnings of PID namespace ``ns``, in a fixed order.

    nprocs: how many processes it has.
    handles: mount points of the handles that keep it alive (for one without processes).
    zombies: host PIDs of its zombie processes.
    zombie_parents: [(host PID, comm or None if gone)] of the processes that should reap them.
    init: (host PID, comm) of a PID 1 that is not a known init (is_known_init), else None.
    orphans: host PIDs of the processes that PID 1 adopted (asked only when ``init`` is given).
    own_proc: True/False whether its processes see a /proc of their own, None if unknown;
    seen_proc: the namespace whose /proc they see instead, if known.
    """
    warnings = []
    if not nprocs:
        if handles:
            why = "kept alive only by the handle %s" % ", ".join(handles)
        else:
            why = "kept alive only by a descendant namespace"
        warnings.append(_warning(
            "no_init", "PID namespace %d has no process: %s; no process can be started in it any more."
            % (ns, why)))
    if zombies:
        warnings.append(_warning(
            "zombies", "PID namespace %d has %d zombie process%s, not reaped by parent%s %s."
            % (ns, len(zombies), "es" if len(zombies) > 1 else "", "s" if len(zombie_parents) > 1 else "",
               ", ".join("%d (%s)" % (pid, "?" if comm is None else comm) for pid, comm in zombie_parents)),
            count=len(zombies), pids=sorted(zombies), parents=[pid for pid, _comm in zombie_parents]))
    if init is not None and (zombies or orphans):
        warnings.append(_warning(
            "init_not_reaper",
            "PID 1 of PID namespace %d is %r (host PID %d), not a known init, and the namespace has "
            "%d zombie(s) and %d orphan(s): run an init such as tini or catatonit as PID 1."
            % (ns, init[1], init[0], len(zombies), len(orphans)),
            zombies=len(zombies), orphans=sorted(orphans)))
    if nprocs and own_proc is False:
        warnings.append(_warning(
            "proc_not_remounted",
            "Processes of PID namespace %d see a /proc that belongs to %s: /proc was not "
            "remounted after entering it (unshare --mount-proc), so ps and /proc show foreign PIDs."
            % (ns, "PID namespace %d" % seen_proc if seen_proc else "another PID namespace"),
            proc_ns=seen_proc))
    return warnings


def partial_view_warning(euid, unreadable):
    """The ``partial_view`` warning of a scan that could not read the namespace of the processes
    ``unreadable`` (host PIDs) or did not run as root (``euid``); None for a full view."""
    if euid == 0 and not unreadable:
        return None
    return {
        "code": "partial_view", "namespace": None,
        "message": "Partial view (%s): the PID namespace of %d process(es) could not be read, and processes "
                   "of other users are placed only when they are in the namespace of /proc itself; "
                   "counts are lower bounds." % ("not running as root" if euid != 0 else "access denied",
                                                 len(unreadable)),
        "pids": sorted(unreadable)[:50],
    }
