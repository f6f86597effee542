#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sandbox_info
short_description: List namespace sandboxes on a host, with their health
version_added: 0.1.0
description:
  - Lists the sandboxes made by M(linuxns.pidns.sandbox) on a host, or one of them, with whether
    each is alive or broken (and why), its supervisor, namespaces, handles, nesting, and process
    and zombie counts; optionally every process inside.
  - A host without the state directory has no sandboxes; the list is empty, not an error.
author:
  - linuxns.pidns contributors (@linuxns)
requirements:
  - Root on the managed host (the state directory is readable by root only).
extends_documentation_fragment:
  - linuxns.pidns._attributes
  - linuxns.pidns._attributes.info_module
options:
  name:
    description: Name of one sandbox to describe. All sandboxes when omitted.
    type: str
  processes:
    description: Include the processes inside each alive sandbox.
    type: bool
    default: false
seealso:
  - module: linuxns.pidns.sandbox
  - module: linuxns.pidns.pidns_facts
"""

EXAMPLES = r"""
- name: All sandboxes on the host
  linuxns.pidns.sandbox_info:
  register: found
  become: true

- name: Fail when a sandbox is broken
  ansible.builtin.assert:
    that: found.sandboxes | rejectattr('alive') | list | length == 0
    fail_msg: "broken: {{ found.sandboxes | rejectattr('alive') | map(attribute='name') | join(', ') }}"

- name: The processes inside web
  linuxns.pidns.sandbox_info:
    name: web
    processes: true
  become: true
"""

RETURN = r"""
sandboxes:
  description: The sandboxes found, sorted by name. Empty when there are none (or O(name) is not there).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the sandbox.
      type: str
    alive:
      description: Whether the sandbox is usable.
      type: bool
    health:
      description: V(alive) or V(broken).
      type: str
    problems:
      description: Why it is broken; empty when alive.
      type: list
      elements: str
    supervisor:
      description: Host PID and start time (clock ticks since boot) of its PID 1.
      type: dict
    namespaces:
      description: Namespace type to inode number.
      type: dict
    handles:
      description: Namespace type to handle path.
      type: dict
    hostname:
      description: Hostname inside, if it has a UTS namespace.
      type: str
    parent:
      description: The sandbox it is nested in, or null.
      type: str
    level:
      description: Nesting depth of its PID namespace seen from the host.
      type: int
    created:
      description: Creation time, UTC.
      type: str
    spec:
      description: The options it was created with.
      type: dict
    nprocs:
      description: Processes in its PID namespace, including nested sandboxes' processes and zombies.
      type: int
    zombies:
      description: Zombies in its PID namespace.
      type: int
    processes:
      description: With O(processes=true), every process of its PID namespace.
      type: list
      elements: dict
      contains:
        pid:
          description: Host PID.
          type: int
        ns_pid:
          description: PID inside the sandbox.
          type: int
        ppid:
          description: Host PID of the parent.
          type: int
        ns_ppid:
          description: PID of the parent inside the sandbox; 0 when the parent is outside (the supervisor, or a process that joined from the host).
          type: int
        state:
          description: One-letter state, as in C(ps) (V(S), V(R), V(Z), ...).
          type: str
        comm:
          description: Process name.
          type: str
        command:
          description: Command line, its arguments joined with spaces (for reading; see RV(sandboxes[].processes[].cmdline)).
          type: str
        cmdline:
          description: Command line as a list of arguments, exact (for matching).
          type: list
          elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.linuxns.pidns.plugins.module_utils._listing import run
from ansible_collections.linuxns.pidns.plugins.module_utils._module_runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            processes=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
