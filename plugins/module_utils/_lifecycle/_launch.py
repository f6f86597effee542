# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Launching a sandbox: fresh namespaces, PID 1 set up and turned into the supervisor, handles pinned.

Process shape::

    module ──fork──> launcher (new session; joins the parent sandbox, if any)
                       └─fork──> mid (unshares the namespaces)
                                   └─fork──> PID 1 (mounts, hostname, lo; execs the supervisor)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import select
import socket
import struct
import sys
import time

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _cgroup
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _procfs
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _rootfs
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _syscalls
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _systemd
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel._process import set_oom_score_adj, wait_exit
from ansible_collections.linuxns.pidns.plugins.module_utils._containment import _capabilities, _userns
from ansible_collections.linuxns.pidns.plugins.module_utils._init import _workloads
from ansible_collections.linuxns.pidns.plugins.module_utils._network import _host as _network
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._control import (
    control_socket, receive_message, send_error, send_message)
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._records import inspect_sandbox
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import DEFAULT_PATH
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._statedir import NEEDS_ROOT, STATE_SCHEMA
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._stop import remove_folder, stop_supervisor

READY_TIMEOUT = 15.0
SUPERVISOR_ENVIRONMENT = {"PATH": DEFAULT_PATH, "LC_ALL": "C"}
SUPERVISOR_OOM_SCORE_ADJ = -998
CATATONIT_NAME = "catatonit"
CATATONIT_PATHS = ("/usr/bin/catatonit", "/usr/libexec/podman/catatonit", "/usr/libexec/catatonit/catatonit")


