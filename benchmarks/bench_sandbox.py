#!/usr/bin/env python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: linuxns.pidns.sandbox against util-linux `unshare` + `mount --bind`, side by side.

Run as root from the repository root (about 2 minutes on an idle machine, more on a busy one):

    .venv/bin/python benchmarks/bench_sandbox.py [--count 50] [--e2e-runs 10]

1. create/remove COUNT sandboxes through the module code path (_sandbox.run) and the same
   with util-linux: `unshare --fork --pid --mount-proc --uts --ipc sleep infinity` started
   detached, its pid/mnt/uts/ipc namespaces pinned with `mount --bind /proc/PID/ns/TYPE FILE`
   under a private bind-mounted tmp dir; removal = kill + umount + rm. Each of them with and
   without a cgroup (issue 11), interleaved in blocks: ours with the limits below, or made to see
   no writable cgroup hierarchy (a benchmark-only patch of _cgroup.Hierarchies.detect: what a
   container without delegation gives it); util-linux with `mkdir` of a cgroup in every hierarchy
   ours uses (v2 and the v1 pids/memory/cpu/cpuacct/freezer ones), the limit files written, and
   `echo $$ > cgroup.procs` in each before `exec unshare`; removal then also `rmdir`s them.
2. memory of one idle supervisor (VmRSS, smaps_rollup Pss) beside `catatonit -P` (the floor) and
   a bare `python -I -S` interpreter; CPU used while idle (utime+stime over a few seconds).
3. end to end: `ansible localhost -m linuxns.pidns.sandbox -a name=X` against an
   `ansible localhost -m command` task doing the util-linux equivalent, interleaved, with and
   without a cgroup (without: the same patch, loaded into the module's Python by a sitecustomize
   on PYTHONPATH for those runs only); and with `userns=auto` (no cgroup) against
   `unshare --user --map-users=B,0,65536 --map-groups=B,0,65536 --setuid 0 --setgid 0` and the rest
   (its newuidmap, package uidmap, takes only ranges /etc/subuid gives root: root:B:65536 is added
   to /etc/subuid and /etc/subgid for part 3 and the files restored after). Goal: <= 1.15.

A benchmark, not a test: it prints figures and ratios and asserts nothing about timing.
Everything it creates is removed on the way out, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / ".build" / "collections"))

from ansible_cli import ansible_env  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _cgroup  # noqa: E402
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _sandbox, _statedir

NS_TYPES = ("pid", "mnt", "uts", "ipc")
UNSHARE = ["unshare", "--fork", "--kill-child", "--pid", "--mount-proc", "--uts", "--ipc", "sleep", "infinity"]
TAG = "bench-%d" % os.getpid()
# Part 1 and 2 use their own state directory so that they do not show up in (or race with)
# whatever else uses the default one; part 3 goes through `ansible`, hence the default one.
BENCH_STATE_DIR = "/run/linuxns-pidns-%s" % TAG
UL_DIR = Path("/tmp/%s-util-linux" % TAG)
# The limits of the "with a cgroup" runs, ours and util-linux alike.
LIMITS = {"pids_limit": 256, "memory": "256M", "cpus": 1.0}
LIMIT_FILES = (("pids", "pids.max", "256"), ("memory", "memory.limit_in_bytes", str(256 * 1024 * 1024)),
               ("cpu", "cpu.cfs_quota_us", "100000"))
V1_CONTROLLERS = ("pids", "memory", "cpu", "cpuacct", "freezer")
# Loaded by the module's Python in the end-to-end runs "without a cgroup" (PYTHONPATH): the
# collection's _cgroup module, once imported, sees no cgroup hierarchy at all.
NO_CGROUP_SITECUSTOMIZE = r'''
import sys

_TARGET = "ansible_collections.linuxns.pidns.plugins.module_utils._kernel._cgroup"


class _NoCgroup(object):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != _TARGET:
            return None
        sys.meta_path.remove(self)
        try:
            import importlib.util
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _Loader(spec.loader)
        return spec


class _Loader(object):
    """The module's own loader (a zipimporter in AnsiballZ, shared by every module of the zip),
    wrapped for this one module only."""

    def __init__(self, inner):
        self.inner = inner

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module):
        self.inner.exec_module(module)
        module.Hierarchies.detect = classmethod(lambda cls, mounts, sys_root="": cls({"v2": None, "v1": {}}))

    def __getattr__(self, name):
        return getattr(self.inner, name)


sys.meta_path.insert(0, _NoCgroup())
'''


