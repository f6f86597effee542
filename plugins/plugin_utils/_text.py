# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Host strings made safe to show: control characters, Markdown table cells and code fences.

Everything a managed host reports (command lines, cgroup-derived owner names, messages) is chosen by
whoever runs processes there, unprivileged users included. Before such a string reaches a text tree or
a report it goes through printable(); Markdown adds cell() and fence(), HTML adds html.escape().
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# C0 and C1 controls and DEL (newlines would end a table row or a code fence; escape sequences reach
# terminals), the Unicode line and paragraph separators, and the bidirectional formatting characters
# that make text display in another order than it is read (CVE-2021-42574, "Trojan Source").
_CONTROL = re.compile(u"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Markdown: backslash-escape what starts code or a link or ends a table cell (emphasis is left
# alone: it cannot leave the cell, and warning codes read better as init_not_reaper than init\_not\_reaper);
# <, > and & become entities (no raw HTML, which Markdown renderers pass through).
_MARKDOWN = re.compile(r"([\\`\[\]|])")
_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_BACKTICKS = re.compile("`+")


def _escape(match):
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code


def printable(value):
    """value as text on one line: every control or bidi formatting character as a visible escape."""
    text = value if isinstance(value, str) else str(value)
    return _CONTROL.sub(_escape, text)


def cell(value):
    """value as the text of a Markdown table cell, heading or list item: one line, no markup.

    Line breaks become spaces (messages read better), other control characters escapes.
    """
    text = printable((value if isinstance(value, str) else str(value)).replace("\r", " ").replace("\n", " "))
    for char, entity in _ENTITIES:
        text = text.replace(char, entity)
    return _MARKDOWN.sub(r"\\\1", text)


def fence(text, info="text"):
    """text in a Markdown code block whose fence is longer than any run of backticks in it."""
    longest = max([len(run) for run in _BACKTICKS.findall(text)] or [0])
    marker = "`" * max(3, longest + 1)
    return "%s%s\n%s\n%s" % (marker, info, text, marker)
