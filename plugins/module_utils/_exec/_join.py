# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Join a sandbox's namespaces with setns(2) and run a command there.

Process shape (all forks, no threads, no helper binary)::

    module ──fork──> joiner (host PID ns; non-dumpable; setns into the sandbox)
                       └─fork──> command (PID inside the sandbox; resets signals, fds, env; exec)
                                   └─fork──> workload, when detached: reparented to the sandbox's PID 1

setns(CLONE_NEWPID) only moves the caller's future children, hence the second fork. The joiner
stays outside and reports the command's exit status. Every message comes over one SOCK_SEQPACKET
socket whose receiving end has SO_PASSCRED: the kernel attaches the sender's PID translated into
the host's PID namespace, so the module learns both PIDs of the command without a /proc search.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import os
import pwd
import select
import signal
import time

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _cgroup
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _procfs
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _process
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _syscalls
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel._cgroup import EXEC_PREFIX, WORKLOADS_LEAF
from ansible_collections.linuxns.pidns.plugins.module_utils._containment import _capabilities, _userns
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._control import (
    control_socket, receive_message, send_error, send_message)
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._records import inspect_sandbox
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import DEFAULT_PATH, seconds, validate_name
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._statedir import HostView, StateDir, require_root

_READ_SIZE = 65536
# After a timeout kill, how long to keep reading what the killed processes wrote.
DRAIN_AFTER_KILL = 5.0
# How long a joiner whose messages have ended may take to exit before it is SIGKILLed.
REAP_GRACE = 1.0
# Bytes of stdout and of stderr kept by default (head and tail), and the most one may ask for.
DEFAULT_OUTPUT_LIMIT = 1024 * 1024
MAX_OUTPUT_LIMIT = 256 * 1024 * 1024
# A longer timeout is a typo, not a plan (and keeps every deadline finite): a week.
MAX_TIMEOUT = 7 * 24 * 3600.0
# What the joiner waits for, blocked from before it is forked: its command ending (SIGCHLD), and
# SIGTERM, which means "kill the command and its process group now", whatever phase it is in (the
# module's timeout, or the module's death).
COMMAND_OOM_SCORE_ADJ = 1000
_JOINER_SIGNALS = (signal.SIGCHLD, signal.SIGTERM)


class JoinRequest(object):
    """What to run and how; see the sandbox_exec module for the meaning of each field."""

    def __init__(self, argv, chdir=None, env=None, stdin=None, user=None, group=None,
                 namespaces=None, detach=False, timeout=None, term=None, output_limit=DEFAULT_OUTPUT_LIMIT,
                 allow_reboot=False, passthrough=False):
        self.argv = argv
        self.chdir = chdir
        self.env = env or {}
        self.stdin = stdin
        self.user = user
        self.group = group
        self.namespaces = namespaces
        self.detach = detach
        self.timeout = timeout
        self.term = term
        self.output_limit = output_limit
        self.allow_reboot = allow_reboot
        # The command uses this process's own stdin, stdout and stderr (the connection plugin).
        self.passthrough = passthrough


# JoinRequest.chdir: the user's home directory inside, as a login shell starts (the connection plugin:
# Ansible's relative paths, a relative remote_tmp, resolve there as over ssh); "/" where it is missing.
HOME_DIR = "~"
# HOME, and that directory, of a command run as root inside (no user given).
ROOT_HOME = "/root"


class CappedOutput(object):
    """At most `limit` bytes of a stream, in bounded memory: its first half and its last half, and
    how many bytes there were. The tail buffer is trimmed once it is twice its share, so the work
    stays linear in the size of the stream."""

    def __init__(self, limit):
        self.head_limit = limit // 2 + limit % 2
        self.tail_limit = limit // 2
        self.head = bytearray()
        self.tail = bytearray()
        self.seen = 0

    def add(self, data):
        self.seen += len(data)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data and self.tail_limit:
            self.tail += data
            if len(self.tail) > 2 * self.tail_limit:
                del self.tail[:-self.tail_limit]

    @property
    def truncated(self):
        return self.seen > self.head_limit + self.tail_limit

    def value(self):
        tail = self.tail[len(self.tail) - self.tail_limit:] if len(self.tail) > self.tail_limit else self.tail
        if not self.truncated:
            return bytes(self.head + tail)
        return b"%s\n[... %d bytes left out (output_limit) ...]\n%s" % (
            bytes(self.head), self.seen - len(self.head) - len(tail), bytes(tail))


