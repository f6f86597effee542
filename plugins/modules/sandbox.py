#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sandbox
short_description: Create, recreate and remove long-lived Linux namespace sandboxes
version_added: 0.1.0
description:
  - A sandbox is a set of fresh namespaces (always PID and usually mount, UTS and IPC) kept alive by
    a supervisor process that is PID 1 of the new PID namespace, and by namespace handles
    bind-mounted under the state directory C(/run/linuxns-pidns/<name>/ns/<type>).
  - The supervisor reaps every zombie of the sandbox and, on C(SIGTERM), stops all its processes
    (C(SIGTERM), O(stop_timeout) seconds of grace, then C(SIGKILL)). It is detached from the
    Ansible run, so the sandbox outlives the play. C(ps) on the host shows it as C(pidns:<name>).
  - A sandbox whose requested options differ from the running one is recreated, and the difference
    is shown in diff mode. A sandbox whose supervisor died, or whose handles are stale (for example
    after a reboot of a host whose C(/run) is not a tmpfs), is reported as broken and recreated.
  - Use M(linuxns.pidns.sandbox_exec) to run commands inside a sandbox and
    M(linuxns.pidns.sandbox_info) to list sandboxes and their health.
author:
  - linuxns.pidns contributors (@linuxns)
requirements:
  - Linux 5.3 or later (pidfd_open), root or C(CAP_SYS_ADMIN) on the managed host.
