#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sandbox_logs
short_description: The last lines a sandbox's workload wrote, as docker logs --tail
version_added: 0.1.0
description:
  - Returns the last lines of the output (stdout and stderr, as written) of a workload that
    M(linuxns.pidns.sandbox) declared with O(linuxns.pidns.sandbox#module:workloads), from its log and
    the rotated ones under the state directory.
  - The lines are what a process inside the sandbox wrote - text to show, never to template or trust.
author:
  - linuxns.pidns contributors (@linuxns)
requirements:
  - Root on the managed host (the state directory is readable by root only).
extends_documentation_fragment:
  - linuxns.pidns._attributes
  - linuxns.pidns._attributes.info_module
options:
  sandbox:
    description: The sandbox's name.
    type: str
    required: true
  workload:
    description: The workload's name.
    type: str
    required: true
  tail:
    description: How many of the last lines to return (V(0) for none; at most 100000).
    type: int
    default: 100
seealso:
  - module: linuxns.pidns.sandbox
  - module: linuxns.pidns.sandbox_info
"""

EXAMPLES = r"""
- name: The last 20 lines of the web workload
  linuxns.pidns.sandbox_logs:
    sandbox: web
    workload: server
    tail: 20
  register: logs
  become: true

- name: Show them
  ansible.builtin.debug:
    var: logs.lines
"""

RETURN = r"""
lines:
  description: The last lines, oldest first, decoded as UTF-8 (invalid bytes replaced).
  returned: success
  type: list
  elements: str
  sample: ["listening on :80", "GET / 200"]
log:
  description: The host path of the workload's current log (rotated ones end in C(.1), C(.2)).
  returned: success
  type: str
  sample: /run/linuxns-pidns/web/workloads/server.log
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._listing import run_logs
from ansible_collections.linuxns.pidns.plugins.module_utils._module_runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sandbox=dict(type="str", required=True),
            workload=dict(type="str", required=True),
            tail=dict(type="int", default=100),
        ),
        supports_check_mode=True,
    )
    run_module(module, run_logs)


if __name__ == "__main__":
    main()
