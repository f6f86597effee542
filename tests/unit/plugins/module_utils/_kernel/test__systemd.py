# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _systemd: the scope asked of systemd, against a recorded bus call and a fake /proc
(this machine's PID 1 is not systemd, so this path runs only here)."""

from __future__ import annotations

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _systemd
from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError

# busctl's arguments as systemd's own D-Bus API documents StartTransientUnit(ssa(sv)a(sa(sv))):
# name, mode, properties (count, then name/signature/value each), auxiliary units (none).
RECORDED = ["busctl", "call", "--quiet", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager", "StartTransientUnit", "ssa(sv)a(sa(sv))",
            "linuxns-pidns-web.scope", "fail", "5",
            "PIDs", "au", "1", "4242",
            "Delegate", "b", "true",
            "Slice", "s", "linuxns-pidns.slice",
            "CollectMode", "s", "inactive-or-failed",
            "Description", "s", "linuxns.pidns sandbox web",
            "0"]


def test_the_bus_call_asks_for_a_delegated_scope_in_the_slice():
    assert _systemd.start_scope_argv("web", 4242) == RECORDED


@pytest.mark.parametrize("text, found", [
    ("0::/linuxns-pidns.slice/linuxns-pidns-web.scope\n", "linuxns-pidns.slice/linuxns-pidns-web.scope"),
    ("12:pids:/linuxns-pidns.slice/linuxns-pidns-web.scope\n1:name=systemd:/linuxns-pidns.slice/linuxns-pidns-web.scope\n"
     "0::/linuxns-pidns.slice/linuxns-pidns-web.scope\n", "linuxns-pidns.slice/linuxns-pidns-web.scope"),
    ("0::/user.slice/session-4.scope\n", None),
    ("0::/linuxns-pidns.slice/linuxns-pidns-webx.scope\n", None),
])
def test_scope_of(text, found):
    assert _systemd.scope_of(text, "web") == found


def test_start_scope_waits_for_the_kernel_to_show_the_launcher_in_it(tmp_path):
    (tmp_path / "4242").mkdir()
    cgroup = tmp_path / "4242" / "cgroup"
    cgroup.write_text("0::/user.slice/session-4.scope\n")
    calls = []

    def run_command(argv):
        calls.append(argv)
        cgroup.write_text("0::/linuxns-pidns.slice/linuxns-pidns-web.scope\n")  # what systemd then does
        return 0, "", ""

    assert _systemd.start_scope(run_command, "web", 4242, str(tmp_path)) == "linuxns-pidns.slice/linuxns-pidns-web.scope"
    assert calls == [RECORDED]


def test_a_refused_scope_says_why():
    def run_command(argv):
        return 1, "", "Unit linuxns-pidns-web.scope already exists."

    with pytest.raises(SandboxError, match="systemd refused the scope linuxns-pidns-web.scope .*already exists"):
        _systemd.start_scope(run_command, "web", 4242)


def test_booted_is_what_sd_booted_checks(tmp_path):
    assert _systemd.booted(str(tmp_path)) is False
    (tmp_path / "run" / "systemd" / "system").mkdir(parents=True)
    assert _systemd.booted(str(tmp_path)) is True
