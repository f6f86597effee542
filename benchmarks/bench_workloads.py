#!/usr/bin/env python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the workloads of linuxns.pidns.sandbox (issue 20) against a shell loop and `catatonit -P`.

Run as root from the repository root, in the environment of scripts/env.sh (about 30 s):

    python benchmarks/bench_workloads.py [--samples 30] [--idle-seconds 5] [--settle-seconds 1] [--json FILE]

Sandboxes are made in this process through the sandbox module's code (make_sandbox of
tests/integration/sandboxes.py: _sandbox.run, the default state directory /run/linuxns-pidns), named
wlbench-<pid>-..., and removed by name (state=absent) at the end, also on failure or Ctrl-C.

1. restart latency: a workload `sh -c 'date +%s%N; exit 1'` with `restart: on-failure:1` fails, PID 1
   waits the policy's first back-off (100 ms) and starts it again: its log then holds two timestamps,
   and their gap is exit-to-restart time with the 100 ms delay and the start of sh + date. One sandbox
   throughout; each sample changes its workload list in place to one new workload (r0, r1, ...: the
   module writes the list and sends PID 1 SIGHUP; a new name starts at once). Floor: the same shape
   by hand, `sh -c 'for i in 1 2; do sh -c "date +%s%N; exit 1"; sleep 0.1; done'` with its output
   redirected to a file, run in the same sandbox detached (the sandbox_exec module's code, _join.run
   with detach: true: the same PID namespace, cgroup leaf _workloads and PID 1). For information, ours
   also in a second sandbox made without a cgroup (the library made to see no hierarchy, as
   bench_sandbox.py's NoCgroup): its restarts write no cgroup.procs. The three take turns, the order
   rotating every sample; each waits for the one before to end (ours: PID 1 reports it exited after
   its one restart; floor: the loop's shell is gone). Goal: median of ours <= median of the floor + 5 ms.
2. memory and idle CPU of PID 1: VmRSS, RssAnon, RssFile (/proc/PID/status) and Pss (smaps_rollup) of
   the supervisor of a sandbox without workloads, of one made with 10 workloads (`sleep 3600` each),
   and of one made without any and then given the same 10 in place; beside `catatonit -P` as PID 1 of
   a PID namespace of its own (`unshare --fork --pid --kill-child`, as bench_sandbox.py part 2), the
   floor. All four run at once: after a settle time, CPU ticks (utime + stime, /proc/PID/stat) of each
   over the same idle window, then the memory figures. Goals: with 10 workloads VmRSS <= 8 MiB
   (8192 KiB, both ways of giving them) and 0 CPU ticks while idle.

A benchmark, not a test: it prints figures and ratios and asserts nothing about timing.
Everything it creates is removed on the way out, also on failure or Ctrl-C: the sandboxes by name
(state=absent; as a last resort force_remove of tests/integration/sandboxes.py, by PID), catatonit's
unshare by PID, the benchmark's own folder under /tmp.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))

# The sandbox benchmark's helpers (it puts tests/ and .build/collections on sys.path): log, machine()
# (versions, catatonit's among them), the /proc readers, NoCgroup (the library sees no cgroup hierarchy).
from bench_sandbox import (NoCgroup, children, comm, cpu_ticks, log, machine, pss_kb,  # noqa: E402
                           start_time, status_kb)

# tests/integration/sandboxes.py: sandboxes through _sandbox.run in this process, the default state
# directory, and the last-resort cleanup by name.
from sandboxes import STATE_DIR, force_remove, make_sandbox  # noqa: E402

from ansible_collections.linuxns.pidns.plugins.module_utils._exec import _join  # noqa: E402
from ansible_collections.linuxns.pidns.plugins.module_utils._init import _workloads  # noqa: E402

TAG = "wlbench-%d" % os.getpid()
WORK_DIR = Path("/tmp/%s" % TAG)
OURS_ARGV = ["sh", "-c", "date +%s%N; exit 1"]
FLOOR_SCRIPT = 'for i in 1 2; do sh -c "date +%s%N; exit 1"; sleep 0.1; done'
WORKLOADS = 10
SLEEPERS = [{"name": "sleep%d" % i, "argv": ["sleep", "3600"]} for i in range(WORKLOADS)]
GOAL_ABOVE_FLOOR_MS = 5.0
GOAL_VMRSS_KIB = 8192
MEMORY_LABELS = ("supervisor, no workloads", "supervisor, %d workloads" % WORKLOADS,
                 "supervisor, %d workloads added in place" % WORKLOADS, "catatonit -P")


class Sandboxes:
    """The sandboxes of this run, by name: made and changed with make_sandbox, removed with state=absent.
    With cgroup False, the library sees no cgroup hierarchy while it makes, changes or removes it."""

    def __init__(self):
        self.cgroup = {}  # name -> whether it has a cgroup

    def make(self, name, cgroup=True, **options):
        self.cgroup.setdefault(name, cgroup)
        with contextlib.nullcontext() if self.cgroup[name] else NoCgroup():
            result = make_sandbox(name, **options)
        if result.get("failed"):
            raise RuntimeError("sandbox %s: %s" % (name, result.get("msg")))
        return result

    def remove(self, name):
        with contextlib.nullcontext() if self.cgroup[name] else NoCgroup():
            result = make_sandbox(name, state="absent")
        if result.get("failed"):
            log("cleanup: state=absent of %s failed (%s): force_remove" % (name, result.get("msg")))
            force_remove(name)
        del self.cgroup[name]

    def cleanup(self):
        for name in list(self.cgroup):
            try:
                self.remove(name)
            except Exception as exc:  # pylint: disable=broad-except
                log("cleanup of sandbox %s: %s" % (name, exc))


def wait(predicate, what, seconds=10.0, interval=0.01):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError("%s: not within %.0f s" % (what, seconds))
        time.sleep(interval)


def status_of(sandbox):
    """{workload: {"state", "pid", "restart_count", ...}} as PID 1 last wrote it (what sandbox_info reads)."""
    return _workloads.read_status(str(STATE_DIR / sandbox))


def gap_ms(text, where):
    stamps = [int(line) for line in text.split()]
    if len(stamps) != 2:
        raise RuntimeError("%s: expected two timestamps, got %r" % (where, text))
    return (stamps[1] - stamps[0]) / 1e6


# ---------------------------------------------------------------- part 1

def sample_ours(sandboxes, sandbox, index):
    """One new workload in place; the gap between its two runs' timestamps, ms."""
    workload = "r%s" % index
    sandboxes.make(sandbox, workloads=[{"name": workload, "argv": OURS_ARGV, "restart": "on-failure:1"}])
    time.sleep(0.1)

    def done():
        seen = status_of(sandbox).get(workload) or {}
        return seen.get("state") == "exited" and seen.get("restart_count") == 1

    wait(done, "workload %s exited after its one restart" % workload, interval=0.02)
    log_file = STATE_DIR / sandbox / "workloads" / ("%s.log" % workload)
    return gap_ms(log_file.read_text(), str(log_file))


def sample_floor(sandbox, index):
    """The shell loop, detached in the same sandbox; the gap between its timestamps, ms."""
    out = WORK_DIR / ("floor-%s" % index)
    result = _join.run({"sandbox": sandbox, "argv": ["sh", "-c", "exec >%s; %s" % (out, FLOOR_SCRIPT)],
                        "detach": True})
    if result.get("failed"):
        raise RuntimeError("floor: %s" % result.get("msg"))
    pid = result["pid"]
    started = start_time(pid)
    time.sleep(0.2)
    wait(lambda: started is None or start_time(pid) != started, "the floor's shell (host PID %d) ended" % pid,
         interval=0.02)
    return gap_ms(out.read_text(), str(out))


RESTART_LABELS = ("ours", "ours (no cgroup)", "floor")


def bench_restart(sandboxes, samples):
    """{"samples", "runs_ms": {label: [gap ms...]}, "how": {label: text}}; the labels' order rotating."""
    sandbox, plain = "%s-restart" % TAG, "%s-restart-nocg" % TAG
    sandboxes.make(sandbox)
    sandboxes.make(plain, cgroup=False)
    one = {"ours": lambda i: sample_ours(sandboxes, sandbox, i),
           "ours (no cgroup)": lambda i: sample_ours(sandboxes, plain, i),
           "floor": lambda i: sample_floor(sandbox, i)}
    # One untimed round of each first: page cache, the supervisor's first workload.
    for label in RESTART_LABELS:
        one[label]("warm%d" % RESTART_LABELS.index(label))
    runs = dict((label, []) for label in RESTART_LABELS)
    for i in range(samples):
        order = RESTART_LABELS[i % 3:] + RESTART_LABELS[:i % 3]
        for label in order:
            runs[label].append(round(one[label](i), 3))
        log("part 1: sample %2d: %s" % (i, ", ".join("%s %.1f ms" % (label, runs[label][-1]) for label in RESTART_LABELS)))
    sandboxes.remove(sandbox)
    sandboxes.remove(plain)
    ours = "workload `%s`, restart: on-failure:1, the list changed in place to a new name per sample" % shlex.join(OURS_ARGV)
    return {"samples": samples, "runs_ms": runs,
            "how": {"ours": ours, "ours (no cgroup)": ours + "; a sandbox without a cgroup (no cgroup.procs writes)",
                    "floor": "sh -c '%s', detached in the first sandbox (_join.run, detach: true)" % FLOOR_SCRIPT}}


# ---------------------------------------------------------------- part 2

def start_catatonit(catatonit):
    """`catatonit -P` as PID 1 of a PID namespace of its own; (Popen of unshare, host PID of catatonit)."""
    proc = subprocess.Popen(["unshare", "--fork", "--pid", "--kill-child", catatonit, "-P"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        pid = wait(lambda: next((kid for kid in children(proc.pid) if comm(kid) == "catatonit"), None),
                   "catatonit started", seconds=5)
    except BaseException:
        proc.kill()  # --kill-child: the namespace goes with unshare
        proc.wait()
        raise
    return proc, pid


def bench_memory(sandboxes, settle_seconds, idle_seconds):
    pids = {}
    names = ["%s-idle" % TAG, "%s-ten" % TAG, "%s-added" % TAG]
    pids[MEMORY_LABELS[0]] = sandboxes.make(names[0])["sandbox"]["supervisor"]["pid"]
    pids[MEMORY_LABELS[1]] = sandboxes.make(names[1], workloads=SLEEPERS)["sandbox"]["supervisor"]["pid"]
    pids[MEMORY_LABELS[2]] = sandboxes.make(names[2])["sandbox"]["supervisor"]["pid"]
    time.sleep(0.2)
    if sandboxes.make(names[2], workloads=SLEEPERS)["sandbox"]["supervisor"]["pid"] != pids[MEMORY_LABELS[2]]:
        raise RuntimeError("%s: the supervisor changed when its workloads did" % names[2])
    for name in names[1:]:
        wait(lambda name=name: sum(1 for seen in status_of(name).values() if seen.get("state") == "running") == WORKLOADS,
             "%s: %d workloads running" % (name, WORKLOADS), interval=0.05)
    catatonit = shutil.which("catatonit")
    proc = None
    try:
        if catatonit is None:
            log("part 2: catatonit is not installed (Debian: apt-get install -y catatonit): no floor row")
        else:
            proc, pids[MEMORY_LABELS[3]] = start_catatonit(catatonit)
        time.sleep(settle_seconds)
        # The same idle window for all of them.
        before = dict((label, cpu_ticks(pid)) for label, pid in pids.items())
        time.sleep(idle_seconds)
        rows = dict((label, None) for label in MEMORY_LABELS)
        for label, pid in pids.items():
            values = status_kb(pid)
            values["Pss"] = pss_kb(pid)
            values["cpu_ticks_idle"] = cpu_ticks(pid) - before[label]
            rows[label] = values
            log("part 2: %-42s %s" % (label, values))
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
    for name in names:
        sandboxes.remove(name)
    return {"settle_seconds": settle_seconds, "idle_seconds": idle_seconds, "workloads": WORKLOADS,
            "workload_argv": SLEEPERS[0]["argv"], "rows": rows}


# ---------------------------------------------------------------- report

def report(info, part1, part2):
    out = []
    out.append("machine: " + ", ".join("%s %s" % item for item in info.items()))
    out.append("")
    runs = part1["runs_ms"]
    out.append("1. restart latency: the gap between the two runs' timestamps (exit, the 100 ms back-off, sh + date), "
               "%d interleaved samples each, ms" % part1["samples"])
    for label in RESTART_LABELS:
        out.append("   %-18s %s" % (label + ":", part1["how"][label]))
    out.append("   %-8s %8s %9s %8s %13s %14s" % ("", "ours", "ours-nocg", "floor", "ours - floor", "nocg - floor"))
    for name, function in (("median", statistics.median), ("mean", statistics.mean), ("min", min), ("max", max)):
        a, b, c = (function(runs[label]) for label in RESTART_LABELS)
        out.append("   %-8s %8.1f %9.1f %8.1f %+13.1f %+14.1f" % (name, a, b, c, a - c, b - c))
    above = statistics.median(runs["ours"]) - statistics.median(runs["floor"])
    pairs = statistics.median(a - c for a, c in zip(runs["ours"], runs["floor"]))
    out.append("   median of the samples' differences ours - floor %+.1f ms" % pairs)
    out.append("   goal ours <= floor + %.0f ms (medians): %s (%+.1f ms)"
               % (GOAL_ABOVE_FLOOR_MS, "met" if above <= GOAL_ABOVE_FLOOR_MS else "NOT met", above))
    out.append("")
    rows = part2["rows"]
    out.append("2. PID 1 memory (KiB; 1 MiB = 1024 KiB) after %.0f s settling, CPU ticks over the same idle %.0f s "
               "(workloads: %s each)" % (part2["settle_seconds"], part2["idle_seconds"], " ".join(part2["workload_argv"])))
    out.append("   %-42s %7s %8s %8s %7s %9s" % ("", "VmRSS", "RssAnon", "RssFile", "Pss", "CPU ticks"))
    for label in MEMORY_LABELS:
        values = rows.get(label)
        if values is None:
            out.append("   %-42s %s" % (label, "n/a (catatonit not installed: apt-get install -y catatonit)"))
            continue
        out.append("   %-42s %7d %8d %8d %7d %9d" % (label, values["VmRSS"], values["RssAnon"], values["RssFile"],
                                                     values["Pss"], values["cpu_ticks_idle"]))
    with_workloads = [rows[label] for label in MEMORY_LABELS[1:3]]
    largest = max(values["VmRSS"] for values in with_workloads)
    ticks = sum(values["cpu_ticks_idle"] for values in with_workloads)
    out.append("   goal with %d workloads VmRSS <= 8 MiB (%d KiB): %s (largest %d KiB); idle CPU 0 ticks: %s"
               % (WORKLOADS, GOAL_VMRSS_KIB, "met" if largest <= GOAL_VMRSS_KIB else "NOT met", largest,
                  "met" if ticks == 0 else "NOT met (%d ticks)" % ticks))
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--samples", type=int, default=30, help="restart samples per side (30)")
    parser.add_argument("--idle-seconds", type=float, default=5.0, help="idle window for the CPU check (5)")
    parser.add_argument("--settle-seconds", type=float, default=1.0, help="wait before the memory figures (1)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.samples < 1 or args.idle_seconds <= 0 or args.settle_seconds < 0:
        parser.error("--samples takes 1 or more, --idle-seconds more than 0, --settle-seconds 0 or more")
    if os.geteuid() != 0:
        sys.exit("run as root: sandboxes need CAP_SYS_ADMIN")
    missing = [tool for tool in ("unshare", "sh", "date", "sleep") if not shutil.which(tool)]
    if missing:
        sys.exit("missing tools: %s" % ", ".join(missing))
    # SIGTERM/SIGHUP end the run through the finally blocks, like Ctrl-C.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda signum, _frame: sys.exit(128 + signum))

    started = time.monotonic()
    sandboxes = Sandboxes()
    try:
        info = machine()
        info["loadavg_start"] = "%.2f" % os.getloadavg()[0]
        WORK_DIR.mkdir(mode=0o700)
        part1 = bench_restart(sandboxes, args.samples)
        part2 = bench_memory(sandboxes, args.settle_seconds, args.idle_seconds)
        info["loadavg_end"] = "%.2f" % os.getloadavg()[0]
    finally:
        sandboxes.cleanup()
        shutil.rmtree(WORK_DIR, ignore_errors=True)
    print(report(info, part1, part2))
    print("\n(total %.0f s)" % (time.monotonic() - started))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": info, "restart": part1, "memory": part2}, handle, indent=2)


if __name__ == "__main__":
    main()
