# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sandboxes: state directory, lock, spec, handles; create, inspect, destroy.

Layout under the state directory (a private bind mount of itself, mode 0700)::

    .lock                 flock taken by every change
    .supervisor.py        the PID-1 program, shared by all sandboxes
    <name>/state.json     requested spec, supervisor PID + start time, boot id
    <name>/ns/<type>      namespace handles: nsfs bind mounts
    <name>/supervisor.log the supervisor's stdout/stderr
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import sys
import time

from ansible_collections.linuxns.pidns.plugins.module_utils import _procfs
from ansible_collections.linuxns.pidns.plugins.module_utils import _syscalls

STATE_DIR = "/run/linuxns-pidns"
STATE_SCHEMA = 1
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
NAMESPACE_TYPES = ("pid", "mnt", "uts", "ipc", "net", "cgroup", "time")
DEFAULT_NAMESPACES = ("pid", "mnt", "uts", "ipc")
# Spec keys whose change means the sandbox must be recreated, in display order.
SPEC_KEYS = ("namespaces", "hostname", "mount_proc", "parent", "stop_timeout")
CAP_SYS_ADMIN = 21
READY_TIMEOUT = 15.0
# Extra time, beyond stop_timeout, for the supervisor to finish before it gets SIGKILL.
STOP_MARGIN = 5.0

NEEDS_ROOT = ("creating and managing namespaces needs root (CAP_SYS_ADMIN); "
              "run the task with become: true")


class SandboxError(Exception):
    """A failure to report to the user as it is: the message names what was wrong."""


# ---------------------------------------------------------------- pure parts

def validate_name(name, option="name"):
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or name in (".", ".."):
        raise SandboxError(
            "%s: %r is not a valid sandbox name: use 1 to 64 characters from A-Z a-z 0-9 _ . -, "
            "starting with a letter or digit" % (option, name))
    return name


def normalize_spec(name, namespaces=None, hostname=None, mount_proc=True, parent=None, stop_timeout=10):
    """Check the requested options and return (spec, warnings); raise SandboxError on bad input."""
    validate_name(name)
    requested = list(DEFAULT_NAMESPACES if namespaces is None else namespaces)
    unknown = [ns for ns in requested if ns not in NAMESPACE_TYPES]
    if unknown:
        raise SandboxError("namespaces: unknown namespace type(s) %s; choose from %s"
                           % (", ".join(repr(ns) for ns in unknown), ", ".join(NAMESPACE_TYPES)))
    if "pid" not in requested:
        raise SandboxError("namespaces: 'pid' is required: a sandbox is built around its own PID namespace")
    ordered = [ns for ns in NAMESPACE_TYPES if ns in requested]
    warnings = []
    if hostname is not None and "uts" not in ordered:
        raise SandboxError("hostname: setting a hostname needs the 'uts' namespace; add uts to namespaces")
    if hostname is not None and not (0 < len(hostname) <= 64):
        raise SandboxError("hostname: must be 1 to 64 characters, got %d" % len(hostname))
    if "uts" in ordered and hostname is None:
        hostname = name
    if "mnt" not in ordered:
        if mount_proc:
            warnings.append(
                "sandbox %s has no mount namespace, so /proc cannot be remounted: processes inside will "
                "see the host's /proc (ps shows host processes and host PIDs); add mnt to namespaces "
                "to avoid this" % name)
        mount_proc = False
    if parent is not None:
        validate_name(parent, "parent")
        if parent == name:
            raise SandboxError("parent: a sandbox cannot be its own parent")
    if stop_timeout is None or stop_timeout < 0:
        raise SandboxError("stop_timeout: must be 0 or more seconds, got %r" % (stop_timeout,))
    spec = {
        "namespaces": ordered,
        "hostname": hostname,
        "mount_proc": bool(mount_proc),
        "parent": parent,
        "stop_timeout": stop_timeout,
    }
    return spec, warnings


def spec_differences(current, wanted):
    """The spec keys whose values differ, in SPEC_KEYS order."""
    return [key for key in SPEC_KEYS if current.get(key) != wanted.get(key)]