extends_documentation_fragment:
  - linuxns.pidns._attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  name:
    description:
      - Name of the sandbox, unique on the host.
      - 1 to 64 characters from C(A-Z a-z 0-9 _ . -), starting with a letter or digit.
      - Exactly one of O(name) and O(sandboxes) is required.
    type: str
  state:
    description:
      - V(present) makes sure the sandbox runs with the requested options, creating or recreating it.
      - V(absent) stops the sandbox and removes its handles and folder. Sandboxes nested in it are
        removed too, since their PID namespaces cannot outlive their parent's.
    type: str
    choices: [present, absent]
    default: present
  namespaces:
    description:
      - Namespace types to create for the sandbox. V(pid) is required.
      - Without V(mnt), C(/proc) cannot be remounted, so processes inside see the host's C(/proc); the
        module warns about it.
      - Types not listed are shared with the host, or with the O(parent) sandbox.
    type: list
    elements: str
    choices: [pid, mnt, uts, ipc, net, cgroup, time]
    default: [pid, mnt, uts, ipc]
  hostname:
    description:
      - Hostname inside the sandbox. Needs V(uts) in O(namespaces).
      - Defaults to the sandbox's O(name) when V(uts) is in O(namespaces).
    type: str
  mount_proc:
    description:
      - Mount a fresh C(/proc) for the new PID namespace, so C(ps) inside shows only the sandbox's
        processes with their PIDs inside. Needs V(mnt) in O(namespaces); ignored with a warning without it.
    type: bool
    default: true
  parent:
    description:
      - Name of an existing, healthy sandbox to nest this one in. The new PID namespace is created
        inside the parent's, one level deeper, and the parent sees its processes. Namespace types
        not in O(namespaces) are shared with the parent rather than with the host.
      - The new sandbox's supervisor starts in the parent's root, with the Python that runs this module.
        When the parent has a root of its own (O(rootfs)), that interpreter must be visible there too, so
        not under the fresh C(/tmp) or C(/run) such a root has.
    type: str
  stop_timeout:
    description:
      - Seconds of grace between C(SIGTERM) and C(SIGKILL) when the sandbox is stopped.
    type: float
    default: 10
  recreate:
    description:
      - Recreate the sandbox even if it is running with the requested options.
    type: bool
    default: false
  rootfs:
    description:
      - The sandbox's root filesystem. Needs V(mnt) in O(namespaces) unless V(type=host).
      - Unset, or V(type=host), the sandbox shares the host's root (as before this option existed), and
        whatever runs inside writes to the host's files.
      - Inside a sandbox with a root of its own, it gets a fresh C(/proc) of its PID namespace (the
        host's with O(mount_proc=false)), C(/sys) read-only, a minimal C(/dev) (C(null), C(zero), C(full),
        C(random), C(urandom), C(tty) bound from the host, a C(devpts) instance of its own at C(/dev/pts),
        a C(/dev/shm) tmpfs of O(shm_size)), fresh tmpfs at C(/run) (64 MiB) and C(/tmp) (512 MiB), and
        C(/etc/hostname) holding its hostname (when it has a UTS namespace). No tmpfs is larger than
        O(memory) where that is set; their pages count against it. The state directory and the host's root are not
        mounted anywhere inside (C(pivot_root), the old root detached).
      - Changing it recreates the sandbox (the diff names V(rootfs)).
    type: dict
    suboptions:
      type:
        description:
          - V(host) shares the host's root.
          - "V(overlay): the host's root (for a sandbox nested in one with a root of its own, the parent's
            root) as the read-only lower layer of an overlayfs, with a writable upper layer of the sandbox's
            own, like C(systemd-nspawn --volatile=overlay) or C(bwrap --overlay). Reads see the host's files
            as they are now; writes, deletions and new files stay in the sandbox. The upper layer is kept in
            C(/var/lib/linuxns-pidns/<name>) (on disk, not in C(/run)): it survives a recreation of the
            sandbox (a broken one, or one whose options changed) unless O(reset_rootfs) is set, and is
            deleted with O(state=absent)."
          - "Host submounts of disk filesystems (a separate C(/home), C(/var), C(/boot)) are overlaid the
            same way, each with its own upper layer, so a package install that writes C(/var) stays in
            the sandbox too. Memory and kernel filesystems (tmpfs, proc, sysfs, cgroup, autofs...) mounted
            elsewhere are not carried over: their mount points show as the empty directories beneath."
          - V(directory) uses a prepared root tree at O(rootfs.path) (a debootstrap result, an unpacked
            image), like C(systemd-nspawn --directory). Its own submounts come along.
        type: str
        choices: [host, overlay, directory]
        default: host
      path:
        description:
          - For V(type=directory), the root tree's absolute path on the host. It must exist.
        type: path
      read_only:
        description:
          - For V(type=directory), mount the tree read-only (as C(systemd-nspawn --read-only)). The tree must
            then already hold C(/proc), C(/sys) and C(/dev), and the destinations of O(binds).
        type: bool
        default: false
      ephemeral:
        description:
          - For V(type=overlay), keep the upper layer in memory (a tmpfs of the sandbox's mount namespace),
            as C(systemd-nspawn --volatile=overlay) does; every creation starts from the host's files, and
            nothing is written to disk. It holds at most 1 GiB (or O(memory), if less); its pages count
            against the sandbox's O(memory) limit.
        type: bool
        default: false
  binds:
    description:
      - Host paths bound into the sandbox, like C(docker run --mount type=bind), C(systemd-nspawn --bind)
        and C(bwrap --bind/--ro-bind). Needs V(mnt) in O(namespaces).
      - Each O(binds[].dest) is made (an empty directory or file) in a root of the sandbox's own when it is
        missing and the root is writable. In a sandbox that shares the host's root nothing is created on the
        host, so the destination must exist, and the bind is seen only inside the sandbox.
      - Destinations must not overlap (one inside another), and must not be C(/), C(/dev) or under C(/proc) or
        C(/sys). A symbolic link in a destination is followed inside the sandbox's root, never out of it.
        Sources must not hold or lie in the state directory or C(/var/lib/linuxns-pidns).
      - Changing them recreates the sandbox (the diff names V(binds)).
    type: list
    elements: dict
    suboptions:
      src:
        description: Absolute path on the host, a directory (bound with its submounts) or a file. It must exist.
        type: path
        required: true
      dest:
        description: Absolute path inside the sandbox. Defaults to O(binds[].src).
        type: path
      read_only:
        description: Bind read-only (its submounts too). Writes inside fail with C(EROFS).
        type: bool
        default: false
  cap_add:
    description:
      - Capabilities the sandbox's processes get besides the default (names such as V(NET_ADMIN) or
        V(CAP_NET_ADMIN); V(ALL) for every one), as C(docker run --cap-add).
      - "The default with a root of its own (O(rootfs)) is docker's and runc's: V(AUDIT_WRITE), V(CHOWN),
        V(DAC_OVERRIDE), V(FOWNER), V(FSETID), V(KILL), V(MKNOD), V(NET_BIND_SERVICE), V(NET_RAW),
        V(SETFCAP), V(SETGID), V(SETPCAP), V(SETUID), V(SYS_CHROOT); without V(SYS_ADMIN), root inside
        cannot mount, reach the host's files through C(/proc/1/map_files), or undo what is read-only.
        There, C(/proc/sys), C(/proc/sysrq-trigger), C(/proc/irq), C(/proc/bus) and C(/proc/fs) are
        read-only and C(/proc/kcore), C(/proc/keys), C(/proc/timer_list), C(/sys/firmware) and the like
        masked, as docker does."
      - "With the host's root the default stays every capability but C(CAP_SYS_BOOT) (such a sandbox
        shares the host's files anyway, and may nest sandboxes); O(cap_add) and O(cap_drop) apply to
        that."
      - The supervisor (PID 1) keeps C(KILL) and C(SYS_CHROOT) whatever the set; C(SYS_BOOT) reaches a
        command only through M(linuxns.pidns.sandbox_exec)'s O(linuxns.pidns.sandbox_exec#module:allow_reboot).
      - Changing O(cap_add), O(cap_drop) or O(privileged) recreates the sandbox.
    type: list
    elements: str
  cap_drop:
    description:
      - Capabilities taken from the default (V(ALL) for every one), as C(docker run --cap-drop); applied
        after O(cap_add).
    type: list
    elements: str
  privileged:
    description:
      - Every capability, and C(/proc) unprotected, as C(docker run --privileged). Root inside can then
        change the host's kernel settings and, through C(/proc/1/map_files), the host's files.
      - Not with O(cap_add) or O(cap_drop).
    type: bool
    default: false
  userns:
    description:
      - V(host) (the default) keeps the host's users and groups; root inside is the host's root.
      - V(auto) gives the sandbox a user namespace of its own, as C(podman run --userns=auto); root
        inside is a range of 65536 unprivileged host ids, taken from the subordinate ids of the entry
        C(linuxns-pidns) in C(/etc/subuid) and C(/etc/subgid) (a line such as
        C(linuxns-pidns:1879048192:65536000) in each; the module fails naming the file without one),
        without overlap between sandboxes, and kept in the sandbox's record. Root inside cannot
        change what the host's root owns.
      - With V(auto), an V(overlay) root sees the host's files through a read-only idmapped mount
        (owned as on the host), writes go to its upper layer; a V(directory) tree and O(binds) are
        idmapped too (root inside writes there as the host's root, as without V(auto)). Idmapped
        mounts need Linux 5.12 and a file system that supports them (ext4, xfs, btrfs, tmpfs 6.3+);
        the module fails naming the path where it cannot make one. With the host's root (O(rootfs)
        unset) the host's files show as owned by C(nobody) inside, and root inside may write only
        what everyone may.
      - A sandbox nested (O(parent)) in one with V(auto) shares that user namespace and its ids, and must
        say V(auto) too; V(auto) under a parent with the host's users is refused.
      - Changing it recreates the sandbox.
    type: str
    choices: [host, auto]
    default: host
  network_mode:
    description:
      - V(host) shares the machine's network (ports a service inside binds are the host's ports).
        V(none) gives the sandbox a network namespace with C(lo) only. V(bridge) gives it a network
        namespace with C(eth0), the inside end of a veth pair whose other end is a port of a host
        bridge the collection manages (O(bridge)), an address from the bridge's subnet, a default route
        through the bridge, outbound NAT, and a C(/etc/resolv.conf) of its own (O(dns_servers), else the
        host's nameservers that are not loopback, else those a systemd-resolved stub forwards to).
      - Unset, V(none) if O(namespaces) lists C(net), else V(host) (what the sandbox had before this
        option), so an upgrade recreates nothing; and a bridged network, which turns on forwarding and
        adds rules to the host, is something asked for. V(host) with C(net) in O(namespaces) is refused.
      - V(bridge) needs C(ip) (iproute2) and C(nft) (nftables) on the host, or, where there is no C(nft),
        C(iptables-restore) and C(iptables-save) (iptables, with chains of the collection's own,
        C(LINUXNS-PIDNS-*), jumped to from the built-in ones); the module fails naming the packages when
        they are missing. Where forwarding (C(net.ipv4.ip_forward)) is off, the first bridge turns it on
        and its forward chain forwards only the bridges' traffic; the last bridge to go turns it off
        again. A host firewall chain that drops forwarded packets by policy is reported in the task's
        warnings, never overridden.
      - The rules live in the nftables table C(ip linuxns_pidns) (or those chains), rewritten whole from
        the sandboxes' records on every change; the operator's tables and chains are never changed. The
        bridge and the veths carry the interface alias C(linuxns.pidns); removal deletes the veth, and
        the bridge and the table with the last sandbox that uses them.
      - Bridges, addresses and rules belong to the network namespace the module runs in; remove a
        sandbox from that namespace.
      - Changing it recreates the sandbox.
    type: str
    choices: [host, none, bridge]
  bridge:
    description:
      - With O(network_mode=bridge), the host bridge to attach to, made when missing.
      - Changing it recreates the sandbox.
    type: dict
    suboptions:
      name:
        description:
          - The bridge's interface name (up to 15 characters); one the collection did not make is refused.
        type: str
        default: pidns0
      subnet:
        description:
          - Its IPv4 subnet (a prefix from /16 to /29); the bridge takes the first address, sandboxes the
            next free ones. Unset, an existing bridge keeps its own, and a new one takes the first /24 of
            C(10.89.0.0/16) that no address or route of the host overlaps. Given, it must match an
            existing bridge's.
        type: str
  published_ports:
    description:
      - With O(network_mode=bridge), host ports forwarded to ports inside, in docker's syntax
        V(HOST_PORT:PORT), V(HOST_IP:HOST_PORT:PORT), with V(/udp) (or V(/tcp), the default) after it,
        such as V(8080:80), V(127.0.0.1:8080:80), V(8053:53/udp). Without V(HOST_IP), every address of the
        host, loopback included; connections from other machines and from the host itself reach the
        sandbox (DNAT in the table's prerouting and output chains).
      - A host port another sandbox publishes, or that a host process holds, is refused before anything
        is made. IPv4 only; port ranges are not supported.
      - Changing it applies in place (the processes keep running).
    type: list
    elements: str
  dns_servers:
    description:
      - With O(network_mode=bridge), the nameservers (IPv4, up to 3) of the sandbox's C(/etc/resolv.conf),
        as C(docker run --dns).
      - Changing it recreates the sandbox.
    type: list
    elements: str
  init:
    description:
      - What PID 1 of the sandbox is. V(supervisor) (the default), the collection's PID 1 - it reaps,
        stops everything gracefully (SIGTERM, O(stop_timeout), SIGKILL) and runs O(workloads).
        V(catatonit), C(catatonit -P), the pause process podman's pods use - it only reaps and waits
        (about 0.7 MB where the supervisor takes about 6); the module then gives the other processes
        SIGTERM and O(stop_timeout) itself before stopping it. It needs the C(catatonit) binary on the
        host (package catatonit), and no O(workloads).
      - Changing it recreates the sandbox.
    type: str
    choices: [supervisor, catatonit]
    default: supervisor
  restart_on_boot:
    description:
      - Make the sandbox again, with the same options (limits, network, workloads), after the machine
        reboots. Its spec is kept in C(/var/lib/linuxns-pidns/.boot/<name>.json) (root's alone), beside
        the boot program, C(/var/lib/linuxns-pidns/.boot/linuxns-pidns-boot.pyz) (the collection's own
        code, written by this module). On a host whose init is systemd the module installs and enables
        C(linuxns-pidns-boot.service), which runs it at boot; elsewhere an init script runs
        C(python3 -I /var/lib/linuxns-pidns/.boot/linuxns-pidns-boot.pyz). It makes every marked sandbox
        that is not alive, parents first, and leaves alive ones alone.
      - O(state=absent) removes the record. Changing it applies in place.
    type: bool
    default: false
  workloads:
    description:
      - Commands PID 1 starts as its children and keeps running by their O(workloads[].restart) policy, as
        docker and podman run a container's process; their output goes to a log per workload under the
        state directory (C(<name>/workloads/<workload>.log), rotated at 1 MiB with 3 files kept), read
        with M(linuxns.pidns.sandbox_logs); M(linuxns.pidns.sandbox_info) shows each one's state.
      - Changing the list applies in place, the sandbox and the other workloads keep running - new ones
        start, removed ones stop (their O(workloads[].stop_signal), then after O(workloads[].stop_timeout)
        SIGKILL to their session), changed ones restart; unchanged ones keep their PIDs. Check and
        diff mode show what would change; a rerun with the same list changes nothing.
      - Each runs in the sandbox's C(_workloads) cgroup leaf with the capabilities a
        M(linuxns.pidns.sandbox_exec) command gets, an OOM score of 0 (PID 1 is the OOM killer's last
        choice), a session of its own, stdin from C(/dev/null), and an environment of C(PATH), C(HOME)
        and O(workloads[].env).
      - When the sandbox stops, each workload gets its stop signal and every other process SIGTERM; after
        O(stop_timeout) what is left is killed.
    type: list
    elements: dict
    suboptions:
      name:
        description: Its name (1 to 64 characters from C(A-Z a-z 0-9 _ . -)), unique in the sandbox.
        type: str
        required: true
      argv:
        description: The program (looked up in C(PATH) inside) and its arguments.
        type: list
        elements: str
        required: true
      env:
        description: Environment variables besides C(PATH) and C(HOME).
        type: dict
      user:
        description: User (name or uid inside the sandbox) it runs as; root when unset.
        type: str
      group:
        description: Group (name or gid inside the sandbox); the user's when unset.
        type: str
      chdir:
        description: Its working directory inside; the user's home (C(/) for root) when unset.
        type: str
      restart:
        description:
          - Docker's restart policies. V(no) (the default) never restarts it; V(on-failure) when it
            exits with a code other than 0 or by a signal, at most N times with V(on-failure:N);
            V(always) and V(unless-stopped) whenever it exits (the same while the sandbox lives).
          - Restarts wait docker's back-off, 100 ms doubling up to a minute, reset once it has run 10 seconds.
        type: str
        default: "no"
      stop_signal:
        description: The signal that stops it (V(SIGTERM), V(TERM) or V(15) alike), as C(docker run --stop-signal).
        type: str
        default: SIGTERM
      stop_timeout:
        description: Seconds it gets to exit after its stop signal when it is removed or changed, before SIGKILL.
        type: float
        default: 10
  shm_size:
    description:
      - Size of the C(/dev/shm) tmpfs of a sandbox with a root of its own (O(rootfs)), as
        C(docker run --shm-size); at least V(1M), at most O(memory) where that is set. Unset, V(64M).
        A sandbox that shares the host's root shares its C(/dev/shm) too, and takes no O(shm_size).
      - Changing it recreates the sandbox.
    type: str
  reset_rootfs:
    description:
      - When this task creates or recreates a sandbox with an V(overlay) O(rootfs), start from an empty upper
        layer (the host's files as they are), dropping what earlier incarnations of the sandbox wrote.
      - Not part of the sandbox's options (changing it alone recreates nothing); combine with O(recreate) to
        reset a running sandbox.
    type: bool
    default: false
  pids_limit:
    description:
      - Most processes (and threads) the sandbox may hold at once, nested sandboxes included (the
        cgroup C(pids) controller, as C(docker run --pids-limit)). Unset, no limit.
      - "Limits, and O(paused), change in place: the running processes keep running. Leaving a limit
        out takes it away."
    type: int
  memory:
    description:
      - Most memory the sandbox may use, as a size such as V(512M) or V(1G) (1024-based, as
        C(docker run --memory)); at least V(6M). Past it the kernel's OOM killer ends a process inside.
      - cgroup v2 C(memory.max), v1 C(memory.limit_in_bytes).
    type: str
  memory_swap:
    description:
      - Memory plus swap the sandbox may use, as docker counts it (at least O(memory), which it needs).
      - cgroup v2 C(memory.swap.max) (the swap part), v1 C(memory.memsw.limit_in_bytes).
    type: str
  cpus:
    description:
      - How many CPUs' worth of time the sandbox may use, as C(docker run --cpus) (V(0.5) is half a CPU).
      - cgroup v2 C(cpu.max), v1 C(cpu.cfs_quota_us) over a C(cpu.cfs_period_us) of 100 ms.
    type: float
  cpu_shares:
    description:
      - Relative CPU weight against other cgroups, in docker's and cgroup v1's units (C(cpu.shares),
        2 to 262144, 1024 is the default).
      - On cgroup v2 it is mapped to C(cpu.weight) as runc and crun map it
        (1 + (shares - 2) * 9999 / 262142; 1024 becomes 39).
    type: int
  paused:
    description:
      - Freeze (V(true)) or thaw (V(false)) every process of the sandbox (cgroup v2 C(cgroup.freeze),
        else the v1 freezer), as C(docker pause). M(linuxns.pidns.sandbox_exec) refuses a paused sandbox.
    type: bool
    default: false
  sandboxes:
    description:
      - Several sandboxes in one task, each an entry with the options above (O(sandboxes[].name)
        required). With it, the top-level O(state), O(namespaces), O(mount_proc), O(stop_timeout)
        and O(recreate) are not used.
      - Every entry is checked before anything changes (names, options, duplicates, nesting cycles,
        parents that are neither listed nor alive on the host); an error names the entry, as in
        V(sandboxes[2]) and the name, then the option and what is wrong with it.
      - Entries with O(sandboxes[].state=absent) are removed first, nested ones first; then the others
        are created or kept, parents first, so a parent may be listed after its children.
      - One module run for the whole list; a rerun with nothing to change costs one task, not one
        per sandbox. If an entry fails, the entries done before it stay done and are in RV(results).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the sandbox.
        type: str
        required: true
      state:
        description: As O(state).
        type: str
        choices: [present, absent]
        default: present
      namespaces:
        description: As O(namespaces).
        type: list
        elements: str
        choices: [pid, mnt, uts, ipc, net, cgroup, time]
        default: [pid, mnt, uts, ipc]
      hostname:
        description: As O(hostname).
        type: str
      mount_proc:
        description: As O(mount_proc).
        type: bool
        default: true
      parent:
        description: As O(parent); may name a sandbox listed in the same task.
        type: str
      stop_timeout:
        description: As O(stop_timeout).
        type: float
        default: 10
      recreate:
        description: As O(recreate).
        type: bool
        default: false
      pids_limit:
        description: As O(pids_limit).
        type: int
      memory:
        description: As O(memory).
        type: str
      memory_swap:
        description: As O(memory_swap).
        type: str
      cpus:
        description: As O(cpus).
        type: float
      cpu_shares:
        description: As O(cpu_shares).
        type: int
      paused:
        description: As O(paused).
        type: bool
        default: false
      rootfs:
        description: As O(rootfs).
        type: dict
        suboptions:
          type:
            description: As O(rootfs.type).
            type: str
            choices: [host, overlay, directory]
            default: host
          path:
            description: As O(rootfs.path).
            type: path
          read_only:
            description: As O(rootfs.read_only).
            type: bool
            default: false
          ephemeral:
            description: As O(rootfs.ephemeral).
            type: bool
            default: false
      binds:
        description: As O(binds).
        type: list
        elements: dict
        suboptions:
          src:
            description: As O(binds[].src).
            type: path
            required: true
          dest:
            description: As O(binds[].dest).
            type: path
          read_only:
            description: As O(binds[].read_only).
            type: bool
            default: false
      cap_add:
        description: As O(cap_add).
        type: list
        elements: str
      cap_drop:
        description: As O(cap_drop).
        type: list
        elements: str
      privileged:
        description: As O(privileged).
        type: bool
        default: false
      shm_size:
        description: As O(shm_size).
        type: str
      userns:
        description: As O(userns).
        type: str
        choices: [host, auto]
        default: host
      network_mode:
        description: As O(network_mode).
        type: str
        choices: [host, none, bridge]
      bridge:
        description: As O(bridge).
        type: dict
        suboptions:
          name:
            description: As O(bridge.name).
            type: str
            default: pidns0
          subnet:
            description: As O(bridge.subnet).
            type: str
      published_ports:
        description: As O(published_ports).
        type: list
        elements: str
      dns_servers:
        description: As O(dns_servers).
        type: list
        elements: str
      init:
        description: As O(init).
        type: str
        choices: [supervisor, catatonit]
        default: supervisor
      restart_on_boot:
        description: As O(restart_on_boot).
        type: bool
        default: false
      workloads:
        description: As O(workloads).
        type: list
        elements: dict
        suboptions:
          name:
            description: As O(workloads[].name).
            type: str
            required: true
          argv:
            description: As O(workloads[].argv).
            type: list
            elements: str
            required: true
          env:
            description: As O(workloads[].env).
            type: dict
          user:
            description: As O(workloads[].user).
            type: str
          group:
            description: As O(workloads[].group).
            type: str
          chdir:
            description: As O(workloads[].chdir).
            type: str
          restart:
            description: As O(workloads[].restart).
            type: str
            default: "no"
          stop_signal:
            description: As O(workloads[].stop_signal).
            type: str
            default: SIGTERM
          stop_timeout:
            description: As O(workloads[].stop_timeout).
            type: float
            default: 10
      reset_rootfs:
        description: As O(reset_rootfs).
        type: bool
        default: false
notes:
  - "Every sandbox has a cgroup of its own from before its PID 1 exists until its last process is gone:
    C(<hierarchy>/linuxns-pidns/<name>) in every hierarchy the host has (cgroup v2 and the v1 pids,
    memory, cpu, cpuacct and freezer ones), with PID 1 in the leaf C(_supervisor), detached workloads
    in C(_workloads) and each M(linuxns.pidns.sandbox_exec) command in a C(_exec.<id>) leaf of its own.
    A nested sandbox's cgroup is below its parent's, so the parent's limits bound it."
  - Where the host offers no writable cgroup (a container without delegation), a sandbox without limits
    is still made, and M(linuxns.pidns.sandbox_info) says why it has no cgroup; asking for a limit or a
    pause there fails and makes nothing.
  - "Removal kills through the cgroup what the graceful stop left (cgroup v2 C(cgroup.kill), else freeze,
    kill each through a pidfd, thaw) and removes the cgroup once it is empty; a sandbox whose state file
    is lost is found through its cgroup and stopped the same way."
  - Without the C(cgroup) namespace type, root inside the sandbox can still see the host's cgroup tree
    and move its processes out of the sandbox's cgroup (root inside is root on the host). With it,
    processes inside see their sandbox's cgroup as the root.
  - State lives in C(/run/linuxns-pidns), owned by root with mode C(0700) and made a private bind
    mount of itself, because a mount-namespace handle cannot be bound onto a shared mount.
  - Inside a sandbox the state directory is detached, so a sandbox does not keep other sandboxes'
    namespaces alive.
  - A sandbox is an isolation of views, not a security boundary; root inside is root on the host.
  - "With a root of its own, the supervisor (a Python program the root need not contain) is started from
    the host's root and enters the sandbox's root before anything else runs inside; C(/proc/1/exe) inside
    still names the host's Python binary."
  - "Overlay limits: overlayfs stacks at most two levels, so a sandbox with an V(overlay) root nested in one
    with an V(overlay) root works, one more level does not. An upper layer is kept across host changes to
    the lower layer (the host's files), which overlayfs calls undefined but which is how such layers are
    used; O(reset_rootfs) starts afresh."
seealso:
  - module: linuxns.pidns.sandbox_exec
  - module: linuxns.pidns.sandbox_info
  - name: namespaces(7)
    description: Overview of Linux namespaces.
    link: https://man7.org/linux/man-pages/man7/namespaces.7.html
  - name: pid_namespaces(7)
    description: PID namespaces, PID 1 and the reaping of orphans.
    link: https://man7.org/linux/man-pages/man7/pid_namespaces.7.html
"""

EXAMPLES = r"""
- name: A sandbox with its own PID, mount, UTS and IPC namespaces
  linuxns.pidns.sandbox:
    name: web
    hostname: web.sandbox
  become: true

- name: A sandbox nested in web, with its own network namespace (only lo, brought up)
  linuxns.pidns.sandbox:
    name: inner
    parent: web
    namespaces: [pid, mnt, uts, ipc, net]
  become: true

- name: Recreate web even though its options are unchanged
  linuxns.pidns.sandbox:
    name: web
    recreate: true
  become: true

- name: Try a role's changes on a copy-on-write view of the host; nothing it writes reaches the host
  linuxns.pidns.sandbox:
    name: trial
    rootfs:
      type: overlay
    binds:
      - src: /srv/shared
        dest: /mnt/shared
        read_only: true
  become: true

- name: Root inside that is not root on the host (needs linuxns-pidns in /etc/subuid and /etc/subgid)
  linuxns.pidns.sandbox:
    name: untrusted
    userns: auto
    rootfs:
      type: overlay
      ephemeral: true
  become: true

- name: A prepared tree (debootstrap) as root, read-only, with one writable host folder
  linuxns.pidns.sandbox:
    name: bookworm
    rootfs:
      type: directory
      path: /srv/trees/bookworm
      read_only: true
    binds:
      - src: /srv/bookworm-data
        dest: /data
  become: true

- name: Several sandboxes in one task, parents first whatever the order; one module run
  linuxns.pidns.sandbox:
    sandboxes:
      - name: db
        parent: base
      - name: base
      - name: old
        state: absent
  become: true

- name: Remove web (and inner, nested in it)
  linuxns.pidns.sandbox:
    name: web
    state: absent
  become: true
"""

RETURN = r"""
sandbox:
  description: The sandbox after the task (predicted in check mode).
  returned: when O(name) is given
  type: dict
  contains:
    name:
      description: Name of the sandbox.
      type: str
      sample: web
    state:
      description: V(present) or V(absent).
      type: str
      sample: present
    health:
      description: V(alive), or V(broken) when its supervisor is gone or its handles are stale.
      type: str
      sample: alive
    problems:
      description: Why the sandbox is broken; empty when alive.
      type: list
      elements: str
      sample: []
    supervisor:
      description: The supervisor as the host sees it; null in check mode before creation.
      type: dict
      sample: {pid: 40213, start_time: 1234567}
      contains:
        pid:
          description: Host PID of the supervisor (PID 1 inside).
          type: int
        start_time:
          description: Its start time in clock ticks since boot, compared with the PID before signalling.
          type: int
    namespaces:
      description: Namespace type to inode number.
      type: dict
      sample: {pid: 4026532301, mnt: 4026532299, uts: 4026532300, ipc: 4026532302}
    handles:
      description: Namespace type to the path of its bind-mounted handle, usable with C(nsenter).
      type: dict
      sample: {pid: /run/linuxns-pidns/web/ns/pid}
    hostname:
      description: Hostname inside, when the sandbox has a UTS namespace.
      type: str
      sample: web.sandbox
    parent:
      description: Name of the sandbox it is nested in, or null.
      type: str
      sample: null
    level:
      description: Nesting depth of its PID namespace as seen from where the module ran (1 for a top-level sandbox on a host).
      type: int
      sample: 1
    created:
      description: When it was created (UTC, ISO 8601).
      type: str
      sample: "2026-11-29T10:00:00Z"
    spec:
      description: The options it was created with, normalized.
      type: dict
    cgroup:
      description: Its cgroup, or null where it has none (see RV(sandbox.cgroup_problem)).
      type: dict
      sample: {path: /linuxns-pidns/web, paths: {v2: /sys/fs/cgroup/unified/linuxns-pidns/web, pids: /sys/fs/cgroup/pids/linuxns-pidns/web}}
    cgroup_problem:
      description: Why it has no cgroup (the host offers none it may write), or null.
      type: str
    limits:
      description: Its limits (V(pids_limit), V(memory) and V(memory_swap) in bytes, V(cpus), V(cpu_shares)); null where none.
      type: dict
      sample: {pids_limit: 64, memory: 67108864, memory_swap: null, cpus: 0.5, cpu_shares: null}
    paused:
      description: Whether its processes are frozen.
      type: bool
    rootfs:
      description:
        - Its root filesystem (null for a sandbox whose state file is lost).
        - V(type), V(path), V(read_only) and V(ephemeral) as requested; V(upper) the host folder of a
          persistent overlay's upper layers (null otherwise); V(binds) as requested.
      type: dict
      sample:
        {type: overlay, path: null, read_only: false, ephemeral: false, upper: /var/lib/linuxns-pidns/web, binds: []}
    userns:
      description:
        - With O(userns=auto), the host ids its user namespace maps 0 to 65535 inside onto (V(uid), V(gid)
          the first host uid and gid, V(count)); null with the host's users (and before it is made, in
          check mode).
      type: dict
      sample: {uid: 1879048192, gid: 1879048192, count: 65536}
    workloads:
      description:
        - Each workload of O(workloads) as PID 1 last reported it - V(name); V(state) (V(starting),
          V(running), V(backing off) between a restart's tries, V(exited), V(stopped)); V(pid) inside and
          V(host_pid) while it runs; V(restart_count); V(exit_code) or V(exit_signal) of its last exit;
          V(started) and V(finished) (UTC); V(restart) (its policy); V(log) (the host path of its log).
      type: list
      elements: dict
      sample:
        - {name: web, state: running, pid: 2, host_pid: 48211, restart_count: 0, exit_code: null,
           exit_signal: null, started: "2026-12-06T06:36:53Z", finished: null, restart: always,
           log: /run/linuxns-pidns/box/workloads/web.log}
    network:
      description:
        - Its network. V(mode) is V(host), V(none) or V(bridge); a bridged sandbox also has V(bridge),
          V(subnet), V(gateway) (the bridge's address), V(address) (its own, on C(eth0) inside),
          V(interface) (the host end of its veth), V(published_ports) (each V(host_ip), V(host_port),
          V(port), V(protocol)) and V(dns_servers) (as requested). Null for a sandbox whose state file
          is lost; addresses null before it is made, in check mode.
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
removed:
  description: Sandboxes removed by this task, nested ones first.
  returned: when O(name) is given
  type: list
  elements: str
  sample: [inner, web]
updated:
  description:
    - The options changed in place on a running sandbox (V(limits), V(paused), V(published_ports), V(workloads),
      V(restart_on_boot)).
  returned: when an existing sandbox was changed in place
  type: list
  elements: str
  sample: [limits]
removed_layers:
  description: Sandboxes whose overlay upper layers this task deleted (with O(state=absent)).
  returned: when upper layers were deleted
  type: list
  elements: str
  sample: [web]
recreated_because:
  description: Why an existing sandbox was recreated (options that differ, or why it was broken).
  returned: when an existing sandbox was recreated
  type: list
  elements: str
  sample: [hostname]
results:
  description:
    - With O(sandboxes), one result per entry done, in the order of the list; each has C(name),
      C(changed), C(removed), C(sandbox) and, when it applies, C(updated) or C(recreated_because),
      as the single form returns them.
    - In diff mode the task's diff has one part per entry, headed by its name.
  returned: when O(sandboxes) is given
  type: list
  elements: dict
  sample: [{name: base, changed: true, removed: [], sandbox: {name: base, state: present, health: alive}}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.linuxns.pidns.plugins.module_utils._module_runner import run_module
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._sandbox import run
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import NAMESPACE_TYPES


def main():
    entry_options = dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        namespaces=dict(type="list", elements="str", default=["pid", "mnt", "uts", "ipc"],
                        choices=list(NAMESPACE_TYPES)),
        hostname=dict(type="str"),
        mount_proc=dict(type="bool", default=True),
        parent=dict(type="str"),
        stop_timeout=dict(type="float", default=10),
        recreate=dict(type="bool", default=False),
        pids_limit=dict(type="int"),
        memory=dict(type="str"),
        memory_swap=dict(type="str"),
        cpus=dict(type="float"),
        cpu_shares=dict(type="int"),
        paused=dict(type="bool", default=False),
        rootfs=dict(type="dict", options=dict(
            type=dict(type="str", default="host", choices=["host", "overlay", "directory"]),
            path=dict(type="path"),
            read_only=dict(type="bool", default=False),
            ephemeral=dict(type="bool", default=False),
        )),
        binds=dict(type="list", elements="dict", options=dict(
            src=dict(type="path", required=True),
            dest=dict(type="path"),
            read_only=dict(type="bool", default=False),
        )),
        cap_add=dict(type="list", elements="str"),
        cap_drop=dict(type="list", elements="str"),
        privileged=dict(type="bool", default=False),
        shm_size=dict(type="str"),
        userns=dict(type="str", default="host", choices=["host", "auto"]),
        network_mode=dict(type="str", choices=["host", "none", "bridge"]),
        bridge=dict(type="dict", options=dict(
            name=dict(type="str", default="pidns0"),
            subnet=dict(type="str"),
        )),
        published_ports=dict(type="list", elements="str"),
        dns_servers=dict(type="list", elements="str"),
        init=dict(type="str", default="supervisor", choices=["supervisor", "catatonit"]),
        restart_on_boot=dict(type="bool", default=False),
        workloads=dict(type="list", elements="dict", options=dict(
            name=dict(type="str", required=True),
            argv=dict(type="list", elements="str", required=True),
            env=dict(type="dict"),
            user=dict(type="str"),
            group=dict(type="str"),
            chdir=dict(type="str"),
            restart=dict(type="str", default="no"),
            stop_signal=dict(type="str", default="SIGTERM"),
            stop_timeout=dict(type="float", default=10),
        )),
        reset_rootfs=dict(type="bool", default=False),
    )
    module = AnsibleModule(
        argument_spec=dict(
            entry_options,
            name=dict(type="str"),
            sandboxes=dict(type="list", elements="dict",
                           options=dict(entry_options, name=dict(type="str", required=True))),
        ),
        mutually_exclusive=[("name", "sandboxes"), ("sandboxes", "hostname"), ("sandboxes", "parent")],
        required_one_of=[("name", "sandboxes")],
        supports_check_mode=True,
    )
    run_module(module, run, "sandbox %s" % (module.params["name"] or "list"), run_command=module.run_command)


if __name__ == "__main__":
    main()