# ---------------------------------------------------------------- preparing the join

def open_supervisor(view, record):
    """A pidfd of the sandbox's supervisor, checked to be that very process (start time), or
    None where pidfds are not available. setns(pidfd, flags) joins all namespaces at once."""
    supervisor = record["supervisor"]
    try:
        pidfd = _syscalls.pidfd_open(supervisor["pid"])
    except OSError as exc:
        if exc.errno in (errno.ENOSYS, errno.EPERM):
            return None
        raise SandboxError("sandbox %s: its supervisor (host PID %d) is gone" % (record["name"], supervisor["pid"]))
    stat = _procfs.read_stat(view.state_dir.proc_root, supervisor["pid"])
    if stat is None or stat["start_time"] != supervisor["start_time"]:
        os.close(pidfd)
        raise SandboxError("sandbox %s: its supervisor (host PID %d) is gone" % (record["name"], supervisor["pid"]))
    return pidfd


def open_namespaces(view, record, types):
    """Open the handles to join, each checked to be the nsfs mount of the right type that the
    live supervisor is in; return [(type, fd)] in join order."""
    missing = [ns for ns in types if ns not in record["handles"]]
    if missing:
        raise SandboxError("namespaces: sandbox %s has no %s namespace of its own (it has: %s)"
                           % (record["name"], ", ".join(missing), ", ".join(sorted(record["handles"]))))
    pid = record["supervisor"]["pid"]
    opened = []
    try:
        for ns_type in _syscalls.JOIN_ORDER:
            if ns_type not in types:
                continue
            path = record["handles"][ns_type]
            mounted = view.handles.get(path)
            expected = record["namespaces"][ns_type]
            if mounted != (ns_type, expected):
                raise SandboxError("sandbox %s: handle %s is not the nsfs mount of its %s namespace"
                                   % (record["name"], path, ns_type))
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            opened.append((ns_type, fd))
            if os.fstat(fd).st_ino != expected or \
                    _procfs.ns_link_inode(view.state_dir.proc_root, pid, ns_type) != expected:
                raise SandboxError("sandbox %s: its %s namespace no longer matches its supervisor (host PID %d)"
                                   % (record["name"], ns_type, pid))
    except BaseException:
        for _ns_type, fd in opened:
            os.close(fd)
        raise
    return opened


def clean_environment(hostname, home, term, extra):
    env = {"PATH": DEFAULT_PATH, "HOME": home or ROOT_HOME}
    if hostname:
        env["HOSTNAME"] = hostname
    if term:
        env["TERM"] = term
    env.update(extra)
    return env


# ---------------------------------------------------------------- inside the children