def parse_state(text):
    """Parse a state.json; raise ValueError when it is not one of ours."""
    state = json.loads(text)
    if not isinstance(state, dict) or state.get("schema") != STATE_SCHEMA:
        raise ValueError("unknown state schema")
    for key in ("name", "spec", "supervisor", "namespaces", "boot_id"):
        if key not in state:
            raise ValueError("state lacks %r" % key)
    return state


def health(state, handles, supervisor_stat, boot_id, supervisor_pid_ns):
    """Judge a sandbox from what the host shows; return a list of problems (empty: alive).

    handles: {type: inode} of the nsfs mounts found at its handle paths.
    supervisor_stat: parsed /proc/PID/stat of the recorded supervisor PID, or None.
    supervisor_pid_ns: inode of that process's PID namespace, or None.
    """
    problems = []
    if state.get("boot_id") != boot_id:
        problems.append("the host rebooted since it was created: its namespaces are gone")
    missing = sorted(ns for ns, inode in state["namespaces"].items() if handles.get(ns) != inode)
    if missing:
        problems.append("namespace handle(s) not mounted: %s" % ", ".join(missing))
    supervisor = state["supervisor"]
    if supervisor_stat is None or supervisor_stat["state"] in ("Z", "X"):
        problems.append("its supervisor (host PID %d) is gone: the kernel refuses new processes in a PID "
                        "namespace whose PID 1 died" % supervisor["pid"])
    elif (supervisor_stat["start_time"] != supervisor["start_time"]
          or supervisor_pid_ns != state["namespaces"].get("pid")):
        problems.append("its supervisor (host PID %d) is gone and the PID now belongs to another process"
                        % supervisor["pid"])
    return problems


# ---------------------------------------------------------------- the state directory

