# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""On systemd hosts: a delegated scope for each top-level sandbox.

systemd owns the cgroup tree (CGROUP_DELEGATION), and a process left in an SSH session's or
service's cgroup dies with it. So the launcher goes into ``linuxns-pidns-<name>.scope`` in
``linuxns-pidns.slice`` (Delegate=yes), asked for with ``busctl``; below it is _cgroup's to build.
Nested sandboxes live in their parent's scope.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError

SLICE = "linuxns-pidns.slice"
SCOPE_TIMEOUT = 10.0


def booted(root=""):
    """Whether systemd is the host's init (sd_booted(3): /run/systemd/system exists)."""
    return os.path.isdir(root + "/run/systemd/system")


def scope_name(name):
    return "linuxns-pidns-%s.scope" % name


def start_scope_argv(name, pid):
    """busctl's StartTransientUnit call for sandbox `name` holding `pid` (sandbox names are valid unit names)."""
    return [
        "busctl", "call", "--quiet", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager", "StartTransientUnit", "ssa(sv)a(sa(sv))",
        scope_name(name), "fail",
        "5",
        "PIDs", "au", "1", str(pid),
        "Delegate", "b", "true",
        "Slice", "s", SLICE,
        "CollectMode", "s", "inactive-or-failed",
        "Description", "s", "linuxns.pidns sandbox %s" % name,
        "0",
    ]


def scope_of(cgroup_text, name):
    """The cgroup path (relative, no leading /) of the scope in a /proc/PID/cgroup text, or None."""
    wanted = "/" + scope_name(name)
    for line in cgroup_text.splitlines():
        path = line.split(":", 2)[-1]
        if path.endswith(wanted):
            return path.strip("/")
    return None


def start_scope(run_command, name, pid, proc_root="/proc"):
    """Ask systemd for the sandbox's scope holding `pid`; return the scope's cgroup path once the
    kernel shows `pid` in it. `run_command` is AnsibleModule.run_command (argv -> rc, out, err)."""
    if run_command is None:
        raise SandboxError("this host runs systemd, and asking it for a scope needs the module's run_command")
    rc, _out, err = run_command(start_scope_argv(name, pid))
    if rc != 0:
        raise SandboxError("systemd refused the scope %s for sandbox %s: %s"
                           % (scope_name(name), name, (err or "").strip() or "busctl exit status %d" % rc))
    deadline = time.monotonic() + SCOPE_TIMEOUT
    while True:
        try:
            with open(os.path.join(proc_root, str(pid), "cgroup")) as handle:
                found = scope_of(handle.read(), name)
        except (IOError, OSError):
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise SandboxError("systemd did not move the sandbox's launcher into %s within %ds"
                               % (scope_name(name), SCOPE_TIMEOUT))
        time.sleep(0.01)
