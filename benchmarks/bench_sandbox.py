#!/usr/bin/env python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: linuxns.pidns.sandbox against util-linux `unshare` + `mount --bind`, side by side.

Run as root from the repository root (about 1.5 minutes):

    .venv/bin/python benchmarks/bench_sandbox.py [--count 50] [--e2e-runs 10]

1. create/remove COUNT sandboxes through the module code path (_sandbox.run) and the same
   with util-linux: `unshare --fork --pid --mount-proc --uts --ipc sleep infinity` started
   detached, its pid/mnt/uts/ipc namespaces pinned with `mount --bind /proc/PID/ns/TYPE FILE`
   under a private bind-mounted tmp dir; removal = kill + umount + rm.
2. memory of one idle supervisor (VmRSS, smaps_rollup Pss) beside `catatonit -P` (the floor) and
   a bare `python -I -S` interpreter; CPU used while idle (utime+stime over a few seconds).
3. end to end: `ansible localhost -m linuxns.pidns.sandbox -a name=X` against an
   `ansible localhost -m command` task doing the util-linux equivalent, interleaved.

A benchmark, not a test: it prints figures and ratios and asserts nothing about timing.
Everything it creates is removed on the way out, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
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
from ansible_collections.linuxns.pidns.plugins.module_utils import _sandbox, _statedir  # noqa: E402

