#!/usr/bin/env python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: linuxns.pidns.sandbox_exec against util-linux `nsenter`, side by side.

Run as root from the repository root (about 30 s):

    .venv/bin/python benchmarks/bench_sandbox_exec.py [--count 50] [--e2e-runs 10] [--json FILE]

One sandbox (pid+mnt+uts+ipc, /proc remounted) is made with _sandbox.run in the default state
directory, named bench-exec-<pid>, and removed at the end (state=absent), also on failure or Ctrl-C.

1. in process: COUNT runs of `true` through the module code path
   (`_join.run({"sandbox": NAME, "argv": ["true"]})`: checks, mount table, fork, setns,
   fork, exec, output captured) against COUNT runs of
   `nsenter --pid=H --mount=H --uts=H --ipc=H -- true` on the same four handles (subprocess, output
   captured), interleaved call by call, the order alternating. Then the module path split into its
   steps, to show where the time goes.
2. end to end: `ansible localhost -c local -m linuxns.pidns.sandbox_exec -a 'sandbox=NAME argv=true'`
   against `ansible localhost -c local -m command -a 'nsenter --pid=H ... -- true'`, interleaved.

A benchmark, not a test: it prints figures and ratios and asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The sandbox benchmark's helpers: log, run, ansible_adhoc (real `ansible` with the raw_results
# callback), machine() (versions), timed, Ours (create/remove through _sandbox.run, cleanup).
from bench_sandbox import NS_TYPES, Ours, ansible_adhoc, log, machine, run, timed  # noqa: E402

from ansible_collections.linuxns.pidns.plugins.module_utils._exec import _join  # noqa: E402
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _statedir  # noqa: E402

NAME = "bench-exec-%d" % os.getpid()
NSENTER_OPTION = {"pid": "--pid", "mnt": "--mount", "uts": "--uts", "ipc": "--ipc"}


def nsenter_argv(handles, command=("true",)):
    return ["nsenter"] + ["%s=%s" % (NSENTER_OPTION[ns], handles[ns]) for ns in NS_TYPES] + ["--"] + list(command)


def exec_ours(name):
    result = _join.run({"sandbox": name, "argv": ["true"]})
    if result.get("failed") or result["rc"] != 0:
        raise RuntimeError("sandbox_exec failed: %s" % result)
    return result


def exec_nsenter(argv):
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("%s: rc %d: %s" % (" ".join(argv), proc.returncode, proc.stderr))
    return proc


def summary(values):
    return {"mean": statistics.mean(values), "median": statistics.median(values), "min": min(values),
            "max": max(values), "n": len(values)}


# ---------------------------------------------------------------- sanity: both really run inside

def check_inside(record, handles):
    """Both sides must put the command in the sandbox's PID namespace (a PID of its own there)."""
    pid_ns = record["namespaces"]["pid"]
    ours = _join.run({"sandbox": NAME, "argv": ["readlink", "/proc/self/ns/pid"]})
    theirs = run(*nsenter_argv(handles, ("readlink", "/proc/self/ns/pid")))
    wanted = "pid:[%d]" % pid_ns
    if ours["stdout"].strip() != wanted or theirs.stdout.strip() != wanted:
        raise RuntimeError("not inside the sandbox: ours %r, nsenter %r, wanted %r"
                           % (ours["stdout"], theirs.stdout, wanted))
    if not ours["ns_pid"] or ours["ns_pid"] <= 1:
        raise RuntimeError("sandbox_exec gave ns_pid %r" % ours["ns_pid"])


# ---------------------------------------------------------------- part 1

def bench_in_process(handles, count):
    argv = nsenter_argv(handles)
    for _i in range(3):  # warm-up: page cache, the nsenter binary, Python's lazy imports
        exec_ours(NAME)
        exec_nsenter(argv)
    times = {"ours": [], "nsenter": []}
    for i in range(count):
        order = ("ours", "nsenter") if i % 2 == 0 else ("nsenter", "ours")
        for label in order:
            if label == "ours":
                times[label].append(timed(exec_ours, NAME))
            else:
                times[label].append(timed(exec_nsenter, argv))
    for label, values in times.items():
        log("part 1: %-8s mean %.2f ms, median %.2f ms per call (%d calls)"
            % (label, 1000 * statistics.mean(values), 1000 * statistics.median(values), len(values)))
    return times


