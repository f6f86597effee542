#!/usr/bin/env python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark the playbooks over real SSH on fleets of test hosts (tests/integration/fleet.py).

For each fleet size N (--sizes), starts N SSH test hosts on this machine (each a linuxns.pidns
sandbox with its own sshd on 127.0.0.1), then measures in one run, each round:

  ping       `ansible all -m ansible.builtin.ping -b` (the same become as provision.yml)
  report     `ansible-playbook playbooks/report.yml` vs `ansible all -m ansible.builtin.setup`
             (no become, as a user would run it); goal ratio <= 0.8
  provision  `playbooks/provision.yml` with S sandboxes per host, none existing before (first run)
  rerun      the same provision.yml again, nothing to change; paired with a ping round right before
             or after it (order alternates); goal: rerun <= 1.3 x ping
  teardown   `playbooks/teardown.yml` of the same list

With --old-ref, the same provision / rerun / teardown also runs with the collection at that commit
(a git worktree, its own ANSIBLE_COLLECTIONS_PATH; its role reads `pidns_sandboxes`) against the
same fleet, interleaved with the new code round by round (order alternates), at the goal size only.
Goal: first provision <= 0.6 x the old code's (and x the figure recorded in docs/benchmarks.md).

Every side uses the same inventory, forks (one per host unless --forks), pipelining setting and ssh
ControlPersist (masters warmed by one untimed ping). The PLAY RECAP is checked: the first provision
and the teardown change every host, the rerun changes none; sandbox_info counts the sandboxes once
per size and side. Needs root. Everything is removed at the end (hosts by name, the worktree).

    .venv/bin/python benchmarks/bench_fleet.py                          # 8 hosts, 3 rounds, 10 sandboxes/host
    .venv/bin/python benchmarks/bench_fleet.py --sizes 8,16,32 --old-ref f043a7a --json out.json
    .venv/bin/python benchmarks/bench_fleet.py --sizes 4 --repeat 2 --no-pipelining
    .venv/bin/python benchmarks/bench_fleet.py --report-only --profile  # report vs setup, per-task seconds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests"))

from fleet import start_fleet  # noqa: E402

RECORDED_FIRST = 18.35  # docs/benchmarks.md, fleet: provision.yml 10 x 8 hosts before this round
RECAP = re.compile(r"^(\S+)\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
# The default callback without ok and skipped results: the recap is there to check, little else.
QUIET = {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default", "ANSIBLE_DISPLAY_OK_HOSTS": "False",
         "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "False"}
OPS = ["ping", "report", "setup", "provision", "rerun", "teardown"]
LABELS = {"ping": "ping -b", "report": "report.yml", "setup": "setup", "provision": "provision (first)",
          "rerun": "provision rerun", "teardown": "teardown"}


def fail(proc, what: str):
    raise SystemExit("%s failed (rc=%d):\n%s\n%s" % (what, proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))


def timed(func, what: str = "run", hosts: list | None = None, changed: str | None = None) -> float:
    """Seconds of one run. changed: 'all' (every host changed), 'none' (no host), or None (no check)."""
    start = time.perf_counter()
    proc = func()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        fail(proc, what)
    if changed:
        recap = {host: (int(ch), int(un), int(fa)) for host, ch, un, fa in RECAP.findall(proc.stdout)}
        if sorted(recap) != sorted(hosts):
            fail(proc, "%s: recap lists %d of %d hosts" % (what, len(recap), len(hosts)))
        wrong = [host for host, (ch, un, fa) in recap.items()
                 if un or fa or (changed == "all" and not ch) or (changed == "none" and ch)]
        if wrong:
            fail(proc, "%s: expected %s hosts changed, not so on %s" % (what, changed, ", ".join(sorted(wrong))))
    return elapsed


def summary(values: list) -> dict:
    return {"median": statistics.median(values), "mean": statistics.fmean(values), "min": min(values),
            "max": max(values), "runs": [round(v, 3) for v in values]}


def task_profile(run, label: str, target: Path) -> dict:
    """One run with tests/callback_plugins/task_times.py: wall, in-play and per-task seconds."""
    env = {"ANSIBLE_CALLBACKS_ENABLED": "task_times", "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "tests" / "callback_plugins"),
           "PIDNS_TASK_TIMES": str(target)}
    wall = timed(lambda: run(env), label)
    times = json.loads(target.read_text())
    tasks = [{"name": task["name"], "seconds": round((task["end"] or task["start"]) - task["start"], 3)}
             for task in times["tasks"]]
    print("profile: %s %.2f s wall, %.2f s from the first task to the recap, %.2f s start-up and exit"
          % (label, wall, times["total"], wall - times["total"]))
    for task in tasks:
        print("  %6.2f s  %s" % (task["seconds"], task["name"]))
    return {"wall": wall, "play": times["total"], "tasks": tasks}


class OldCode:
    """The collection at an older commit: a detached git worktree and a collections dir linking to it."""

    def __init__(self, ref: str, path: Path):
        if path.exists():
            raise SystemExit("%s exists: remove it first (git worktree remove --force %s)" % (path, path))
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), ref], check=True,
                       capture_output=True, text=True, timeout=120)
        self.ref, self.path = ref, path
        self.collections = Path(tempfile.mkdtemp(prefix="pidns-old-collections-"))
        link = self.collections / "ansible_collections" / "linuxns" / "pidns"
        link.parent.mkdir(parents=True)
        link.symlink_to(path)
        self.env = {"ANSIBLE_COLLECTIONS_PATH": str(self.collections)}

    def close(self) -> None:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(self.path)],
                       check=False, capture_output=True, timeout=120)
        subprocess.run(["rm", "-rf", "--one-file-system", str(self.collections)], check=False)