class StateDir(object):

    def __init__(self, root=STATE_DIR, proc_root=_procfs.PROC):
        self.root = root
        self.proc_root = proc_root
        self._lock_fd = None

    def path(self, name, *parts):
        return os.path.join(self.root, name, *parts)

    def handle_path(self, name, ns_type):
        return self.path(name, "ns", ns_type)

    @property
    def supervisor_path(self):
        return os.path.join(self.root, ".supervisor.py")

    def exists(self):
        return os.path.isdir(self.root)

    def names(self):
        """Names of the sandbox folders present (valid names only, sorted)."""
        if not self.exists():
            return []
        return sorted(entry for entry in os.listdir(self.root)
                      if NAME_PATTERN.match(entry) and os.path.isdir(os.path.join(self.root, entry)))

    def ensure(self):
        """Create the directory and make it a private bind mount of itself (see module docs)."""
        if not os.path.isdir(self.root):
            os.makedirs(self.root, 0o700)
        os.chmod(self.root, 0o700)
        mounts = _procfs.read_mountinfo(self.proc_root)
        mount = _procfs.mount_at(mounts, self.root)
        if mount is None:
            _syscalls.mount(self.root, self.root, None, _syscalls.MS_BIND)
            mount = {"propagation": {"shared": True}}
        if mount["propagation"]:
            # A mount-namespace handle cannot be bound onto a shared mount (EINVAL).
            _syscalls.mount(None, self.root, None, _syscalls.MS_PRIVATE)

    def lock(self, shared=False):
        """Changes take the lock exclusively; readers take it shared, so they never see a
        sandbox half made or half removed."""
        fd = os.open(os.path.join(self.root, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        self._lock_fd = fd

    def unlock(self):
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def install_supervisor(self):
        """Write the supervisor program (from this payload) where it can be run; once per content."""
        # Imported here: only creation needs them, and under AnsiballZ every module_utils
        # imported is compiled on each run (sandbox_exec and sandbox_info never create).
        import inspect
        from ansible_collections.linuxns.pidns.plugins.module_utils import _supervisor
        source = inspect.getsource(_supervisor)
        path = self.supervisor_path
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

    def read_state(self, name):
        try:
            with open(self.path(name, "state.json")) as handle:
                return parse_state(handle.read())
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise
        except ValueError:
            return None

    def write_state(self, name, state):
        path = self.path(name, "state.json")
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(state, handle, indent=2, sort_keys=True)
        os.rename(path + ".tmp", path)


# ---------------------------------------------------------------- inspecting

class HostView(object):
    """What one module run reads of the host once: the namespace handles mounted, and the boot id.
    Works whether or not the state directory exists yet (then no sandbox is found)."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.handles = _procfs.nsfs_mounts(_procfs.read_mountinfo(state_dir.proc_root))
        self.boot_id = _procfs.read_boot_id(state_dir.proc_root)

    def refresh(self):
        self.__init__(self.state_dir)


def inspect_sandbox(view, name):
    """A sandbox as found on the host, or None if there is no folder for it.

    Returns a dict with the public keys (see the module's RETURN) plus `_state`.
    """
    state_dir = view.state_dir
    if not os.path.isdir(state_dir.path(name)):
        return None
    state = state_dir.read_state(name)
    if state is None:
        return {"name": name, "state": "present", "health": "broken",
                "problems": ["its state file is missing or unreadable: an interrupted creation"],
                "spec": None, "supervisor": None, "namespaces": {}, "handles": {}, "hostname": None,
                "parent": None, "level": None, "created": None, "_state": None}
    mounted = {}
    for ns_type in state["namespaces"]:
        found = view.handles.get(state_dir.handle_path(name, ns_type))
        if found and found[0] == ns_type:
            mounted[ns_type] = found[1]
    pid = state["supervisor"]["pid"]
    problems = health(state, mounted, _procfs.read_stat(state_dir.proc_root, pid), view.boot_id,
                      _procfs.ns_link_inode(state_dir.proc_root, pid, "pid"))
    spec = state["spec"]
    return {
        "name": name,
        "state": "present",
        "health": "broken" if problems else "alive",
        "problems": problems,
        "spec": spec,
        "supervisor": dict(state["supervisor"]),
        "namespaces": dict(state["namespaces"]),
        "handles": dict((ns, state_dir.handle_path(name, ns)) for ns in state["namespaces"]),
        "hostname": spec.get("hostname"),
        "parent": spec.get("parent"),
        "level": state.get("level"),
        "created": state.get("created"),
        "_state": state,
    }


def public(record):
    """The record as returned to the user."""
    return dict((key, value) for key, value in record.items() if not key.startswith("_"))


def dependents(view, name):
    """Sandboxes nested (at any depth) under `name`, deepest first."""
    children = {}
    for other in view.state_dir.names():
        state = view.state_dir.read_state(other)
        parent = state["spec"].get("parent") if state else None
        if parent:
            children.setdefault(parent, []).append(other)
    ordered = []

    def visit(node):
        for child in sorted(children.get(node, [])):
            visit(child)
            ordered.append(child)

    visit(name)
    return ordered


# ---------------------------------------------------------------- creating

# ---- the control socket between the module and the processes it forks (here and in _join)

def control_socket():
    """(ours, theirs): SOCK_SEQPACKET, one message per send. SO_PASSCRED on our end makes the kernel
    attach each sender's PID as this process sees it (the host's view, even from a nested PID
    namespace), so no /proc search is needed to learn it."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    return ours, theirs


def send_message(sock, *fields):
    """Best effort: the module may already have given up waiting."""
    try:
        sock.send("\0".join(str(field) for field in fields).encode("utf-8", "replace")[:4000])
    except OSError:
        pass


def send_error(sock, stage, exc):
    send_message(sock, "error", stage, getattr(exc, "errno", None) or 0, exc)


def receive_message(sock):
    """(fields, sender's PID) of the next message; (None, None) once every sender is gone."""
    message, ancillary, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(12))
    if not message:
        return None, None
    sender = None
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            sender = struct.unpack("iII", data[:12])[0]
    return message.decode("utf-8", "replace").split("\0", 3), sender


def _loopback_up():
    """Bring `lo` up in a fresh network namespace (SIOCGIFFLAGS / SIOCSIFFLAGS)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, 0x8913, request))[1]
        fcntl.ioctl(sock, 0x8914, struct.pack("16sH22x", b"lo", flags | 0x1 | 0x40))
    finally:
        sock.close()


def _become_init(spec, root, fds, python, name):
    """In the new PID namespace's PID 1: set the namespaces up, then exec the supervisor."""
    types = spec["namespaces"]
    if "mnt" in types:
        _syscalls.mount(None, "/", None, _syscalls.MS_REC | _syscalls.MS_PRIVATE)
        # Drop the state directory from the sandbox's view: its handle mounts would otherwise
        # keep every other sandbox's namespaces alive for as long as this one lives.
        try:
            _syscalls.umount2(root, _syscalls.MNT_DETACH)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOENT):
                raise
        # What lies under it is the same directory (it is a bind mount of itself): cover it with
        # an empty one, so the collection run inside a sandbox (say, over SSH to a sandboxed
        # sshd) manages sandboxes of its own and never sees, or deletes, the host's.
        if os.path.isdir(root):
            _syscalls.mount("tmpfs", root, "tmpfs", _syscalls.MS_NOSUID | _syscalls.MS_NODEV | _syscalls.MS_NOEXEC,
                            "mode=0700")
        if spec["mount_proc"]:
            _syscalls.mount("proc", "/proc", "proc",
                            _syscalls.MS_NOSUID | _syscalls.MS_NODEV | _syscalls.MS_NOEXEC)
    if "uts" in types:
        _syscalls.sethostname(spec["hostname"])
    if "net" in types:
        _loopback_up()
    os.chdir("/")
    # Move the inherited fds above the targets first so no dup2 clobbers another source.
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 64) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target, inheritable=True)
    os.closerange(len(high), 65536)
    os.execv(python, [python, "-I", "-S", "-", name, str(spec["stop_timeout"])])


