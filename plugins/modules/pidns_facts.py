#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pidns_facts
short_description: Gather facts about the PID-namespace hierarchy of a Linux host
version_added: 0.1.0
description:
  - Lists every PID namespace the managed host can see, with its parent, level, children, init
    process (PID 1), process and zombie counts, the owner (a C(linuxns.pidns) sandbox, or a
    container runtime and container or pod id recognised from the init's cgroup), and warnings
    about classic faults.
  - Includes PID namespaces kept alive only by a bind-mounted handle (nsfs mounts in
    C(/proc/self/mountinfo)) with no process left, and ancestors kept alive only by such a
    descendant, which C(lsns) does not show.
  - One pass over C(/proc), reading C(/proc/PID/ns/pid) and C(/proc/PID/stat) per process, and
    C(status), C(cmdline) and C(cgroup) of each namespace's PID 1.
  - A parent namespace comes from the process tree where PID 1's parent process is in a namespace
    exactly one level up (which is exact, since a parent process is always in the same namespace or
    an ancestor), else from the C(NS_GET_PARENT) ioctl on a namespace file descriptor. Where that ioctl is
    missing, parents the process tree does not give stay unknown.
  - Read-only. Needs neither psutil nor root. As non-root it reports what it can see and says the
    view is partial (RV(ansible_facts.pidns.partial)).
  - Run from inside a PID namespace, it sees that namespace and its descendants only, and says that
    it is not the initial one (RV(ansible_facts.pidns.self.initial)).
  - Use the P(linuxns.pidns.pidns_tree#filter) filter to render the facts as a text tree.
author:
  - linuxns.pidns contributors (@linuxns)
requirements:
  - Linux 4.9 or later for exact parents (C(NS_GET_PARENT)); older kernels get inferred parents.
extends_documentation_fragment:
  - linuxns.pidns._attributes
  - linuxns.pidns._attributes.facts_module
options:
  processes:
    description:
      - Also return every process (RV(ansible_facts.pidns.processes)) with its host PID, C(NSpid)
        chain, namespace, parent PID, state and command name.
    type: bool
    default: false
  pids:
    description:
      - PIDs, as seen by the module, to translate into the PID each process has at every level
        of the PID-namespace hierarchy (RV(ansible_facts.pidns.pids)).
    type: list
    elements: int
    default: []
  state_dir:
    description:
      - State directory of M(linuxns.pidns.sandbox). A PID namespace whose handle is mounted at
        C(<state_dir>/<name>/ns/pid) is owned by sandbox C(<name>).
    type: path
    default: /run/linuxns-pidns
  known_inits:
    description:
      - Command names (C(comm), at most 15 characters) to treat as proper init processes, in
        addition to the built-in list (C(tini), C(dumb-init), C(catatonit), C(pause), C(systemd),
        C(init), C(s6-svscan), C(runit), the sandbox supervisor C(pidns:<name>) and others).
    type: list
    elements: str
    default: []
notes:
  - The facts are data for machines first; their layout is versioned by
    RV(ansible_facts.pidns.schema). New keys may be added without a version change; a change in the
    meaning or type of an existing key raises the version.
  - Namespaces kept alive only by an open file descriptor (no process, no mount, no descendant)
    are not found, as with C(lsns).
  - With at least 256 processes and a second CPU, half of C(/proc) is read by a short-lived forked
    child of the module, which roughly halves the time the kernel spends formatting the files.
seealso:
  - name: lsns(8)
    description: util-linux tool that lists namespaces.
    link: https://man7.org/linux/man-pages/man8/lsns.8.html
  - name: pid_namespaces(7)
    description: Overview of Linux PID namespaces.
    link: https://man7.org/linux/man-pages/man7/pid_namespaces.7.html
"""

EXAMPLES = r"""
- name: Gather PID-namespace facts
  linuxns.pidns.pidns_facts:

- name: Show the hierarchy as a tree
  ansible.builtin.debug:
    msg: "{{ ansible_facts.pidns | linuxns.pidns.pidns_tree }}"

- name: Fail on namespaces whose PID 1 does not reap
  ansible.builtin.assert:
    that: ansible_facts.pidns.warnings | selectattr('code', 'eq', 'init_not_reaper') | list | length == 0

- name: Translate PIDs and list every process
  linuxns.pidns.pidns_facts:
    pids: [1, 4242]
    processes: true

# Ad hoc across a fleet:
# ansible all -m linuxns.pidns.pidns_facts
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to C(ansible_facts).
  returned: always
  type: dict
  contains:
    pidns:
      description: The PID-namespace hierarchy of the host.
      returned: always
      type: dict
      contains:
        schema:
          description: Version of this layout.
          type: int
          returned: always
          sample: 1
        kernel:
          description: Kernel release of the host.
          type: str
          returned: always
          sample: 6.1.0-18-amd64
        self:
          description: The PID namespace the module ran in.
          type: dict
          returned: always
          contains:
            id:
              description: Its inode number.
              type: int
              sample: 4026531836
            initial:
              description: Whether it is the initial PID namespace (fixed inode 4026531836).
              type: bool
            level:
              description:
                - Its level, 0 for the initial namespace. From inside a namespace whose C(/proc)
                  shows no ancestors, the level is not visible and this is a lower bound (1).
              type: int
            level_exact:
              description: Whether this level and all namespace levels are exact (the module sees the initial namespace).
              type: bool
            pid:
              description: The module's PID in that namespace.
              type: int
            proc_ns:
              description: The PID namespace the scanned C(/proc) belongs to.
              type: int
        root:
          description: Whether the module ran as root.
          type: bool
          returned: always
        partial:
          description:
            - Whether some processes could not be placed in a namespace (non-root, or access denied);
              counts are then lower bounds. A C(partial_view) warning says how many.
          type: bool
          returned: always
        unreadable:
          description: Number of processes whose PID namespace could not be read.
          type: int
          returned: always
        parents_from:
          description:
            - V(ioctl) when C(NS_GET_PARENT) works, so every parent is exact (from the process tree where
              that is certain, from the ioctl otherwise); V(ppid) when the ioctl is missing and parents
              come from the process tree only (some may be null).
          type: str
          returned: always
        handles:
          description:
            - PID-namespace handles (nsfs bind mounts) of namespaces in the tree, sorted by path. A
              namespace with a handle and no process has a V(no_init) warning.
          type: list
          elements: dict
          returned: always
          contains:
            path:
              description: Mount point of the handle.
              type: str
            id:
              description: The namespace it holds.
              type: int
        foreign_handles:
          description:
            - Mount points of PID-namespace handles outside the visible tree (for example the host's
              sandbox handles seen from inside a sandbox through an inherited mount table). Their
              namespaces are not listed.
          type: list
          elements: str
          returned: always
        count:
          description: Number of PID namespaces in RV(ansible_facts.pidns.namespaces).
          type: int
          returned: always
        nprocs:
          description: Number of processes placed in a namespace.
          type: int
          returned: always
        max_depth:
          description: The deepest level seen.
          type: int
          returned: always
        namespaces:
          description: Every visible PID namespace, sorted by level then id.
          type: list
          elements: dict
          returned: always
          contains:
            id:
              description: Inode number of the namespace.
              type: int
            parent:
              description: Inode of the parent namespace; null where not visible (above the module's own namespace).
              type: int
            level:
              description: Nesting level, 0 for the initial namespace; null if unknown.
              type: int
            children:
              description: Ids of the child namespaces.
              type: list
              elements: int
            init:
              description: PID 1 of the namespace; null when it is gone or not visible.
              type: dict
              contains:
                pid:
                  description: Its PID as seen by the module (the host PID on the host).
                  type: int
                ns_pid:
                  description: Its PID inside the namespace (1).
                  type: int
                comm:
                  description: Command name.
                  type: str
                cmdline:
                  description: Command line (empty for zombies and kernel threads).
                  type: list
                  elements: str
                start_time:
                  description: Start time in clock ticks after boot; with RV(ansible_facts.pidns.namespaces[].init.pid) it identifies the process.
                  type: int
            nprocs:
              description: Number of processes in the namespace (not counting descendants).
              type: int
            zombies:
              description: Number of zombie processes in the namespace.
              type: int
            owner:
              description: Who made the namespace; null if not recognised.
              type: dict
              contains:
                type:
                  description: V(sandbox) for a M(linuxns.pidns.sandbox), else V(container).
                  type: str
                runtime:
                  description:
                    - V(linuxns.pidns), V(docker), V(containerd), V(cri-o), V(podman), V(lxc),
                      V(systemd-nspawn), or V(kubernetes) (a pod whose runtime is not visible).
                  type: str
                name:
                  description: Sandbox, LXC container or nspawn machine name.
                  type: str
                id:
                  description: Container id (or name for lxc and systemd-nspawn).
                  type: str
                pod:
                  description: Kubernetes pod UID.
                  type: str
                cgroup:
                  description: The cgroup path the owner was recognised from.
                  type: str
            warnings:
              description: Faults of this namespace.
              type: list
              elements: dict
              contains:
                code:
                  description:
                    - V(init_not_reaper) PID 1 is not a known init and there are zombies or orphans (with
                      C(zombies), a count, and C(orphans), PIDs of children of PID 1 whose process group
                      leader is gone, so they look adopted);
                    - V(zombies) zombies present (with C(count), C(pids), C(parents));
                    - V(proc_not_remounted) its processes see a C(/proc) of another namespace (with C(proc_ns));
                    - V(no_init) no process left, kept only by a handle (see RV(ansible_facts.pidns.handles))
                      or, for an ancestor seen only through a descendant, by that descendant.
                  type: str
                message:
                  description: One sentence for an operator.
                  type: str
        warnings:
          description:
            - All warnings of all namespaces, each with a C(namespace) key, plus host-wide ones
              (C(partial_view), with C(namespace) null).
          type: list
          elements: dict
          returned: always
        processes:
          description: Every process, with O(processes=true).
          type: list
          elements: dict
          returned: when O(processes=true)
          contains:
            pid:
              description: PID as seen by the module.
              type: int
            nspid:
              description: PID at every level, outermost first; the last is the PID inside its namespace.
              type: list
              elements: int
            ns:
              description: Its PID namespace.
              type: int
            ppid:
              description: Parent PID as seen by the module (0 when the parent is not visible).
              type: int
            state:
              description: One-letter state.
              type: str
            comm:
              description: Command name.
              type: str
        pids:
          description: Translations of O(pids), in order.
          type: list
          elements: dict
          returned: when O(pids) is not empty
          contains:
            pid:
              description: The PID asked for.
              type: int
            found:
              description: Whether such a process exists.
              type: bool
            ns:
              description: Its PID namespace.
              type: int
            levels:
              description: One entry per level, outermost first, each with C(level), C(ns) and C(pid).
              type: list
              elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.linuxns.pidns.plugins.module_utils._facts._hierarchy import run
from ansible_collections.linuxns.pidns.plugins.module_utils._module_runner import run_module
from ansible_collections.linuxns.pidns.plugins.module_utils._common import STATE_DIR


def main():
    module = AnsibleModule(
        argument_spec=dict(
            processes=dict(type="bool", default=False),
            pids=dict(type="list", elements="int", default=[]),
            state_dir=dict(type="path", default=STATE_DIR),
            known_inits=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    run_module(module, run, subject="Could not scan /proc")


if __name__ == "__main__":
    main()