NS_TYPES = ("pid", "mnt", "uts", "ipc")
UNSHARE = ["unshare", "--fork", "--pid", "--mount-proc", "--uts", "--ipc", "sleep", "infinity"]
TAG = "bench-%d" % os.getpid()
# Part 1 and 2 use their own state directory so that they do not show up in (or race with)
# whatever else uses the default one; part 3 goes through `ansible`, hence the default one.
BENCH_STATE_DIR = "/run/linuxns-pidns-%s" % TAG
UL_DIR = Path("/tmp/%s-util-linux" % TAG)


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
    """Sandboxes made of `unshare ... sleep infinity` plus `mount --bind` handles."""

    def __init__(self, root):
        self.root = Path(root)
        self.started = {}  # name -> (Popen of unshare, host PID of sleep, its start time)

    def setup(self):
        self.root.mkdir(mode=0o700)
        # A mount-namespace handle cannot be bound onto a shared mount (EINVAL).
        run("mount", "--bind", str(self.root), str(self.root))
        run("mount", "--make-private", str(self.root))

    def create(self, name):
        folder = self.root / name
        folder.mkdir(mode=0o700)
        proc = subprocess.Popen(UNSHARE, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
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

    def cleanup(self):
        for name in list(self.started):
            try:
                self.remove(name)
            except Exception as exc:  # pylint: disable=broad-except
                log("cleanup of %s: %s" % (name, exc))
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


# ---------------------------------------------------------------- ours

class Ours:
    def __init__(self, state_dir=None):
        self.state_dir = state_dir
        self.names = set()

    def apply(self, name, state):
        params = {"name": name, "state": state, "namespaces": list(NS_TYPES), "mount_proc": True,
                  "stop_timeout": 10}
        return _sandbox.run(params, state_dir=_statedir.StateDir(self.state_dir) if self.state_dir else None)

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


def bench_create_remove(ours, util_linux, count):
    results = {}
    for label, impl in (("ours", ours), ("util-linux", util_linux)):
        # One untimed round first: page cache, the supervisor file, the state directory.
        warm = "%s-warm-%s" % (TAG, label[0])
        impl.create(warm)
        impl.remove(warm)
        names = ["%s-%d" % (TAG, i) for i in range(count)]
        create = [timed(impl.create, name) for name in names]
        remove = [timed(impl.remove, name) for name in names]
        results[label] = {"create_ms": 1000 * statistics.mean(create),
                          "create_median_ms": 1000 * statistics.median(create),
                          "remove_ms": 1000 * statistics.mean(remove),
                          "remove_median_ms": 1000 * statistics.median(remove)}
        log("part 1: %-10s create %.1f ms, remove %.1f ms per sandbox (mean of %d)"
            % (label, results[label]["create_ms"], results[label]["remove_ms"], count))
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

def ansible_adhoc(module, args):
    cmd = [str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-i", "localhost,",
           "-m", module, "-a", args]
    env = ansible_env(ANSIBLE_STDOUT_CALLBACK="raw_results", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                      ANSIBLE_CALLBACK_PLUGINS=str(REPO / "tests" / "callback_plugins"))
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
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


def util_linux_command(folder):
    """One command line doing what the sandbox module does, the util-linux way."""
    script = (
        "set -e; d=%s; mkdir -m 700 $d; cd $d; touch pid mnt uts ipc; "
        "setsid %s </dev/null >/dev/null 2>&1 & p=$!; "
        "n=0; until set -- $(cat /proc/$p/task/$p/children 2>/dev/null) && [ $# -gt 0 ] "
        "&& [ \"$(cat /proc/$1/comm 2>/dev/null)\" = sleep ]; do "
        "n=$((n+1)); [ $n -lt 1000 ] || { kill -9 $p; exit 1; }; sleep 0.005; done; c=$1; "
        "for t in pid mnt uts ipc; do mount --bind /proc/$c/ns/$t $t; done; echo $c"
    ) % (folder, " ".join(UNSHARE))
    return "sh -c '%s'" % script


def remove_util_linux_e2e(folder, init):
    if comm(init) == "sleep":
        os.kill(init, signal.SIGKILL)
    run("umount", *[str(Path(folder) / ns_type) for ns_type in NS_TYPES])
    shutil.rmtree(folder)


def bench_end_to_end(ours_default, util_linux, runs):
    times = {"ours": [], "util-linux": []}

    def one(label, i):
        if label == "ours":
            name = "%s-e2e-%s" % (TAG, i)
            ours_default.names.add(name)
            seconds, _result = ansible_adhoc("linuxns.pidns.sandbox", "name=%s" % name)
            ours_default.remove(name)
        else:
            folder = util_linux.root / ("e2e-%s" % i)
            seconds, result = ansible_adhoc("ansible.builtin.command", util_linux_command(folder))
            remove_util_linux_e2e(folder, int(result["stdout"].strip()))
        return seconds

    one("ours", "warm")
    one("util-linux", "warm")
    for i in range(runs):
        order = ("ours", "util-linux") if i % 2 == 0 else ("util-linux", "ours")
        for label in order:
            times[label].append(one(label, i))
    for label, values in times.items():
        log("part 3: %-10s mean %.3f s, median %.3f s over %d runs"
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


def report(info, part1, part2, part3):
    out = []
    out.append("machine: " + ", ".join("%s %s" % item for item in info.items()))
    out.append("")
    out.append("1. create / remove %s sandboxes (pid+mnt+uts+ipc, /proc remounted, 4 nsfs handles), ms per sandbox"
               % part1["count"])
    out.append("   %-26s %10s %10s %10s" % ("", "ours", "util-linux", "ratio"))
    for key, label in (("create_ms", "create (mean)"), ("create_median_ms", "create (median)"),
                       ("remove_ms", "remove (mean)"), ("remove_median_ms", "remove (median)")):
        a, b = part1["ours"][key], part1["util-linux"][key]
        out.append("   %-26s %10.1f %10.1f %9.2fx" % (label, a, b, a / b))
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
    ours, theirs = part3["ours"], part3["util-linux"]
    out.append("3. end to end, `ansible localhost -c local`, %d interleaved runs each, seconds" % len(ours))
    out.append("   %-26s %10s %10s %10s" % ("", "sandbox", "command", "ratio"))
    for label, function in (("mean", statistics.mean), ("median", statistics.median), ("min", min)):
        a, b = function(ours), function(theirs)
        out.append("   %-26s %10.3f %10.3f %9.2fx" % (label, a, b, a / b))
    ratio = statistics.median(ours) / statistics.median(theirs)
    out.append("   goal median ratio <= 1.15: %s" % ("met" if ratio <= 1.15 else "NOT met"))
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=50, help="sandboxes created/removed per tool (50)")
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
    ours = Ours(BENCH_STATE_DIR)
    ours_default = Ours()
    util_linux = UtilLinux(UL_DIR)
    try:
        info = machine()
        util_linux.setup()
        part1 = bench_create_remove(ours, util_linux, args.count)
        part1["count"] = args.count
        part2 = {"idle_seconds": args.idle_seconds, "rows": bench_memory(ours, args.idle_seconds)}
        part3 = bench_end_to_end(ours_default, util_linux, args.e2e_runs)
    finally:
        ours.cleanup()
        ours_default.cleanup()
        util_linux.cleanup()
    print(report(info, part1, part2, part3))
    print("\n(total %.0f s)" % (time.monotonic() - started))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": info, "create_remove": part1, "memory": part2, "end_to_end": part3},
                      handle, indent=2)


if __name__ == "__main__":
    main()
