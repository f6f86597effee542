# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which capabilities a sandbox's processes get, from its options and its root."""

from __future__ import annotations

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._containment import _capabilities
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import normalize_spec

OVERLAY = {"type": "overlay"}


def _effective(**options):
    return _capabilities.effective(normalize_spec("web", **options)[0])


def test_the_numbers_are_linuxs():
    assert _capabilities.NUMBERS["SYS_ADMIN"] == 21 and _capabilities.NUMBERS["SYS_BOOT"] == 22
    assert _capabilities.NUMBERS["CHECKPOINT_RESTORE"] == 40 and len(_capabilities.NAMES) == 41


def test_defaults_dockers_set_with_a_root_of_its_own_and_none_with_the_hosts():
    assert _effective(rootfs=OVERLAY) == sorted(_capabilities.DEFAULT)
    assert "SYS_ADMIN" not in _effective(rootfs=OVERLAY)
    assert _effective() is None
    assert _capabilities.effective({"namespaces": ["pid"]}) is None  # a spec from before the options


def test_add_then_drop_names_in_any_spelling():
    got = _effective(rootfs=OVERLAY, cap_add=["net_admin", "CAP_SYS_PTRACE"], cap_drop=["MKNOD", "net_admin"])
    assert got == sorted((set(_capabilities.DEFAULT) | {"SYS_PTRACE"}) - {"MKNOD"})
    assert _effective(cap_drop=["NET_RAW"]) == sorted(set(_capabilities.HOST_ROOT_DEFAULT) - {"NET_RAW"})
    assert _effective(rootfs=OVERLAY, cap_drop=["ALL"], cap_add=["CHOWN"]) == []
    assert _effective(rootfs=OVERLAY, cap_add=["ALL"]) == sorted(_capabilities.NAMES)


def test_privileged_is_everything_and_alone():
    assert _effective(rootfs=OVERLAY, privileged=True) == sorted(_capabilities.NAMES)
    assert _capabilities.is_privileged(normalize_spec("web", privileged=True)[0])
    with pytest.raises(SandboxError, match="^privileged: it keeps every capability"):
        _effective(privileged=True, cap_drop=["NET_RAW"])


@pytest.mark.parametrize("option, value", [("cap_add", ["SYS_EVERYTHING"]), ("cap_drop", "NET_RAW"),
                                           ("cap_add", [5]), ("cap_drop", [None]), ("privileged", "yes")])
def test_bad_values_name_the_option(option, value):
    with pytest.raises(SandboxError, match="^%s: " % option):
        normalize_spec("web", **{option: value})


def test_a_changed_set_is_a_spec_difference_a_same_set_is_not():
    from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._decision import spec_differences
    base = normalize_spec("web", rootfs=OVERLAY)[0]
    assert spec_differences(base, normalize_spec("web", rootfs=OVERLAY, cap_add=["NET_ADMIN"])[0]) == ["capabilities"]
    assert spec_differences(base, normalize_spec("web", rootfs=OVERLAY, cap_add=["cap_net_admin"], cap_drop=[])[0]) \
        == ["capabilities"]
    assert spec_differences(base, normalize_spec("web", rootfs=OVERLAY, cap_add=[])[0]) == []
