# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a sandbox is asked to be: names, the spec and its checks. Pure; the sandboxes role's plan
filter imports it too, so the rules have one definition."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _rootfs
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel._rootfs import DEFAULT_SHM_SIZE, HOST_ROOTFS
from ansible_collections.linuxns.pidns.plugins.module_utils._containment import _capabilities, _userns
from ansible_collections.linuxns.pidns.plugins.module_utils._init import _workloads
from ansible_collections.linuxns.pidns.plugins.module_utils._network import _config as _network

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"  # whole name: fullmatch ("$" also matches before a final "\n")
NAME_RULE = "1 to 64 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit"
NAMESPACE_TYPES = ("pid", "mnt", "uts", "ipc", "net", "cgroup", "time")
DEFAULT_NAMESPACES = ("pid", "mnt", "uts", "ipc")
# What a sandbox may hold: the user namespace comes with userns: auto, never from `namespaces`.
HELD_NAMESPACE_TYPES = ("user",) + NAMESPACE_TYPES
# In display order; changing any but _decision.UPDATABLE_KEYS recreates the sandbox.
SPEC_KEYS = ("namespaces", "hostname", "mount_proc", "parent", "stop_timeout", "rootfs", "binds", "shm_size",
             "capabilities", "userns", "network", "published_ports", "init", "limits", "paused", "workloads",
             "restart_on_boot")
LIMIT_KEYS = ("pids_limit", "memory", "memory_swap", "cpus", "cpu_shares")
NO_LIMITS = dict((key, None) for key in LIMIT_KEYS)
# What a spec recorded before a key existed means by its absence.
SPEC_DEFAULTS = {"limits": NO_LIMITS, "paused": False, "rootfs": HOST_ROOTFS, "binds": [],
                 "shm_size": DEFAULT_SHM_SIZE, "capabilities": _capabilities.NO_CHANGE, "userns": "host",
                 "network": None, "published_ports": [], "init": "supervisor", "workloads": [],
                 "restart_on_boot": False}
# PID 1: the collection's supervisor (reaps, stops gracefully, runs workloads), or catatonit -P (the
# pause process podman pods use: reaps and waits, 0.7 MB).
INIT_KINDS = ("supervisor", "catatonit")
PID_MAX_LIMIT = 4194304
# Docker's floor: below it a sandbox cannot even start its supervisor.
MIN_MEMORY = 6 * 1024 * 1024
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}
DEFAULT_STOP_TIMEOUT = 10.0
# A grace period longer than this is a typo, not a plan (and keeps every deadline finite).
MAX_STOP_TIMEOUT = 3600.0


_name_regex = []
HOSTNAME_RULE = "1 to 64 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit"


def is_valid_name(name):
    """Whether `name` follows the name rule (regex compiled lazily: pidns_facts would pay for re)."""
    if not _name_regex:
        import re
        _name_regex.append(re.compile(NAME_PATTERN))
    return isinstance(name, str) and bool(_name_regex[0].fullmatch(name)) and name not in (".", "..")


def _is_hostname(hostname):
    # The kernel takes any 64 bytes; spaces, slashes or control characters break prompts and logs.
    return isinstance(hostname, str) and len(hostname) <= 64 and bool(hostname) and hostname[0].isalnum() and \
        hostname.isascii() and all(char.isalnum() or char in "_.-" for char in hostname)


def validate_name(name, option="name"):
    if not is_valid_name(name):
        raise SandboxError("%s: %r is not a valid sandbox name: use %s" % (option, name, NAME_RULE))
    return name


