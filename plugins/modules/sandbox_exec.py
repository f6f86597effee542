#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sandbox_exec
short_description: Run a command inside a namespace sandbox via setns(2)
version_added: 0.1.0
description:
  - Runs a command inside a sandbox made by M(linuxns.pidns.sandbox), by joining its namespaces with
    C(setns(2)) from the module itself. It neither asks the supervisor nor runs C(nsenter), so it
    works on hosts whose util-linux is old.
  - The command gets a PID inside the sandbox (C(ps) inside shows it), only file descriptors 0, 1
    and 2, a clean environment (C(PATH), C(HOME), C(HOSTNAME) of the sandbox, C(TERM) if set, plus
    O(env)), default signal dispositions and an empty signal mask. Nothing of Ansible's or the
    module's environment leaks in. The joining process is not dumpable while it holds host resources.
  - With O(detach=true) it starts a workload that stays in the sandbox after the task, as a child of
    the sandbox's PID 1, and returns its PIDs at once.
  - Like M(ansible.builtin.command), a non-zero return code fails the task; death by a signal is
    reported as such.
author:
  - linuxns.pidns contributors (@linuxns)
requirements:
  - Linux 5.3 or later, root or C(CAP_SYS_ADMIN) on the managed host.
extends_documentation_fragment:
  - linuxns.pidns._attributes
attributes:
  check_mode:
    support: partial
    details:
      - In check mode the command is not run; O(creates) and O(removes) are still evaluated, like
        M(ansible.builtin.command) does.
  diff_mode:
    support: none
