# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every layer shares: the error whose message goes to the user as it is, where the
sandboxes live, and how `ps` names a supervisor."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

STATE_DIR = "/run/linuxns-pidns"
# The prefix `ps` shows before a supervisor's sandbox name (set by the supervisor itself).
SUPERVISOR_PREFIX = "pidns:"


class SandboxError(Exception):
    """A failure to report to the user as it is: the message names what was wrong."""