def _reset_signals():
    """Default dispositions and an empty mask. exec resets caught signals by itself but keeps
    ignored ones, and Python ignores SIGPIPE and SIGXFSZ (and inherits whatever Ansible ignored)."""
    for signum in range(1, signal.NSIG):
        try:
            handler = signal.getsignal(signum)
            if handler == signal.SIG_IGN:
                signal.signal(signum, signal.SIG_DFL)
            elif handler is None:
                # Not Python's to see (glibc's reserved signals): reset beneath libc.
                _syscalls.reset_signal_raw(signum)
        except (OSError, ValueError, RuntimeError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def _resolve_identity(user, group):
    """uid, gid, groups and home for user/group names or ids, looked up inside the sandbox."""
    uid = gid = None
    home = None
    groups = None
    if user is not None:
        try:
            entry = pwd.getpwuid(int(user)) if str(user).isdigit() else pwd.getpwnam(user)
            uid, gid, home = entry.pw_uid, entry.pw_gid, entry.pw_dir
            groups = [g.gr_gid for g in grp.getgrall() if entry.pw_name in g.gr_mem]
        except KeyError:
            if not str(user).isdigit():
                raise SandboxError("user: no user %r inside the sandbox" % user)
            uid, gid, groups = int(user), int(user), []
    if group is not None:
        try:
            gid = grp.getgrgid(int(group)).gr_gid if str(group).isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            if not str(group).isdigit():
                raise SandboxError("group: no group %r inside the sandbox" % group)
            gid = int(group)
        if groups is None:
            groups = []
    return uid, gid, groups, home


def die_with_parent(signum, expected_parent):
    """PR_SET_PDEATHSIG: get `signum` when the parent dies; and exit now if it already has (the
    parent is then no longer `expected_parent`, as getppid() shows it)."""
    _syscalls.prctl(_syscalls.PR_SET_PDEATHSIG, signum)
    if os.getppid() != expected_parent:
        os._exit(1)


def _command_child(request, sock, stdio, hostname, joiner_pid, leaf_procs, keep_capabilities):
    """PID N inside the sandbox: enter its cgroup leaf, drop everything of the caller, then exec (or
    fork a workload).

    It dies with the joiner (SIGKILL), so with the module: `joiner_pid` is the joiner's PID as this
    process sees it (0 once in the sandbox's PID namespace, where the joiner has none)."""
    stage = "setting up the command"
    try:
        die_with_parent(signal.SIGKILL, joiner_pid)
        if leaf_procs:
            # Only the command is charged to the sandbox: the joiner (a copy of the module) would be
            # the OOM killer's first choice there, and the command's result would be lost with it.
            stage = "moving into the sandbox's cgroup"
            _cgroup.enter_through(leaf_procs)
        _reset_signals()
        os.setsid()
        uid, gid, groups, home = _resolve_identity(request.user, request.group)
        chdir = request.chdir or "/"
        if chdir == HOME_DIR:
            chdir = home or ROOT_HOME
            if not os.path.isdir(chdir):
                chdir = "/"
        stage = "chdir: changing directory to %s" % chdir
        os.chdir(chdir)
        # Refuse a cwd that lies outside the sandbox's root (a leaked host directory).
        os.getcwd()
        # No more than the sandbox's capabilities, from exec on (the bounding set; dropped while
        # still root, which CAP_SETPCAP needs).
        stage = "dropping capabilities"
        _capabilities.drop_bounding(keep_capabilities)
        if gid is not None:
            os.setgroups(groups or [])
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)
        if uid is not None or gid is not None:
            die_with_parent(signal.SIGKILL, joiner_pid)  # A change of credentials clears it.
        env = clean_environment(hostname, home, request.term, request.env)
        stage = "starting the workload"
        if request.detach and os.fork() != 0:
            os._exit(0)
        for target, fd in enumerate(stdio):
            os.dup2(fd, target, inheritable=True)
        os.closerange(3, sock.fileno())
        os.closerange(sock.fileno() + 1, 65536)
        send_message(sock, "started", os.getpid())
        stage = "argv: exec"
        os.execvpe(request.argv[0], request.argv, env)
    except BaseException as exc:  # pylint: disable=broad-except
        send_error(sock, stage, exc)
        os._exit(127)