def normalize_spec(name, namespaces=None, hostname=None, mount_proc=True, parent=None,
                   stop_timeout=DEFAULT_STOP_TIMEOUT, limits=None, paused=False, rootfs=None, binds=None,
                   shm_size=None, cap_add=None, cap_drop=None, privileged=False, userns="host", network_mode=None,
                   bridge=None, published_ports=None, dns_servers=None, workloads=None, init="supervisor",
                   restart_on_boot=False):
    """(spec, warnings) from the requested options; SandboxError on bad input (shapes only, no host)."""
    validate_name(name)
    requested = list(DEFAULT_NAMESPACES if namespaces is None else namespaces)
    unknown = [ns for ns in requested if ns not in NAMESPACE_TYPES]
    if unknown:
        raise SandboxError("namespaces: unknown namespace type(s) %s; choose from %s"
                           % (", ".join(repr(ns) for ns in unknown), ", ".join(NAMESPACE_TYPES)))
    if "pid" not in requested:
        raise SandboxError("namespaces: 'pid' is required: a sandbox is built around its own PID namespace")
    network, published, requested = _network.normalize_network(
        network_mode, requested, bridge, published_ports, dns_servers)
    ordered = [ns for ns in NAMESPACE_TYPES if ns in requested]
    warnings = []
    if network is not None and "mnt" not in ordered:
        warnings.append("sandbox %s has no mount namespace, so its resolv.conf cannot be its own: names resolve "
                        "as the host's resolv.conf says, which may name nameservers unreachable from the "
                        "bridge; add mnt to namespaces" % name)
    if hostname is not None and "uts" not in ordered:
        raise SandboxError("hostname: setting a hostname needs the 'uts' namespace; add uts to namespaces")
    if hostname is not None and not _is_hostname(hostname):
        raise SandboxError("hostname: %r is not a hostname: use %s" % (hostname, HOSTNAME_RULE))
    if "uts" in ordered and hostname is None:
        hostname = name
    if "mnt" not in ordered:
        if mount_proc:
            warnings.append(
                "sandbox %s has no mount namespace, so /proc cannot be remounted: processes inside will "
                "see the host's /proc (ps shows host processes and host PIDs); add mnt to namespaces "
                "to avoid this" % name)
        mount_proc = False
    if parent is not None:
        validate_name(parent, "parent")
        if parent == name:
            raise SandboxError("parent: a sandbox cannot be its own parent")
    stop_timeout = seconds(stop_timeout, "stop_timeout", MAX_STOP_TIMEOUT)
    rootfs = _rootfs.normalize_rootfs(rootfs, ordered)
    binds = _rootfs.normalize_binds(binds, ordered)
    if shm_size is not None and rootfs["type"] == "host":
        raise SandboxError("shm_size: only a sandbox with a root of its own (rootfs) has a /dev/shm of its own; "
                           "with the host's root it is the host's")
    if userns not in _userns.MODES:
        raise SandboxError("userns: %r is not one of %s" % (userns, ", ".join(_userns.MODES)))
    if userns == "auto":
        # Listed first: the others are made in it, and joined after it. Nested, it is the parent's.
        ordered = ["user"] + ordered
    if init not in INIT_KINDS:
        raise SandboxError("init: %r is not one of %s" % (init, ", ".join(INIT_KINDS)))
    checked_workloads = _workloads.normalize(workloads)
    if checked_workloads and init != "supervisor":
        raise SandboxError("workloads: PID 1 runs them, and init %s only reaps and waits: use init supervisor" % init)
    shm_bytes = DEFAULT_SHM_SIZE if shm_size is None else size(shm_size, "shm_size")
    if shm_bytes < 1024 * 1024:
        raise SandboxError("shm_size: at least 1M, got %r" % (shm_size,))
    spec = {
        "namespaces": ordered,
        "hostname": hostname,
        "mount_proc": bool(mount_proc),
        "parent": parent,
        "stop_timeout": stop_timeout,
        "rootfs": rootfs,
        "binds": binds,
        "shm_size": shm_bytes,
        "capabilities": _capabilities.normalize(cap_add, cap_drop, privileged),
        "userns": userns,
        "network": network,
        "published_ports": published,
        "init": init,
        "limits": normalize_limits(limits or {}),
        "paused": bool(paused),
        "workloads": checked_workloads,
        "restart_on_boot": bool(restart_on_boot),
    }
    return spec, warnings


