# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""pidns_tree: render ansible_facts.pidns (linuxns.pidns.pidns_facts) as a text tree.

The documentation is in pidns_tree.yml next to this file; the work is done in
plugins/plugin_utils/_tree.py, shared with the linuxns.pidns.fleet_report action.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.linuxns.pidns.plugins.plugin_utils._facts import FactsInputError
from ansible_collections.linuxns.pidns.plugins.plugin_utils._tree import tree


def pidns_tree(facts, processes=False, ascii=False, width=60, warnings=True):
    """Render pidns facts as a tree like `lsns --tree=parent`."""
    try:
        return tree(facts, processes=processes, ascii=ascii, width=width, warnings=warnings)
    except FactsInputError as error:
        raise AnsibleFilterError(str(error))


class FilterModule(object):

    def filters(self):
        return {"pidns_tree": pidns_tree}
