# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The program the sandbox connection runs on a machine to join a sandbox: a zip of the
collection's own module_utils and a __main__ calling _join.exec_for_connection, run by the
machine's Python (3.8+, standard library only). Built once per controller run; its name carries
its hash, so a machine keeps one copy per version of the collection."""

from __future__ import annotations

import hashlib
import os
import shlex

from ansible_collections.linuxns.pidns.plugins.module_utils import _payload

# Exit status of the program when the sandbox cannot be joined (its message on stderr).
NOT_JOINABLE = 97
# Exit status of the command line when the program is not on the machine yet.
MISSING = 96

MAIN = '''\
import os
import sys

from ansible_collections.linuxns.pidns.plugins.module_utils._exec import _join
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import SandboxError


def main():
    state_dir, name, command = sys.argv[1:4]
    user = sys.argv[4] if len(sys.argv) > 4 else None
    try:
        status = _join.exec_for_connection(state_dir, name, command, user)
    except (SandboxError, OSError) as exc:
        os.write(2, ("linuxns.pidns.sandbox: %s\\n" % exc).encode("utf-8", "replace"))
        return {not_joinable}
    return 1 if status is None else status


sys.exit(main())
'''.format(not_joinable=NOT_JOINABLE)

_built = {}


def payload():
    """(zip bytes, short hash) of the joiner program."""
    if "zip" not in _built:
        # The supervisor is a program of its own, written by the sandbox module: not part of the joiner.
        data = _payload.build(MAIN, not_shipped=(_payload.SUPERVISOR,))
        _built["zip"] = (data, hashlib.sha256(data).hexdigest()[:16])
    return _built["zip"]


def joiner_folder(state_dir):
    """Where the joiner lives on a machine: its sources, unpacked, and their compiled forms (a zip
    would have them compiled again on every command)."""
    return os.path.join(state_dir, ".joiner-%s" % payload()[1])


def joiner_command_line(python, state_dir, sandbox, command, sudo=False, redirect="", user=None):
    """The machine's shell command line that runs `command` (a shell command line) inside
    `sandbox` (as `user` inside, else root); it exits with MISSING when the joiner is not installed there."""
    path = os.path.join(joiner_folder(state_dir), "__main__.py")
    prefix = "sudo -n " if sudo else ""
    # -E -s -S, not -I: -I would also keep the program's own folder off sys.path (3.11+); -S: no
    # site, whose .pth files (certifi, ...) cost more than the join itself.
    run = "%s%s -E -s -S %s %s %s %s%s%s" % (prefix, shlex.quote(python), shlex.quote(path), shlex.quote(state_dir),
                                             shlex.quote(sandbox), shlex.quote(command),
                                             " " + shlex.quote(user) if user else "", redirect)
    # sudo cannot see a file the login user may not read: ask it to test for the program.
    test = "%stest -f %s" % (prefix, shlex.quote(path))
    # It runs as root: refuse it where anyone but root could have changed it.
    unsafe = "\\( ! -user 0 -o -perm /022 \\) -print -quit"
    check = ('bad=$(%sfind %s -maxdepth 0 %s; %sfind %s %s); if [ -n "$bad" ]; then echo "linuxns.pidns.sandbox: '
             'refusing to run the joiner: $bad is not owned by root or others may write to it" >&2; exit %d; fi'
             % (prefix, shlex.quote(state_dir), unsafe, prefix, shlex.quote(joiner_folder(state_dir)), unsafe,
                NOT_JOINABLE))
    # Said here: a shell's "not found" would reach Ansible as "Failed to create temporary directory".
    interpreter = ("! command -v %s >/dev/null; then printf 'linuxns.pidns.sandbox: the machine has no Python at %%s: "
                   "set ansible_sandbox_machine_python to one it has\\n' %s >&2; exit %d"
                   % (shlex.quote(python), shlex.quote(python), NOT_JOINABLE))
    return "if %s; elif %s; then %s; %s; else exit %d; fi" % (interpreter, test, check, run, MISSING)
