# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PID 1 of a linuxns.pidns sandbox.

A program, not a library: run as ``python -I -S - SANDBOX STOP_TIMEOUT`` with its source on stdin,
so it carries none of the module's memory and needs no state directory (detached inside sandboxes).
Standard library only; importable on Python 3.8.

Inherited: fd 1/2 a log, fd 3 a socket to say "ready" on once signals are set (its credentials give
the module the host PID); with "enter-root", fd 4 is the sandbox's root, chrooted into before ready.
Further flags: "workloads=FD" (the sandbox's workloads folder on the host, see _init/_workloads.py),
"procs=FD,..." (the cgroup.procs of the sandbox's _workloads leaf), "drop=N,..." (capabilities the
workloads do not get: what PID 1 keeps beyond the sandbox's set).

Duties of a namespace's PID 1: reap orphans; take SIGTERM/SIGINT/SIGQUIT (a signalfd: the kernel
drops signals PID 1 has no handler for); on one from outside (si_pid 0: the sender has no PID here)
stop the workloads with their stop signals and everything else with SIGTERM, wait the grace period,
SIGKILL, exit. Signals from inside (`kill 1`, an init script's shutdown) are logged and ignored: the
sandbox's life is its manager's. SIGHUP from outside: read the workloads again and apply the
difference (new ones start, removed ones stop, changed ones restart; the rest keep their PIDs).
Workloads are its children, restarted by their policy with docker's back-off; their output goes
through a pipe into a log of their own, rotated by size. Idle, it sleeps in poll(): no CPU.

It runs in every sandbox, so it stays small: _signal, not signal, and drop_file_pages once ready.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import select
import struct
import sys
import time

try:
    # signal only adds enums; enum pulls in a dozen modules, ~0.8 MB in every sandbox.
    import _signal as signal
except ImportError:  # not CPython
    import signal

READY_FD = 3
# With "enter-root" (see _rootfs.enter).
ROOT_FD = 4
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
HANDLED = set(STOP_SIGNALS) | {signal.SIGCHLD, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2}
STOP_POLL = 0.05
MADV_DONTNEED = 4
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
SFD_CLOEXEC = 0o2000000
SFD_NONBLOCK = 0o4000
SIGINFO_SIZE = 128
# As _init/_workloads.py (this program imports nothing of the collection).
SPEC_FILE = "spec.json"
STATUS_FILE = "status.json"
LOG_MAX_BYTES = 1024 * 1024
LOG_FILES = 3
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 60.0
BACKOFF_RESET_AFTER = 10.0
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
READ_CHUNK = 65536
# The log is a host file: what happens inside must not grow it without bound.
LOG_LIMIT = 256 * 1024
IGNORED_EVERY = 10.0
_logged = [0]


def log(message, always=False):
    """Best effort: a full disk or closed log must never end PID 1 (the kernel would kill the sandbox at once).
    Past LOG_LIMIT bytes only `always` lines (start and stop) are written."""
    line = "%s supervisor[%d]: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), os.getpid(), message)
    if not always and _logged[0] + len(line) > LOG_LIMIT:
        return
    _logged[0] += len(line)
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def reap():
    """Collect every child that has exited; return how many."""
    count = 0
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return count
        if pid == 0:
            return count
        count += 1


def others_alive():
    """Whether any other process is left: kill(-1, 0) from PID 1 reaches them all."""
    try:
        os.kill(-1, 0)
    except ProcessLookupError:
        return False
    return True


def signal_all(signum):
    try:
        os.kill(-1, signum)
    except ProcessLookupError:
        pass


def stop(stop_timeout):
    """SIGTERM everything, wait up to stop_timeout seconds, then SIGKILL what is left."""
    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + stop_timeout
    while True:
        reap()
        if not others_alive():
            log("all processes ended after SIGTERM", always=True)
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        signal.sigtimedwait({signal.SIGCHLD}, min(STOP_POLL, remaining))
    log("grace period of %ss over: SIGKILL to what is left" % stop_timeout, always=True)
    signal_all(signal.SIGKILL)
    # The kernel also kills the rest when PID 1 exits.
    for _attempt in range(100):
        reap()
        if not others_alive():
            return
        signal.sigtimedwait({signal.SIGCHLD}, STOP_POLL)


def set_comm(name):
    """Name the process so `ps -e` on the host shows which sandbox it belongs to."""
    try:
        with open("/proc/self/comm", "w") as handle:
            handle.write(("pidns:" + name)[:15])
    except (IOError, OSError):
        pass


def drop_file_pages():
    """Best effort: unmap clean pages of read-only file mappings (libpython, libc).

    The kernel refaults them from the file on use, so only idle VmRSS changes (about 9.6 -> 6 MB on
    CPython 3.11). Copied-on-write (Anonymous > 0) and writable mappings are skipped: MADV_DONTNEED
    would lose their changes.
    """
    try:
        import ctypes
        madvise = ctypes.CDLL(None, use_errno=True).madvise
        madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        ranges, current = [], None
        with open("/proc/self/smaps") as handle:
            for line in handle:
                fields = line.split()
                if not fields:
                    continue
                if not fields[0].endswith(":"):
                    # A mapping: start-end perms offset dev inode [path]
                    current = None
                    if len(fields) >= 6 and fields[5].startswith("/") and fields[1] in ("r--p", "r-xp"):
                        start, end = (int(value, 16) for value in fields[0].split("-"))
                        current = [start, end - start, False]
                        ranges.append(current)
                elif current is not None and fields[0] == "Anonymous:" and fields[1] != "0":
                    current[2] = True
        for start, length, copied in ranges:
            if not copied:
                madvise(start, length, MADV_DONTNEED)
    except Exception:  # pylint: disable=broad-except
        pass


def announce_ready():
    try:
        os.write(READY_FD, b"ready")
    finally:
        os.close(READY_FD)


def _libc():
    import ctypes
    return ctypes, ctypes.CDLL(None, use_errno=True)


def open_signalfd(signals):
    """A signalfd for `signals` (blocked already): poll() then sees them beside the workloads' pipes,
    with the sender's PID (0 from outside the namespace)."""
    ctypes, libc = _libc()
    mask = (ctypes.c_ulong * 16)()
    for signum in signals:
        mask[(signum - 1) // 64] |= 1 << ((signum - 1) % 64)
    fd = libc.signalfd(-1, ctypes.byref(mask), SFD_CLOEXEC | SFD_NONBLOCK)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "signalfd")
    return fd


def read_signals(fd):
    """[(signo, sender pid)] waiting on the signalfd."""
    found = []
    while True:
        try:
            data = os.read(fd, SIGINFO_SIZE * 16)
        except BlockingIOError:
            return found
        if not data:
            return found
        for offset in range(0, len(data) - SIGINFO_SIZE + 1, SIGINFO_SIZE):
            signo, _errno, _code, pid = struct.unpack_from("<IiiI", data, offset)
            found.append((signo, pid))


def backoff(restarts):
    """docker's delay before restart number `restarts` (0 for the first): 100 ms doubling, capped."""
    return min(BACKOFF_FIRST * (2 ** min(restarts, 20)), BACKOFF_MAX)


def _stamp():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class _ScanContext(object):
    """What _json.make_scanner reads of a decoder: plain JSON, nothing hooked."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = None
    memo = {}


def _to_json(value):
    """JSON of the status: dicts of names (A-Z a-z 0-9 _ . -) to str, int or None; no escapes needed."""
    if isinstance(value, dict):
        return "{%s}" % ", ".join('"%s": %s' % (key, _to_json(value[key])) for key in sorted(value))
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    return '"%s"' % "".join(char for char in value if char.isalnum() or char in "_.-:+ ")


class Workload(object):
    """One declared workload and its process."""

    def __init__(self, spec):
        self.spec = spec
        self.pid = None
        self.pipe = None
        self.log = None
        self.log_size = 0
        self.restart_count = 0
        self.consecutive = 0
        self.started_at = 0.0
        self.next_start = None
        self.kill_at = None
        self.state = "starting"
        self.exit_code = None
        self.exit_signal = None
        self.started = None
        self.finished = None

    def status(self):
        return {"state": self.state, "pid": self.pid, "restart_count": self.restart_count,
                "exit_code": self.exit_code, "exit_signal": self.exit_signal, "started": self.started,
                "finished": self.finished}


class Workloads(object):
    """The workloads PID 1 runs: started, restarted, stopped, logged; status written for the module."""

    def __init__(self, folder_fd, procs_fds, drop_caps):
        # _json (C, small) and grp are imported now, before a root of its own that may lack this Python;
        # json itself would pull in re and enum (~1.5 MB in every sandbox).
        import _json
        import grp  # noqa: F401  pylint: disable=unused-import
        self.scan = _json.make_scanner(_ScanContext())
        self.folder_fd = folder_fd
        self.procs_fds = procs_fds
        self.drop_caps = drop_caps
        self.running = {}  # name -> Workload (running, backing off or exited)
        self.retiring = []  # Workloads stopping, removed or replaced
        self.pending = {}  # name -> spec waiting for its old process to exit

    # ---- the spec and the status

    def read_spec(self):
        """The declared list, or None (none yet: json is imported only for a sandbox that has some)."""
        try:
            fd = os.open(SPEC_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.folder_fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            log("workloads: cannot read %s: %s" % (SPEC_FILE, exc))
            return None
        try:
            chunks = []
            while True:
                chunk = os.read(fd, READ_CHUNK)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(fd)
        try:
            text = b"".join(chunks).decode("utf-8")
            value, end = self.scan(text, 0)
            if text[end:].strip() or not isinstance(value, list):
                raise ValueError("not one list")
            return value
        except (ValueError, StopIteration) as exc:
            log("workloads: %s is not a JSON list: %s" % (SPEC_FILE, exc))
            return None

    def write_status(self):
        status = dict((name, workload.status()) for name, workload in self.running.items())
        for workload in self.retiring:
            if workload.spec["name"] not in status:
                status[workload.spec["name"]] = workload.status()
        tmp = STATUS_FILE + ".tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=self.folder_fd)
            try:
                os.write(fd, _to_json(status).encode("utf-8"))
            finally:
                os.close(fd)
            os.rename(tmp, STATUS_FILE, src_dir_fd=self.folder_fd, dst_dir_fd=self.folder_fd)
        except OSError as exc:
            log("workloads: cannot write %s: %s" % (STATUS_FILE, exc))

    def apply(self, specs):
        """Make the running set match `specs`: new ones start, removed ones stop, changed ones restart."""
        wanted = dict((spec["name"], spec) for spec in specs)
        for name in list(self.running):
            workload = self.running[name]
            if wanted.get(name) != workload.spec:
                del self.running[name]
                self.retire(workload)
                if name in wanted:
                    self.pending[name] = wanted[name]
        for name in list(self.pending):
            if name not in wanted:
                del self.pending[name]
        for spec in specs:
            if spec["name"] not in self.running and spec["name"] not in self.pending:
                self.running[spec["name"]] = Workload(spec)
                self.start(self.running[spec["name"]])
        self.start_pending()
        self.write_status()

    def start_pending(self):
        busy = set(workload.spec["name"] for workload in self.retiring)
        for name in [name for name in self.pending if name not in busy]:
            self.running[name] = Workload(self.pending.pop(name))
            self.start(self.running[name])

    # ---- processes

    def start(self, workload):
        spec = workload.spec
        workload.next_start = None
        try:
            read_end, write_end = os.pipe2(os.O_CLOEXEC)
        except OSError as exc:
            log("workload %s: no pipe: %s" % (spec["name"], exc))
            self.exited(workload, None, 127)
            return
        pid = os.fork()
        if pid == 0:
            self.child(spec, write_end)  # never returns
        os.close(write_end)
        os.set_blocking(read_end, False)
        workload.pid, workload.pipe = pid, read_end
        workload.started_at, workload.started, workload.finished = time.monotonic(), _stamp(), None
        workload.state = "running"
        log("workload %s: started as PID %d" % (spec["name"], pid))

    def child(self, spec, output):
        """In the forked child: the workload's identity, cgroup, capabilities and stdio; then exec."""
        code = 127
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            for signum in (signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(signum, signal.SIG_DFL)
            os.setsid()
            for fd in self.procs_fds:
                os.write(fd, b"0")
            try:
                # PID 1's -998 is not the workloads': the OOM killer takes them before it.
                with open("/proc/self/oom_score_adj", "w") as handle:
                    handle.write("0")
            except (IOError, OSError):
                pass
            home, uid, gid, groups = "/root", None, None, None
            if spec["user"] is not None:
                import pwd
                entry = pwd.getpwuid(int(spec["user"])) if spec["user"].isdigit() else pwd.getpwnam(spec["user"])
                uid, gid, home = entry.pw_uid, entry.pw_gid, entry.pw_dir
                import grp
                groups = [g.gr_gid for g in grp.getgrall() if entry.pw_name in g.gr_mem]
            if spec["group"] is not None:
                import grp
                gid = int(spec["group"]) if spec["group"].isdigit() else grp.getgrnam(spec["group"]).gr_gid
                groups = groups or []
            os.chdir(spec["chdir"] or (home if spec["user"] is not None and os.path.isdir(home) else "/"))
            if self.drop_caps:
                _ctypes, libc = _libc()
                for number in self.drop_caps:
                    libc.prctl(PR_CAPBSET_DROP, number, 0, 0, 0)
            if gid is not None:
                os.setgroups(groups)
                os.setgid(gid)
            if uid is not None:
                os.setuid(uid)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(output, 1)
            os.dup2(output, 2)
            os.closerange(3, 65536)
            env = {"PATH": PATH, "HOME": home}
            env.update(spec["env"])
            exec_in_path(spec["argv"], env)
        except BaseException as exc:  # pylint: disable=broad-except
            try:
                os.write(2, ("workload %s: cannot start: %s\n" % (spec["name"], exc)).encode("utf-8", "replace"))
            except OSError:
                pass
        os._exit(code)

    def by_pid(self, pid):
        for workload in list(self.running.values()) + self.retiring:
            if workload.pid == pid:
                return workload
        return None

    def exited(self, workload, status, code=None):
        """Its process is gone (status from waitpid): record why, and restart it by its policy."""
        self.drain(workload, final=True)
        if status is not None:
            if os.WIFSIGNALED(status):
                workload.exit_code, workload.exit_signal = None, os.WTERMSIG(status)
            else:
                workload.exit_code, workload.exit_signal = os.WEXITSTATUS(status), None
        else:
            workload.exit_code, workload.exit_signal = code, None
        workload.pid, workload.finished, workload.kill_at = None, _stamp(), None
        log("workload %s: exited (%s)" % (workload.spec["name"], "signal %d" % workload.exit_signal
                                          if workload.exit_signal else "code %s" % workload.exit_code))
        if workload in self.retiring:
            self.retiring.remove(workload)
            workload.state = "stopped"
            self.start_pending()
            return
        spec = workload.spec
        failed = workload.exit_signal is not None or workload.exit_code != 0
        if spec["restart"] == "no" or (spec["restart"] == "on-failure" and (
                not failed or (spec["max_retries"] is not None and workload.restart_count >= spec["max_retries"]))):
            workload.state = "exited"
            return
        now = time.monotonic()
        if now - workload.started_at >= BACKOFF_RESET_AFTER:
            workload.consecutive = 0
        delay = backoff(workload.consecutive)
        workload.consecutive += 1
        workload.state, workload.next_start = "backing off", now + delay

    def restart_due(self):
        now = time.monotonic()
        for workload in list(self.running.values()):
            if workload.next_start is not None and workload.next_start <= now:
                workload.restart_count += 1
                self.start(workload)
        for workload in self.retiring:
            if workload.kill_at is not None and workload.kill_at <= now and workload.pid is not None:
                log("workload %s: stop grace over, SIGKILL" % workload.spec["name"])
                _kill_group(workload.pid, signal.SIGKILL)
                workload.kill_at = None

    def retire(self, workload):
        """Stop it: its stop signal now, SIGKILL to its session after its stop_timeout."""
        if workload.pid is None:
            workload.state = "stopped"
            return
        self.retiring.append(workload)
        workload.state = "stopped"
        try:
            os.kill(workload.pid, workload.spec["stop_signal"])
        except ProcessLookupError:
            pass
        workload.kill_at = time.monotonic() + workload.spec["stop_timeout"]

    def next_deadline(self):
        times = [w.next_start for w in self.running.values() if w.next_start is not None]
        times += [w.kill_at for w in self.retiring if w.kill_at is not None]
        return min(times) if times else None

    def pipes(self):
        return dict((w.pipe, w) for w in list(self.running.values()) + self.retiring if w.pipe is not None)

    # ---- output

    def drain(self, workload, final=False):
        """Move what its pipe holds into its log; at EOF (or final) close the pipe."""
        while workload.pipe is not None:
            try:
                data = os.read(workload.pipe, READ_CHUNK)
            except BlockingIOError:
                return  # final or not: its children may still hold the pipe, read later
            except OSError:
                data = b""
            if not data:
                os.close(workload.pipe)
                workload.pipe = None
                return
            self.write_log(workload, data)

    def write_log(self, workload, data):
        name = workload.spec["name"] + ".log"
        try:
            if workload.log is not None and workload.log_size + len(data) > LOG_MAX_BYTES:
                os.close(workload.log)
                workload.log = None
                for number in range(LOG_FILES - 1, 0, -1):
                    source = name if number == 1 else "%s.%d" % (name, number - 1)
                    try:
                        os.rename(source, "%s.%d" % (name, number), src_dir_fd=self.folder_fd,
                                  dst_dir_fd=self.folder_fd)
                    except FileNotFoundError:
                        pass
            if workload.log is None:
                workload.log = os.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                                       0o600, dir_fd=self.folder_fd)
                workload.log_size = os.fstat(workload.log).st_size
            os.write(workload.log, data[:LOG_MAX_BYTES])
            workload.log_size += min(len(data), LOG_MAX_BYTES)
        except OSError:
            pass  # a full disk must not end PID 1

    def stop_all(self):
        """The sandbox stops: each workload gets its stop signal (the rest get SIGTERM from stop())."""
        for workload in list(self.running.values()):
            workload.next_start = None
            if workload.pid is not None:
                try:
                    os.kill(workload.pid, workload.spec["stop_signal"])
                except ProcessLookupError:
                    pass
            workload.state = "stopped"
        self.write_status()


def exec_in_path(argv, env):
    """execvpe without its imports: as another user the module's Python may be unreadable (/root is 0700)."""
    if "/" in argv[0]:
        os.execve(argv[0], argv, env)
    failure = None
    for folder in env["PATH"].split(":"):
        try:
            os.execve(os.path.join(folder or ".", argv[0]), argv, env)
        except (FileNotFoundError, NotADirectoryError, PermissionError) as exc:
            failure = failure if isinstance(failure, PermissionError) else exc
    raise failure or FileNotFoundError(argv[0])


def _kill_group(pid, signum):
    for target in (-pid, pid):
        try:
            os.kill(target, signum)
        except ProcessLookupError:
            pass


def _parse_flags(args):
    flags = {}
    for arg in args:
        key, _sep, value = arg.partition("=")
        flags[key] = value
    return flags


def main(argv):
    if os.getpid() != 1:
        # kill(-1, ...) elsewhere would hit every process the caller may signal: the whole host for root.
        sys.stderr.write("the sandbox supervisor must run as PID 1 of a new PID namespace\n")
        return 2
    name, stop_timeout = argv[1], float(argv[2])
    flags = _parse_flags(argv[3:])
    # Before a root of its own, which may lack this Python's modules.
    _ctypes, libc = _libc()
    workloads = None
    if flags.get("workloads"):
        workloads = Workloads(int(flags["workloads"]), [int(fd) for fd in flags.get("procs", "").split(",") if fd],
                              [int(number) for number in flags.get("drop", "").split(",") if number])
    if "enter-root" in flags:
        # Execed from the module's root (a prepared tree may lack Python): into the sandbox's root before
        # "ready", while no other process can see the old one.
        os.fchdir(ROOT_FD)
        os.chroot(".")
        os.chdir("/")
        os.close(ROOT_FD)
    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    # stdin was this program's source.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    set_comm(name)
    # Its descriptors are host files: no process inside reads them through /proc/1/fd.
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    signals = open_signalfd(HANDLED)
    log("sandbox %s: supervisor up as PID %d" % (name, os.getpid()), always=True)
    announce_ready()
    if workloads is not None:
        specs = workloads.read_spec()
        if specs:
            workloads.apply(specs)
    drop_file_pages()
    poller = select.poll()
    poller.register(signals, select.POLLIN)
    registered = set()
    unlogged, quiet_until = 0, 0.0
    while True:
        timeout = -1
        if workloads is not None:
            pipes = workloads.pipes()
            for fd in set(pipes) - registered:
                poller.register(fd, select.POLLIN)
            for fd in registered - set(pipes):
                poller.unregister(fd)
            registered = set(pipes)
            deadline = workloads.next_deadline()
            if deadline is not None:
                timeout = max(0, int((deadline - time.monotonic()) * 1000) + 1)
        events = poller.poll(timeout)
        changed = False
        if workloads is not None:
            pipes = workloads.pipes()
            for fd, _event in events:
                if fd in pipes:
                    workloads.drain(pipes[fd])
            before = [(n, w.state, w.pid) for n, w in workloads.running.items()]
            workloads.restart_due()
            changed = before != [(n, w.state, w.pid) for n, w in workloads.running.items()]
        for signo, sender in read_signals(signals):
            if signo == signal.SIGCHLD:
                while True:
                    try:
                        pid, status = os.waitpid(-1, os.WNOHANG)
                    except ChildProcessError:
                        break
                    if pid == 0:
                        break
                    workload = workloads.by_pid(pid) if workloads is not None else None
                    if workload is not None:
                        workloads.exited(workload, status)
                        changed = True
            elif signo == signal.SIGHUP and sender == 0 and workloads is not None:
                specs = workloads.read_spec()
                if specs is not None:
                    log("workloads: applying the list again")
                    workloads.apply(specs)
                    drop_file_pages()  # what applying it faulted in of libpython, as at start
            elif signo in STOP_SIGNALS and sender != 0:
                # One line per IGNORED_EVERY seconds: a `kill 1` loop inside would fill the host's disk.
                now = time.monotonic()
                if now < quiet_until:
                    unlogged += 1
                    continue
                log("signal %d from PID %d inside the sandbox: ignored (stop it from outside, with state=absent)%s"
                    % (signo, sender, "; %d more since the last such line" % unlogged if unlogged else ""))
                unlogged, quiet_until = 0, now + IGNORED_EVERY
            elif signo in STOP_SIGNALS:
                log("signal %d from outside the sandbox: stopping it" % signo, always=True)
                if workloads is not None:
                    workloads.stop_all()
                stop(stop_timeout)
                if workloads is not None:
                    for workload in list(workloads.running.values()) + workloads.retiring:
                        workloads.drain(workload, final=True)
                log("stopped", always=True)
                return 0
        if changed and workloads is not None:
            workloads.write_status()


if __name__ == "__main__":
    # os._exit: the interpreter's last flush of a log on a full disk would turn a clean stop into status 120.
    os._exit(main(sys.argv))
