#!/usr/bin/env python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark the playbooks over real SSH on a fleet of test hosts (tests/integration/fleet.py).

Starts N SSH test hosts on this machine (each a linuxns.pidns sandbox with its own sshd on
127.0.0.1), then measures in one run:

  report     `ansible-playbook playbooks/report.yml` (facts + JSON/MD/HTML report on the controller)
             vs `ansible all -m ansible.builtin.setup` on the same hosts, interleaved, repeated;
             goal ratio <= 0.8.
  provision  `ansible-playbook playbooks/provision.yml` with S sandboxes per host (none existing
             before), then `teardown.yml` of the same list: wall time, seconds per host and per
             sandbox; repeated.

Both sides use the same inventory, forks, pipelining setting and ssh ControlPersist (masters warmed
by one untimed `ping`). Needs root. Everything is removed at the end (hosts by name).

    .venv/bin/python benchmarks/bench_fleet.py                    # 8 hosts, 3 rounds, 10 sandboxes/host
    .venv/bin/python benchmarks/bench_fleet.py --hosts 4 --repeat 2 --no-pipelining --json out.json
    .venv/bin/python benchmarks/bench_fleet.py --provision-repeat 0 --profile   # report only, per-task seconds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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


def timed(func):
    start = time.perf_counter()
    proc = func()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("failed (rc=%d):\n%s\n%s" % (proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))
    return elapsed


def summary(values: list) -> dict:
    return {"median": statistics.median(values), "mean": statistics.fmean(values), "min": min(values),
            "max": max(values), "runs": [round(v, 3) for v in values]}


def profile(report, target: Path) -> dict:
    """One report.yml run with tests/callback_plugins/task_times.py: wall, in-play and per-task seconds."""
    env = {"ANSIBLE_CALLBACKS_ENABLED": "task_times", "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "tests" / "callback_plugins"),
           "PIDNS_TASK_TIMES": str(target)}
    wall = timed(lambda: report(env))
    times = json.loads(target.read_text())
    tasks = [{"name": task["name"], "seconds": round((task["end"] or task["start"]) - task["start"], 3)}
             for task in times["tasks"]]
    print("profile: report.yml %.2f s wall, %.2f s from the first task to the recap, %.2f s start-up and exit"
          % (wall, times["total"], wall - times["total"]))
    for task in tasks:
        print("  %6.2f s  %s" % (task["seconds"], task["name"]))
    return {"wall": wall, "play": times["total"], "tasks": tasks}


def write_figures(figures: dict, path: str | None) -> int:
    figures["machine"] = {"nproc": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()}
    if path:
        Path(path).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sandboxes", type=int, default=10, help="sandboxes per host for provision.yml")
    parser.add_argument("--provision-repeat", type=int, default=2)
    parser.add_argument("--forks", type=int, default=None, help="default: one per host")
    parser.add_argument("--no-pipelining", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--profile", action="store_true",
                        help="after the report rounds, one more report.yml run (untimed) with the tests' "
                             "task_times callback: seconds per task")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (the hosts are namespace sandboxes)", file=sys.stderr)
        return 2
    forks = str(args.forks or args.hosts)
    pipelining = not args.no_pipelining

    start = time.perf_counter()
    fleet = start_fleet(args.hosts, prefix="bench")
    started = time.perf_counter() - start
    figures = {"hosts": args.hosts, "forks": int(forks), "pipelining": pipelining, "fleet_start_s": started}
    print("fleet of %d hosts up in %.2f s (pipelining %s, forks %s)"
          % (args.hosts, started, "on" if pipelining else "off", forks))
    work = Path(tempfile.mkdtemp(prefix="pidns-bench-fleet-"))
    try:
        quiet = {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal"}
        timed(lambda: fleet.ansible("all", "ansible.builtin.ping", None, "-f", forks, pipelining=pipelining))

        def report(env=None):
            return fleet.playbook(REPO / "playbooks" / "report.yml", "-f", forks, "-e",
                                  json.dumps({"pidns_report_dir": str(work / "report")}),
                                  pipelining=pipelining, env=dict(quiet, **(env or {})), timeout=600)

        def setup():
            return fleet.ansible("all", "ansible.builtin.setup", None, "-f", forks, pipelining=pipelining,
                                 env=quiet, timeout=600)

        timed(report)  # warm-up, untimed
        timed(setup)
        ours, theirs = [], []
        for round_ in range(args.repeat):
            pair = [("report", report), ("setup", setup)]
            if round_ % 2:
                pair.reverse()
            for label, func in pair:
                (ours if label == "report" else theirs).append(timed(func))
            print("round %d: report.yml %.2f s, setup %.2f s" % (round_ + 1, ours[-1], theirs[-1]))
        report_json = json.loads((work / "report" / "report.json").read_text())
        assert report_json["totals"]["ok"] == args.hosts, report_json["totals"]
        figures["report"] = {"report_yml": summary(ours), "setup": summary(theirs),
                             "ratio_median": statistics.median(ours) / statistics.median(theirs)}
        print("report.yml / setup (medians): %.2f s / %.2f s = %.2f (goal <= 0.8)"
              % (statistics.median(ours), statistics.median(theirs), figures["report"]["ratio_median"]))

        if args.profile:
            figures["report"]["profile"] = profile(report, work / "task_times.json")

        if args.provision_repeat < 1:
            return write_figures(figures, args.json)
        sandboxes = {"sandboxes_list": [{"name": "b%02d" % i, "stop_timeout": 2} for i in range(args.sandboxes)]}
        extra = json.dumps(sandboxes)
        provision, teardown, again = [], [], []
        for round_ in range(args.provision_repeat):
            provision.append(timed(lambda: fleet.playbook(REPO / "playbooks" / "provision.yml", "-f", forks,
                                                          "-e", extra, pipelining=pipelining, env=quiet)))
            again.append(timed(lambda: fleet.playbook(REPO / "playbooks" / "provision.yml", "-f", forks,
                                                      "-e", extra, pipelining=pipelining, env=quiet)))
            teardown.append(timed(lambda: fleet.playbook(REPO / "playbooks" / "teardown.yml", "-f", forks,
                                                         "-e", extra, pipelining=pipelining, env=quiet)))
            print("round %d: provision %.2f s, again (no change) %.2f s, teardown %.2f s"
                  % (round_ + 1, provision[-1], again[-1], teardown[-1]))
        per_host = [t / args.hosts for t in provision]
        figures["provision"] = {"sandboxes_per_host": args.sandboxes, "wall": summary(provision),
                                "seconds_per_host": statistics.median(per_host),
                                "seconds_per_sandbox": statistics.median(provision) / (args.hosts * args.sandboxes),
                                "again_unchanged": summary(again), "teardown": summary(teardown)}
        print("provision.yml, %d sandboxes on each of %d hosts: median %.2f s wall = %.2f s per host, "
              "%.3f s per sandbox; unchanged rerun %.2f s; teardown %.2f s"
              % (args.sandboxes, args.hosts, statistics.median(provision), figures["provision"]["seconds_per_host"],
                 figures["provision"]["seconds_per_sandbox"], statistics.median(again), statistics.median(teardown)))
    finally:
        fleet.close()
        subprocess.run(["rm", "-rf", "--one-file-system", str(work)], check=False)
    return write_figures(figures, args.json)


if __name__ == "__main__":
    sys.exit(main())