def _joiner(pidfd, namespaces, request, sock, stdio, hostname, module_ends, module_pid, leaf_procs,
            keep_capabilities):
    """The forked child that joins: non-dumpable while it holds host resources. It gets SIGTERM
    (blocked, waited for) when the module dies, and then kills the command: see _wait_for_command.
    It stays in the module's cgroup; the command enters the leaf whose cgroup.procs `leaf_procs`
    holds open (opened while the paths were the host's), so the command and all it starts are there."""
    stage = "joining the sandbox"
    try:
        die_with_parent(signal.SIGTERM, module_pid)
        # Inherited by the command: the OOM killer's first choice, before PID 1 and the host's own
        # processes (as a Kubernetes BestEffort pod's). Raising it needs no privilege; set here, where
        # /proc is still the host's.
        stage = "setting the command's oom_score_adj"
        _process.set_oom_score_adj(COMMAND_OOM_SCORE_ADJ)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # Ignored, the command's status would be lost.
        # The module's ends of the pipes: held here, the command would never see EOF on stdin.
        for fd in module_ends:
            os.close(fd)
        _syscalls.prctl(_syscalls.PR_SET_DUMPABLE, 0)
        joined = False
        if pidfd is not None:
            flags = 0
            for ns_type, _fd in namespaces:
                flags |= _syscalls.NAMESPACE_FLAGS[ns_type]
            try:
                # Linux 5.8+: every namespace at once, atomically, from the verified supervisor.
                _syscalls.setns(pidfd, flags)
                joined = True
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
            os.close(pidfd)
        for ns_type, fd in namespaces:
            if not joined:
                stage = "joining its %s namespace" % ns_type
                _syscalls.setns(fd, _syscalls.NAMESPACE_FLAGS[ns_type])
            os.close(fd)
        if any(ns_type == "user" for ns_type, _fd in namespaces):
            # The host's root has no id in there (it shows as nobody): become the sandbox's root. A
            # change of credentials clears the parent-death signal and dumpability: set them again.
            stage = "becoming root in its user namespace"
            _userns.become_root()
            die_with_parent(signal.SIGTERM, module_pid)
            _syscalls.prctl(_syscalls.PR_SET_DUMPABLE, 0)
        if signal.SIGTERM in signal.sigpending():
            os._exit(1)  # Stopped (timed out) before the command was even forked.
        stage = "fork inside the sandbox"
        # This process as its child will see it: outside the PID namespace it joined, it has no PID.
        as_parent = 0 if any(ns_type == "pid" for ns_type, _fd in namespaces) else os.getpid()
        child = os.fork()
        if child == 0:
            _command_child(request, sock, stdio, hostname, as_parent, leaf_procs, keep_capabilities)
        for fd in set(stdio) | set(leaf_procs):
            os.close(fd)
        send_message(sock, "exit", _wait_for_command(child))
        os._exit(0)
    except BaseException as exc:  # pylint: disable=broad-except
        send_error(sock, stage, exc)
        os._exit(1)


def _wait_for_command(child):
    """The command's wait status. On SIGTERM, kill it (any phase: NSS lookup, chdir, exec'd) and
    its process group first. The command is this process's child and is not reaped before its
    status is read here, so neither its PID nor the process group it leads (after setsid) can
    belong to another process meanwhile: signalling them by number is exact."""
    child_fd = _process.own_child_pidfd(child)
    try:
        while True:
            pid, status = os.waitpid(child, os.WNOHANG)
            if pid == child:
                return status
            if signal.sigwaitinfo(_JOINER_SIGNALS).si_signo == signal.SIGCHLD:
                continue
            _process.signal_own_child(child, child_fd, signal.SIGKILL)
            try:
                os.killpg(child, signal.SIGKILL)
            except OSError:
                pass  # No group of that number: it had not reached setsid yet.
    finally:
        if child_fd is not None:
            os.close(child_fd)


# ---------------------------------------------------------------- in the module

class Outcome(object):
    def __init__(self):
        self.pid = None
        self.ns_pid = None
        self.status = None
        self.error = None
        self.stdout = CappedOutput(0)
        self.stderr = CappedOutput(0)
        self.timed_out = False
        self.start = None
        self.end = None

    @property
    def rc(self):
        if self.error is not None:
            return 126 if self.error[1] in (errno.EACCES, errno.EPERM) and self.error[0] == "argv: exec" else 127
        if self.status is None:
            return None
        if os.WIFSIGNALED(self.status):
            return -os.WTERMSIG(self.status)
        return os.WEXITSTATUS(self.status)

    @property
    def signal(self):
        if self.status is not None and os.WIFSIGNALED(self.status):
            return os.WTERMSIG(self.status)
        return None


def command_capabilities(record, allow_reboot):
    """The capability names a command in sandbox `record` keeps: the sandbox's (with the host's root
    by default, every one), CAP_SYS_BOOT only with allow_reboot: reboot(2) in a PID namespace kills
    its PID 1 outright, with no graceful stop."""
    return _capabilities.command_set(record.get("spec") or {}, allow_reboot)