def count_sandboxes(fleet, names: set, forks: str, env: dict | None = None) -> dict:
    """host -> how many of `names` sandbox_info lists there (untimed check)."""
    proc, results = fleet.ansible_json("all", "linuxns.pidns.sandbox_info", None, "-b", "-f", forks, env=env)
    if proc.returncode != 0 or len(results) != len(fleet.hosts):
        fail(proc, "sandbox_info")
    return {host: sum(1 for box in result.get("sandboxes", []) if box["name"] in names)
            for host, result in results.items()}


def check_count(fleet, names: set, forks: str, want: int, what: str, env: dict | None = None) -> None:
    counts = count_sandboxes(fleet, names, forks, env)
    wrong = {host: n for host, n in counts.items() if n != want}
    if wrong:
        raise SystemExit("%s: expected %d of the listed sandboxes on each host, found %s" % (what, want, wrong))


def bench_size(args, size: int, old: OldCode | None, figures: dict) -> None:
    forks = str(args.forks or size)
    pipelining = not args.no_pipelining
    start = time.perf_counter()
    fleet = start_fleet(size, prefix="bench")
    started = time.perf_counter() - start
    print("\n== %d hosts: fleet up in %.2f s (pipelining %s, forks %s)"
          % (size, started, "on" if pipelining else "off", forks), flush=True)
    result = {"hosts": size, "forks": int(forks), "fleet_start_s": started}
    work = Path(tempfile.mkdtemp(prefix="pidns-bench-fleet-"))
    try:
        hosts = fleet.names
        entries = [{"name": "b%02d" % i, "stop_timeout": 2} for i in range(args.sandboxes)]
        names = {entry["name"] for entry in entries}

        def ping(env=None):
            return fleet.ansible("all", "ansible.builtin.ping", None, "-b", "-f", forks, pipelining=pipelining,
                                 env={**QUIET, **(env or {})})

        def setup(env=None):
            return fleet.ansible("all", "ansible.builtin.setup", None, "-f", forks, pipelining=pipelining,
                                 env={**QUIET, **(env or {})}, timeout=600)

        def report(env=None):
            return fleet.playbook(REPO / "playbooks" / "report.yml", "-f", forks, "-e",
                                  json.dumps({"pidns_report_dir": str(work / "report")}),
                                  pipelining=pipelining, env={**QUIET, **(env or {})}, timeout=600)

        def book(name, code=None):
            """provision.yml / teardown.yml of the new code, or of `code` (OldCode) with its variable."""
            root = code.path if code else REPO
            variable = "pidns_sandboxes" if code else "sandboxes_list"
            extra = json.dumps({variable: entries})

            def run(env=None):
                return fleet.playbook(root / "playbooks" / name, "-f", forks, "-e", extra, pipelining=pipelining,
                                      env={**QUIET, **(code.env if code else {}), **(env or {})}, timeout=900)
            return run

        timed(ping, "warm-up ping")  # ssh ControlMasters up, sudo warm; untimed
        times = {op: [] for op in OPS}
        if not args.report_only:
            timed(report, "warm-up report.yml")
            timed(setup, "warm-up setup")
        sides = [("new", None)] + ([("old", old)] if old and size == args.goal_size else [])
        old_times = {op: [] for op in ("provision", "rerun", "teardown")}
        for round_ in range(args.repeat):
            pair = [("report", report), ("setup", setup)]
            for label, func in (pair if round_ % 2 == 0 else pair[::-1]):
                times[label].append(timed(func, label))
            if args.report_only:
                print("round %d: report.yml %.2f s, setup %.2f s" % (round_ + 1, times["report"][-1], times["setup"][-1]),
                      flush=True)
                continue
            for side, code in (sides if round_ % 2 == 0 else sides[::-1]):
                sink = times if side == "new" else old_times
                env = code.env if code else None
                sink["provision"].append(timed(book("provision.yml", code), side + " provision", hosts, "all"))
                if round_ == 0:
                    check_count(fleet, names, forks, len(entries), side + " provision", env)
                if side == "new":
                    for index in range(args.pairs):
                        pair = [("rerun", book("provision.yml")), ("ping", ping)]
                        for label, func in (pair if (round_ + index) % 2 == 0 else pair[::-1]):
                            times[label].append(timed(func, label, hosts, "none" if label == "rerun" else None))
                else:
                    sink["rerun"].append(timed(book("provision.yml", code), side + " rerun", hosts, "none"))
                sink["teardown"].append(timed(book("teardown.yml", code), side + " teardown", hosts, "all"))
                if round_ == 0:
                    check_count(fleet, names, forks, 0, side + " teardown", env)
            print("round %d: ping %s, report.yml %.2f, setup %.2f, provision %.2f, rerun %s, teardown %.2f s%s"
                  % (round_ + 1, "/".join("%.2f" % t for t in times["ping"][-args.pairs:]), times["report"][-1],
                     times["setup"][-1], times["provision"][-1],
                     "/".join("%.2f" % t for t in times["rerun"][-args.pairs:]), times["teardown"][-1],
                     "; old (%s): provision %.2f, rerun %.2f, teardown %.2f s"
                     % (old.ref, old_times["provision"][-1], old_times["rerun"][-1], old_times["teardown"][-1])
                     if len(sides) > 1 else ""), flush=True)
        report_json = json.loads((work / "report" / "report.json").read_text())
        assert report_json["totals"]["ok"] == size, report_json["totals"]
        result["times"] = {op: summary(values) for op, values in times.items() if values}
        if any(old_times.values()):
            result["old"] = {"ref": old.ref, "times": {op: summary(values) for op, values in old_times.items()}}
        if args.profile and size == args.goal_size:
            result["profile"] = {}
            if not args.report_only:
                target = work / "task_times.json"
                result["profile"]["provision"] = task_profile(book("provision.yml"), "provision.yml (first)", target)
                result["profile"]["rerun"] = task_profile(book("provision.yml"), "provision.yml (rerun)", target)
                result["profile"]["teardown"] = task_profile(book("teardown.yml"), "teardown.yml", target)
            result["profile"]["report"] = task_profile(report, "report.yml", work / "task_times.json")
    finally:
        fleet.close()
        subprocess.run(["rm", "-rf", "--one-file-system", str(work)], check=False)
    figures["sizes"].append(result)


