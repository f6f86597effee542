# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A state.json as the sandbox module writes it, for the unit tests of what reads one."""

from __future__ import annotations

from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import normalize_spec


def _state(**overrides):
    state = {"schema": 1, "name": "web", "spec": normalize_spec("web", ["pid", "mnt"])[0],
             "supervisor": {"pid": 4242, "start_time": 777}, "boot_id": "boot-a",
             "namespaces": {"pid": 4026532001, "mnt": 4026532002}, "level": 1,
             "created": "2026-11-29T10:00:00Z"}
    state.update(overrides)
    return state
