# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Readers of linuxns.pidns.pidns_facts data shared by the filters and the fleet report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping


class FactsInputError(ValueError):
    """The input is not what a filter or the report takes; the message says what is wrong and how to fix it."""


def owner_label(owner):
    """'<kind> <name>' of a namespace's owner ('sandbox web', 'docker 0123456789ab'), or None."""
    if not isinstance(owner, Mapping):
        return None
    name = owner.get("name") or str(owner.get("id") or "")[:12] or owner.get("pod") or "?"
    kind = "sandbox" if owner.get("type") == "sandbox" else (owner.get("runtime") or "container")
    return "%s %s" % (kind, name)
