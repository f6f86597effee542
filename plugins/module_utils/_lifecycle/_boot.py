# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sandboxes that come back after a reboot (restart_on_boot).

The state directory is on /run and goes with a reboot; a marked sandbox's spec is also kept under
persistent storage, ``BOOT_DIR/<name>.json``. At boot, ``BOOT_PROGRAM`` (the collection's own
module_utils in a zip, written by the sandbox module, root's alone) makes every marked sandbox that is
not alive again, parents first, with the same spec (limits, network, workloads). On a host whose init
is systemd the sandbox module also installs ``linuxns-pidns-boot.service``, which runs it; elsewhere
an init script runs ``python3 -I BOOT_PROGRAM`` (the README says so)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _rootfs, _systemd
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import is_valid_name

# Beside the overlays' upper layers, under a name no sandbox can have.
BOOT_DIR = os.path.join(_rootfs.LAYERS_DIR, ".boot")
BOOT_PROGRAM = os.path.join(BOOT_DIR, "linuxns-pidns-boot.pyz")
UNIT_NAME = "linuxns-pidns-boot.service"
UNIT_PATH = os.path.join("/etc/systemd/system", UNIT_NAME)
WANTS_LINK = os.path.join("/etc/systemd/system/multi-user.target.wants", UNIT_NAME)
MAX_RECORD = 1024 * 1024

MAIN = '''\
import sys

from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _boot

sys.exit(_boot.main())
'''

UNIT = """\
# Written by the linuxns.pidns.sandbox module (restart_on_boot): makes the marked sandboxes again.
[Unit]
Description=linuxns.pidns sandboxes marked restart_on_boot
After=local-fs.target network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=/usr/bin/python3 -I %s

[Install]
WantedBy=multi-user.target
""" % BOOT_PROGRAM


def record_path(name, boot_dir=BOOT_DIR):
    return os.path.join(boot_dir, name + ".json")


def _write(path, data, mode=0o600):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.rename(tmp, path)


def _read(path, limit=MAX_RECORD):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, limit)
    finally:
        os.close(fd)


def _safe_folder(boot_dir):
    """The folder, made root's alone: the program in it runs as root at boot."""
    os.makedirs(boot_dir, 0o700, exist_ok=True)
    info = os.lstat(boot_dir)
    if info.st_uid != 0 or info.st_mode & 0o022 or not os.path.isdir(boot_dir) or os.path.islink(boot_dir):
        raise SandboxError("restart_on_boot: %s must be a folder owned by root that only root may write to"
                           % boot_dir)
    os.chmod(boot_dir, 0o700)


def remember(name, spec, boot_dir=BOOT_DIR, systemd_root="/"):
    """Keep the sandbox's spec for the boot program, and install the program (and the systemd unit
    where systemd runs) when theirs differ."""
    # Here: zipfile and pkgutil cost every sandbox run ~10 ms to import (modules are compiled each run).
    from ansible_collections.linuxns.pidns.plugins.module_utils import _payload
    _safe_folder(boot_dir)
    _write(record_path(name, boot_dir), json.dumps({"name": name, "spec": spec}, sort_keys=True).encode("utf-8"))
    program = _payload.build(MAIN)
    path = os.path.join(boot_dir, os.path.basename(BOOT_PROGRAM))
    if _read(path, len(program) + 1) != program:
        _write(path, program)
    if _systemd.booted():
        unit = os.path.join(systemd_root, UNIT_PATH.lstrip("/"))
        if _read(unit) != UNIT.encode("utf-8"):
            os.makedirs(os.path.dirname(unit), 0o755, exist_ok=True)
            _write(unit, UNIT.encode("utf-8"), 0o644)
        wants = os.path.join(systemd_root, WANTS_LINK.lstrip("/"))
        if not os.path.lexists(wants):
            os.makedirs(os.path.dirname(wants), 0o755, exist_ok=True)
            os.symlink(UNIT_PATH, wants)


def forget(name, boot_dir=BOOT_DIR):
    """Whether a record was there to remove."""
    try:
        os.unlink(record_path(name, boot_dir))
    except FileNotFoundError:
        return False
    return True


def marked(boot_dir=BOOT_DIR):
    """{name: spec} of the records, checked (names, shapes); a bad one is skipped with a message."""
    found, problems = {}, []
    try:
        entries = sorted(os.listdir(boot_dir))
    except OSError:
        return found, problems
    for entry in entries:
        if not entry.endswith(".json"):
            continue
        name = entry[:-5]
        data = _read(os.path.join(boot_dir, entry))
        try:
            record = json.loads((data or b"").decode("utf-8"))
            if not is_valid_name(name) or record.get("name") != name or not isinstance(record.get("spec"), dict):
                raise ValueError("not a record of sandbox %s" % name)
        except (ValueError, AttributeError) as exc:
            problems.append("%s: skipped (%s)" % (entry, exc))
            continue
        found[name] = record["spec"]
    return found, problems


def boot_order(specs):
    """Names, parents before their nested sandboxes (a parent that is not marked comes from the host)."""
    ordered, seen = [], set()

    def visit(name, path):
        if name in seen or name in path:
            return
        parent = specs[name].get("parent")
        if parent in specs:
            visit(parent, path + (name,))
        seen.add(name)
        ordered.append(name)

    for name in sorted(specs):
        visit(name, ())
    return ordered


def _run_command(argv):
    import subprocess
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True)
    out, err = process.communicate()
    return process.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def bring_back(state_dir=None, boot_dir=BOOT_DIR, out=None):
    """Make every marked sandbox that is not alive again. Returns (made, kept, problems)."""
    # Here, not above: the module's own imports stay what they were.
    from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._launch import create
    from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._records import inspect_sandbox
    from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._statedir import HostView, StateDir, require_root
    from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._stop import destroy
    state_dir = state_dir or StateDir()
    specs, problems = marked(boot_dir)
    made, kept = [], []
    require_root(state_dir.proc_root)
    state_dir.lock()
    try:
        view = HostView(state_dir)
        for name in boot_order(specs):
            spec = specs[name]
            try:
                current = inspect_sandbox(view, name)
                if current is not None and current["health"] == "alive":
                    kept.append(name)
                    continue
                if current is not None:
                    destroy(view, current)
                    view.refresh()
                parent_record = None
                if spec.get("parent"):
                    parent_record = inspect_sandbox(view, spec["parent"])
                    if parent_record is None or parent_record["health"] != "alive":
                        raise SandboxError("its parent %s is not alive" % spec["parent"])
                create(view, name, spec, parent_record, run_command=_run_command)
                view.refresh()
                made.append(name)
            except (SandboxError, OSError) as exc:
                problems.append("%s: %s" % (name, exc))
    finally:
        state_dir.unlock()
    return made, kept, problems


def main():
    made, kept, problems = bring_back()
    for name in made:
        sys.stdout.write("linuxns-pidns-boot: made %s again\n" % name)
    for name in kept:
        sys.stdout.write("linuxns-pidns-boot: %s is alive\n" % name)
    for problem in problems:
        sys.stderr.write("linuxns-pidns-boot: %s\n" % problem)
    return 1 if problems else 0