def log(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def run(*cmd, check=True):
    return subprocess.run(cmd, check=check, stdin=subprocess.DEVNULL, capture_output=True, text=True)


# ---------------------------------------------------------------- /proc readers

def status_kb(pid):
    values = {}
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            key, _sep, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                values[key] = int(value.split()[0])
    return values


def pss_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as handle:
        for line in handle:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return None


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def start_time(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[19])
    except OSError:
        return None


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
            return [int(child) for child in handle.read().split()]
    except OSError:
        return []


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as handle:
            return handle.read().strip()
    except OSError:
        return None


def mount_points_under(prefix):
    points = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                points.append(point)
    return points


def cgroup_mounts():
    """{"v2": mount point, controller: mount point} for the hierarchies the collection uses."""
    with open("/proc/self/mountinfo") as handle:
        found = _cgroup.parse_hierarchies([{"fstype": line.split(" - ")[1].split()[0],
                                            "mount_point": line.split()[4],
                                            "options": line.split()[5],
                                            "super_options": line.split(" - ")[1].split()[2]}
                                           for line in handle])
    mounts = dict(found["v1"])
    if found["v2"]:
        mounts["v2"] = found["v2"]
    return mounts


def no_cgroup_hierarchies(cls, mounts, sys_root=""):
    """What a host without any cgroup hierarchy gives: Hierarchies with a `problem`."""
    return cls({"v2": None, "v1": {}}, sys_root)


class NoCgroup:
    """In this process, the library sees no cgroup hierarchy (the "without a cgroup" runs)."""

    def __enter__(self):
        self.saved = _cgroup.Hierarchies.__dict__["detect"]
        _cgroup.Hierarchies.detect = classmethod(no_cgroup_hierarchies)
        return self

    def __exit__(self, *exc):
        _cgroup.Hierarchies.detect = self.saved


def ns_init_pids(handle_dir):
    """Host PIDs of the PID-1 processes of the PID namespaces pinned under handle_dir."""
    inodes = set()
    for handle in Path(handle_dir).glob("**/pid"):
        try:
            if handle.stat().st_dev != Path(handle_dir).stat().st_dev:  # an nsfs bind mount
                inodes.add(handle.stat().st_ino)
        except OSError:
            pass
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat("/proc/%s/ns/pid" % entry).st_ino not in inodes:
                continue
            with open("/proc/%s/status" % entry) as handle:
                nspid = [line.split()[1:] for line in handle if line.startswith("NSpid:")][0]
        except (OSError, IndexError):
            continue
        if nspid and nspid[-1] == "1":
            found.append(int(entry))
    return found


# ---------------------------------------------------------------- util-linux sandboxes

class UtilLinux:
    """Sandboxes made of `unshare ... sleep infinity` plus `mount --bind` handles; with
    `cgroups`, each also in a cgroup of its own in every hierarchy, with limits."""

    def __init__(self, root, cgroups=None):
        self.root = Path(root)
        self.started = {}  # name -> (Popen of unshare, host PID of sleep, its start time)
        # {key: <mount>/<TAG>}: the cgroup tree of these sandboxes in every hierarchy, or None.
        self.cgroups = dict((key, os.path.join(mount, TAG)) for key, mount in cgroups.items()) if cgroups else None

    def setup(self):
        if self.cgroups:
            for directory in self.cgroups.values():
                os.mkdir(directory)
            return
        self.root.mkdir(mode=0o700)
        # A mount-namespace handle cannot be bound onto a shared mount (EINVAL).
        run("mount", "--bind", str(self.root), str(self.root))
        run("mount", "--make-private", str(self.root))

    def cgroup_dirs(self, name):
        return dict((key, os.path.join(directory, name)) for key, directory in self.cgroups.items())

    def make_cgroup(self, name):
        """What a user does by hand: mkdir in every hierarchy, the limit files."""
        dirs = self.cgroup_dirs(name)
        for directory in dirs.values():
            os.mkdir(directory)
        for key, filename, text in LIMIT_FILES:
            if key in dirs:
                with open(os.path.join(dirs[key], filename), "w") as handle:
                    handle.write(text)
        return [os.path.join(directory, "cgroup.procs") for directory in dirs.values()]

    def remove_cgroup(self, name):
        for directory in self.cgroup_dirs(name).values():
            for _attempt in range(1000):  # EBUSY until the killed processes are gone
                try:
                    os.rmdir(directory)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.001)

    def create(self, name):
        folder = self.root / name
        folder.mkdir(mode=0o700)
        argv = UNSHARE
        if self.cgroups:
            # Join them before unshare forks PID 1 (the shell's own PID, kept by exec).
            argv = ["sh", "-c", 'for f in "$@"; do echo $$ > "$f"; done; exec ' + " ".join(UNSHARE), "sh"]
            argv += self.make_cgroup(name)
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        init = None
        deadline = time.monotonic() + 10
        while init is None:
            kids = children(proc.pid)
            if kids and comm(kids[0]) == "sleep":  # execed: /proc is mounted, all is set up
                init = kids[0]
            elif proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("unshare exited or hung (rc=%s)" % proc.returncode)
            else:
                time.sleep(0.0005)
        self.started[name] = (proc, init, start_time(init))
        for ns_type in NS_TYPES:
            handle = folder / ns_type
            handle.touch(mode=0o600)
            run("mount", "--bind", "/proc/%d/ns/%s" % (init, ns_type), str(handle))

    def remove(self, name):
        proc, init, started = self.started.pop(name)
        if start_time(init) == started:
            os.kill(init, signal.SIGKILL)  # PID 1 of a namespace takes only SIGKILL from outside
        proc.wait()
        folder = self.root / name
        run("umount", *[str(folder / ns_type) for ns_type in NS_TYPES])
        shutil.rmtree(folder)
        if self.cgroups:
            self.remove_cgroup(name)

    def cleanup(self):
        for name in list(self.started):
            try:
                self.remove(name)
            except Exception as exc:  # pylint: disable=broad-except
                log("cleanup of %s: %s" % (name, exc))
        if self.cgroups:
            self.cleanup_cgroups()
            return
        if not self.root.exists():
            return
        # Sandboxes made by the e2e shell commands: their init PIDs are found from the handles.
        for pid in ns_init_pids(self.root):
            log("cleanup: SIGKILL to PID %d (init of a util-linux sandbox of this run)" % pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for point in sorted(mount_points_under(str(self.root)), key=len, reverse=True):
            run("umount", "-l", point, check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def cleanup_cgroups(self):
        """Kill what is left in this run's cgroups (v2 cgroup.kill), then remove them, deepest first."""
        v2 = self.cgroups.get("v2")
        if v2 and os.path.isdir(v2) and os.path.exists(os.path.join(v2, "cgroup.kill")):
            with open(os.path.join(v2, "cgroup.kill"), "w") as handle:
                handle.write("1")
        for directory in self.cgroups.values():
            if not os.path.isdir(directory):
                continue
            for folder, _subdirs, _files in sorted(os.walk(directory), key=lambda entry: -entry[0].count("/")):
                for _attempt in range(1000):
                    try:
                        os.rmdir(folder)
                        break
                    except OSError:
                        time.sleep(0.005)
                else:
                    log("cleanup: could not remove %s" % folder)


# ---------------------------------------------------------------- ours

class Ours:
    """The module's code path in this process; `cgroup` False: the library sees no hierarchy."""

    def __init__(self, state_dir=None, cgroup=True):
        self.state_dir = state_dir
        self.cgroup = cgroup
        self.names = set()

    def apply(self, name, state):
        params = {"name": name, "state": state, "namespaces": list(NS_TYPES), "mount_proc": True,
                  "stop_timeout": 10}
        if self.cgroup and state == "present":
            params.update(LIMITS)
        state_dir = _statedir.StateDir(self.state_dir) if self.state_dir else None
        if self.cgroup:
            return _sandbox.run(params, state_dir=state_dir)
        with NoCgroup():
            return _sandbox.run(params, state_dir=state_dir)

    def create(self, name):
        self.names.add(name)
        return self.apply(name, "present")

    def remove(self, name):
        self.apply(name, "absent")
        self.names.discard(name)

    def cleanup(self):
        for name in list(self.names):
            try:
                self.remove(name)
            except Exception as exc:  # pylint: disable=broad-except
                log("cleanup of sandbox %s: %s" % (name, exc))
        root = self.state_dir
        if root and os.path.isdir(root):
            leftovers = [entry for entry in os.listdir(root) if not entry.startswith(".")]
            if leftovers:
                log("cleanup: %s still holds %s; left in place" % (root, leftovers))
                return
            for point in sorted(mount_points_under(root), key=len, reverse=True):
                run("umount", "-l", point, check=False)
            shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------- part 1

def timed(function, *args):
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def bench_create_remove(impls, count, blocks=5):
    """{label: figures} for each of impls {label: implementation}: COUNT creates then removes,
    in `blocks` interleaved rounds (the order rotating) so that a drift of the machine hits all."""
    times = dict((label, {"create": [], "remove": []}) for label in impls)
    labels = list(impls)
    for label, impl in impls.items():
        # One untimed round first: page cache, the supervisor file, the state directory.
        warm = "%s-warm-%d" % (TAG, labels.index(label))
        impl.create(warm)
        impl.remove(warm)
    per_block = max(1, count // blocks)
    for block in range(blocks):
        order = labels[block % len(labels):] + labels[:block % len(labels)]
        for label in order:
            impl = impls[label]
            names = ["%s-%d-%d-%d" % (TAG, labels.index(label), block, i) for i in range(per_block)]
            times[label]["create"] += [timed(impl.create, name) for name in names]
            times[label]["remove"] += [timed(impl.remove, name) for name in names]
    results = {}
    for label in labels:
        create, remove = times[label]["create"], times[label]["remove"]
        results[label] = {"create_ms": 1000 * statistics.mean(create),
                          "create_median_ms": 1000 * statistics.median(create),
                          "remove_ms": 1000 * statistics.mean(remove),
                          "remove_median_ms": 1000 * statistics.median(remove),
                          "n": len(create)}
        log("part 1: %-22s create %.1f ms, remove %.1f ms per sandbox (mean of %d)"
            % (label, results[label]["create_ms"], results[label]["remove_ms"], len(create)))
    return results


def bench_cgroup_steps(count):
    """The library's cgroup steps alone, as a create and a remove run them (no namespaces): exists,
    create (the sandbox's directory and its two leaves in every hierarchy), place a process in the
    supervisor leaf, set the limits; then kill through the cgroup (waiting until it is empty) and
    remove. The process is a `sleep` started beforehand, untimed. Less noisy than the difference of
    two whole creates on a busy machine."""
    hierarchies = _statedir.HostView(_statedir.StateDir(BENCH_STATE_DIR)).hierarchies
    limits = {"pids_limit": LIMITS["pids_limit"], "memory": 256 * 1024 * 1024, "memory_swap": None,
              "cpus": LIMITS["cpus"], "cpu_shares": None}
    create, remove = [], []
    for i in range(count + 1):
        cgroup = _cgroup.sandbox_cgroup(hierarchies, "%s-steps-%d" % (TAG, i))
        sleeper = subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL)
        try:
            start = time.perf_counter()
            if cgroup.exists():
                raise RuntimeError("%s exists already" % cgroup.relative)
            cgroup.create()
            cgroup.place(sleeper.pid)
            cgroup.set_limits(limits)
            middle = time.perf_counter()
            if not cgroup.kill():
                raise RuntimeError("%s: kill left processes" % cgroup.relative)
            cgroup.remove()
            end = time.perf_counter()
        finally:
            sleeper.kill()
            sleeper.wait()
        if i:  # the first one warms up
            create.append(middle - start)
            remove.append(end - middle)
    results = {"create_ms": 1000 * statistics.mean(create), "create_median_ms": 1000 * statistics.median(create),
               "remove_ms": 1000 * statistics.mean(remove), "remove_median_ms": 1000 * statistics.median(remove),
               "n": count}
    log("part 1: cgroup steps alone    create %.2f ms, remove %.2f ms (mean of %d)"
        % (results["create_ms"], results["remove_ms"], count))
    return results


# ---------------------------------------------------------------- part 2

def memory_of(pid, idle_seconds):
    before = cpu_ticks(pid)
    time.sleep(idle_seconds)
    after = cpu_ticks(pid)
    values = status_kb(pid)
    values["Pss"] = pss_kb(pid)
    values["cpu_ticks_idle"] = after - before
    return values


def bench_memory(ours, idle_seconds):
    rows = {}
    record = ours.create("%s-rss" % TAG)["sandbox"]
    supervisor = record["supervisor"]["pid"]
    time.sleep(0.5)
    rows["supervisor (idle)"] = memory_of(supervisor, idle_seconds)
    # Let it work a little: 20 short processes inside, orphaned (their shell exits first), so
    # they are reparented to the supervisor, which reaps them.
    nsenter = ["nsenter", "-t", str(supervisor), "-p", "-m", "-u", "-i", "--",
               "sh", "-c", "sleep 0.05 & sleep 0.05 &"]
    for _i in range(10):
        run(*nsenter)
    time.sleep(0.3)
    rows["supervisor (after reaping)"] = memory_of(supervisor, idle_seconds)

    catatonit = shutil.which("catatonit")
    if catatonit is None:
        log("part 2: catatonit is not installed (Debian: apt-get install -y catatonit): no floor row")
        rows["catatonit -P"] = None
    else:
        # Inside its own PID namespace, like the supervisor; catatonit is PID 1 there.
        proc = subprocess.Popen(["unshare", "--fork", "--pid", "--kill-child", catatonit, "-P"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            pid = None
            deadline = time.monotonic() + 5
            while pid is None and time.monotonic() < deadline:
                kids = children(proc.pid)
                if kids and comm(kids[0]) == "catatonit":
                    pid = kids[0]
                else:
                    time.sleep(0.01)
            time.sleep(0.5)
            rows["catatonit -P"] = memory_of(pid, idle_seconds) if pid else None
        finally:
            proc.kill()  # --kill-child: the namespace goes with unshare
            proc.wait()

    bare = subprocess.Popen([sys.executable, "-I", "-S", "-c", "import time; time.sleep(3600)"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        rows["bare python -I -S (sleeping)"] = memory_of(bare.pid, 0.1)
    finally:
        bare.kill()
        bare.wait()
    ours.remove("%s-rss" % TAG)
    for label, values in rows.items():
        log("part 2: %-30s %s" % (label, values))
    return rows


# ---------------------------------------------------------------- part 3

def ansible_adhoc(module, args, extra_env=None, prefix=None, timeout=120):
    """(seconds, the module's result) of `ansible localhost -m module -a args` (args: text, or a dict
    given as JSON), under `prefix` (say, nsenter into a network namespace)."""
    if isinstance(args, dict):
        args = json.dumps(args)
    cmd = list(prefix or []) + [str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-i",
                                "localhost,", "-m", module, "-a", args]
    env = ansible_env(ANSIBLE_STDOUT_CALLBACK="raw_results", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                      ANSIBLE_CALLBACK_PLUGINS=str(REPO / "tests" / "callback_plugins"))
    env.update(extra_env or {})
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout,
                          check=False)
    seconds = time.perf_counter() - start
    try:
        line = [line for line in proc.stdout.splitlines() if line.startswith("{")][-1]
        document = json.loads(line)
    except (IndexError, ValueError):
        raise RuntimeError("ansible gave no result (rc=%d):\n%s\n%s"
                           % (proc.returncode, proc.stdout, proc.stderr)) from None
    if document["status"] == "failed" or document["result"].get("failed"):
        raise RuntimeError("%s failed: %s" % (module, json.dumps(document["result"])[:2000]))
    return seconds, document["result"]


# The by-hand side of userns: auto: unshare --map-users runs newuidmap (package uidmap), which takes
# only ranges /etc/subuid gives the caller: part 3 adds root's entry for this block while it runs.
HAND_USERNS = 2000000000
UNSHARE_USERNS = ["unshare", "--user", "--map-users=%d,0,65536" % HAND_USERNS,
                  "--map-groups=%d,0,65536" % HAND_USERNS, "--setuid", "0", "--setgid", "0"] + UNSHARE[1:]


@contextlib.contextmanager
def subids_for_root():
    """root:HAND_USERNS:65536 in /etc/subuid and /etc/subgid while it runs; the files as they were after."""
    saved = {}
    try:
        for path in ("/etc/subuid", "/etc/subgid"):
            saved[path] = Path(path).read_text() if Path(path).exists() else None
            with open(path, "a") as handle:
                handle.write("root:%d:65536\n" % HAND_USERNS)
        yield
    finally:
        for path, text in saved.items():
            if text is None:
                os.unlink(path)
            else:
                Path(path).write_text(text)


def util_linux_command(folder, cgroup_dirs=None, userns=False):
    """One command line doing what the sandbox module does, the util-linux way; with cgroup_dirs
    ({key: directory}), in a cgroup of its own in each hierarchy, limits written, joined before
    unshare runs; with userns, in a user namespace of HAND_USERNS's block (and its handle too)."""
    start = "setsid %s" % " ".join(UNSHARE_USERNS if userns else UNSHARE)
    cgroup = ""
    if cgroup_dirs:
        dirs = " ".join(sorted(cgroup_dirs.values()))
        cgroup = "for g in %s; do mkdir $g; done; " % dirs
        for key, filename, text in LIMIT_FILES:
            if key in cgroup_dirs:
                cgroup += "echo %s > %s/%s; " % (text, cgroup_dirs[key], filename)
        start = ("setsid sh -c \"for g in %s; do echo \\$\\$ > \\$g/cgroup.procs; done; exec %s\""
                 % (dirs, " ".join(UNSHARE)))
    script = (
        "set -e; d=%s; mkdir -m 700 $d; cd $d; touch %s; %s"
        "%s </dev/null >/dev/null 2>&1 & p=$!; "
        "n=0; until set -- $(cat /proc/$p/task/$p/children 2>/dev/null) && [ $# -gt 0 ] "
        "&& [ \"$(cat /proc/$1/comm 2>/dev/null)\" = sleep ]; do "
        "n=$((n+1)); [ $n -lt 1000 ] || { kill -9 $p; exit 1; }; sleep 0.005; done; c=$1; "
        "for t in %s; do mount --bind /proc/$c/ns/$t $t; done; echo $c"
    ) % (folder, " ".join(_hand_ns_types(userns)), cgroup, start, " ".join(_hand_ns_types(userns)))
    return "sh -c '%s'" % script


def _hand_ns_types(userns):
    return (("user",) if userns else ()) + NS_TYPES


def remove_util_linux_e2e(folder, init, util_linux=None, name=None, ns_types=NS_TYPES):
    if comm(init) == "sleep":
        os.kill(init, signal.SIGKILL)
    run("umount", *[str(Path(folder) / ns_type) for ns_type in ns_types])
    shutil.rmtree(folder)
    if util_linux is not None:
        # The init is gone once its namespace's processes are: wait for its cgroup to be empty.
        util_linux.remove_cgroup(name)


def bench_end_to_end(ours_default, util_linux, util_linux_cg, runs, sitecustomize_dir):
    labels = ("ours", "util-linux", "ours (cgroup)", "util-linux (cgroup)", "ours (userns)", "util-linux (userns)")
    times = dict((label, []) for label in labels)
    no_cgroup = {"PYTHONPATH": str(sitecustomize_dir)}

    def one(label, i):
        if label.startswith("ours"):
            name = "%s-e2e-%s" % (TAG, i)
            ours_default.names.add(name)
            if label == "ours":
                seconds, result = ansible_adhoc("linuxns.pidns.sandbox", "name=%s" % name, no_cgroup)
                assert result["sandbox"]["cgroup"] is None, result["sandbox"]
            elif label == "ours (userns)":
                seconds, result = ansible_adhoc("linuxns.pidns.sandbox", "name=%s userns=auto" % name, no_cgroup)
                assert result["sandbox"]["userns"] is not None, result["sandbox"]
            else:
                args = "name=%s pids_limit=%d memory=%s cpus=%s" % (name, LIMITS["pids_limit"], LIMITS["memory"],
                                                                    LIMITS["cpus"])
                seconds, result = ansible_adhoc("linuxns.pidns.sandbox", args)
                assert result["sandbox"]["cgroup"] is not None, result["sandbox"]
            ours_default.remove(name)
        else:
            folder = util_linux.root / ("e2e-%s" % i)
            if label == "util-linux":
                seconds, result = ansible_adhoc("ansible.builtin.command", util_linux_command(folder))
                remove_util_linux_e2e(folder, int(result["stdout"].strip()))
            elif label == "util-linux (userns)":
                seconds, result = ansible_adhoc("ansible.builtin.command", util_linux_command(folder, userns=True))
                remove_util_linux_e2e(folder, int(result["stdout"].strip()), ns_types=_hand_ns_types(True))
            else:
                name = "e2e-%s" % i
                seconds, result = ansible_adhoc("ansible.builtin.command",
                                                util_linux_command(folder, util_linux_cg.cgroup_dirs(name)))
                remove_util_linux_e2e(folder, int(result["stdout"].strip()), util_linux_cg, name)
        return seconds

    for label in labels:
        one(label, "warm-%d" % labels.index(label))
    for i in range(runs):
        order = labels[i % len(labels):] + labels[:i % len(labels)]
        for label in order:
            times[label].append(one(label, "%d-%d" % (i, labels.index(label))))
    for label, values in times.items():
        log("part 3: %-20s mean %.3f s, median %.3f s over %d runs"
            % (label, statistics.mean(values), statistics.median(values), len(values)))
    return times


# ---------------------------------------------------------------- report

def machine():
    from ansible.release import __version__ as ansible_version
    return {
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "ansible-core": ansible_version,
        "util-linux": run("unshare", "--version").stdout.strip().split()[-1],
        "catatonit": (run("catatonit", "--version", check=False).stdout.strip()
                      if shutil.which("catatonit") else "not installed"),
    }


P1_LABELS = ("ours", "ours (cgroup)", "util-linux", "util-linux (cgroup)")
P3_LABELS = ("ours", "util-linux", "ours (cgroup)", "util-linux (cgroup)")


def report(info, part1, part2, part3):
    out = []
    out.append("machine: " + ", ".join("%s %s" % item for item in info.items()))
    out.append("cgroups: " + ", ".join("%s %s" % item for item in sorted(part1["cgroups"].items())))
    out.append("")
    out.append("1. create / remove %s sandboxes (pid+mnt+uts+ipc, /proc remounted, 4 nsfs handles), ms per sandbox"
               % part1["ours"]["n"])
    out.append("   (cgroup): in every hierarchy above, limits pids %(pids_limit)s, memory %(memory)s, cpus %(cpus)s"
               % LIMITS)
    out.append("   %-18s %8s %8s %8s %8s %8s %8s" % ("", "ours", "ours+cg", "u-l", "u-l+cg", "ours/u-l",
                                                     "+cg/+cg"))
    for key, label in (("create_ms", "create (mean)"), ("create_median_ms", "create (median)"),
                       ("remove_ms", "remove (mean)"), ("remove_median_ms", "remove (median)")):
        a, b, c, d = (part1[label_][key] for label_ in P1_LABELS)
        out.append("   %-18s %8.1f %8.1f %8.1f %8.1f %7.2fx %7.2fx" % (label, a, b, c, d, a / c, b / d))
    added = part1["ours (cgroup)"]["create_median_ms"] - part1["ours"]["create_median_ms"]
    added_mean = part1["ours (cgroup)"]["create_ms"] - part1["ours"]["create_ms"]
    by_hand = part1["util-linux (cgroup)"]["create_median_ms"] - part1["util-linux"]["create_median_ms"]
    out.append("   the cgroup adds to a create: ours %+.1f ms (median; mean %+.1f ms), by hand %+.1f ms (median)"
               % (added, added_mean, by_hand))
    steps = part1["cgroup steps"]
    out.append("   the library's cgroup steps alone (exists, mkdir x3 per hierarchy, place, limits / kill, rmdir),"
               " %d times:" % steps["n"])
    out.append("   create %.2f ms (median %.2f), remove %.2f ms (median %.2f)"
               % (steps["create_ms"], steps["create_median_ms"], steps["remove_ms"], steps["remove_median_ms"]))
    out.append("   goal <= 2 ms added per create in process: %s by the whole creates (%+.1f ms), %s by the steps"
               " alone (%.2f ms)" % ("met" if added <= 2.0 else "NOT met", added,
                                     "met" if steps["create_median_ms"] <= 2.0 else "NOT met",
                                     steps["create_median_ms"]))
    out.append("")
    out.append("2. idle PID 1 memory (KiB; 1 MiB = 1024 KiB) and CPU while idle %.0f s" % part2["idle_seconds"])
    out.append("   %-30s %7s %8s %8s %7s %9s" % ("", "VmRSS", "RssAnon", "RssFile", "Pss", "CPU ticks"))
    for label, values in part2["rows"].items():
        if values is None:
            out.append("   %-30s %s" % (label, "n/a (catatonit not installed: apt-get install -y catatonit)"))
            continue
        out.append("   %-30s %7d %8d %8d %7d %9d" % (label, values["VmRSS"], values["RssAnon"], values["RssFile"],
                                                     values["Pss"], values["cpu_ticks_idle"]))
    idle = part2["rows"]["supervisor (idle)"]
    out.append("   goal VmRSS <= 8 MiB (8192 KiB): %s; idle CPU %s"
               % ("met (%d KiB)" % idle["VmRSS"] if idle["VmRSS"] <= 8192 else "NOT met (%d KiB)" % idle["VmRSS"],
                  "0 (no ticks)" if idle["cpu_ticks_idle"] == 0 else "%d ticks" % idle["cpu_ticks_idle"]))
    out.append("")
    runs = len(part3["ours"])
    out.append("3. end to end, `ansible localhost -c local`, %d interleaved runs each, seconds" % runs)
    out.append("   %-8s %8s %8s %8s %8s %8s %8s" % ("", "ours", "ours+cg", "u-l", "u-l+cg", "ours/u-l",
                                                    "+cg/+cg"))
    for label, function in (("mean", statistics.mean), ("median", statistics.median), ("min", min)):
        a, b, c, d = (function(part3[label_]) for label_ in ("ours", "ours (cgroup)", "util-linux",
                                                             "util-linux (cgroup)"))
        out.append("   %-8s %8.3f %8.3f %8.3f %8.3f %7.2fx %7.2fx" % (label, a, b, c, d, a / c, b / d))
    ratio = statistics.median(part3["ours (cgroup)"]) / statistics.median(part3["util-linux (cgroup)"])
    plain = statistics.median(part3["ours"]) / statistics.median(part3["util-linux"])
    out.append("   goal median ratio <= 1.15 with a cgroup: %s (%.2fx); without: %s (%.2fx)"
               % ("met" if ratio <= 1.15 else "NOT met", ratio, "met" if plain <= 1.15 else "NOT met", plain))
    if "ours (userns)" in part3:
        ours_s, hand_s = statistics.median(part3["ours (userns)"]), statistics.median(part3["util-linux (userns)"])
        out.append("   userns: auto, median %.3f s against %.3f s by hand (unshare --user --map-users ...): %.2fx "
                   "(goal <= 1.15: %s)" % (ours_s, hand_s, ours_s / hand_s, "met" if ours_s / hand_s <= 1.15 else "NOT met"))
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=50, help="sandboxes created/removed per variant (50)")
    parser.add_argument("--e2e-runs", type=int, default=10, help="ansible runs per side (10)")
    parser.add_argument("--idle-seconds", type=float, default=2.0, help="idle window for the CPU check (2)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: sandboxes need CAP_SYS_ADMIN")
    missing = [tool for tool in ("unshare", "mount", "umount", "nsenter", "setsid") if not shutil.which(tool)]
    if missing:
        sys.exit("missing util-linux tools: %s" % ", ".join(missing))
    # SIGTERM/SIGHUP end the run through the finally blocks, like Ctrl-C.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda signum, _frame: sys.exit(128 + signum))

    started = time.monotonic()
    cgroups = cgroup_mounts()
    if not cgroups:
        sys.exit("no cgroup hierarchy found: nothing to compare")
    ours = Ours(BENCH_STATE_DIR)
    ours_plain = Ours(BENCH_STATE_DIR, cgroup=False)
    ours_default = Ours()
    util_linux = UtilLinux(UL_DIR)
    util_linux_cg = UtilLinux(UL_DIR, cgroups)
    sitecustomize_dir = Path("/tmp/%s-no-cgroup" % TAG)
    try:
        info = machine()
        sitecustomize_dir.mkdir(mode=0o700)
        (sitecustomize_dir / "sitecustomize.py").write_text(NO_CGROUP_SITECUSTOMIZE)
        util_linux.setup()
        util_linux_cg.setup()
        part1 = bench_create_remove({"ours": ours_plain, "ours (cgroup)": ours, "util-linux": util_linux,
                                     "util-linux (cgroup)": util_linux_cg}, args.count)
        part1["cgroups"] = cgroups
        part1["cgroup steps"] = bench_cgroup_steps(args.count)
        part2 = {"idle_seconds": args.idle_seconds, "rows": bench_memory(ours, args.idle_seconds)}
        with subids_for_root():
            part3 = bench_end_to_end(ours_default, util_linux, util_linux_cg, args.e2e_runs, sitecustomize_dir)
    finally:
        ours.cleanup()
        ours_plain.cleanup()
        ours_default.cleanup()
        util_linux_cg.cleanup()
        util_linux.cleanup()
        shutil.rmtree(sitecustomize_dir, ignore_errors=True)
    print(report(info, part1, part2, part3))
    print("\n(total %.0f s)" % (time.monotonic() - started))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": info, "create_remove": part1, "memory": part2, "end_to_end": part3},
                      handle, indent=2)


if __name__ == "__main__":
    main()