def _loopback_up():
    """Bring `lo` up in a fresh network namespace (SIOCGIFFLAGS / SIOCSIFFLAGS)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, 0x8913, request))[1]
        fcntl.ioctl(sock, 0x8914, struct.pack("16sH22x", b"lo", flags | 0x1 | 0x40))
    finally:
        sock.close()


def _become_init(spec, root, fds, python, name, prepared=None, workloads=None):
    """As PID 1 of the new namespace: set the namespaces up, exec the supervisor (prepared: _rootfs.Prepared;
    workloads: (the sandbox's workloads folder, the _workloads leaf's cgroup.procs) as descriptors)."""
    types = spec["namespaces"]
    new_root = None
    if "mnt" in types:
        _syscalls.mount(None, "/", None, _syscalls.MS_REC | _syscalls.MS_PRIVATE)
        # Hide the state directory: its handle mounts would keep every other sandbox's namespaces alive.
        try:
            _syscalls.umount2(root, _syscalls.MNT_DETACH)
        except OSError as exc:
            # EPERM: in a user namespace of its own the host's mounts are locked; the tmpfs covers them.
            if exc.errno not in (errno.EINVAL, errno.ENOENT, errno.EPERM):
                raise
        # Under it is the same directory (a bind mount of itself): cover it, so the collection run
        # inside (say, via a sandboxed sshd) manages its own sandboxes, never the host's.
        if os.path.isdir(root):
            _syscalls.mount("tmpfs", root, "tmpfs", _syscalls.MS_NOSUID | _syscalls.MS_NODEV | _syscalls.MS_NOEXEC,
                            "mode=0700")
        if prepared is not None:
            new_root = _rootfs.enter(spec, root, prepared, protect_kernel=not _capabilities.is_privileged(spec))
        if spec["mount_proc"] and new_root is None:
            _syscalls.mount("proc", "/proc", "proc",
                            _syscalls.MS_NOSUID | _syscalls.MS_NODEV | _syscalls.MS_NOEXEC)
    if "uts" in types:
        _syscalls.sethostname(spec["hostname"])
    if "net" in types:
        _loopback_up()
    os.chdir("/")
    if not os.access(python, os.X_OK):
        # Said now: once the fds are moved, a failed exec is silent.
        raise SandboxError("the module's Python %s is not in the parent sandbox's root (a root of its own has "
                           "a fresh /tmp and /run): run the module with an interpreter outside them, such as "
                           "/usr/bin/python3" % python)
    if spec.get("init") == "catatonit":
        _exec_catatonit(spec, fds, new_root)
    argv = [python, "-I", "-S", "-", name, str(spec["stop_timeout"])]
    fds = list(fds)
    if new_root is not None:
        # fd 4: the supervisor chroots into it before it says ready.
        fds.append(new_root)
        argv.append(_rootfs.ENTER_ROOT_FLAG)
    if workloads is not None:
        folder_fd, procs_fds = workloads
        argv.append("workloads=%d" % len(fds))
        fds.append(folder_fd)
        if procs_fds:
            argv.append("procs=%s" % ",".join(str(len(fds) + index) for index in range(len(procs_fds))))
            fds.extend(procs_fds)
        keep = _capabilities.command_set(spec)
        argv.append("drop=%s" % ",".join(str(number) for number in range(64)
                                         if number >= len(_capabilities.NAMES) or _capabilities.NAMES[number] not in keep))
    capabilities = _capabilities.effective(spec)
    if capabilities is not None:
        # The supervisor execs with no more than the sandbox's set (and what PID 1 itself needs).
        _capabilities.drop_bounding(set(capabilities) | set(_capabilities.SUPERVISOR_NEEDS))
    # Above the targets first, so no dup2 clobbers another source.
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 64) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target, inheritable=True)
    os.closerange(len(high), 65536)
    # Root inside can read PID 1's environ for the sandbox's life: keep the module's (tokens, SUDO_*) out.
    os.execve(python, argv, SUPERVISOR_ENVIRONMENT)


def _exec_catatonit(spec, fds, new_root):
    """PID 1 becomes `catatonit -P` (fds[0]: its binary, opened on the host; static, so a root of its own
    needs no libc for it): into the sandbox's root, "ready" said on its behalf, then fexecve."""
    binary, log, _log, ready = fds
    if new_root is not None:
        os.fchdir(new_root)
        os.chroot(".")
        os.chdir("/")
    capabilities = _capabilities.effective(spec)
    if capabilities is not None:
        _capabilities.drop_bounding(capabilities)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.write(ready, b"ready")
    binary = fcntl.fcntl(binary, fcntl.F_DUPFD, 3)  # kept across exec: it is what runs
    os.closerange(3, binary)
    os.closerange(binary + 1, 65536)
    os.execve(binary, [CATATONIT_NAME, "-P"], SUPERVISOR_ENVIRONMENT)


