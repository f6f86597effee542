# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""pidns_fleet: one fleet report (schema 1) from the pidns facts of many hosts (and their sandboxes).

The documentation is in pidns_fleet.yml next to this file; the work is done in
plugins/plugin_utils/_fleet.py, shared with the linuxns.pidns.fleet_report action.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.linuxns.pidns.plugins.plugin_utils._facts import FactsInputError
from ansible_collections.linuxns.pidns.plugins.plugin_utils._fleet import fleet


def pidns_fleet(results, hosts=None, active=None, generated=None, sandboxes=None):
    """Build the fleet report: per host its status, facts and a summary, plus fleet totals; with
    sandboxes (host name to sandbox_info result), each host's sandboxes too."""
    try:
        return fleet(results, hosts=hosts, active=active, generated=generated, sandboxes=sandboxes)
    except FactsInputError as error:
        raise AnsibleFilterError(str(error))


class FilterModule(object):

    def filters(self):
        return {"pidns_fleet": pidns_fleet}
