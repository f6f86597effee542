# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: sandbox
author: linuxns.pidns contributors (@linuxns)
short_description: Run tasks inside a linuxns.pidns sandbox, on this machine or over SSH
version_added: 0.1.0
description:
  - An inventory host is a sandbox (made by M(linuxns.pidns.sandbox)) on a machine. Every command of
    a task runs inside the sandbox's namespaces and root, with its hostname, joined with C(setns(2))
    by the collection's own code on the machine; no container engine is needed.
  - The machine is this controller (O(machine) unset, through the C(local) connection) or a host
    reached with Ansible's C(ssh) connection, whose connection sharing (C(ControlPersist)) carries
    every task after the first.
  - Joining needs root on the machine. Connect to it as root, or set O(machine_become) to run the
    joiner with C(sudo -n). C(become) in a play applies inside the sandbox.
  - The first use on a machine copies a small program there (the collection's joining code, about
    200 kB) into the state directory, root-only; later uses reuse it.
  - Files (C(put_file), C(fetch_file)) are streamed through the sandbox with C(cat), so they land at
    their paths inside the sandbox's root, whatever its mounts. To a remote machine, files up to 4 MiB
    go on the joining command's standard input; larger ones, and files fetched from it, pass through a
    private folder there (mode 0700, removed when the connection closes).
  - Commands start in the home directory of root inside (as a login over C(ssh) does), and relative
    paths of files and of C(remote_tmp) resolve there. Fetched files get the controller's umask, as
    with the C(local) connection.
  - A missing, broken or paused sandbox, or a machine that cannot be reached, makes the host
    unreachable with a message that says which.
