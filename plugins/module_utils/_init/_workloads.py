# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Workloads declared on a sandbox: their checks (pure; the plan filter imports them too), the files
PID 1 and the module share, and what sandbox_info and sandbox_logs read of them.

PID 1 (_lifecycle/_supervisor.py) starts each workload as its child and restarts it by its policy,
with docker's back-off; it reads the list from ``<sandbox>/workloads/spec.json`` at start and again
on SIGHUP from outside, writes what it sees to ``status.json`` and each workload's output to
``<name>.log`` (rotated by size), all through a descriptor of that folder: the sandbox's root may
not be the host's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError

FOLDER = "workloads"
SPEC_FILE = "spec.json"
STATUS_FILE = "status.json"
RESTART_POLICIES = ("no", "on-failure", "always", "unless-stopped")
KEYS = ("name", "argv", "env", "user", "group", "chdir", "restart", "stop_signal", "stop_timeout")
NAME_RULE = "1 to 64 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit"
DEFAULT_STOP_TIMEOUT = 10.0
MAX_STOP_TIMEOUT = 3600.0
MAX_WORKLOADS = 64
MAX_ARGV_BYTES = 128 * 1024
# docker's json-file defaults would be unbounded; these are its usual settings (max-size, max-file).
LOG_MAX_BYTES = 1024 * 1024
LOG_FILES = 3
STATES = ("starting", "running", "backing off", "exited", "stopped")
_SIGNALS = {"HUP": 1, "INT": 2, "QUIT": 3, "KILL": 9, "USR1": 10, "USR2": 12, "TERM": 15, "WINCH": 28,
            "PWR": 30, "STOP": 19, "CONT": 18}


def _is_name(name):
    return isinstance(name, str) and 0 < len(name) <= 64 and name[0].isalnum() and name.isascii() and \
        all(char.isalnum() or char in "_.-" for char in name)


def _text(value, option, allow_empty=False):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SandboxError("%s: %r is not text" % (option, value))
    text = str(value)
    if "\x00" in text or (not text and not allow_empty):
        raise SandboxError("%s: %r must be non-empty text without NUL" % (option, value))
    return text


def parse_restart(value, option):
    """(policy, max retries or None) from docker's values: no, on-failure[:N], always, unless-stopped."""
    text = "no" if value is None else value
    if not isinstance(text, str):
        raise SandboxError("%s: %r is not one of %s (with on-failure:N for at most N restarts)"
                           % (option, value, ", ".join(RESTART_POLICIES)))
    policy, colon, count = text.partition(":")
    if policy not in RESTART_POLICIES or (colon and policy != "on-failure"):
        raise SandboxError("%s: %r is not one of %s (with on-failure:N for at most N restarts)"
                           % (option, value, ", ".join(RESTART_POLICIES)))
    if not colon:
        return policy, None
    if not (count.isdigit() and count.isascii() and 0 < int(count) <= 1000000):
        raise SandboxError("%s: %r: the most restarts after on-failure: must be a whole number from 1"
                           % (option, value))
    return policy, int(count)


