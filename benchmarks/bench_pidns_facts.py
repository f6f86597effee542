#!/usr/bin/env python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark pidns_facts against util-linux lsns and ansible.builtin.setup, side by side in one run.

Builds N PID namespaces with K processes each (util-linux `unshare`, PID 1 a shell waiting for K-1
`sleep`s), then measures, interleaved and repeated (medians):

  scan      the facts scan as a whole Python process (interpreter start, import, scan, JSON out)
            vs `lsns -t pid -J`; goal ratio <= 0.8.  Peak RSS of both (GNU time).
  ansible   `ansible localhost -m linuxns.pidns.pidns_facts` vs `-m ansible.builtin.setup`
            (goal <= 0.6) and vs `-m ansible.builtin.command -a 'lsns -t pid -J'` (goal <= 1.1),
            with `-m ansible.builtin.ping` as the floor every module pays.

Needs root. Everything it starts is in one process group it creates and is killed and reaped at the
end (the script is a child subreaper, so namespace inits orphaned by the kill are reaped here too).

    sudo .venv/bin/python benchmarks/bench_pidns_facts.py              # N=200/K=6 and N=1000/K=10
    sudo .venv/bin/python benchmarks/bench_pidns_facts.py --sizes 50x4 --repeat 3
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from ansible_cli import COLLECTIONS, ansible_env  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36

# The "whole Python process" side: start, import the module_utils, scan, write JSON
# (pidns_scan_json.main(): scan() with the module's defaults, json.dumps-identical output).
SCAN_CODE = (
    "import sys; sys.path[:0] = [%r, %r]\n"
    "from pidns_scan_json import main\n"
    "main()\n" % (str(COLLECTIONS), str(REPO / "benchmarks"))
)


def ensure_collection_link():
    link = COLLECTIONS / "ansible_collections" / "linuxns" / "pidns"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)


def run_measured(argv, env=None):
    """Run argv with output to /dev/null; return (seconds, CPU seconds, exit status).

    CPU seconds are user + system time of the child and of every descendant it waited for
    (ansible's workers and module processes): less sensitive than wall time to other load."""
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        start = time.perf_counter()
        pid = os.posix_spawnp(argv[0], argv, env if env is not None else os.environ,
                              file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
                                            (os.POSIX_SPAWN_DUP2, devnull, 2)])
        _pid, status, usage = os.wait4(pid, 0)
        elapsed = time.perf_counter() - start
    finally:
        os.close(devnull)
    return elapsed, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


class Namespaces:
    """N PID namespaces with K processes each, all in one process group made here."""

    def __init__(self, count, per_ns):
        self.count, self.per_ns = count, per_ns
        self.procs = []
        self.pgid = None

    def __enter__(self):
        script = "i=1; while [ $i -lt %d ]; do sleep infinity & i=$((i+1)); done; wait" % self.per_ns
        try:
            for _index in range(self.count):
                proc = subprocess.Popen(
                    ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "sh", "-c", script],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    process_group=0 if self.pgid is None else self.pgid)
                if self.pgid is None:
                    self.pgid = proc.pid
                self.procs.append(proc)
            self.wait_until_built()
        except BaseException:
            self.__exit__()
            raise
        return self

    def wait_until_built(self, timeout=300):
        want = self.count * self.per_ns
        deadline = time.monotonic() + timeout
        while True:
            have = self.members()
            if have >= want:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("only %d of %d processes came up" % (have, want))
            time.sleep(0.2)

    def members(self):
        """Processes of our group that are inside a namespace (not the host-side unshare)."""
        n = 0
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name) as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                if int(fields[2]) != self.pgid:
                    continue
                with open("/proc/%s/status" % name) as handle:
                    if len([line for line in handle if line.startswith("NSpid:")][0].split()) > 2:
                        n += 1
            except (OSError, IndexError):
                continue
        return n

    def __exit__(self, *exc):
        if self.pgid is not None:
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for proc in self.procs:
            proc.wait()
        # Namespace inits orphaned by the kill were reparented to this subreaper: reap them.
        while True:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                break
            except OSError as exc:
                if exc.errno != errno.EINTR:
                    raise
        return False


def lsns_count():
    out = subprocess.run(["lsns", "-t", "pid", "-J", "-o", "NS,NPROCS"], capture_output=True, text=True,
                         check=True).stdout
    rows = json.loads(out)["namespaces"]
    return len(rows), sum(int(row["nprocs"]) for row in rows)


def peak_rss(argv, env=None):
    """Peak RSS in KiB of one run, measured by GNU time (its own fork, so the figure is not polluted
    by this Python process, as wait4's ru_maxrss of a posix_spawn child would be); None without it."""
    if not os.path.exists("/usr/bin/time"):
        return None
    out = "/tmp/bench_pidns_facts.%d.rss" % os.getpid()
    try:
        _elapsed, _cpu, code = run_measured(["/usr/bin/time", "-f", "%M", "-o", out] + argv, env)
        with open(out) as handle:
            return int(handle.read().split()[-1]) if code == 0 else None
    finally:
        if os.path.exists(out):
            os.unlink(out)