def join_and_run(view, record, request):
    """Run request inside the sandbox `record` (alive). Returns an Outcome.

    The timeout counts from here, and holds whatever phase the command is in: on expiry the
    joiner is told (SIGTERM) to kill the command and its process group, and the module kills
    the command's session and descendants inside the sandbox (_process.kill_session)."""
    began = time.monotonic()
    types = request.namespaces or sorted(record["handles"])
    if "user" in record["handles"] and "user" not in types:
        # Its other namespaces belong to it: whatever is joined, it is joined as the sandbox's root.
        types = ["user"] + list(types)
    cgroup = record.get("_cgroup")
    pidfd, namespaces, leaf, leaf_procs = None, [], None, []
    try:
        pidfd = open_supervisor(view, record)
        namespaces = open_namespaces(view, record, types)
        if cgroup is not None:
            leaf = WORKLOADS_LEAF if request.detach else EXEC_PREFIX + "%d.%d" % (os.getpid(), int(began * 1000))
            cgroup.make_leaf(leaf)
            leaf_procs = cgroup.open_procs(leaf)  # closes what it opened if it fails
    except BaseException:
        for fd in [fd for _ns_type, fd in namespaces] + ([pidfd] if pidfd is not None else []):
            os.close(fd)
        raise
    outcome = Outcome()
    sock, theirs = control_socket()
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    if request.detach:
        ours = {}
        stdio = [devnull, devnull, devnull]
    elif request.passthrough:
        ours = {}
        stdio = [0, 1, 2]
    else:
        stdin_r, stdin_w = os.pipe() if request.stdin is not None else (devnull, None)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        ours = {"stdin": stdin_w, "stdout": out_r, "stderr": err_r}
        stdio = [stdin_r, out_w, err_w]
    outcome.start = time.time() - (time.monotonic() - began)
    # Forked with the joiner's signals blocked, so that it waits for them from its first instruction.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _JOINER_SIGNALS)
    module_pid = os.getpid()
    try:
        joiner = os.fork()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        raise
    if joiner == 0:
        sock.close()
        _joiner(pidfd, namespaces, request, theirs, stdio, record.get("hostname"),
                [fd for fd in ours.values() if fd is not None], module_pid, leaf_procs,
                command_capabilities(record, request.allow_reboot))
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    joiner_fd = _process.own_child_pidfd(joiner)

    def stop():
        """Kill the command whatever its phase, and everything it started inside: exactly, through
        its cgroup leaf (setsid or double forks do not leave it); by session where there is none."""
        if cgroup is not None and not request.detach:
            cgroup.kill(leaf)
        else:
            if outcome.pid is not None:
                _process.kill_session(view.state_dir.proc_root, record["namespaces"]["pid"], outcome.pid)
        _process.signal_own_child(joiner, joiner_fd, signal.SIGTERM)

    theirs.close()
    for fd in [fd for _ns_type, fd in namespaces] + leaf_procs:
        os.close(fd)
    if pidfd is not None:
        os.close(pidfd)
    for fd in set(stdio):
        if fd not in (devnull, 0, 1, 2):
            os.close(fd)
    os.close(devnull)
    deadline = began + request.timeout if request.timeout else None
    try:
        _collect(sock, ours, request, outcome, deadline, stop)
    except BaseException:
        # Never leave the command running behind a failed module.
        stop()
        raise
    finally:
        sock.close()
        for fd in ours.values():
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        _reap(joiner, joiner_fd)
        if cgroup is not None and not request.detach:
            # What the command left running in the background stays, with the detached workloads.
            cgroup.retire_leaf(leaf, WORKLOADS_LEAF)
    outcome.end = time.time()
    return outcome


def _reap(joiner, joiner_fd):
    """Wait for the joiner. Its messages have ended, so it is exiting, or it is stuck after a
    timeout (its command holds on past DRAIN_AFTER_KILL): after REAP_GRACE seconds, SIGKILL it;
    its command, tied to it by PR_SET_PDEATHSIG, follows."""
    try:
        if joiner_fd is not None:
            waiting = select.poll()
            waiting.register(joiner_fd, select.POLLIN)
            if not waiting.poll(REAP_GRACE * 1000):
                _process.signal_own_child(joiner, joiner_fd, signal.SIGKILL)
        os.waitpid(joiner, 0)
    finally:
        if joiner_fd is not None:
            os.close(joiner_fd)


