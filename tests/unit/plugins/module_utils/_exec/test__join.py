# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for _join: option checks (no root needed: they come before anything is opened)."""

from __future__ import annotations

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._exec import _join
from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), float("-inf"), -1, 0, 1e300, "soon", [1]])
def test_a_timeout_must_be_a_finite_bounded_number_of_seconds(timeout, tmp_path):
    with pytest.raises(SandboxError) as caught:
        _join.run({"sandbox": "web", "argv": ["true"], "timeout": timeout},
                  state_dir=_join.StateDir(str(tmp_path / "state")))
    assert str(caught.value).startswith("timeout: ")
    assert not (tmp_path / "state").exists()


# ---------------------------------------------------------------- bounded output (issue 10 item 7)

def _captured(limit, *chunks):
    capture = _join.CappedOutput(limit)
    for chunk in chunks:
        capture.add(chunk)
    return capture


def test_output_up_to_the_limit_is_kept_whole():
    capture = _captured(10, b"01234", b"", b"56789")
    assert capture.value() == b"0123456789" and capture.truncated is False and capture.seen == 10


def test_output_beyond_the_limit_keeps_head_and_tail_and_says_how_much_is_left_out():
    chunks = [bytes([65 + i % 26]) * 1000 for i in range(1000)]
    capture = _captured(100, *chunks)
    data = b"".join(chunks)
    assert capture.truncated is True and capture.seen == len(data)
    assert capture.value() == data[:50] + b"\n[... 999900 bytes left out (output_limit) ...]\n" + data[-50:]
    assert len(capture.tail) <= 2 * 50 + _join._READ_SIZE


def test_an_odd_or_zero_limit():
    assert _captured(3, b"abcdef").value() == b"ab\n[... 3 bytes left out (output_limit) ...]\nf"
    assert _captured(0, b"abc").value() == b"\n[... 3 bytes left out (output_limit) ...]\n"
    assert _captured(0).value() == b"" and _captured(0).truncated is False


@pytest.mark.parametrize("limit", [-1, 2 ** 40, 1.5, "1M", True])
def test_output_limit_must_be_a_bounded_number_of_bytes(limit, tmp_path):
    with pytest.raises(SandboxError) as caught:
        _join.run({"sandbox": "web", "argv": ["true"], "output_limit": limit},
                  state_dir=_join.StateDir(str(tmp_path / "state")))
    assert str(caught.value).startswith("output_limit: ")