def _launch(spec, root, parent_fds, fds, sock, python, name, cpu, allowed):
    """Runs in a forked child; never returns.

    launcher (new session, joined to the parent sandbox) -> mid (unshares) -> init (PID 1).
    The mid step is needed because after setns(CLONE_NEWPID) a process may not unshare a
    PID namespace itself: only its children live in the joined one.
    """
    stage = "setsid"
    try:
        os.setsid()
        for ns_type in _syscalls.JOIN_ORDER:
            if ns_type in parent_fds:
                stage = "joining the parent's %s namespace" % ns_type
                _syscalls.setns(parent_fds[ns_type], _syscalls.NAMESPACE_FLAGS[ns_type])
        stage = "fork"
        mid = os.fork()
        if mid == 0:
            if cpu is not None:
                stage = "pinning to CPU %d" % cpu
                os.sched_setaffinity(0, [cpu])
            stage = "unshare"
            flags = 0
            for ns_type in spec["namespaces"]:
                flags |= _syscalls.NAMESPACE_FLAGS[ns_type]
            _syscalls.unshare(flags)
            stage = "fork into the new PID namespace"
            if os.fork() == 0:
                stage = "setting up the sandbox"
                if cpu is not None:
                    os.sched_setaffinity(0, allowed)
                _become_init(spec, root, fds, python, name)
            os._exit(0)
        _pid, status = os.waitpid(mid, 0)
        os._exit(0 if status == 0 else 1)
    except BaseException as exc:  # pylint: disable=broad-except
        send_error(sock, stage, exc)
        os._exit(1)


def _await_ready(sock, timeout):
    """Wait for the supervisor's "ready"; return its PID as the host sees it."""
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not poller.poll(remaining * 1000):
            raise SandboxError("the supervisor did not report ready within %d seconds" % timeout)
        fields, sender = receive_message(sock)
        if fields is None:
            raise SandboxError("the supervisor exited before it was ready; see its log")
        if fields[0] == "error":
            _tag, stage, code, text = fields
            if int(code) in (errno.EPERM, errno.EACCES):
                raise SandboxError("%s failed: %s. %s" % (stage, text, NEEDS_ROOT))
            raise SandboxError("%s failed: %s" % (stage, text))
        if sender is None:
            raise SandboxError("the supervisor's ready message carried no credentials")
        return sender


class _MountNamespaceOutOfOrder(Exception):
    """The kernel refused to bind the new mount namespace's handle (EINVAL).

    It refuses a mount-namespace handle whose namespace id is not newer than the caller's
    own mount namespace (its guard against namespace loops). Since Linux 6.18 namespace ids
    come from per-CPU batches, so a namespace made on another CPU than the caller's may get
    a smaller id. That only bites where the module itself runs outside the initial mount
    namespace (in a container, or over SSH into a sandboxed sshd), about half the time there.
    """