def _collect(sock, ours, request, outcome, deadline, stop):
    """Feed stdin, drain stdout/stderr and read the children's messages until all are done, or
    until `deadline` (time.monotonic()), where stop() is called and reading goes on for a while."""
    poller = select.poll()
    by_fd = {}
    outcome.stdout = CappedOutput(request.output_limit)
    outcome.stderr = CappedOutput(request.output_limit)
    captured = {"stdout": outcome.stdout, "stderr": outcome.stderr}
    # A view and an offset: slicing the rest off after each write copied it (quadratic in the size).
    pending_input = memoryview((request.stdin or "").encode("utf-8") if request.stdin is not None else b"")
    fed = 0
    for role, fd in ours.items():
        if fd is None:
            continue
        if role == "stdin":
            if not pending_input:
                os.close(fd)
                ours[role] = None
                continue
            os.set_blocking(fd, False)
            poller.register(fd, select.POLLOUT)
        else:
            poller.register(fd, select.POLLIN)
        by_fd[fd] = role
    poller.register(sock.fileno(), select.POLLIN)
    by_fd[sock.fileno()] = "control"
    open_streams = len(by_fd)
    while open_streams:
        wait = None
        if deadline is not None:
            wait = max(0, deadline - time.monotonic()) * 1000
            if wait == 0:
                if outcome.timed_out:
                    # Something that escaped the kill still holds an output pipe: stop reading.
                    break
                outcome.timed_out = True
                stop()
                deadline = time.monotonic() + DRAIN_AFTER_KILL
                continue
        for fd, event in poller.poll(wait):
            role = by_fd[fd]
            if role == "control":
                fields, sender = receive_message(sock)
                if fields is None:
                    poller.unregister(fd)
                    open_streams -= 1
                    continue
                _handle_message(fields, sender, outcome)
                if outcome.timed_out and fields[0] == "started":
                    stop()  # Started just before the kill: what it started meanwhile goes too.
            elif role == "stdin":
                try:
                    fed += os.write(fd, pending_input[fed:fed + _READ_SIZE])
                except OSError as exc:
                    if exc.errno != errno.EPIPE:
                        raise
                    fed = len(pending_input)
                if fed >= len(pending_input) or event & (select.POLLERR | select.POLLHUP):
                    poller.unregister(fd)
                    os.close(fd)
                    ours["stdin"] = None
                    open_streams -= 1
            else:
                data = os.read(fd, _READ_SIZE) if event & (select.POLLIN | select.POLLHUP) else b""
                if data:
                    captured[role].add(data)
                else:
                    poller.unregister(fd)
                    open_streams -= 1


def _handle_message(fields, sender, outcome):
    if fields[0] == "started":
        outcome.ns_pid = int(fields[1])
        outcome.pid = sender
    elif fields[0] == "exit":
        outcome.status = int(fields[1])
    elif fields[0] == "error" and outcome.error is None:
        outcome.error = (fields[1], int(fields[2]), fields[3])


def path_exists_inside(view, record, path):
    """Whether `path` exists in the sandbox's mount namespace (for creates/removes)."""
    if "mnt" not in record["handles"]:
        return os.path.exists(path)
    namespaces = open_namespaces(view, record, ["mnt"])
    parent = os.getpid()
    child = os.fork()
    if child == 0:
        try:
            die_with_parent(signal.SIGKILL, parent)
            _syscalls.setns(namespaces[0][1], _syscalls.CLONE_NEWNS)
            os._exit(0 if os.path.lexists(path) else 1)
        except BaseException:  # pylint: disable=broad-except
            os._exit(2)
    os.close(namespaces[0][1])
    _pid, status = os.waitpid(child, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) == 2:
        raise SandboxError("could not look for %s inside sandbox %s" % (path, record["name"]))
    return os.WEXITSTATUS(status) == 0


# ---------------------------------------------------------------- the module's job