options:
  sandbox:
    description: Name of the sandbox on the machine.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_sandbox_name
  remote_user:
    description:
      - The user inside the sandbox that commands run as, looked up inside (as C(docker exec --user)
        does for community.docker's connection). Unset, root inside.
      - A user the sandbox does not have makes the host unreachable, naming the user.
      - The user on the machine is O(machine_user).
    type: str
    vars:
      - name: ansible_user
      - name: ansible_sandbox_user
    ini:
      - section: defaults
        key: remote_user
    env:
      - name: ANSIBLE_REMOTE_USER
    keyword:
      - name: remote_user
  machine:
    description:
      - The machine the sandbox is on, as an address or name to connect to.
      - Unset, the sandbox is on this controller and the C(local) connection runs the joiner. Set (even
        to V(127.0.0.1), say for an sshd on another port), Ansible's C(ssh) connection reaches it.
    type: str
    vars:
      - name: ansible_sandbox_machine
  machine_user:
    description: User to log in as on the machine over SSH (C(ssh) O(ansible.builtin.ssh#connection:remote_user)).
    type: str
    vars:
      - name: ansible_sandbox_machine_user
  machine_port:
    description: SSH port of the machine.
    type: int
    vars:
      - name: ansible_sandbox_machine_port
  machine_private_key_file:
    description: Private key for SSH to the machine.
    type: path
    vars:
      - name: ansible_sandbox_machine_private_key_file
  machine_ssh_common_args:
    description: Extra arguments for C(ssh), C(sftp) and C(scp) to the machine (as C(ansible_ssh_common_args)).
    type: str
    default: ''
    vars:
      - name: ansible_sandbox_machine_ssh_common_args
  machine_become:
    description: Run the joiner on the machine with C(sudo -n) (for a login that is not root).
    type: bool
    default: false
    vars:
      - name: ansible_sandbox_machine_become
  machine_python:
    description: Python on the machine that runs the joiner (3.8 or later).
    type: str
    default: /usr/bin/python3
    vars:
      - name: ansible_sandbox_machine_python
  state_dir:
    description: The collection's state directory on the machine.
    type: path
    default: /run/linuxns-pidns
    vars:
      - name: ansible_sandbox_state_dir
extends_documentation_fragment:
  - ansible.builtin.connection_pipelining
notes:
  - Pipelining works (and is recommended); the module is fed on standard input inside the sandbox.
  - The sandbox's own user (root inside by default) runs the commands; C(become) switches user inside.
seealso:
  - module: linuxns.pidns.sandbox
  - module: linuxns.pidns.sandbox_exec
"""

EXAMPLES = r"""
# inventory.yml: two sandboxes on this machine and one on web1 over SSH
# all:
#   children:
#     sandboxes:
#       vars:
#         ansible_connection: linuxns.pidns.sandbox
#         ansible_python_interpreter: /usr/bin/python3
#       hosts:
#         web:
#         db:
#         cache:
#           ansible_sandbox_machine: web1.example.com
#           ansible_sandbox_machine_user: root

- name: Configure what runs inside the sandboxes
  hosts: sandboxes
  tasks:
    - name: Facts from inside (the sandbox's hostname, PID 1 is its supervisor)
      ansible.builtin.setup:

    - name: A file inside the sandbox's root
      ansible.builtin.copy:
        content: "hello\n"
        dest: /etc/motd
"""

import os
import shlex
import uuid

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.plugins.loader import connection_loader
from ansible.utils.display import Display

from ansible_collections.linuxns.pidns.plugins.plugin_utils._joiner_payload import (
    MISSING, NOT_JOINABLE, joiner_command_line, joiner_folder, payload)

display = Display()

# Files up to this size go to a remote machine on the joining command's standard input (held in
# memory by the ssh connection); larger ones are staged there with sftp/scp first.
STDIN_PUT_LIMIT = 4 * 1024 * 1024


class Connection(ConnectionBase):
    """A sandbox on a machine: the machine's own connection (local or ssh) runs the joiner."""

    transport = "linuxns.pidns.sandbox"
    has_pipelining = True
    has_tty = False
    default_user = None

    def __init__(self, play_context, *args, **kwargs):
        super().__init__(play_context, *args, **kwargs)
        self._machine = None
        self._staging = None

    # ---- the machine's connection

    def _connect(self):
        if self._connected:
            return self
        machine = self.get_option("machine")
        if not machine:
            inner = connection_loader.get("ansible.builtin.local", self._play_context, getattr(self, "_new_stdin", None))
            inner.set_options()
        else:
            inner = connection_loader.get("ansible.builtin.ssh", self._play_context, getattr(self, "_new_stdin", None))
            direct = {"host": machine, "ssh_common_args": self.get_option("machine_ssh_common_args")}
            for option, theirs in (("machine_user", "remote_user"), ("machine_port", "port"),
                                   ("machine_private_key_file", "private_key_file")):
                if self.get_option(option) is not None:
                    direct[theirs] = self.get_option(option)
            inner.set_options(direct=direct)
        self._machine = inner
        self._connected = True
        return self

    def _on_machine(self, command, in_data=None):
        """Run a shell command line on the machine (not in the sandbox)."""
        return self._machine.exec_command(command, in_data=in_data, sudoable=False)

    # ---- running the joiner

    def _joiner_command(self, command, redirect=""):
        """The machine's command line that runs `command` (a shell command line) in the sandbox."""
        return joiner_command_line(self.get_option("machine_python"), self.get_option("state_dir"),
                                   self.get_option("sandbox"), command, sudo=self.get_option("machine_become"),
                                   redirect=redirect, user=self.get_option("remote_user"))

    def _install_joiner(self):
        """Copy the joiner program into the machine's state directory (root-only)."""
        data, _digest = payload()
        staged = "/tmp/.linuxns-pidns-joiner-%s" % uuid.uuid4().hex
        rc, _out, err = self._on_machine("umask 077 && cat > %s" % shlex.quote(staged), in_data=data)
        if rc != 0:
            raise AnsibleConnectionFailure("could not copy the joiner to the machine: %s" % to_text(err).strip())
        sudo = "sudo -n " if self.get_option("machine_become") else ""
        python = shlex.quote(self.get_option("machine_python"))
        folder = joiner_folder(self.get_option("state_dir"))
        unpacked = "%s.%s" % (folder, uuid.uuid4().hex[:8])
        # Unpacked and compiled into a fresh folder, then renamed into place: a command never sees
        # half a program, and two first uses at once both end with a whole one.
        script = ("umask 077 && install -d -m 0700 {state} && {python} -E -s -c "
                  "'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' {staged} {unpacked} && "
                  "{python} -E -s -m compileall -q {unpacked} >/dev/null && "
                  "{{ mv -T {unpacked} {folder} 2>/dev/null || rm -rf {unpacked}; }}; test -f {folder}/__main__.py")
        command = script.format(state=shlex.quote(self.get_option("state_dir")), python=python,
                                staged=shlex.quote(staged), unpacked=shlex.quote(unpacked),
                                folder=shlex.quote(folder))
        rc, _out, err = self._on_machine("%ssh -c %s; status=$?; rm -f %s; exit $status"
                                         % (sudo, shlex.quote(command), shlex.quote(staged)))
        if rc != 0:
            raise AnsibleConnectionFailure("could not install the joiner in %s on the machine (root is needed): %s"
                                           % (self.get_option("state_dir"), to_text(err).strip()))

    def _in_sandbox(self, command, in_data=None, redirect=""):
        """(rc, stdout, stderr) of `command` run inside the sandbox."""
        self._connect()
        for _attempt in range(2):
            rc, out, err = self._on_machine(self._joiner_command(command, redirect), in_data)
            if rc == MISSING:
                self._install_joiner()
                continue
            if rc == NOT_JOINABLE and b"linuxns.pidns.sandbox:" in err:
                raise AnsibleConnectionFailure(to_text(err).strip().replace("linuxns.pidns.sandbox: ", "", 1))
            return rc, out, err
        raise AnsibleConnectionFailure("the joiner program could not be installed on the machine")

    # ---- what a connection does

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        display.vvv("EXEC in sandbox %s: %s" % (self.get_option("sandbox"), cmd), host=self.get_option("sandbox"))
        return self._in_sandbox(cmd, in_data)

    def _check_path(self, path, what):
        # A relative path resolves against the home directory, where commands start (as over ssh/sftp).
        if not path:
            raise AnsibleError("%s: no path inside sandbox %s" % (what, self.get_option("sandbox")))
        return to_text(path)

    def _staging_dir(self):
        """A private folder on the machine for files on their way in or out (made once per
        connection, removed at close), so no one else on the machine reads them."""
        if self._staging is None:
            folder = "/tmp/.linuxns-pidns-%s" % uuid.uuid4().hex
            rc, _out, err = self._on_machine("mkdir -m 0700 %s" % shlex.quote(folder))
            if rc != 0:
                raise AnsibleConnectionFailure("could not make a private folder on the machine: %s"
                                               % to_text(err).strip())
            self._staging = folder
        return self._staging

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        out_path = self._check_path(out_path, "put_file")
        display.vvv("PUT %s TO %s in sandbox %s" % (in_path, out_path, self.get_option("sandbox")))
        source = to_bytes(in_path, errors="surrogate_or_strict")
        if not os.path.exists(source):
            raise AnsibleError("file or module does not exist: %s" % in_path)
        self._connect()
        write = "cat > %s" % shlex.quote(out_path)
        if self._is_local():
            # The file is on this machine already: the shell opens it, the process inside writes it.
            rc, _out, err = self._in_sandbox(write, redirect=" < %s" % shlex.quote(to_text(in_path)))
        elif os.path.getsize(source) <= STDIN_PUT_LIMIT:
            # Small files (modules, copy's sources mostly) ride on the command's standard input: one
            # round trip, no staging folder, no sftp session.
            with open(source, "rb") as handle:
                data = handle.read()
            # Without data the ssh connection gives the command a terminal, which never ends.
            rc, _out, err = self._in_sandbox(write, in_data=data or None, redirect="" if data else " < /dev/null")
        else:
            staged = os.path.join(self._staging_dir(), "put-%s" % uuid.uuid4().hex)
            self._machine.put_file(in_path, staged)
            # The machine's shell opens the staged copy, the process inside writes it out, and the
            # staged copy goes in the same command.
            rc, _out, err = self._in_sandbox(write, redirect=" < %s; status=$?; rm -f %s; exit $status"
                                             % (shlex.quote(staged), shlex.quote(staged)))
        if rc != 0:
            raise AnsibleError("failed to write %s inside sandbox %s: %s"
                               % (out_path, self.get_option("sandbox"), to_text(err).strip()))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        in_path = self._check_path(in_path, "fetch_file")
        display.vvv("FETCH %s FROM sandbox %s TO %s" % (in_path, self.get_option("sandbox"), out_path))
        self._connect()
        # Written by the machine's shell: straight to out_path here (with the controller's umask, as
        # `local` writes it), else into the private folder and fetched from there with the machine's
        # own connection.
        staged = None if self._is_local() else os.path.join(self._staging_dir(), "fetch-%s" % uuid.uuid4().hex)
        try:
            rc, _out, err = self._in_sandbox("cat %s" % shlex.quote(in_path),
                                             redirect=" > %s" % shlex.quote(staged or to_text(out_path)))
            if rc != 0:
                raise AnsibleError("failed to read %s inside sandbox %s: %s"
                                   % (in_path, self.get_option("sandbox"), to_text(err).strip()))
            if staged is not None:
                self._machine.fetch_file(staged, out_path)
        finally:
            if staged is not None:
                self._on_machine("rm -f %s" % shlex.quote(staged))

    def _is_local(self):
        return not self.get_option("machine")

    def reset(self):
        if self._machine is not None:
            self._machine.reset()

    def close(self):
        if self._machine is not None:
            if self._staging is not None:
                self._on_machine("rm -rf %s" % shlex.quote(self._staging))
                self._staging = None
            self._machine.close()
        self._connected = False