def create(view, name, spec, parent_record=None, python=None):
    """Start a supervisor in fresh namespaces and pin them with handles; return the record.

    Either the sandbox exists completely afterwards or nothing of it is left. When the new
    mount namespace's id comes out older than ours, make it again on each CPU in turn: the
    CPU whose id batch holds our own namespace's id hands out newer ones.
    """
    allowed = sorted(os.sched_getaffinity(0))
    for cpu in [None] + allowed:
        try:
            return _create_once(view, name, spec, parent_record, python or sys.executable, cpu, allowed)
        except _MountNamespaceOutOfOrder as exc:
            refused = exc
    raise SandboxError("the kernel refused the handle of every new mount namespace (%s); the module "
                       "runs in a mount namespace it cannot pin newer ones from" % refused)


def _create_once(view, name, spec, parent_record, python, cpu, allowed):
    state_dir = view.state_dir
    folder = state_dir.path(name)
    os.mkdir(folder, 0o700)
    os.mkdir(os.path.join(folder, "ns"), 0o700)
    supervisor = None
    try:
        script = state_dir.install_supervisor()
        parent_fds = {}
        if parent_record is not None:
            for ns_type, path in parent_record["handles"].items():
                parent_fds[ns_type] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        sock, theirs = control_socket()
        fds = [os.open(script, os.O_RDONLY | os.O_CLOEXEC),
               os.open(os.path.join(folder, "supervisor.log"),
                       os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)]
        fds += [fds[1], theirs.fileno()]
        launcher = os.fork()
        if launcher == 0:
            sock.close()
            _launch(spec, state_dir.root, parent_fds, fds, theirs, python, name, cpu, allowed)
        theirs.close()
        for fd in list(parent_fds.values()) + fds[:2]:
            os.close(fd)
        try:
            pid = _await_ready(sock, READY_TIMEOUT)
        finally:
            sock.close()
            os.waitpid(launcher, 0)
        stat = _procfs.read_stat(state_dir.proc_root, pid)
        if stat is None:
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
        status = _procfs.read_status(state_dir.proc_root, pid)
        state = {
            "schema": STATE_SCHEMA,
            "name": name,
            "spec": spec,
            "supervisor": supervisor,
            "namespaces": namespaces,
            "boot_id": view.boot_id,
            "level": len(_procfs.nspid_chain(status)) - 1 if status else None,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        state_dir.write_state(name, state)
    except BaseException:
        if supervisor is not None:
            _stop_supervisor(state_dir, supervisor, 0)
        _remove_folder(state_dir, name)
        raise
    view.refresh()
    return inspect_sandbox(view, name)


# ---------------------------------------------------------------- removing

def _wait_exit(pidfd, timeout):
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(max(timeout, 0) * 1000))


def _stop_supervisor(state_dir, supervisor, stop_timeout):
    """SIGTERM the supervisor (it stops its namespace), SIGKILL it if it overstays.

    The pidfd is opened first and the start time checked after, so a recycled PID is
    never signalled. Once the supervisor has exited, every process of its namespace is
    dead (the kernel kills them before PID 1 becomes a zombie); reaping the zombie is its
    parent's job (host init, or the parent sandbox's supervisor).
    """
    try:
        pidfd = _syscalls.pidfd_open(supervisor["pid"])
    except OSError as exc:
        if exc.errno == errno.ESRCH:
            return
        raise
    try:
        stat = _procfs.read_stat(state_dir.proc_root, supervisor["pid"])
        if stat is None or stat["start_time"] != supervisor["start_time"]:
            return
        _syscalls.pidfd_send_signal(pidfd, signal.SIGTERM if stop_timeout > 0 else signal.SIGKILL)
        if not _wait_exit(pidfd, stop_timeout + STOP_MARGIN):
            _syscalls.pidfd_send_signal(pidfd, signal.SIGKILL)
            _wait_exit(pidfd, STOP_MARGIN)
    except OSError as exc:
        if exc.errno != errno.ESRCH:
            raise
    finally:
        os.close(pidfd)


