# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugin_utils/_text.py: host strings made safe to show."""

from __future__ import annotations

import pytest

from ansible_collections.linuxns.pidns.plugins.plugin_utils._text import cell, fence, printable


@pytest.mark.parametrize("given, shown", [
    ("plain text", "plain text"),
    ("a\nb\r\tc", "a\\nb\\r\\tc"),
    ("\x00\x1b[31m\x7f\x9b", "\\x00\\x1b[31m\\x7f\\x9b"),
    ("abc\u202edcba\u2066\u2028", "abc\\u202edcba\\u2066\\u2028"),
    ("ünïcödé ✓ ├─", "ünïcödé ✓ ├─"),
    (42, "42"),
    (None, "None"),
])
def test_printable_escapes_control_and_bidi_characters(given, shown):
    assert printable(given) == shown
    assert printable(printable(given)) == shown  # idempotent


@pytest.mark.parametrize("given, shown", [
    ("web", "web"),
    ("init_not_reaper", "init_not_reaper"),
    ("a|b", "a\\|b"),
    ("a\\|b", "a\\\\\\|b"),
    ("<script>&", "&lt;script&gt;&amp;"),
    ("`code` [x](y)", "\\`code\\` \\[x\\](y)"),
    ("two\nlines\r\n", "two lines  "),
    ("bell\x07", "bell\\\\x07"),  # the escape \x07, its backslash escaped for Markdown
    ("{{ 7*7 }}", "{{ 7*7 }}"),
])
def test_cell(given, shown):
    assert cell(given) == shown


@pytest.mark.parametrize("text, marker", [
    ("no backticks", "```"),
    ("a ``` b", "````"),
    ("`" * 16, "`" * 17),
    ("x\n" + "`" * 40 + "\ny", "`" * 41),
])
def test_fence_is_longer_than_any_backtick_run(text, marker):
    assert fence(text) == "%stext\n%s\n%s" % (marker, text, marker)