def spec_of_options(name, options):
    """normalize_spec of the module's options (None: default); the plan filter uses it too, so both
    decide alike."""
    def given(key, default):
        value = options.get(key)
        return default if value is None else value

    return normalize_spec(name, options.get("namespaces"), options.get("hostname"), given("mount_proc", True),
                          options.get("parent"), given("stop_timeout", DEFAULT_STOP_TIMEOUT),
                          limits=dict((key, options.get(key)) for key in LIMIT_KEYS), paused=given("paused", False),
                          rootfs=options.get("rootfs"), binds=options.get("binds"), shm_size=options.get("shm_size"),
                          cap_add=options.get("cap_add"), cap_drop=options.get("cap_drop"),
                          privileged=given("privileged", False), userns=given("userns", "host"),
                          network_mode=options.get("network_mode"), bridge=options.get("bridge"),
                          published_ports=options.get("published_ports"), dns_servers=options.get("dns_servers"),
                          workloads=options.get("workloads"), init=given("init", "supervisor"),
                          restart_on_boot=given("restart_on_boot", False))


def normalize_limits(given):
    """{pids_limit, memory, memory_swap, cpus, cpu_shares}, each checked, None for no limit."""
    limits = dict(NO_LIMITS)
    if given.get("pids_limit") is not None:
        limits["pids_limit"] = _whole(given["pids_limit"], "pids_limit", 1, PID_MAX_LIMIT)
    for key in ("memory", "memory_swap"):
        if given.get(key) is not None:
            limits[key] = size(given[key], key)
            if limits[key] < MIN_MEMORY:
                raise SandboxError("%s: at least 6M, got %r" % (key, given[key]))
    if limits["memory_swap"] is not None:
        if limits["memory"] is None:
            raise SandboxError("memory_swap: needs memory (memory_swap is memory plus swap, as docker counts it)")
        if limits["memory_swap"] < limits["memory"]:
            raise SandboxError("memory_swap: must be at least memory (it is memory plus swap), got %r"
                               % given["memory_swap"])
    if given.get("cpus") is not None:
        cpus = _number(given["cpus"], "cpus")
        if not 0.01 <= cpus <= 1024:
            raise SandboxError("cpus: a number of CPUs from 0.01 to 1024, got %r" % (given["cpus"],))
        limits["cpus"] = cpus
    if given.get("cpu_shares") is not None:
        limits["cpu_shares"] = _whole(given["cpu_shares"], "cpu_shares", 2, 262144)
    return limits


def size(value, option):
    """Bytes from a size as docker takes it (1024-based k, m, g, t, optional b): 512M, 1.5G, 4096."""
    if isinstance(value, bool):
        raise SandboxError("%s: %r is not a size" % (option, value))
    if isinstance(value, int):
        number, unit = value, ""
    else:
        text = str(value).strip().lower()
        if text.endswith("b"):
            text = text[:-1]
        unit = text[-1:] if text[-1:] in _SIZE_UNITS else ""
        digits = text[:-1] if unit else text
        try:
            number = float(digits) if "." in digits else int(digits)
        except ValueError:
            raise SandboxError("%s: %r is not a size such as 512M or 1G" % (option, value))
    result = int(number * _SIZE_UNITS[unit])
    if number < 0 or result > 2 ** 62 or (isinstance(number, float) and not math.isfinite(number)):
        raise SandboxError("%s: %r is out of range" % (option, value))
    return result


def _whole(value, option, lowest, highest):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value))
        except ValueError:
            raise SandboxError("%s: %r is not a whole number" % (option, value))
    if not lowest <= value <= highest:
        raise SandboxError("%s: a whole number from %d to %d, got %r" % (option, lowest, highest, value))
    return value


def _number(value, option):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SandboxError("%s: %r is not a number" % (option, value))
    if isinstance(value, bool) or not math.isfinite(number):
        raise SandboxError("%s: %r is not a finite number" % (option, value))
    return number


def seconds(value, option, maximum, allow_zero=True):
    """Seconds in [0, maximum] (or (0, maximum]); SandboxError naming `option` else."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SandboxError("%s: %r is not a number of seconds" % (option, value))
    if math.isnan(number) or math.isinf(number) or number < 0 or number > maximum or (number == 0 and not allow_zero):
        raise SandboxError("%s: must be a number of seconds from %s to %g, got %r"
                           % (option, "0" if allow_zero else "more than 0", maximum, value))
    return number