def _remove_folder(state_dir, name):
    """Unmount every handle under the sandbox's folder, then delete it."""
    folder = state_dir.path(name)
    prefix = folder + os.sep
    for _attempt in range(8):
        mounted = [m["mount_point"] for m in _procfs.read_mountinfo(state_dir.proc_root)
                   if m["mount_point"].startswith(prefix)]
        if not mounted:
            break
        for point in reversed(mounted):
            try:
                _syscalls.umount2(point, _syscalls.MNT_DETACH | _syscalls.UMOUNT_NOFOLLOW)
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.ENOENT):
                    raise
    if os.path.isdir(folder):
        shutil.rmtree(folder)


def destroy(view, record):
    """Stop a sandbox's supervisor (its processes die with it) and remove its handles and folder."""
    state = record.get("_state")
    # Even a sandbox judged broken (say, its handles were unmounted by hand) may still have a
    # supervisor running; _stop_supervisor checks the start time before it signals anything.
    if state is not None and state["boot_id"] == view.boot_id:
        _stop_supervisor(view.state_dir, state["supervisor"], state["spec"]["stop_timeout"])
    _remove_folder(view.state_dir, record["name"])


def _destroy_all(view, names):
    """destroy() each of `names` still there, in the order given (nested sandboxes first)."""
    for name in names:
        record = inspect_sandbox(view, name)
        if record is not None:
            destroy(view, record)


# ---------------------------------------------------------------- the module's job

def _diff_view(record):
    if record is None:
        return {"state": "absent"}
    view = {"state": "present", "health": record["health"]}
    if record.get("spec"):
        view.update(record["spec"])
    return view


def check_privileges(proc_root):
    status = _procfs.read_status(proc_root, "self") or {}
    if not _procfs.has_capability(status, CAP_SYS_ADMIN):
        raise SandboxError(NEEDS_ROOT)


def apply(params, check_mode=False, state_dir=None):
    """Bring one sandbox to the requested state. Returns the module result (without `failed`)."""
    state_dir = state_dir or StateDir()
    name = validate_name(params["name"])
    warnings = []
    wanted = None
    if params["state"] == "present":
        wanted, warnings = normalize_spec(name, params.get("namespaces"), params.get("hostname"),
                                          params.get("mount_proc", True), params.get("parent"),
                                          params.get("stop_timeout", 10))
    check_privileges(state_dir.proc_root)
    if not check_mode:
        state_dir.ensure()
        state_dir.lock()
    try:
        return _apply_locked(state_dir, name, params, wanted, warnings, check_mode)
    finally:
        state_dir.unlock()


def _apply_locked(state_dir, name, params, wanted, warnings, check_mode):
    view = HostView(state_dir)
    current = inspect_sandbox(view, name)
    result = {"changed": False, "removed": [], "warnings": warnings,
              "diff": {"before": _diff_view(current), "after": {"state": "absent"}}}

    if params["state"] == "absent":
        if current is not None:
            doomed = dependents(view, name) + [name]
            result.update(changed=True, removed=doomed)
            if not check_mode:
                _destroy_all(view, doomed)
        result["sandbox"] = {"name": name, "state": "absent"}
        return result

    parent_record = None
    if wanted["parent"]:
        parent_record = inspect_sandbox(view, wanted["parent"])
        if parent_record is None and check_mode:
            # An earlier task of the same check run may be the one that creates it.
            result["warnings"].append("parent sandbox %s does not exist yet; the prediction assumes an earlier "
                                      "task creates it" % wanted["parent"])
        elif parent_record is None:
            raise SandboxError("parent: sandbox %r does not exist on this host; create it first"
                               % wanted["parent"])
        elif parent_record["health"] != "alive":
            raise SandboxError("parent: sandbox %r is broken (%s); bring it back with state=present first"
                               % (wanted["parent"], "; ".join(parent_record["problems"])))

    result["diff"]["after"] = dict(wanted, state="present", health="alive")
    if current is not None and current["health"] == "alive" and not params.get("recreate"):
        differences = spec_differences(current["spec"], wanted)
        if not differences:
            result["sandbox"] = public(current)
            result["diff"]["after"] = result["diff"]["before"]
            return result
        result["recreated_because"] = differences
    elif current is not None:
        result["recreated_because"] = (["recreate requested"] if current["health"] == "alive"
                                       else current["problems"])

    result["changed"] = True
    doomed = []
    if current is not None:
        doomed = dependents(view, name)
        if doomed:
            result["warnings"].append(
                "recreating sandbox %s also removed the sandboxes nested in it (%s): their PID namespaces "
                "die with their parent's; create them again" % (name, ", ".join(doomed)))
        doomed.append(name)
    result["removed"] = doomed
    if check_mode:
        result["sandbox"] = _predicted(state_dir, name, wanted, parent_record)
        return result
    _destroy_all(view, doomed)
    view.refresh()
    result["sandbox"] = public(create(view, name, wanted, parent_record))
    return result