options:
  sandbox:
    description: Name of the sandbox to run the command in.
    type: str
    required: true
  argv:
    description:
      - The command as a list of arguments; the first is looked up in C(PATH) inside the sandbox.
      - Exactly one of O(argv) and O(cmd) is required.
    type: list
    elements: str
  cmd:
    description:
      - The command as a string, split into arguments like M(ansible.builtin.command) does (no shell).
      - Exactly one of O(argv) and O(cmd) is required.
    type: str
  chdir:
    description: Directory to run the command in, resolved inside the sandbox's mount namespace.
    type: path
  env:
    description: Extra environment variables for the command, on top of the clean default.
    type: dict
    default: {}
  stdin:
    description: Text fed to the command's standard input. Without it, standard input is C(/dev/null).
    type: str
  stdin_add_newline:
    description: Add a newline to O(stdin).
    type: bool
    default: true
  user:
    description: User name or uid to run as, resolved inside the sandbox.
    type: str
  group:
    description: Group name or gid to run as, resolved inside the sandbox. Defaults to O(user)'s primary group.
    type: str
  timeout:
    description:
      - Seconds the command may run. On expiry the command and everything it started inside the
        sandbox are killed, and the task fails saying so.
      - A finite number of seconds, more than 0 and at most 604800 (a week).
      - Not used with O(detach=true).
    type: float
  creates:
    description: A path inside the sandbox; if it exists, the command is not run.
    type: path
  removes:
    description: A path inside the sandbox; if it does not exist, the command is not run.
    type: path
  namespaces:
    description: The sandbox's namespaces to join. Defaults to all of them.
    type: list
    elements: str
    choices: [pid, mnt, uts, ipc, net, cgroup, time]
  allow_reboot:
    description:
      - Let the command (and what it starts) keep C(CAP_SYS_BOOT), where the sandbox's capabilities have
        it (with the host's root by default, or O(linuxns.pidns.sandbox#module:cap_add)). In a PID
        namespace, C(reboot(2)) does not reboot the host but kills the sandbox's PID 1 at once, with no
        graceful stop, and so ends the sandbox. Without this option the command runs with C(CAP_SYS_BOOT)
        dropped from its bounding set, so C(reboot -f) inside fails with C(EPERM).
      - Commands otherwise get the sandbox's capabilities (see O(linuxns.pidns.sandbox#module:cap_add)),
        no more.
      - A sandbox is stopped from outside (M(linuxns.pidns.sandbox) with O(linuxns.pidns.sandbox#module:state=absent));
        its supervisor ignores stop signals sent from inside.
    type: bool
    default: false
  output_limit:
    description:
      - Bytes of standard output, and of standard error, kept for the result; a size such as V(512K)
        or V(4M), or a number of bytes.
      - Beyond it, the first half and the last half are kept with a line saying how many bytes were
        left out between them, and RV(stdout_truncated) or RV(stderr_truncated) is V(true). The
        module's memory stays bounded whatever the command writes.
      - At most V(256M).
    type: bytes
    default: 1M
  detach:
    description:
      - Start the command as a workload that keeps running inside the sandbox after the task.
        Its standard streams are C(/dev/null); it is reparented to the sandbox's PID 1.
    type: bool
    default: false
notes:
  - The command is tied to the module's process. If that process dies (killed, out of memory, a lost
    connection), the command and its process group are killed, as they are when O(timeout) expires;
    processes it started that left its process group are killed only by O(timeout). A workload
    started with O(detach=true) is not tied to the module once it has started.
  - O(timeout) counts from when the module starts joining the sandbox, and holds in every phase
    (user and group lookups, C(chdir), the command itself).
  - A sandbox whose supervisor is gone is broken, because the kernel refuses new processes in a PID
    namespace whose PID 1 died. The task then fails naming the sandbox; recreate it with
    M(linuxns.pidns.sandbox).
seealso:
  - module: linuxns.pidns.sandbox
  - module: linuxns.pidns.sandbox_info
  - module: ansible.builtin.command
  - name: setns(2)
    description: Reassociate a thread with a namespace.
    link: https://man7.org/linux/man-pages/man2/setns.2.html
"""

EXAMPLES = r"""
- name: See the processes inside sandbox web
  linuxns.pidns.sandbox_exec:
    sandbox: web
    argv: [ps, -ef]
  register: ps_inside
  become: true

- name: Start a small HTTP server that stays in the sandbox
  linuxns.pidns.sandbox_exec:
    sandbox: web
    argv: [python3, -m, http.server, "8080", --bind, 127.0.0.1]
    chdir: /srv/www
    detach: true
  become: true

- name: Initialise once, as an unprivileged user inside
  linuxns.pidns.sandbox_exec:
    sandbox: web
    cmd: /usr/local/bin/init-data --target /var/lib/app
    creates: /var/lib/app/.initialised
    user: nobody
    timeout: 60
  become: true
"""

RETURN = r"""
cmd:
  description: The command as run, as a list of arguments.
  returned: always
  type: list
  elements: str
  sample: [ps, -ef]
rc:
  description: Exit code of the command; the negative signal number if a signal killed it; 127 if it could not be found.
  returned: always
  type: int
  sample: 0
stdout:
  description: Standard output, without trailing newlines. Empty with O(detach=true).
  returned: always
  type: str
stderr:
  description: Standard error, without trailing newlines. Empty with O(detach=true).
  returned: always
  type: str
stdout_truncated:
  description: Whether standard output was longer than O(output_limit), so that only its head and tail are in RV(stdout).
  returned: when the command ran
  type: bool
  sample: false
stderr_truncated:
  description: Whether standard error was longer than O(output_limit), so that only its head and tail are in RV(stderr).
  returned: when the command ran
  type: bool
  sample: false
stdout_lines:
  description: RV(stdout) split into lines.
  returned: when the command ran
  type: list
  elements: str
stderr_lines:
  description: RV(stderr) split into lines.
  returned: when the command ran
  type: list
  elements: str
start:
  description: When the command started.
  returned: when the command ran
  type: str
  sample: "2026-11-29 10:00:00.000001"
end:
  description: When the command ended (for O(detach=true), when the workload had started).
  returned: when the command ran
  type: str
delta:
  description: How long it took.
  returned: when the command ran
  type: str
  sample: "0:00:00.004551"
pid:
  description: Host PID of the command (of the workload, with O(detach=true)).
  returned: when the command ran
  type: int
  sample: 40511
ns_pid:
  description: PID of the command inside the sandbox's PID namespace.
  returned: when the command ran
  type: int
  sample: 7
msg:
  description: What happened, when the command failed, was skipped or was detached.
  returned: sometimes
  type: str
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.linuxns.pidns.plugins.module_utils._exec._join import run
from ansible_collections.linuxns.pidns.plugins.module_utils._module_runner import run_module
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import NAMESPACE_TYPES


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sandbox=dict(type="str", required=True),
            argv=dict(type="list", elements="str"),
            cmd=dict(type="str"),
            chdir=dict(type="path"),
            env=dict(type="dict", default={}),
            stdin=dict(type="str"),
            stdin_add_newline=dict(type="bool", default=True),
            user=dict(type="str"),
            group=dict(type="str"),
            timeout=dict(type="float"),
            creates=dict(type="path"),
            removes=dict(type="path"),
            namespaces=dict(type="list", elements="str", choices=list(NAMESPACE_TYPES)),
            detach=dict(type="bool", default=False),
            output_limit=dict(type="bytes", default="1M"),
            allow_reboot=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("argv", "cmd")],
        required_one_of=[("argv", "cmd")],
        supports_check_mode=True,
    )
    module.params["env"] = dict((str(k), str(v)) for k, v in (module.params["env"] or {}).items())
    run_module(module, run, "sandbox %s" % module.params["sandbox"])


if __name__ == "__main__":
    main()