def _launch(spec, root, parent_fds, fds, sock, python, name, cpu, allowed, hierarchies, prepared=None,
            workloads_fd=None):
    """The forked launcher; never returns. The mid process exists because after setns(CLONE_NEWPID)
    only a process's children live in the joined namespace, and it may not unshare one itself."""
    stage = "setsid"
    try:
        os.setsid()
        # PID 1 must never be the OOM victim (its death ends the sandbox): -998 as Kubernetes gives its
        # pause container, inherited by the supervisor alone (it starts no other process). Lowering it
        # needs CAP_SYS_RESOURCE; where root lacks it, the commands' 1000 (_join) keeps PID 1 last.
        try:
            set_oom_score_adj(SUPERVISOR_OOM_SCORE_ADJ)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM):
                raise
        stage = "waiting for the sandbox's cgroup"
        fields, _sender = receive_message(sock)
        if not fields or fields[0] != "cgroup":
            os._exit(1)  # the module gave up
        procs_fds = []
        if fields[1]:
            # Before joining the parent's namespaces: the paths are the host's.
            stage = "moving into the sandbox's cgroup"
            cgroup = _cgroup.SandboxCgroup(hierarchies, fields[1])
            cgroup.place(0)
            procs_fds = cgroup.open_procs(_cgroup.WORKLOADS_LEAF)
        for ns_type in _syscalls.JOIN_ORDER:
            if ns_type in parent_fds:
                stage = "joining the parent's %s namespace" % ns_type
                _syscalls.setns(parent_fds[ns_type], _syscalls.NAMESPACE_FLAGS[ns_type])
                if ns_type == "user":
                    # A sandbox nested in one with userns: auto shares its user namespace, as its root.
                    _userns.become_root()
        stage = "fork"
        mid = os.fork()
        if mid == 0:
            if cpu is not None:
                stage = "pinning to CPU %d" % cpu
                os.sched_setaffinity(0, [cpu])
            if "user" in spec["namespaces"] and "user" not in parent_fds:
                # First, alone: the module maps it and idmaps the trees PID 1 attaches, then the
                # others are made in it.
                stage = "unsharing the user namespace"
                _syscalls.unshare(_syscalls.CLONE_NEWUSER)
                send_message(sock, "userns")
                stage = "waiting for the user namespace's id maps"
                fields, _sender = receive_message(sock)
                if not fields or fields[0] != "mapped":
                    os._exit(1)  # the module gave up
                _userns.become_root()
            stage = "unshare"
            flags = 0
            for ns_type in spec["namespaces"]:
                if ns_type != "user":
                    flags |= _syscalls.NAMESPACE_FLAGS[ns_type]
            _syscalls.unshare(flags)
            stage = "fork into the new PID namespace"
            if os.fork() == 0:
                stage = "setting up the sandbox"
                if cpu is not None:
                    os.sched_setaffinity(0, allowed)
                _become_init(spec, root, fds, python, name, prepared,
                             None if workloads_fd is None else (workloads_fd, procs_fds))
            os._exit(0)
        _pid, status = os.waitpid(mid, 0)
        os._exit(0 if status == 0 else 1)
    except BaseException as exc:  # pylint: disable=broad-except
        send_error(sock, stage, exc)
        os._exit(1)


def _allocations(state_dir, name):
    """The id ranges other sandboxes' records hold (userns: auto)."""
    taken = []
    for other in state_dir.names():
        if other == name:
            continue
        state = state_dir.read_state(other) or {}
        if isinstance(state.get("userns"), dict):
            taken.append(state["userns"])
    return taken


def _map_user_namespace(sock, proc_root, allocation, prepared, spec):
    """The mid process has unshared its user namespace: write its maps, idmap the trees PID 1 will
    attach, and let it go on."""
    fields, sender = _next_message(sock, READY_TIMEOUT, "the user namespace")
    if fields[0] != "userns" or sender is None:
        raise SandboxError("expected the new user namespace, got %r" % (fields[0],))
    _userns.write_maps(sender, allocation, proc_root)
    if prepared is not None:
        _idmap_into(prepared, spec, os.path.join(proc_root, str(sender), "ns", "user"))
    send_message(sock, "mapped")


