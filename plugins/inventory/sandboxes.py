# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: sandboxes
author: linuxns.pidns contributors (@linuxns)
short_description: The sandboxes on this controller as inventory hosts
version_added: 0.1.0
description:
  - Makes every sandbox of this controller's state directory (made by M(linuxns.pidns.sandbox)) an
    inventory host, reached with the P(linuxns.pidns.sandbox#connection) connection. No inventory to
    write by hand after a play made sandboxes here.
  - The inventory file's name must end with C(sandboxes.yml) or C(sandboxes.yaml).
  - Reading the state directory needs root, as making sandboxes does.
  - Sandboxes on other machines are not listed (an inventory plugin runs before any connection exists).
    The C(linuxns.pidns.sandboxes) role adds what it provisioned on any machine to an inventory group
    instead (its variable C(sandboxes_inventory_group)).
  - What is read from the state directory (names, hostnames, paths) is marked unsafe, so it is never
    templated, also not by O(compose) or O(keyed_groups).
options:
  plugin:
    description: The name of this plugin.
    type: str
    required: true
    choices:
      - linuxns.pidns.sandboxes
  state_dir:
    description: The collection's state directory on this controller.
    type: path
    default: /run/linuxns-pidns
extends_documentation_fragment:
  - ansible.builtin.constructed
notes:
  - Each host gets C(ansible_connection=linuxns.pidns.sandbox), C(ansible_sandbox_name) and
    C(ansible_sandbox_state_dir), and C(pidns_sandbox), what M(linuxns.pidns.sandbox_info) says of
    the sandbox (its C(health), C(hostname), C(paused), C(rootfs), C(cgroup), ...; no process list).
  - A broken or paused sandbox is listed too, and is unreachable through the connection; group on
    C(pidns_sandbox.health) to keep it out of a play.
seealso:
  - plugin: linuxns.pidns.sandbox
    plugin_type: connection
  - module: linuxns.pidns.sandbox_info
"""

EXAMPLES = r"""
# local.sandboxes.yml: every sandbox on this machine, grouped by health (sandbox_alive, ...)
plugin: linuxns.pidns.sandboxes
keyed_groups:
  - key: pidns_sandbox.health
    prefix: sandbox
compose:
  ansible_python_interpreter: "'/usr/bin/python3'"

# ansible -i local.sandboxes.yml sandbox_alive -m ansible.builtin.command -a hostname
"""

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._listing import describe
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._statedir import StateDir


class InventoryModule(BaseInventoryPlugin, Constructable):
    """Sandboxes of this controller's state directory as hosts."""

    NAME = "linuxns.pidns.sandboxes"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("sandboxes.yml", "sandboxes.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        state_dir = self.get_option("state_dir")
        try:
            sandboxes = describe(StateDir(state_dir))
        except PermissionError:
            raise AnsibleParserError("linuxns.pidns.sandboxes: reading the state directory %s needs root" % state_dir)
        strict = self.get_option("strict")
        for sandbox in sandboxes:
            # Host data is never template text: ansible-core 2.19+ trusts no value a plugin sets, and
            # before 2.19 only the unsafe mark keeps {{ }} in a path or a hostname from being evaluated.
            self._add_sandbox(wrap_var(sandbox), state_dir, strict)

    def _add_sandbox(self, sandbox, state_dir, strict):
        name = sandbox["name"]
        self.inventory.add_host(name)
        for key, value in (("ansible_connection", "linuxns.pidns.sandbox"), ("ansible_sandbox_name", name),
                           ("ansible_sandbox_state_dir", state_dir), ("pidns_sandbox", sandbox)):
            self.inventory.set_variable(name, key, value)
        variables = self.inventory.get_host(name).get_vars()
        self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)