def median_runs(commands, repeat, env=None, rss=True):
    """commands: {label: argv}; run them interleaved `repeat` times (after one warm-up round);
    {label: (median seconds, peak RSS KiB or None, median CPU seconds)}."""
    times = dict((label, []) for label in commands)
    cpu = dict((label, []) for label in commands)
    for round_ in range(repeat + 1):
        for label, argv in commands.items():
            elapsed, cpu_seconds, code = run_measured(argv, env)
            if code != 0:
                raise RuntimeError("%s exited with %d" % (" ".join(argv), code))
            if round_:
                times[label].append(elapsed)
                cpu[label].append(cpu_seconds)
    return dict((label, (statistics.median(values), peak_rss(commands[label], env) if rss else None,
                         statistics.median(cpu[label])))
                for label, values in times.items())


def bench(count, per_ns, repeat, ansible_repeat, python):
    with Namespaces(count, per_ns):
        namespaces, processes = lsns_count()
        scan = median_runs({
            "scan (python -I -S)": [python, "-I", "-S", "-c", SCAN_CODE],
            "scan (python)": [python, "-c", SCAN_CODE],
            "lsns -t pid -J": ["lsns", "-t", "pid", "-J"],
        }, repeat)
        bindir = Path(python).parent
        env = ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal")
        adhoc = [str(bindir / "ansible"), "localhost", "-c", "local", "-i", "localhost,"]
        lsns_args = ["-m", "ansible.builtin.command", "-a", "lsns -t pid -J"]
        e2e = median_runs({
            "ansible -m linuxns.pidns.pidns_facts": adhoc + ["-m", "linuxns.pidns.pidns_facts"],
            "ansible -m ansible.builtin.setup": adhoc + ["-m", "ansible.builtin.setup"],
            "ansible -m command -a 'lsns -t pid -J'": adhoc + lsns_args,
            "ansible -m ansible.builtin.ping (floor)": adhoc + ["-m", "ansible.builtin.ping"],
        }, ansible_repeat, env, rss=False)
    return {"n": count, "k": per_ns, "namespaces": namespaces, "processes": processes, "scan": scan, "e2e": e2e}


def _mib(kib):
    return "-" if kib is None else "%.1f MiB" % (kib / 1024.0)


def report(result):
    scan, e2e = result["scan"], result["e2e"]
    lsns = scan["lsns -t pid -J"][0]
    facts = e2e["ansible -m linuxns.pidns.pidns_facts"][0]
    lines = [
        "### N=%d namespaces x K=%d processes (lsns sees %d PID namespaces, %d processes)"
        % (result["n"], result["k"], result["namespaces"], result["processes"]),
        "",
        "| measurement | median | peak RSS | ratio | CPU (user+sys) | CPU ratio | goal |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    lsns_cpu = scan["lsns -t pid -J"][2]
    facts_cpu = e2e["ansible -m linuxns.pidns.pidns_facts"][2]
    for label, goal in (("scan (python -I -S)", "<= 0.8 vs lsns"), ("scan (python)", ""),
                        ("lsns -t pid -J", "")):
        seconds, maxrss, cpu = scan[label]
        lines.append("| %s | %.1f ms | %s | %.2f | %.1f ms | %.2f | %s |"
                     % (label, seconds * 1000, _mib(maxrss), seconds / lsns, cpu * 1000, cpu / lsns_cpu, goal))
    for label, goal in (("ansible -m linuxns.pidns.pidns_facts", ""),
                        ("ansible -m ansible.builtin.setup", "facts/setup <= 0.6"),
                        ("ansible -m command -a 'lsns -t pid -J'", "facts/command <= 1.1"),
                        ("ansible -m ansible.builtin.ping (floor)", "")):
        seconds, maxrss, cpu = e2e[label]
        lines.append("| %s | %.0f ms | %s | %.2f | %.0f ms | %.2f | %s |"
                     % (label, seconds * 1000, _mib(maxrss), facts / seconds, cpu * 1000, facts_cpu / cpu, goal))
    # What any module costs (ansible start, inventory, worker, AnsiballZ, the module's Python): the
    # goals are easier read as what each command adds to it.
    floor = e2e["ansible -m ansible.builtin.ping (floor)"][0]
    setup = e2e["ansible -m ansible.builtin.setup"][0]
    lines += ["", "Above `ansible -m ping` (%.0f ms): pidns_facts +%.0f ms, setup +%.0f ms, command lsns +%.0f ms; "
              "facts/setup <= 0.6 leaves pidns_facts %+.0f ms above ping."
              % (floor * 1000, (facts - floor) * 1000, (setup - floor) * 1000,
                 (e2e["ansible -m command -a 'lsns -t pid -J'"][0] - floor) * 1000, (0.6 * setup - floor) * 1000)]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["200x6", "1000x10"], help="NxK pairs")
    parser.add_argument("--repeat", type=int, default=9, help="runs per scan measurement (median)")
    parser.add_argument("--ansible-repeat", type=int, default=5, help="runs per ansible measurement (median)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the scan and ansible")
    parser.add_argument("--json", help="also write raw results to this file")
    args = parser.parse_args()
    if os.geteuid() != 0:
        parser.error("needs root: it creates PID namespaces")
    ensure_collection_link()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    results = []
    for size in args.sizes:
        count, per_ns = (int(part) for part in size.lower().split("x"))
        result = bench(count, per_ns, args.repeat, args.ansible_repeat, args.python)
        results.append(result)
        print(report(result) + "\n", flush=True)
    if len(results) > 1:
        first, last = results[0], results[-1]
        grow = (last["scan"]["scan (python -I -S)"][0] / first["scan"]["scan (python -I -S)"][0])
        print("Scan time grew %.2fx for %.2fx the processes (%d -> %d)."
              % (grow, last["processes"] / float(first["processes"]), first["processes"], last["processes"]))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
