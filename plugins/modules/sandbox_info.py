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
  - For each sandbox also its cgroup (paths in every hierarchy), its limits, whether it is paused,
    and what its cgroup has counted (RV(sandboxes[].cgroup_usage)) - or, where it has no cgroup, why.
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
    cgroup:
      description:
        - Its cgroup, or null where it has none (see RV(sandboxes[].cgroup_problem)).
        - V(path) is its path below the root of every hierarchy; V(paths) maps V(v2) (the unified
          hierarchy) and each cgroup v1 controller (V(pids), V(memory), V(cpu), V(cpuacct), V(freezer))
          the host has mounted to the directory on the host.
      type: dict
      sample: {path: /linuxns-pidns/web, paths: {v2: /sys/fs/cgroup/unified/linuxns-pidns/web, pids: /sys/fs/cgroup/pids/linuxns-pidns/web}}
    cgroup_problem:
      description:
        - Why it has no cgroup (the host offers none it may write, it was made before sandboxes had
          cgroups, or its cgroup was removed by hand), or null.
      type: str
    limits:
      description:
        - Its limits as set with M(linuxns.pidns.sandbox) (V(pids_limit), V(memory) and V(memory_swap)
          in bytes, V(cpus), V(cpu_shares)); null values are no limit. Null for a sandbox whose state
          file is lost.
      type: dict
      sample: {pids_limit: 64, memory: 67108864, memory_swap: null, cpus: 0.5, cpu_shares: null}
    paused:
      description: Whether its processes are frozen, as its cgroup says now. Null for a sandbox whose state file is lost.
      type: bool
    cgroup_usage:
      description:
        - What the kernel has counted in its cgroup (nested sandboxes and M(linuxns.pidns.sandbox_exec)
          commands included, as they run below it), read when the module runs.
        - Null when it is broken or has no cgroup (see RV(sandboxes[].cgroup_problem)).
        - A figure the host's cgroups do not provide is null. Memory figures come from cgroup v2 where
          its memory controller is enabled, else from the v1 memory hierarchy; CPU time from v2 (which
          counts it without a controller), else from the v1 cpuacct hierarchy.
      type: dict
      sample: {pids: 3, memory_current: 1536000, memory_peak: 70463488, oom_kills: 1, cpu_seconds: 12.5}
      contains:
        pids:
          description: Processes in its cgroup now (the supervisor included), counted from V(cgroup.procs).
          type: int
        memory_current:
          description: Memory charged to it now, in bytes, page cache included (v2 V(memory.current), v1 V(memory.usage_in_bytes)).
          type: int
        memory_peak:
          description: The most memory ever charged to it, in bytes (v2 V(memory.peak), v1 V(memory.max_usage_in_bytes)).
          type: int
        oom_kills:
          description:
            - Processes the OOM killer killed in it since it was created (v2 V(oom_kill) of V(memory.events)).
            - On cgroup v1 the kernel counts a kill only in the victim's own cgroup, so this is the sum
              over its cgroup and every cgroup below it that still exists; a kill in a
              M(linuxns.pidns.sandbox_exec) command's cgroup, removed when the command ends, is not counted.
          type: int
        cpu_seconds:
          description: CPU time used by its processes since it was created, user and system, in seconds.
          type: float
    rootfs:
      description:
        - Its root filesystem as M(linuxns.pidns.sandbox) made it, null for a sandbox whose state file is lost.
        - V(type) is V(host) (shares the host's root), V(overlay) or V(directory); V(path) the tree of a
          V(directory) root; V(read_only); V(ephemeral) (an overlay's upper layer in memory); V(binds).
        - V(upper) is the host folder of a persistent overlay's upper layers and V(upper_bytes) the disk
          space the files in it take (what the sandbox wrote), null where there is none.
      type: dict
      sample:
        {type: overlay, path: null, read_only: false, ephemeral: false, upper: /var/lib/linuxns-pidns/web,
         upper_bytes: 1228800, binds: [{src: /srv/data, dest: /data, read_only: true}]}
    userns:
      description:
        - With M(linuxns.pidns.sandbox)'s O(linuxns.pidns.sandbox#module:userns=auto), the host ids its user
          namespace maps 0 to 65535 inside onto (V(uid), V(gid) the first host uid and gid, V(count)); null
          with the host's users.
      type: dict
      sample: {uid: 1879048192, gid: 1879048192, count: 65536}
    network:
      description:
        - Its network (M(linuxns.pidns.sandbox)'s O(linuxns.pidns.sandbox#module:network_mode)). V(mode) is
          V(host), V(none) or V(bridge); a bridged sandbox also has V(bridge), V(subnet), V(gateway) (the
          bridge's address), V(address) (its own, on C(eth0) inside), V(interface) (the host end of its
          veth), V(published_ports) (each V(host_ip), V(host_port), V(port), V(protocol)) and
          V(dns_servers). Null for a sandbox whose state file is lost.
      type: dict
      sample:
        mode: bridge
        bridge: pidns0
        subnet: 10.89.0.0/24
        gateway: 10.89.0.1
        address: 10.89.0.2
        interface: vp3f2a9c81d0
        published_ports: [{host_ip: 0.0.0.0, host_port: 8080, port: 80, protocol: tcp}]
        dns_servers: []
    workloads:
      description:
        - Its workloads (M(linuxns.pidns.sandbox)'s O(linuxns.pidns.sandbox#module:workloads)) as PID 1 last
          reported them - V(name), V(state) (V(starting), V(running), V(backing off), V(exited),
          V(stopped)), V(pid) inside and V(host_pid), V(restart_count), V(exit_code) or V(exit_signal) of
          the last exit, V(started), V(finished), V(restart) (the policy), V(log) (the host path of its log;
          M(linuxns.pidns.sandbox_logs) reads it).
      type: list
      elements: dict
      sample:
        - {name: web, state: running, pid: 2, host_pid: 48211, restart_count: 1, exit_code: 1,
           exit_signal: null, started: "2026-12-06T06:36:53Z", finished: "2026-12-06T06:36:52Z",
           restart: always, log: /run/linuxns-pidns/box/workloads/web.log}
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

from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._listing import run
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