def _idmap_into(prepared, spec, userns_path):
    """Make the detached trees of `prepared` idmapped mounts of the user namespace at `userns_path`."""
    userns_fd = os.open(userns_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        prepared.idmap(userns_fd, spec)
    finally:
        os.close(userns_fd)


def _next_message(sock, timeout, what):
    """The next message from the processes of a creation, an error from them raised as SandboxError."""
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    if not poller.poll(timeout * 1000):
        raise SandboxError("%s did not come within %d seconds" % (what, timeout))
    fields, sender = receive_message(sock)
    if fields is None:
        raise SandboxError("the sandbox's processes exited before %s came" % what)
    if fields[0] == "error":
        _tag, stage, code, text = fields
        if int(code) in (errno.EPERM, errno.EACCES):
            raise SandboxError("%s failed: %s. %s" % (stage, text, NEEDS_ROOT))
        raise SandboxError("%s failed: %s" % (stage, text))
    return fields, sender


def _await_ready(sock, timeout):
    """Wait for the supervisor's "ready"; return its PID as the host sees it."""
    _fields, sender = _next_message(sock, timeout, "the supervisor's ready")
    if sender is None:
        raise SandboxError("the supervisor's ready message carried no credentials")
    return sender


def _log_end(path, size=400):
    """'; its log ends: ...' with the log's last `size` bytes, or ''."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - size))
            text = handle.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return "; its log ends: %s" % text if text else ""


class _MountNamespaceOutOfOrder(Exception):
    """EINVAL binding the new mount namespace's handle: its id is not newer than ours (the kernel's
    loop guard). Since Linux 6.18 ids come from per-CPU batches, so this bites about half the time
    when the module runs outside the initial mount namespace (a container, a sandboxed sshd)."""


def install_supervisor(state_dir):
    """Write the supervisor's source (once per content) and return its path."""
    # Lazy: inspect is costly, and most runs create nothing.
    import inspect
    from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _supervisor
    source = inspect.getsource(_supervisor)
    path = state_dir.supervisor_path
    try:
        with open(path) as handle:
            if handle.read() == source:
                return path
    except (IOError, OSError) as exc:
        if exc.errno != errno.ENOENT:
            raise
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(source)
    os.rename(tmp, path)
    return path


def create(view, name, spec, parent_record=None, python=None, run_command=None):
    """Start a supervisor in fresh namespaces, pin them, return the record; all or nothing is made.
    On _MountNamespaceOutOfOrder, retry on each CPU: the one whose id batch holds ours hands out newer."""
    planned = _cgroup_for(view, name, spec, parent_record, run_command)
    allowed = sorted(os.sched_getaffinity(0))
    for cpu in [None] + allowed:
        try:
            return _create_once(view, name, spec, parent_record, python or sys.executable, cpu, allowed, planned)
        except _MountNamespaceOutOfOrder as exc:
            refused = exc
    raise SandboxError("the kernel refused the handle of every new mount namespace (%s); the module "
                       "runs in a mount namespace it cannot pin newer ones from" % refused)


class _SystemdScope(object):
    """A top-level sandbox's cgroup on a systemd host, known once its scope exists (_place_launcher)."""

    def __init__(self, hierarchies, name, run_command):
        self.hierarchies = hierarchies
        self.name = name
        self.run_command = run_command


def _cgroup_for(view, name, spec, parent_record, run_command):
    """The new sandbox's cgroup (a _SystemdScope on systemd hosts), or None where the host offers
    none; limits or a pause then fail here, before anything is made."""
    hierarchies = view.hierarchies
    problems = hierarchies.supports(spec["limits"])
    if spec["paused"] and hierarchies.problem:
        problems.append("paused: the sandbox cannot have a cgroup here (%s)" % hierarchies.problem)
    if problems:
        raise SandboxError("; ".join(problems))
    if hierarchies.problem:
        return None
    parent_cgroup = (parent_record.get("_state") or {}).get("cgroup") if parent_record else None
    if parent_cgroup is None and not view.inside_sandbox and _systemd.booted():
        return _SystemdScope(hierarchies, name, run_command)
    return _cgroup.sandbox_cgroup(hierarchies, name, parent_cgroup["relative"] if parent_cgroup else None,
                                  view.cgroup_base)


def _place_launcher(view, name, planned, launcher):
    """Make and return the cgroup (or None); on systemd, below the scope systemd puts the launcher in."""
    cgroup = planned
    if isinstance(planned, _SystemdScope):
        scope = _systemd.start_scope(planned.run_command, name, launcher, view.state_dir.proc_root)
        cgroup = _cgroup.SandboxCgroup(planned.hierarchies, scope + "/" + name)
    if cgroup is not None:
        if cgroup.exists():
            # Left by a creation killed half way.
            cgroup.kill()
            cgroup.remove()
        cgroup.create()
    return cgroup