def med(result: dict, op: str) -> float | None:
    entry = result.get("times", {}).get(op)
    return entry["median"] if entry else None


def pair_ratio(result: dict) -> float:
    """Median over the rerun/ping pairs (each rerun ran right before or after its ping: load drift cancels)."""
    times = result["times"]
    return statistics.median(r / p for r, p in zip(times["rerun"]["runs"], times["ping"]["runs"]))


def print_tables(args, figures: dict) -> None:
    ops = [op for op in OPS if any(med(r, op) is not None for r in figures["sizes"])]
    print("\nmedians over %d rounds (rerun and ping: %d per round), %d sandboxes per host, forks = %s"
          % (args.repeat, args.pairs, args.sandboxes, args.forks or "hosts"))
    print("| hosts | " + " | ".join(LABELS[op] for op in ops) + " |")
    print("| ---: |" + " ---: |" * len(ops))
    for result in figures["sizes"]:
        print("| %d | " % result["hosts"] + " | ".join("%.2f s" % med(result, op) for op in ops) + " |")
    print("\nseconds per host (median wall / hosts)")
    print("| hosts | " + " | ".join(LABELS[op] for op in ops) + " |")
    print("| ---: |" + " ---: |" * len(ops))
    for result in figures["sizes"]:
        print("| %d | " % result["hosts"] + " | ".join("%.3f" % (med(result, op) / result["hosts"]) for op in ops) + " |")
    if "rerun" in ops and "ping" in ops:
        print("\nrerun / ping -b: ratio of the medians, and the median of the ratios of each rerun to the ping "
              "run next to it")
        for result in figures["sizes"]:
            print("  %d hosts: %.2f, pairs %.2f" % (result["hosts"], med(result, "rerun") / med(result, "ping"),
                                                    pair_ratio(result)))
    if len(figures["sizes"]) > 1:
        small, large = figures["sizes"][0], figures["sizes"][-1]
        growth = {op: (med(large, op) / large["hosts"]) / (med(small, op) / small["hosts"]) for op in ops}
        figures["per_host_growth"] = growth
        print("\nper-host cost at %d hosts / at %d hosts: %s"
              % (large["hosts"], small["hosts"], ", ".join("%s %.2f" % (LABELS[op], g) for op, g in growth.items())))


