# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The README's "test your own role" recipe, followed as a role author would: a Galaxy-style role
(a template, a handler, a system user, a service on port 80 in both instances) in a temporary folder, with molecule/default/ made the way the
README says, the README's own molecule.yml and converge.yml blocks, and `molecule test` run in it.
The docsite guide carries the same blocks: they must say the same. Needs root (sandboxes)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from sandboxes import force_remove, state_of  # noqa: E402

BIN = Path(sys.executable).parent
GUIDE = REPO / "docs" / "docsite" / "rst" / "guide_molecule.rst"

ROLE_FILES = {
    "meta/main.yml": """\
        galaxy_info:
          role_name: my_role
          author: a role author
          description: Writes its configuration, restarts on change, owns a system user
          license: MIT
          min_ansible_version: "2.16"
        dependencies: []
        """,
    "defaults/main.yml": """\
        my_role_greeting: hello
        """,
    "tasks/main.yml": """\
        - name: The service's user
          ansible.builtin.user:
            name: my-role-svc
            system: true
            create_home: false

        - name: The service's configuration
          ansible.builtin.template:
            src: my_role.conf.j2
            dest: /etc/my_role.conf
            mode: "0644"
          notify: Restart my_role

        - name: The service's folder
          ansible.builtin.file:
            path: /var/www/my_role
            state: directory
            mode: "0755"

        - name: The service's page
          ansible.builtin.copy:
            content: "{{ inventory_hostname }}\\n"
            dest: /var/www/my_role/index.html
            mode: "0644"

        - name: The service, on port 80 in every instance
          ansible.builtin.command: busybox httpd -p 80 -h /var/www/my_role
          args:
            creates: /run/my_role.started
          notify: Note my_role started
        """,
    "handlers/main.yml": """\
        - name: Restart my_role
          ansible.builtin.command: touch /var/tmp/my_role.restarted
          changed_when: true

        - name: Note my_role started
          ansible.builtin.file:
            path: /run/my_role.started
            state: touch
            mode: "0644"
        """,
    "templates/my_role.conf.j2": """\
        greeting={{ my_role_greeting }}
        host={{ inventory_hostname }}
        """,
}

VERIFY = """\
    - name: Verify inside the instances
      hosts: all
      gather_facts: false
      tasks:
        - name: The configuration
          ansible.builtin.slurp:
            src: /etc/my_role.conf
          register: conf
        - name: Names the instance, and the handler ran
          ansible.builtin.stat:
            path: /var/tmp/my_role.restarted
          register: restarted
        - name: Check
          ansible.builtin.assert:
            that:
              - (conf.content | b64decode) == "greeting=hello\\nhost=" ~ inventory_hostname ~ "\\n"
              - restarted.stat.exists
        - name: The user
          ansible.builtin.getent:
            database: passwd
            key: my-role-svc
        - name: The service answers on port 80 of its instance (each has a network of its own)
          ansible.builtin.command: busybox wget -q -O - http://127.0.0.1/
          register: page
          changed_when: false
          failed_when: page.stdout != inventory_hostname

    - name: The machine running Molecule is unchanged
      hosts: localhost
      connection: local
      gather_facts: false
      tasks:
        - name: No configuration of the role
          ansible.builtin.stat:
            path: /etc/my_role.conf
          register: host_conf
        - name: The machine's users
          ansible.builtin.getent:
            database: passwd
        - name: Nothing listens on the machine's port 80
          ansible.builtin.wait_for:
            host: 127.0.0.1
            port: 80
            state: stopped
            timeout: 2
        - name: Check
          ansible.builtin.assert:
            that:
              - not host_conf.stat.exists
              - "'my-role-svc' not in ansible_facts.getent_passwd"
    """


def yaml_block(text: str, first_line: str) -> str:
    """The ``` (Markdown) or code-block (reStructuredText) YAML block that starts with `first_line`."""
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        if block.startswith(first_line + "\n"):
            return block
    for block in re.findall(r"\.\. code-block:: yaml\n\n((?:    .*\n|\n)+)", text):
        block = textwrap.dedent(block)
        if block.startswith(first_line + "\n"):
            return block
    raise AssertionError("no YAML block starting with %r" % first_line)


@pytest.mark.parametrize("block", ["# your-role/molecule/default/molecule.yml",
                                   "# your-role/molecule/default/converge.yml"])
def test_the_readme_and_the_guide_give_the_same_blocks(block):
    readme = yaml.safe_load(yaml_block((REPO / "README.md").read_text(), block))
    guide = yaml.safe_load(yaml_block(GUIDE.read_text(), block))
    assert readme == guide


@pytest.fixture
def role(tmp_path):
    """my_role as its author has it, with molecule/default/ made as the README says."""
    readme = (REPO / "README.md").read_text()
    role = tmp_path / "roles" / "my_role"
    for name, text in ROLE_FILES.items():
        (role / name).parent.mkdir(parents=True, exist_ok=True)
        (role / name).write_text(textwrap.dedent(text))
    scenario = role / "molecule" / "default"
    scenario.mkdir(parents=True)
    # Step 1: the collection's create.yml and destroy.yml; the README's molecule.yml and converge.yml.
    for name in ("create.yml", "destroy.yml"):
        shutil.copy(REPO / "molecule" / "sandbox" / name, scenario / name)
    config = yaml.safe_load(yaml_block(readme, "# your-role/molecule/default/molecule.yml"))
    (scenario / "converge.yml").write_text(yaml_block(readme, "# your-role/molecule/default/converge.yml"))
    (scenario / "verify.yml").write_text(textwrap.dedent(VERIFY))
    # Step 2: our own platform names (unique on this machine).
    names = ["recipe-%s-%d" % (uuid.uuid4().hex[:8], index) for index in range(len(config["platforms"]))]
    for platform, name in zip(config["platforms"], names):
        platform["name"] = name
    # Step 3: the collection from this checkout instead of Galaxy (no Galaxy here).
    config["dependency"] = {"name": "galaxy", "enabled": False}
    config["ansible"]["env"]["ANSIBLE_COLLECTIONS_PATH"] = str(REPO / ".build" / "collections")
    (scenario / "molecule.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    yield role, names
    for name in names:
        force_remove(name)


def test_molecule_test_passes_for_a_role_set_up_as_the_readme_says(role, needs_root):
    folder, names = role
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ANSIBLE_", "MOLECULE_"))}  # only what the recipe sets
    env.update({"PATH": str(BIN) + os.pathsep + env.get("PATH", ""), "NO_COLOR": "1", "ANSIBLE_NOCOLOR": "1"})
    proc = subprocess.run([str(BIN / "molecule"), "test"], cwd=str(folder), env=env, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    for step in ("create", "converge", "idempotence", "verify", "destroy"):
        assert re.search(r"default > %s: Executed: Successful" % step, output), step
    assert all(state_of(name) is None for name in names)  # destroy removed every instance