def _launch_spec(spec, folder):
    """The spec PID 1 sets up: a bridged sandbox's resolv.conf (written in its folder) bound over
    /etc/resolv.conf as the last bind, where it has a mount namespace of its own."""
    if not spec.get("network") or "mnt" not in spec["namespaces"]:
        return spec
    path = os.path.join(folder, "resolv.conf")
    text, _warnings = _network.resolv_conf(spec["network"]["dns_servers"])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return dict(spec, binds=list(spec["binds"]) + [{"src": path, "dest": "/etc/resolv.conf", "read_only": True}])


def _init_program(spec, supervisor_script):
    """What PID 1 runs: the supervisor's source, or catatonit's binary (SandboxError naming the option
    when the host has none)."""
    if spec.get("init", "supervisor") == "supervisor":
        return supervisor_script
    for path in CATATONIT_PATHS:
        if os.access(path, os.X_OK):
            return path
    raise SandboxError("init: catatonit needs its binary on the host (the catatonit package; looked in %s)"
                       % ", ".join(CATATONIT_PATHS))


def _workloads_folder(folder, spec, allocation):
    """Make the folder PID 1 keeps its workloads' list, status and logs in, and return a descriptor of it
    for PID 1 (owned by the user namespace's root where it has one, so that root can write there)."""
    path = _workloads.folder(folder)
    os.mkdir(path, 0o700)
    if spec["workloads"]:
        _workloads.write_spec(folder, spec["workloads"])
    if allocation is not None:
        for item in [path] + [os.path.join(path, entry) for entry in os.listdir(path)]:
            os.lchown(item, allocation["uid"], allocation["gid"])
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def _create_once(view, name, spec, parent_record, python, cpu, allowed, planned):
    state_dir = view.state_dir
    folder = state_dir.path(name)
    netns = others = links = None
    if spec.get("network"):
        netns = _network.netns_id(state_dir.proc_root)
        others = _network.bridged_records(state_dir, netns, skip=(name,))
        links = _network.preflight(spec["network"], spec["published_ports"], others)
    os.mkdir(folder, 0o700)
    os.mkdir(os.path.join(folder, "ns"), 0o700)
    supervisor = pidfd = pid_ns = cgroup = prepared = allocation = None
    shares_userns = spec.get("userns") == "auto" and parent_record is not None
    try:
        recorded_spec, spec = spec, _launch_spec(spec, folder)
        script = install_supervisor(state_dir)
        if shares_userns:
            # Nested: its parent's user namespace and ids (_sandbox checks that the parent has one).
            allocation = dict(parent_record["userns"])
        elif spec.get("userns") == "auto":
            allocation = _userns.allocate_on_host(_allocations(state_dir, name),
                                                  prefer=_rootfs.layers_owner(spec, name))
        if allocation is not None:
            python = _userns.supervisor_python(
                python, (sys.prefix, sys.base_prefix) if python == sys.executable else ())
        if _rootfs.needs_preparing(spec):
            # Before joining the parent's mount namespace, where host paths are not visible. Nested, the
            # overlay's lower layer is the parent's root, already seen with the namespace's ids.
            prepared = _rootfs.prepare(spec, name, allocation=allocation, lowers=not shares_userns)
            if shares_userns:
                _idmap_into(prepared, spec, parent_record["handles"]["user"])
        parent_fds = {}
        if parent_record is not None:
            for ns_type, path in parent_record["handles"].items():
                parent_fds[ns_type] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        workloads_fd = _workloads_folder(folder, spec, allocation) if spec.get("init", "supervisor") == "supervisor" \
            else None
        sock, theirs = control_socket()
        fds = [os.open(_init_program(spec, script), os.O_RDONLY | os.O_CLOEXEC),
               os.open(os.path.join(folder, "supervisor.log"),
                       os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)]
        fds += [fds[1], theirs.fileno()]
        launcher = os.fork()
        if launcher == 0:
            sock.close()
            _launch(spec, state_dir.root, parent_fds, fds, theirs, python, name, cpu, allowed, view.hierarchies,
                    prepared, workloads_fd)
        theirs.close()
        for fd in list(parent_fds.values()) + fds[:2] + ([workloads_fd] if workloads_fd is not None else []):
            os.close(fd)
        try:
            cgroup = _place_launcher(view, name, planned, launcher)
            # Unblocks the launcher: where to move itself.
            send_message(sock, "cgroup", cgroup.relative if cgroup is not None else "")
            if allocation is not None and not shares_userns:
                _map_user_namespace(sock, state_dir.proc_root, allocation, prepared, spec)
            if prepared is not None:
                prepared.close()  # PID 1 has its own copies
            try:
                pid = _await_ready(sock, READY_TIMEOUT)
            except SandboxError as exc:
                # The log goes with the folder: quote its end.
                raise SandboxError("%s%s" % (exc, _log_end(os.path.join(folder, "supervisor.log"))))
        finally:
            sock.close()
            os.waitpid(launcher, 0)
        # While the pidfd is open and the process alive, the PID is not reused: /proc/<pid> stays the supervisor's.
        pidfd = _syscalls.pidfd_open(pid)
        stat = _procfs.read_stat(state_dir.proc_root, pid)
        pid_ns = _procfs.ns_link_inode(state_dir.proc_root, pid, "pid") if stat else None
        if stat is None or pid_ns is None:
            raise SandboxError("the supervisor (host PID %d) exited right after starting; see %s"
                               % (pid, os.path.join(folder, "supervisor.log")))
        supervisor = {"pid": pid, "start_time": stat["start_time"]}
        namespaces = {}
        for ns_type in spec["namespaces"]:
            handle = state_dir.handle_path(name, ns_type)
            os.close(os.open(handle, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
            try:
                _syscalls.mount(os.path.join(state_dir.proc_root, str(pid), "ns", ns_type), handle, None,
                                _syscalls.MS_BIND)
            except OSError as exc:
                if ns_type == "mnt" and exc.errno == errno.EINVAL:
                    raise _MountNamespaceOutOfOrder(str(exc))
                raise
            namespaces[ns_type] = os.stat(handle).st_ino
        if wait_exit(pidfd, 0) or namespaces["pid"] != pid_ns:
            raise SandboxError("the supervisor (host PID %d) exited while its namespaces were being pinned; "
                               "see %s" % (pid, os.path.join(folder, "supervisor.log")))
        if cgroup is not None:
            # Now, so tight limits bound what runs inside, not the processes that start it.
            cgroup.set_limits(spec["limits"])
            if spec["paused"]:
                cgroup.freeze(True)
        network = None
        if netns is not None:
            network = _network.connect(spec["network"], name, pid, others, netns, links, state_dir.proc_root)
        status = _procfs.read_status(state_dir.proc_root, pid)
        state = {
            "schema": STATE_SCHEMA,
            "name": name,
            "spec": recorded_spec,
            "supervisor": supervisor,
            "namespaces": namespaces,
            "boot_id": view.boot_id,
            "level": len(_procfs.nspid_chain(status)) - 1 if status else None,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "cgroup": None if cgroup is None else {"relative": cgroup.relative, "paths": cgroup.paths()},
            "cgroup_problem": view.hierarchies.problem,
            "userns": allocation,
            "network": network,
        }
        state_dir.write_state(name, state)
        if netns is not None:
            _network.sync(state_dir, netns)
    except BaseException:
        if supervisor is not None:
            stop_supervisor(state_dir, supervisor, 0, pid_ns)
        if cgroup is not None and cgroup.exists():
            cgroup.kill()
            cgroup.remove()
        remove_folder(state_dir, name)
        if netns is not None:
            try:
                _network.sync(state_dir, netns)
            except SandboxError:
                pass  # the error that matters is the one raised; the next change syncs again
        raise
    finally:
        if pidfd is not None:
            os.close(pidfd)
        if prepared is not None:
            prepared.close()
    view.refresh()
    return inspect_sandbox(view, name)