def _delta(seconds):
    """Like str(datetime.timedelta), the format ansible.builtin.command returns."""
    minutes, secs = divmod(seconds, 60)
    return "%d:%02d:%09.6f" % (minutes // 60, minutes % 60, secs)


def _stamp(when):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when)) + (".%06d" % ((when % 1) * 1e6))


def _text(data):
    return data.decode("utf-8", "replace").rstrip("\r\n")


def find_alive(view, name):
    """The record of an alive sandbox, or a SandboxError that says what is wrong with it."""
    record = inspect_sandbox(view, name)
    if record is None:
        raise SandboxError("sandbox: there is no sandbox named %r on this host; create it with "
                           "linuxns.pidns.sandbox" % name)
    if record["health"] != "alive":
        raise SandboxError("sandbox: %r is broken: %s; recreate it with linuxns.pidns.sandbox (state=present)"
                           % (name, "; ".join(record["problems"])))
    return record


def run(params, check_mode=False, state_dir=None):
    """Run a command in a sandbox as the sandbox_exec module does; return the module result."""
    state_dir = state_dir or StateDir()
    name = validate_name(params["sandbox"], "sandbox")
    command_option = "cmd" if params.get("cmd") is not None else "argv"
    if params.get("cmd") is not None:
        import shlex  # here, not above: the connection's joiner imports this module on every command
        try:
            argv = shlex.split(params["cmd"])
        except ValueError as exc:
            raise SandboxError("cmd: %s" % exc)
    else:
        argv = params.get("argv") or []
    if not argv or not argv[0]:
        raise SandboxError("%s: the command is empty" % command_option)
    if any("\0" in arg for arg in argv):
        raise SandboxError("%s: an argument holds a NUL character" % command_option)
    _check_text_options(params)
    timeout = params.get("timeout")
    if timeout is not None:
        timeout = seconds(timeout, "timeout", MAX_TIMEOUT, allow_zero=False)
    output_limit = params.get("output_limit")
    if output_limit is None:
        output_limit = DEFAULT_OUTPUT_LIMIT
    if isinstance(output_limit, bool) or not isinstance(output_limit, int) or \
            not 0 <= output_limit <= MAX_OUTPUT_LIMIT:
        raise SandboxError("output_limit: must be a number of bytes from 0 to %d (256M), got %r"
                           % (MAX_OUTPUT_LIMIT, output_limit))
    require_root(state_dir.proc_root)
    view = HostView(state_dir)
    result = {"cmd": argv, "changed": False, "rc": 0, "stdout": "", "stderr": ""}
    try:
        record = find_alive(view, name)
        if record["paused"]:
            raise SandboxError("sandbox: %r is paused (its processes are frozen); thaw it with "
                               "linuxns.pidns.sandbox (paused: false) first" % name)
    except SandboxError as exc:
        if not check_mode:
            raise
        # In check mode an earlier task may be the one that creates or repairs the sandbox.
        result.update(skipped=True, msg="Command would have run if not in check mode; for now %s" % exc)
        return result
    for option, skip_if_exists in (("creates", True), ("removes", False)):
        path = params.get(option)
        if path and path_exists_inside(view, record, path) == skip_if_exists:
            result["msg"] = "Did not run command since '%s' %s inside the sandbox" % (
                path, "exists" if skip_if_exists else "does not exist")
            return result
    if check_mode:
        result["msg"] = "Command would have run if not in check mode"
        if not params.get("creates") and not params.get("removes"):
            result["skipped"] = True
        else:
            result["changed"] = True
        return result
    stdin = params.get("stdin")
    if stdin is not None and params.get("stdin_add_newline", True):
        stdin += "\n"
    request = JoinRequest(argv, chdir=params.get("chdir"), env=params.get("env"), stdin=stdin,
                          user=params.get("user"), group=params.get("group"),
                          namespaces=params.get("namespaces"), detach=params.get("detach", False),
                          timeout=timeout, term=os.environ.get("TERM"), output_limit=output_limit,
                          allow_reboot=params.get("allow_reboot", False))
    outcome = join_and_run(view, record, request)
    result.update(changed=True, rc=outcome.rc, stdout=_text(outcome.stdout.value()),
                  stderr=_text(outcome.stderr.value()), stdout_truncated=outcome.stdout.truncated,
                  stderr_truncated=outcome.stderr.truncated,
                  start=_stamp(outcome.start), end=_stamp(outcome.end), delta=_delta(outcome.end - outcome.start),
                  pid=outcome.pid, ns_pid=outcome.ns_pid)
    result["stdout_lines"] = result["stdout"].splitlines()
    result["stderr_lines"] = result["stderr"].splitlines()
    if outcome.error is not None:
        stage, code, text = outcome.error
        result["failed"] = True
        if stage == "argv: exec" and code == errno.ENOENT:
            result["msg"] = "%s: command not found inside sandbox %s: %s" % (command_option, name, argv[0])
        else:
            result["msg"] = "%s inside sandbox %s failed: %s" % (stage, name, text)
    elif outcome.timed_out:
        result["failed"] = True
        result["msg"] = ("timed out after %s seconds: killed the command and the processes it started"
                         % _number(timeout))
    elif outcome.signal is not None:
        result["failed"] = True
        result["msg"] = "the command was killed by signal %s (%d)" % (_signal_name(outcome.signal), outcome.signal)
    elif outcome.rc != 0:
        result["failed"] = True
        result["msg"] = "non-zero return code"
    if request.detach and "failed" not in result:
        result["msg"] = "started detached inside sandbox %s as PID %s (host PID %s)" % (
            name, outcome.ns_pid, outcome.pid)
    return result


