# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _join: option checks (no root needed: they come before anything is opened)."""

from __future__ import annotations

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils import _join
from ansible_collections.linuxns.pidns.plugins.module_utils._spec import SandboxError


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), float("-inf"), -1, 0, 1e300, "soon", [1]])
def test_a_timeout_must_be_a_finite_bounded_number_of_seconds(timeout, tmp_path):
    with pytest.raises(SandboxError) as caught:
        _join.run({"sandbox": "web", "argv": ["true"], "timeout": timeout},
                  state_dir=_join.StateDir(str(tmp_path / "state")))
    assert str(caught.value).startswith("timeout: ")
    assert not (tmp_path / "state").exists()