def print_goals(args, figures: dict) -> None:
    goal = next((r for r in figures["sizes"] if r["hosts"] == args.goal_size), None)
    if goal is None or args.report_only:
        return
    goals = figures["goals"] = {"hosts": args.goal_size}
    rerun, ping, first = med(goal, "rerun"), med(goal, "ping"), med(goal, "provision")
    goals["rerun_over_ping"] = rerun / ping
    print("\ngoals at %d hosts, %d sandboxes per host:" % (args.goal_size, args.sandboxes))
    goals["rerun_over_ping_pairs"] = pair_ratio(goal)
    print("  rerun / ping -b: %.2f s / %.2f s = %.2f, median of the pairs %.2f (goal <= 1.3): %s"
          % (rerun, ping, rerun / ping, goals["rerun_over_ping_pairs"],
             "met" if max(rerun / ping, goals["rerun_over_ping_pairs"]) <= 1.3 else "NOT met"))
    if args.goal_size == 8 and args.sandboxes == 10:  # the setup of the recorded figure
        goals["first_over_recorded"] = first / args.recorded_first
        print("  first provision / recorded %.2f s: %.2f s / %.2f s = %.2f (goal <= 0.6): %s"
              % (args.recorded_first, first, args.recorded_first, first / args.recorded_first,
                 "met" if first / args.recorded_first <= 0.6 else "NOT met"))
    if "old" in goal:
        old = goal["old"]["times"]
        goals["first_over_old"] = first / old["provision"]["median"]
        goals["old_rerun_over_ping"] = old["rerun"]["median"] / ping
        print("  first provision / old code (%s) side by side: %.2f s / %.2f s = %.2f (goal <= 0.6): %s"
              % (goal["old"]["ref"], first, old["provision"]["median"], goals["first_over_old"],
                 "met" if goals["first_over_old"] <= 0.6 else "NOT met"))
        print("  old rerun %.2f s (%.2f x ping), old teardown %.2f s; new teardown %.2f s"
              % (old["rerun"]["median"], goals["old_rerun_over_ping"], old["teardown"]["median"],
                 med(goal, "teardown")))
    report, setup = med(goal, "report"), med(goal, "setup")
    print("  report.yml / setup: %.2f s / %.2f s = %.2f (goal <= 0.8)" % (report, setup, report / setup))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="8", help="fleet sizes, comma-separated (default 8)")
    parser.add_argument("--hosts", type=int, help="one fleet size (same as --sizes N)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per size")
    parser.add_argument("--pairs", type=int, default=2, help="rerun/ping pairs per round")
    parser.add_argument("--sandboxes", type=int, default=10, help="sandboxes per host for provision.yml")
    parser.add_argument("--forks", type=int, default=None, help="default: one per host")
    parser.add_argument("--no-pipelining", action="store_true")
    parser.add_argument("--report-only", action="store_true", help="report.yml vs setup only")
    parser.add_argument("--old-ref", help="also run provision/rerun/teardown of the collection at this commit")
    parser.add_argument("--old-path", default="/tmp/old-pidns", help="where its git worktree goes")
    parser.add_argument("--goal-size", type=int, help="fleet size the goals are checked at (default: 8 if "
                                                      "measured, else the first size); the old code runs there")
    parser.add_argument("--recorded-first", type=float, default=RECORDED_FIRST,
                        help="first provision seconds recorded before (docs/benchmarks.md)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--profile", action="store_true",
                        help="at the goal size, after the rounds, one more (untimed) run of each playbook with "
                             "the tests' task_times callback: seconds per task")
    args = parser.parse_args()
    sizes = [args.hosts] if args.hosts else [int(size) for size in args.sizes.split(",")]
    args.goal_size = args.goal_size or (8 if 8 in sizes else sizes[0])
    if os.geteuid() != 0:
        print("needs root (the hosts are namespace sandboxes)", file=sys.stderr)
        return 2
    figures = {"sizes": [], "sandboxes_per_host": args.sandboxes, "repeat": args.repeat, "pairs": args.pairs,
               "pipelining": not args.no_pipelining, "forks": args.forks or "hosts",
               "machine": {"nproc": os.cpu_count(), "kernel": platform.release(),
                           "python": platform.python_version(), "loadavg_start": os.getloadavg()}}
    old = OldCode(args.old_ref, Path(args.old_path)) if args.old_ref and not args.report_only else None
    start = time.perf_counter()
    try:
        for size in sizes:
            bench_size(args, size, old, figures)
    finally:
        if old:
            old.close()
    figures["machine"]["loadavg_end"] = os.getloadavg()
    figures["wall_s"] = time.perf_counter() - start
    print_tables(args, figures)
    print_goals(args, figures)
    print("\nload average at start %s, at end %s; whole run %.0f s"
          % ("/".join("%.1f" % x for x in figures["machine"]["loadavg_start"]),
             "/".join("%.1f" % x for x in figures["machine"]["loadavg_end"]), figures["wall_s"]))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
