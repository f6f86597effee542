# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""restart_on_boot (issue 20): a marked sandbox is made again by the boot program after a reboot,
with the same spec, nested ones after their parent; others are not.

A reboot is simulated for the test's own sandboxes only (sandboxes.force_remove with the boot record
kept: supervisors SIGKILLed, cgroups emptied and removed, handles unmounted, /run folders deleted);
then the boot program runs as an init script would run it, with the machine's Python."""

from __future__ import annotations

import subprocess

from ansible_cli import run_module_main
from sandboxes import BOOT_DIR, force_remove, state_of

BOOT_PROGRAM = BOOT_DIR / "linuxns-pidns-boot.pyz"


def _boot():
    return subprocess.run(["/usr/bin/python3", "-I", str(BOOT_PROGRAM)], capture_output=True, text=True,
                          timeout=120, check=False)


def _workloads(name):
    [info] = run_module_main("sandbox_info", {"name": name})["sandboxes"]
    return info


def test_marked_sandboxes_come_back_after_a_reboot_and_others_do_not(names):
    top, child, plain = names("boot"), names("boot"), names("boot")
    made = run_module_main("sandbox", {"name": top, "restart_on_boot": True, "pids_limit": 64, "hostname": "top.test",
                                       "workloads": [{"name": "server", "argv": ["sleep", "600"], "restart": "always"}]})
    assert not made["failed"], made
    assert not run_module_main("sandbox", {"name": child, "parent": top, "restart_on_boot": True})["failed"]
    assert not run_module_main("sandbox", {"name": plain})["failed"]
    record = BOOT_DIR / ("%s.json" % top)
    assert record.stat().st_mode & 0o777 == 0o600 and record.stat().st_uid == 0
    assert BOOT_DIR.stat().st_mode & 0o777 == 0o700 and BOOT_PROGRAM.stat().st_mode & 0o777 == 0o600
    assert not (BOOT_DIR / ("%s.json" % plain)).exists()
    specs = {name: state_of(name)["spec"] for name in (top, child)}
    old_supervisors = {name: state_of(name)["supervisor"]["pid"] for name in (top, child, plain)}

    for name in (child, top, plain):
        force_remove(name, keep_boot_record=True)
    assert all(state_of(name) is None for name in (top, child, plain))

    booted = _boot()
    assert booted.returncode == 0, booted.stderr
    assert "made %s again" % top in booted.stdout and "made %s again" % child in booted.stdout
    assert booted.stdout.index(top) < booted.stdout.index(child)  # parents first
    for name in (top, child):
        assert state_of(name)["spec"] == specs[name]
        assert state_of(name)["supervisor"]["pid"] != old_supervisors[name]
    info = _workloads(top)
    assert info["health"] == "alive" and info["hostname"] == "top.test" and info["limits"]["pids_limit"] == 64
    assert _workloads(child)["level"] == info["level"] + 1
    assert [(w["name"], w["state"]) for w in info["workloads"]] in ([("server", "running")], [("server", "starting")])
    assert state_of(plain) is None

    again = _boot()  # alive ones are left alone
    assert again.returncode == 0 and "%s is alive" % top in again.stdout, again
    assert state_of(top)["supervisor"]["pid"] == info["supervisor"]["pid"]

    gone = run_module_main("sandbox", {"name": top, "state": "absent"})
    assert gone["changed"] and not (BOOT_DIR / ("%s.json" % top)).exists()
    assert not (BOOT_DIR / ("%s.json" % child)).exists()  # removed with its parent


def test_unmarking_applies_in_place_and_drops_the_record(names):
    name = names("boot")
    made = run_module_main("sandbox", {"name": name, "restart_on_boot": True})
    pid = made["sandbox"]["supervisor"]["pid"]
    assert (BOOT_DIR / ("%s.json" % name)).exists()
    unmarked = run_module_main("sandbox", {"name": name, "restart_on_boot": False})
    assert unmarked["changed"] and unmarked["updated"] == ["restart_on_boot"], unmarked
    assert unmarked["sandbox"]["supervisor"]["pid"] == pid and not (BOOT_DIR / ("%s.json" % name)).exists()