def parse_signal(value, option):
    """A signal number from SIGTERM, TERM, 15; SandboxError naming the option else."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isdigit() and value.isascii():
        number = int(value)
    elif isinstance(value, str) and value.upper().replace("SIG", "", 1) in _SIGNALS:
        number = _SIGNALS[value.upper().replace("SIG", "", 1)]
    else:
        raise SandboxError("%s: %r is not a signal such as SIGTERM, TERM or 15" % (option, value))
    if not 1 <= number <= 64 or number in (_SIGNALS["STOP"], _SIGNALS["CONT"]):
        raise SandboxError("%s: %r is not a signal that stops a process" % (option, value))
    return number


def normalize(value):
    """The checked list, in the order given: [{name, argv, env, user, group, chdir, restart,
    max_retries, stop_signal, stop_timeout}]; SandboxError naming the entry and option."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_WORKLOADS:
        raise SandboxError("workloads: a list of at most %d workloads ({name, argv, ...}), got %r"
                           % (MAX_WORKLOADS, value))
    workloads = []
    for index, entry in enumerate(value):
        label = "workloads[%d]" % index
        if not isinstance(entry, dict):
            raise SandboxError("%s: %r is not a dict of name, argv, ..." % (label, entry))
        unknown = sorted(set(entry) - set(KEYS))
        if unknown:
            raise SandboxError("%s: unknown key(s) %s; a workload takes %s" % (label, ", ".join(unknown), ", ".join(KEYS)))
        name = entry.get("name")
        if not _is_name(name):
            raise SandboxError("%s.name: %r is not a workload name: use %s" % (label, name, NAME_RULE))
        if any(other["name"] == name for other in workloads):
            raise SandboxError("%s.name: %r is listed twice; give each workload its own name" % (label, name))
        argv = entry.get("argv")
        if not isinstance(argv, list) or not argv:
            raise SandboxError("%s.argv: must be a non-empty list (the program, then its arguments), got %r"
                               % (label, argv))
        argv = [_text(arg, "%s.argv[%d]" % (label, number), allow_empty=number > 0) for number, arg in enumerate(argv)]
        if sum(len(arg) for arg in argv) > MAX_ARGV_BYTES:
            raise SandboxError("%s.argv: longer than %d bytes" % (label, MAX_ARGV_BYTES))
        env = entry.get("env") or {}
        if not isinstance(env, dict):
            raise SandboxError("%s.env: %r is not a dict of names and values" % (label, env))
        clean_env = {}
        for key, text in env.items():
            if not isinstance(key, str) or not key or "=" in key or "\x00" in key:
                raise SandboxError("%s.env: %r is not a variable name" % (label, key))
            clean_env[key] = _text(text, "%s.env.%s" % (label, key), allow_empty=True)
        policy, retries = parse_restart(entry.get("restart"), "%s.restart" % label)
        chdir = entry.get("chdir")
        if chdir is not None and (not isinstance(chdir, str) or not chdir.startswith("/") or "\x00" in chdir):
            raise SandboxError("%s.chdir: %r is not an absolute path" % (label, chdir))
        stop_timeout = entry.get("stop_timeout")
        stop_timeout = DEFAULT_STOP_TIMEOUT if stop_timeout is None else stop_timeout
        try:
            if isinstance(stop_timeout, bool):
                raise ValueError()
            stop_timeout = float(stop_timeout)
            if not 0 <= stop_timeout <= MAX_STOP_TIMEOUT:
                raise ValueError()
        except (TypeError, ValueError):
            raise SandboxError("%s.stop_timeout: a number of seconds from 0 to %g, got %r"
                               % (label, MAX_STOP_TIMEOUT, entry.get("stop_timeout")))
        workloads.append({
            "name": name, "argv": argv, "env": clean_env,
            "user": None if entry.get("user") is None else _text(entry["user"], "%s.user" % label),
            "group": None if entry.get("group") is None else _text(entry["group"], "%s.group" % label),
            "chdir": chdir, "restart": policy, "max_retries": retries,
            "stop_signal": parse_signal(entry.get("stop_signal", 15), "%s.stop_signal" % label),
            "stop_timeout": stop_timeout,
        })
    return workloads


# ---- the files shared with PID 1 (module side)

def folder(sandbox_folder):
    return os.path.join(sandbox_folder, FOLDER)


def write_spec(sandbox_folder, workloads):
    """Write the list PID 1 reads (atomically: it may read at any time)."""
    path = os.path.join(folder(sandbox_folder), SPEC_FILE)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(workloads, handle, sort_keys=True)
    os.rename(path + ".tmp", path)


def read_status(sandbox_folder, limit=256 * 1024):
    """What PID 1 last wrote about its workloads: {name: {...}} with only known keys and types. PID 1
    is inside the sandbox: its file is host data to check, bounded."""
    try:
        fd = os.open(os.path.join(folder(sandbox_folder), STATUS_FILE), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return {}
    try:
        data = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    try:
        document = json.loads(data.decode("utf-8")) if len(data) <= limit else {}
    except ValueError:
        return {}
    found = {}
    for name, entry in (document.items() if isinstance(document, dict) else []):
        if not _is_name(name) or not isinstance(entry, dict):
            continue
        clean = {"state": entry.get("state") if entry.get("state") in STATES else "unknown"}
        for key in ("pid", "restart_count", "exit_code", "exit_signal"):
            value = entry.get(key)
            clean[key] = value if isinstance(value, int) and not isinstance(value, bool) else None
        for key in ("started", "finished"):
            value = entry.get(key)
            clean[key] = value if isinstance(value, str) and len(value) <= 32 else None
        found[name] = clean
    return found


def log_path(sandbox_folder, name):
    return os.path.join(folder(sandbox_folder), name + ".log")


def tail(sandbox_folder, name, lines):
    """The last `lines` lines of a workload's output (its current log and the rotated ones), as text."""
    paths = [log_path(sandbox_folder, name) + suffix for suffix in
             [".%d" % number for number in range(LOG_FILES - 1, 0, -1)] + [""]]
    data = b""
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            data += os.read(fd, LOG_MAX_BYTES * 2)
        finally:
            os.close(fd)
    text = data.decode("utf-8", "replace")
    kept = text.splitlines()[-lines:] if lines else []
    return kept
