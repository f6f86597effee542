# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _pidns_parents: the NS_GET_PARENT path checks what it opened."""

from __future__ import annotations

import errno
import os

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._facts import _pidns_parents


def test_ioctl_parent_refuses_a_path_that_is_no_longer_the_namespace_meant(tmp_path):
    """Between the scan and the open, the scanned process may exit and its PID go to a process of
    another namespace: the fd opened is checked (fstat inode) before anything is asked of it."""
    path = tmp_path / "pid"
    path.write_text("")
    with pytest.raises(OSError) as raised:
        _pidns_parents.ioctl_parent(str(path), os.stat(str(path)).st_ino + 1)
    assert raised.value.errno == errno.ESTALE


def test_ioctl_parent_of_a_vanished_process_is_none(tmp_path):
    assert _pidns_parents.ioctl_parent(str(tmp_path / "gone"), 1) == (None, None)