def bench_steps(count):
    """_join.run's steps, each timed on its own (same calls, same order as _join.run)."""
    steps = {key: [] for key in ("StateDir + check_privileges", "HostView (mountinfo, boot id)",
                                 "find_alive (state.json, stat, ns)", "run: open handles, fork x2, setns, exec",
                                 "whole _join.run")}
    keys = list(steps)
    for _i in range(count):
        t0 = time.perf_counter()
        state_dir = _statedir.StateDir()
        _statedir.require_root(state_dir.proc_root)
        t1 = time.perf_counter()
        view = _statedir.HostView(state_dir)
        t2 = time.perf_counter()
        record = _join.find_alive(view, NAME)
        t3 = time.perf_counter()
        outcome = _join.join_and_run(view, record, _join.JoinRequest(["true"]))
        t4 = time.perf_counter()
        if outcome.rc != 0:
            raise RuntimeError("run: rc %s, error %s" % (outcome.rc, outcome.error))
        for key, seconds in zip(keys, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            steps[key].append(seconds)
        steps[keys[-1]].append(timed(exec_ours, NAME))
    # A bare fork + exec of `true` from this process, and a fork that exits at once: the floor of
    # any fork-based path from a Python process of this size.
    steps["floor: os.fork() + _exit + waitpid"] = [timed(_fork_exit) for _i in range(count)]
    steps["floor: subprocess.run(['true'])"] = [timed(exec_nsenter, ["true"]) for _i in range(count)]
    return steps


def _fork_exit():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


# ---------------------------------------------------------------- part 2

def bench_end_to_end(handles, runs):
    command = " ".join(nsenter_argv(handles))
    sides = {
        "sandbox_exec": ("linuxns.pidns.sandbox_exec", "sandbox=%s argv=true" % NAME),
        "command nsenter": ("ansible.builtin.command", command),
    }
    for module, args in sides.values():  # warm-up
        ansible_adhoc(module, args)
    times = {label: [] for label in sides}
    for i in range(runs):
        order = list(sides) if i % 2 == 0 else list(reversed(list(sides)))
        for label in order:
            seconds, result = ansible_adhoc(*sides[label])
            if result.get("rc") != 0:
                raise RuntimeError("%s: %s" % (label, result))
            times[label].append(seconds)
    for label, values in times.items():
        log("part 2: %-16s mean %.3f s, median %.3f s over %d runs"
            % (label, statistics.mean(values), statistics.median(values), len(values)))
    return times, command


# ---------------------------------------------------------------- report

def report(info, count, part1, steps, part2, e2e_command):
    out = ["machine: " + ", ".join("%s %s" % item for item in info.items()), ""]
    ours, theirs = summary(part1["ours"]), summary(part1["nsenter"])
    out.append("1. `true` inside the sandbox, in process, %d calls each, interleaved; ms per call" % count)
    out.append("   %-10s %14s %14s %8s" % ("", "_join.run", "nsenter", "ratio"))
    for key in ("mean", "median", "min", "max"):
        out.append("   %-10s %14.2f %14.2f %7.2fx" % (key, 1000 * ours[key], 1000 * theirs[key], ours[key] / theirs[key]))
    out.append("")
    out.append("   where _join.run's time goes (each step timed alone, %d rounds), ms" % count)
    out.append("   %-44s %8s %8s" % ("", "mean", "median"))
    for label, values in steps.items():
        out.append("   %-44s %8.2f %8.2f" % (label, 1000 * statistics.mean(values), 1000 * statistics.median(values)))
    out.append("")
    ours, theirs = summary(part2["sandbox_exec"]), summary(part2["command nsenter"])
    out.append("2. end to end, `ansible localhost -c local`, %d interleaved runs each, seconds" % ours["n"])
    out.append("   %-10s %14s %16s %8s" % ("", "sandbox_exec", "command nsenter", "ratio"))
    for key in ("mean", "median", "min"):
        out.append("   %-10s %14.3f %16.3f %7.2fx" % (key, ours[key], theirs[key], ours[key] / theirs[key]))
    ratio = ours["median"] / theirs["median"]
    out.append("   goal median ratio <= 1.1: %s (%.2f)" % ("met" if ratio <= 1.1 else "NOT met", ratio))
    out.append("   command side: %s" % e2e_command)
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=50, help="in-process calls per side (50)")
    parser.add_argument("--e2e-runs", type=int, default=10, help="ansible runs per side (10)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: joining namespaces needs CAP_SYS_ADMIN")
    # SIGTERM/SIGHUP end the run through the finally block, like Ctrl-C.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda signum, _frame: sys.exit(128 + signum))

    started = time.monotonic()
    info = machine()
    info.pop("catatonit", None)
    info["nsenter"] = run("nsenter", "--version").stdout.strip().split()[-1]
    info["_load"] = os.getloadavg()[0]  # other work on the host skews every figure: shown with them
    ours = Ours()  # default state directory: the `ansible` runs of part 2 use it
    try:
        record = ours.create(NAME)["sandbox"]
        handles = record["handles"]
        log("sandbox %s: supervisor host PID %d, handles under %s"
            % (NAME, record["supervisor"]["pid"], os.path.dirname(handles["pid"])))
        check_inside(record, handles)
        part1 = bench_in_process(handles, args.count)
        steps = bench_steps(args.count)
        part2, e2e_command = bench_end_to_end(handles, args.e2e_runs)
    finally:
        ours.cleanup()
    info["loadavg (start, end)"] = "%.2f, %.2f" % (info.pop("_load"), os.getloadavg()[0])
    print(report(info, args.count, part1, steps, part2, e2e_command))
    print("\n(total %.0f s)" % (time.monotonic() - started))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": info, "sandbox": NAME, "in_process": part1, "steps": steps,
                       "end_to_end": part2, "end_to_end_command": e2e_command}, handle, indent=2)


if __name__ == "__main__":
    main()
