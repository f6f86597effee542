# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a new sandbox's cgroup goes when the module itself runs inside a sandbox (own_base)."""

from __future__ import annotations

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._kernel._cgroup import own_base


@pytest.mark.parametrize("text, base", [
    ("0::/\n", None),
    ("0::/user.slice/user-0.slice/session-3.scope\n", None),
    ("0::/user.slice/_workloads\n", None),  # a leaf name alone is not one of ours
    ("0::/linuxns-pidns/fleet-1/_workloads\n", "linuxns-pidns/fleet-1/_sandboxes"),
    ("4:memory:/x\n0::/linuxns-pidns/web/inner/_exec.12.5\n", "linuxns-pidns/web/inner/_sandboxes"),
    ("0::/linuxns-pidns/web/_sandboxes/db/_supervisor\n", "linuxns-pidns/web/_sandboxes/db/_sandboxes"),
    ("0::/linuxns-pidns.slice/linuxns-pidns-web.scope/web/_supervisor\n",
     "linuxns-pidns.slice/linuxns-pidns-web.scope/web/_sandboxes"),
    ("1:pids:/linuxns-pidns/a/_supervisor\n", "linuxns-pidns/a/_sandboxes"),  # v1 only
])
def test_own_base(text, base):
    assert own_base(text) == base
