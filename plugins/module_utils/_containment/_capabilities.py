# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The capabilities of what runs in a sandbox: which ones (options to a set), and dropping the rest
from the bounding set before an exec (a root process then gets no more than the set)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _syscalls

# Linux's capability numbers (include/uapi/linux/capability.h), as names without CAP_.
NAMES = ("CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
         "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
         "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
         "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
         "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
         "CHECKPOINT_RESTORE")
NUMBERS = dict((name, number) for number, name in enumerate(NAMES))
# docker's and runc's default set, for a sandbox with a root of its own.
DEFAULT = ("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
           "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT")
# reboot(2) in a PID namespace kills its PID 1 at once: only sandbox_exec's allow_reboot keeps it.
REBOOT = "SYS_BOOT"
# With the host's root: everything but SYS_BOOT (a sandbox there may nest sandboxes, mount, ...).
HOST_ROOT_DEFAULT = tuple(name for name in NAMES if name != REBOOT)
# PID 1 keeps these whatever the set: it chroots into the new root and stops processes of any user.
SUPERVISOR_NEEDS = ("KILL", "SYS_CHROOT", "SETPCAP")


def _names(value, option):
    if value is None:
        return []
    if not isinstance(value, list):
        raise SandboxError("%s: %r is not a list of capability names" % (option, value))
    found = []
    for item in value:
        name = item.upper() if isinstance(item, str) else None
        if name and name.startswith("CAP_"):
            name = name[4:]
        if name != "ALL" and name not in NUMBERS:
            raise SandboxError("%s: %r is not a capability (such as NET_ADMIN or CAP_NET_ADMIN, or ALL)"
                               % (option, item))
        found.append(name)
    return found


NO_CHANGE = {"add": [], "drop": [], "privileged": False}


def normalize(cap_add=None, cap_drop=None, privileged=False):
    """The spec's {add, drop, privileged}: names upper case without CAP_, sorted; SandboxError naming
    the option."""
    added, dropped = sorted(set(_names(cap_add, "cap_add"))), sorted(set(_names(cap_drop, "cap_drop")))
    if not isinstance(privileged, bool):
        raise SandboxError("privileged: %r is not a boolean" % (privileged,))
    if privileged and (added or dropped):
        raise SandboxError("privileged: it keeps every capability; leave out cap_add and cap_drop")
    return {"add": added, "drop": dropped, "privileged": privileged}


def effective(spec):
    """The sorted capability names a sandbox's processes get, or None for the host root's default:
    every capability, as before these options (CAP_SYS_BOOT only for sandbox_exec's allow_reboot)."""
    chosen = spec.get("capabilities") or NO_CHANGE
    own_root = (spec.get("rootfs") or {}).get("type", "host") != "host"
    if chosen["privileged"]:
        return sorted(NAMES)
    if not own_root and not chosen["add"] and not chosen["drop"]:
        return None
    kept = set(DEFAULT if own_root else HOST_ROOT_DEFAULT)
    kept = set(NAMES) if "ALL" in chosen["add"] else kept | set(chosen["add"])
    kept = set() if "ALL" in chosen["drop"] else kept - set(chosen["drop"])
    return sorted(kept)


def command_set(spec, allow_reboot=False):
    """The capability names a process started in the sandbox keeps (sandbox_exec's commands, PID 1's
    workloads): the sandbox's (with the host's root by default, every one), CAP_SYS_BOOT only with
    allow_reboot: reboot(2) in a PID namespace kills its PID 1 outright, with no graceful stop."""
    capabilities = effective(spec)
    keep = set(NAMES if capabilities is None else capabilities)
    if not allow_reboot:
        keep.discard(REBOOT)
    return keep


def is_privileged(spec):
    return bool((spec.get("capabilities") or NO_CHANGE)["privileged"])


def drop_bounding(keep):
    """Drop every capability but `keep` (names) from the caller's bounding set (needs SETPCAP): from the
    next exec on, root gets no more than `keep`. Numbers past what the kernel knows are skipped."""
    kept = set(NUMBERS[name] for name in keep)
    for number in range(64):
        if number in kept:
            continue
        try:
            _syscalls.prctl(_syscalls.PR_CAPBSET_DROP, number)
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # past CAP_LAST_CAP
                raise
            break