def exec_for_connection(state_dir, name, command, user=None):
    """The linuxns.pidns.sandbox connection's work on the machine: run ``/bin/sh -c command`` inside
    sandbox `name` (as `user` inside, else root), on this process's stdin, stdout and stderr; return its
    exit status (128 + N for signal N, as a shell says). SandboxError when the sandbox cannot be joined
    (missing, broken, paused) or has no such user: the connection reports that as unreachable."""
    state_dir = StateDir(state_dir)
    validate_name(name, "sandbox")
    require_root(state_dir.proc_root)
    view = HostView(state_dir)
    record = find_alive(view, name)
    if record["paused"]:
        raise SandboxError("sandbox %r is paused (its processes are frozen)" % name)
    # HOME and TERM as a login inside would have them; the rest comes with the command.
    request = JoinRequest(["/bin/sh", "-c", command], chdir=HOME_DIR, term=os.environ.get("TERM"), passthrough=True,
                          user=user)
    outcome = join_and_run(view, record, request)
    if outcome.error is not None:
        stage, _code, text = outcome.error
        if text.startswith("user: no user "):
            raise SandboxError("sandbox %s has no user %r (remote_user)" % (name, user))
        os.write(2, ("%s inside sandbox %s failed: %s\n" % (stage, name, text)).encode("utf-8", "replace"))
        return outcome.rc
    if outcome.signal is not None:
        return 128 + outcome.signal
    return outcome.rc


def _check_text_options(params):
    """env, user, group and chdir checked before anything runs: each error names its option."""
    for key, value in (params.get("env") or {}).items():
        if not key or "=" in key or "\0" in key:
            raise SandboxError("env: %r is not an environment variable name" % key)
        if "\0" in str(value):
            raise SandboxError("env: the value of %s holds a NUL character" % key)
    for option in ("user", "group"):
        value = params.get(option)
        if value is None:
            continue
        text = str(value)
        if text.isdigit():
            if int(text) > MAX_ID:
                raise SandboxError("%s: %s is not an id (0 to %d)" % (option, text, MAX_ID))
        elif not text or any(char in text for char in ":\n\0") or text != text.strip():
            raise SandboxError("%s: %r is not a %s name or id" % (option, value, option))
    chdir = params.get("chdir")
    if chdir is not None and (not chdir.startswith("/") or "\0" in chdir):
        raise SandboxError("chdir: %r must be an absolute path inside the sandbox" % chdir)


# The largest uid or gid: (uid_t)-1 means "no change" to setuid and friends.
MAX_ID = 2 ** 32 - 2


def _number(value):
    return int(value) if float(value).is_integer() else value


def _signal_name(signum):
    try:
        return signal.Signals(signum).name
    except ValueError:
        return "SIG%d" % signum