def _predicted(state_dir, name, spec, parent_record):
    return {
        "name": name, "state": "present", "health": "alive", "problems": [], "spec": spec,
        "supervisor": None, "namespaces": {},
        "handles": dict((ns, state_dir.handle_path(name, ns)) for ns in spec["namespaces"]),
        "hostname": spec["hostname"], "parent": spec["parent"],
        "level": (parent_record["level"] + 1) if parent_record and parent_record.get("level") else None,
        "created": None,
    }


# ---------------------------------------------------------------- listing (sandbox_info)

def pids_in(proc_root, namespaces):
    """One pass over /proc: (pid, pid-namespace inode) of every process in one of `namespaces`.

    A process whose namespace cannot be read (this VM's init, even for root) is in none of ours."""
    for pid in _procfs.proc_pids(proc_root):
        try:
            ns = _procfs.ns_link_inode(proc_root, pid, "pid")
        except OSError:
            continue
        if ns in namespaces:
            yield pid, ns


def _processes_by_namespace(proc_root, namespaces, with_details):
    """{pid ns inode: [process]} for the given namespaces."""
    found = dict((ns, []) for ns in namespaces)
    for pid, ns in pids_in(proc_root, found):
        fields = _procfs.read_status_fields(proc_root, pid)
        if fields is None:
            continue
        comm, state, ppid, nspid = fields
        process = {"pid": pid, "nspid": nspid, "ppid": ppid, "state": state, "comm": comm}
        if with_details:
            process["cmdline"] = _procfs.read_cmdline(proc_root, pid) or []
            process["command"] = " ".join(process["cmdline"]) or "[%s]" % comm
        found[ns].append(process)
    return found


def describe(state_dir, name=None, processes=False):
    """The sandboxes on this host (or the one named) with health and process counts."""
    if not state_dir.exists():
        return []
    if name is not None:
        validate_name(name)
    state_dir.lock(shared=True)
    try:
        view = HostView(state_dir)
        records = [inspect_sandbox(view, entry) for entry in ([name] if name else state_dir.names())]
    finally:
        state_dir.unlock()
    records = [record for record in records if record is not None]
    alive_ns = [r["namespaces"]["pid"] for r in records if r["health"] == "alive"]
    scanned = _processes_by_namespace(state_dir.proc_root, alive_ns, processes)
    listed = []
    for record in records:
        entry = public(record)
        entry["alive"] = record["health"] == "alive"
        members = scanned.get(record["namespaces"]["pid"], []) if entry["alive"] else []
        entry["nprocs"] = len(members)
        entry["zombies"] = sum(1 for member in members if member["state"] == "Z")
        if processes:
            depth = record.get("level") or 0
            # host PID -> PID inside this sandbox's namespace
            ns_pid_of = dict((m["pid"], m["nspid"][depth] if len(m["nspid"]) > depth else None)
                             for m in members)
            entry["processes"] = [{
                "pid": m["pid"],
                "ns_pid": ns_pid_of[m["pid"]],
                "ppid": m["ppid"],
                "ns_ppid": ns_pid_of.get(m["ppid"], 0),
                "state": m["state"],
                "comm": m["comm"],
                "command": m["command"],
                "cmdline": m["cmdline"],
            } for m in sorted(members, key=lambda m: m["pid"])]
        listed.append(entry)
    return listed
