#!/usr/bin/env python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run every benchmark in benchmarks/ in a quick mode and print one Markdown summary table.

Run as root from the repository root, in the environment of scripts/env.sh (`make bench` does both;
a few minutes in all on a 2-core machine):

    python benchmarks/summary.py [--only NAME[,NAME]] [--markdown FILE]
    python benchmarks/summary.py --from-json DIR [--only NAME[,NAME]] [--markdown FILE]

Each benchmark runs as a subprocess of this Python (sys.executable) with the quick arguments of
QUICK below, writing its figures with --json into a temporary folder; its output is shown as it runs
and also kept in .build/bench/NAME.log (--log-dir), and its JSON is copied to .build/bench/NAME.json.
Then one table: what | ours | anchor | ratio | goal | met, one row per goal, the figures taken only
from what each script writes to its JSON. NAME is one of: sandbox, sandbox_exec, rootfs,
pidns_facts, fleet, connection, network, workloads (bench_NAME also accepted).

--from-json DIR builds the table from DIR/NAME.json (or DIR/bench_NAME.json), running nothing:
`python benchmarks/summary.py --from-json .build/bench` shows the last run again.

A benchmark that fails (or whose JSON is missing or not as expected) gives a row saying so, and the
exit status is then 1. A goal not met does not change the exit status: the benchmarks assert nothing
about timing, and quick-mode figures (few runs, short medians) are indicative only; run a script
with its defaults for figures to record (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# name -> (script, quick arguments). Minimum rounds that still give every figure a goal is judged on.
QUICK = {
    # part 1: 10 creates/removes per variant (5 blocks of 2); part 2 idle window 1 s; part 3 3 ansible runs per side
    "sandbox": ("bench_sandbox.py", ["--count", "10", "--e2e-runs", "3", "--idle-seconds", "1"]),
    "sandbox_exec": ("bench_sandbox_exec.py", ["--count", "20", "--e2e-runs", "3"]),
    # part 1: 12 per variant in 3 blocks (the containment row compares two medians ~1 ms apart); part 3: 3 ansible runs per side
    "rootfs": ("bench_rootfs.py", ["--count", "12", "--blocks", "3", "--e2e-runs", "3", "--idle-seconds", "1"]),
    "pidns_facts": ("bench_pidns_facts.py", ["--sizes", "50x4", "--repeat", "3", "--ansible-repeat", "3"]),
    # 4 SSH test hosts, the goals checked there; 1 round: 2 rerun/ping pairs; 3 sandboxes per host
    "fleet": ("bench_fleet.py", ["--sizes", "4", "--goal-size", "4", "--repeat", "1", "--pairs", "2",
                                 "--sandboxes", "3"]),
    # 1 round of the play (after its untimed warm-up round), 1 molecule round; --rounds 0 is not possible
    "connection": ("bench_connection.py", ["--rounds", "1", "--molecule-rounds", "1"]),
    # part 1: 3 ansible runs per side and variant; part 2: 2 rounds of 128 MiB over every path
    "network": ("bench_network.py", ["--e2e-runs", "3", "--rounds", "2", "--megabytes", "128"]),
    # part 1: 10 restart samples per side (each ~0.2 s); part 2: idle window 2 s after the default 1 s settling
    "workloads": ("bench_workloads.py", ["--samples", "10", "--idle-seconds", "2"]),
}
TIMEOUT = 1200  # seconds per benchmark; then SIGINT (the scripts clean up on KeyboardInterrupt)


@dataclass
class Row:
    """One line of the table. ratio None: "-"; met None: no goal (or not measured)."""

    what: str
    ours: str = "-"
    anchor: str = "-"
    ratio: float | None = None
    goal: str = "-"
    met: bool | None = None
    failed: bool = False


def _ratio(over, under):
    return over / under if under else None


def _s(seconds, digits=3):
    return "%.*f s" % (digits, seconds)


def _ms(seconds, digits=0):
    return "%.*f ms" % (digits, 1000 * seconds)


# ---------------------------------------------------------------- bench_sandbox.py

def rows_sandbox(data: dict) -> list:
    """{"create_remove": part1, "memory": part2, "end_to_end": part3}: see bench_sandbox.main()."""
    rows = []
    part1 = data["create_remove"]
    # As bench_sandbox.report(): differences of the create medians, and the cgroup steps alone.
    added = part1["ours (cgroup)"]["create_median_ms"] - part1["ours"]["create_median_ms"]
    by_hand = part1["util-linux (cgroup)"]["create_median_ms"] - part1["util-linux"]["create_median_ms"]
    rows.append(Row("sandbox: what a cgroup adds to a create in process (create medians, %d each)" % part1["ours"]["n"],
                    "%+.1f ms" % added, "%+.1f ms (by hand: mkdir, limit files, cgroup.procs)" % by_hand,
                    _ratio(added, by_hand) if by_hand > 0 else None, "<= 2 ms", added <= 2.0))
    steps = part1["cgroup steps"]
    rows.append(Row("sandbox: the library's cgroup steps alone, per create (median of %d)" % steps["n"],
                    "%.2f ms" % steps["create_median_ms"], "-", None, "<= 2 ms", steps["create_median_ms"] <= 2.0))
    memory = data["memory"]["rows"]
    idle = memory["supervisor (idle)"]
    floor = memory.get("catatonit -P")
    rows.append(Row("sandbox: idle supervisor (PID 1) VmRSS", "%d KiB" % idle["VmRSS"],
                    "%d KiB (catatonit -P)" % floor["VmRSS"] if floor else "catatonit not installed",
                    _ratio(idle["VmRSS"], floor["VmRSS"]) if floor else None, "<= 8 MiB (8192 KiB)",
                    idle["VmRSS"] <= 8192))
    # As bench_sandbox.report(): ratio of the medians of the raw run lists.
    e2e = data["end_to_end"]
    for ours, theirs, label, hand in (
            ("ours (cgroup)", "util-linux (cgroup)", "with a cgroup", "unshare + mount --bind"),
            ("ours", "util-linux", "no cgroup", "unshare + mount --bind"),
            ("ours (userns)", "util-linux (userns)", "`userns=auto`", "unshare --user --map-users ..., mount --bind")):
        if ours not in e2e:  # before userns: auto
            continue
        a, b = statistics.median(e2e[ours]), statistics.median(e2e[theirs])
        rows.append(Row("sandbox: end to end, `ansible -m linuxns.pidns.sandbox`, %s (median of %d)" % (label, len(e2e[ours])),
                        _s(a), "%s (`-m command`: %s)" % (_s(b), hand), a / b, "<= 1.15", a / b <= 1.15))
    return rows


# ---------------------------------------------------------------- bench_sandbox_exec.py

def rows_sandbox_exec(data: dict) -> list:
    """{"end_to_end": {"sandbox_exec": [s...], "command nsenter": [s...]}, ...}: bench_sandbox_exec.main()."""
    e2e = data["end_to_end"]
    # As bench_sandbox_exec.report(): summary()["median"] is statistics.median of the runs.
    a, b = statistics.median(e2e["sandbox_exec"]), statistics.median(e2e["command nsenter"])
    return [Row("sandbox_exec: end to end, `ansible -m linuxns.pidns.sandbox_exec` argv=true (median of %d)"
                % len(e2e["sandbox_exec"]), _s(a), "%s (`-m command -a 'nsenter ... true'`)" % _s(b), a / b, "<= 1.1",
                a / b <= 1.1)]


# ---------------------------------------------------------------- bench_rootfs.py

def rows_rootfs(data: dict) -> list:
    """{"part1": ..., "part2": ..., "part3": {label: {"median_ms", "n", ...}}}: bench_rootfs.main()."""
    part1 = data["part1"]
    default, privileged = part1["ours overlay (mem)"], part1["ours overlay (mem) privileged"]
    added = default["create_median_ms"] - privileged["create_median_ms"]  # as bench_rootfs.containment_ms()
    rows = [Row("rootfs: in process, what the default containment (capabilities, read-only and masked /proc, /sys) "
                "adds to a create with an ephemeral overlay root (medians of %d)" % default["n"],
                "%+.1f ms (%.1f ms)" % (added, default["create_median_ms"]),
                "%.1f ms (the same, `privileged: true`)" % privileged["create_median_ms"], None, "<= +2 ms",
                added <= 2)]
    what = "rootfs: end to end, `ansible -m linuxns.pidns.sandbox` with an ephemeral overlay root"
    if "part3" not in data:  # --e2e-runs 0
        return rows + [Row(what + ": not measured (--e2e-runs 0)", goal="<= 1.15")]
    ours, theirs = data["part3"]["ours overlay (mem)"], data["part3"]["u-l overlay (mem)"]
    ratio = ours["median_ms"] / theirs["median_ms"]  # as bench_rootfs.report()
    return rows + [Row("%s (median of %d)" % (what, ours["n"]), _s(ours["median_ms"] / 1000),
                       "%s (`-m command`: unshare, overlay, pivot_root by hand)" % _s(theirs["median_ms"] / 1000),
                       ratio, "<= 1.15", ratio <= 1.15)]


# ---------------------------------------------------------------- bench_pidns_facts.py

FACTS = "ansible -m linuxns.pidns.pidns_facts"
SETUP = "ansible -m ansible.builtin.setup"
LSNS_CMD = "ansible -m command -a 'lsns -t pid -J'"
PING = "ansible -m ansible.builtin.ping (floor)"


def rows_pidns_facts(data: list) -> list:
    """A list, one entry per size: {"n", "k", "processes", "scan": {label: [median s, peak RSS KiB, CPU s]},
    "e2e": {label: [...]}}: bench_pidns_facts.bench()."""
    rows = []
    for result in data:
        size = "N=%dxK=%d, %d processes" % (result["n"], result["k"], result["processes"])
        scan, e2e = result["scan"], result["e2e"]
        a, b = scan["scan (python -I -S)"][0], scan["lsns -t pid -J"][0]
        rows.append(Row("pidns_facts: scan as a whole `python -I -S` process (%s)" % size, _ms(a, 1),
                        "%s (`lsns -t pid -J`)" % _ms(b, 1), a / b, "<= 0.8", a / b <= 0.8))
        a, b = e2e[FACTS][0], e2e[LSNS_CMD][0]
        rows.append(Row("pidns_facts: `%s` (%s)" % (FACTS, size), _ms(a), "%s (`-m command -a 'lsns -t pid -J'`)" % _ms(b), a / b,
                        "<= 1.1", a / b <= 1.1))
        # The goal facts <= 0.6 x setup is retired (ping alone costs ~0.55 x setup): what each adds to
        # `ansible -m ping`, as the line under bench_pidns_facts.report()'s table.
        what = "pidns_facts: time above `ansible -m ping`, pidns_facts vs setup (%s)" % size
        if PING not in e2e:
            rows.append(Row(what + ": ping not measured in this JSON", "-", "-", None, "none (facts <= 0.6 x setup retired)"))
            continue
        retired = "none (facts <= 0.6 x setup retired: ping alone is %.2f x setup)" % (e2e[PING][0] / e2e[SETUP][0])
        facts, setup, ping = e2e[FACTS][0] - e2e[PING][0], e2e[SETUP][0] - e2e[PING][0], e2e[PING][0]
        rows.append(Row("%s; ping %s" % (what, _ms(ping)), "%+.0f ms" % (1000 * facts),
                        "%+.0f ms (`-m ansible.builtin.setup`)" % (1000 * setup), _ratio(facts, setup) if setup > 0 else None,
                        retired))
    return rows


# ---------------------------------------------------------------- bench_fleet.py

def rows_fleet(data: dict) -> list:
    """{"sizes": [{"hosts", "times": {op: {"median", "runs", ...}}, "old"?}], "goals"?: {...},
    "sandboxes_per_host", ...}: bench_fleet.main() and print_goals() (which adds "goals")."""
    goals = data.get("goals")
    if goals is None:  # --report-only, or the goal size was not measured
        return [Row("fleet: goals not checked in this run (no \"goals\" in its JSON)")]
    result = next(r for r in data["sizes"] if r["hosts"] == goals["hosts"])
    times = result["times"]
    where = "%d hosts x %d sandboxes" % (goals["hosts"], data["sandboxes_per_host"])
    rows = []
    rerun, ping = times["rerun"]["median"], times["ping"]["median"]
    # print_goals(): met when the larger of the ratio of the medians and the median of the pairs is <= 1.3.
    pairs = goals["rerun_over_ping_pairs"]
    rows.append(Row("fleet: provision.yml rerun, nothing to change, %s (median of %d; median of the pairs %.2f)"
                    % (where, len(times["rerun"]["runs"]), pairs), _s(rerun, 2), "%s (`ansible all -m ping -b`)" % _s(ping, 2),
                    goals["rerun_over_ping"], "<= 1.3 (also the pairs)", max(goals["rerun_over_ping"], pairs) <= 1.3))
    # print_goals() prints report.yml / setup (goal <= 0.8) from the medians, not in "goals": computed the same way.
    report, setup = times["report"]["median"], times["setup"]["median"]
    rows.append(Row("fleet: playbooks/report.yml, %d hosts (median of %d)" % (goals["hosts"], len(times["report"]["runs"])),
                    _s(report, 2), "%s (`ansible all -m setup`)" % _s(setup, 2), report / setup, "<= 0.8", report / setup <= 0.8))
    first = times["provision"]["median"]
    if "first_over_recorded" in goals:  # only at 8 hosts x 10 sandboxes; the recorded seconds = first / ratio
        ratio = goals["first_over_recorded"]
        rows.append(Row("fleet: provision.yml first run, %s" % where, _s(first, 2),
                        "%s (recorded before, docs/benchmarks.md)" % _s(first / ratio, 2), ratio, "<= 0.6", ratio <= 0.6))
    if "first_over_old" in goals:  # --old-ref
        ratio = goals["first_over_old"]
        rows.append(Row("fleet: provision.yml first run, %s" % where, _s(first, 2),
                        "%s (the collection at %s)" % (_s(result["old"]["times"]["provision"]["median"], 2),
                                                       result["old"]["ref"]), ratio, "<= 0.6", ratio <= 0.6))
    return rows


# ---------------------------------------------------------------- bench_connection.py

def rows_connection(data: dict) -> list:
    """{"play"?: {"walls": {variant: {"median", "runs", ...}}, "pair_ratios": {"sandbox/local": [...], ...}},
    "molecule"?: {key: {"median", "runs", ...}}}: bench_connection.bench_play() and bench_molecule()."""
    rows = []
    play = data.get("play")
    for over, under, where, anchor in (("sandbox", "local", "a sandbox on this machine", "`ansible_connection: local`"),
                                       ("ssh+sandbox", "ssh", "a sandbox on an SSH host", "plain `ssh` to that host")):
        what = "connection: play of 20 tasks, `linuxns.pidns.sandbox` to %s" % where
        if play is None:
            rows.append(Row(what + ": not measured (--skip-play)", goal="<= 1.3"))
            continue
        a, b = play["walls"][over]["median"], play["walls"][under]["median"]
        # print_play(): met when the larger of the ratio of the medians and the median of the round pairs is <= 1.3.
        pairs = statistics.median(play["pair_ratios"]["%s/%s" % (over, under)])
        rows.append(Row("%s (median of %d; median of the pairs %.2f)" % (what, len(play["walls"][over]["runs"]), pairs),
                        _s(a, 2), "%s (%s)" % (_s(b, 2), anchor), a / b, "<= 1.3 (also the pairs)", max(a / b, pairs) <= 1.3))
    molecule = data.get("molecule")
    what = "connection: `molecule create` + `destroy -s sandbox`, 3 instances"
    if molecule is None:
        rows.append(Row(what + ": not measured (--skip-molecule)", goal="<= 3 s"))
    else:
        total, floor = molecule["total"]["median"], molecule["floor_ping"]["median"]
        rows.append(Row("%s (median of %d)" % (what, len(molecule["total"]["runs"])), _s(total, 2),
                        "%s (molecule floor: same molecule.yml, one ping per playbook)" % _s(floor, 2), total / floor,
                        "<= 3 s", total <= 3))
    return rows


# ---------------------------------------------------------------- bench_network.py

def rows_network(data: dict) -> list:
    """{"end_to_end": {label: [s...]}, "throughput": {"megabytes", "rounds", "labels": {key: label},
    "mbps": {label: [MB/s...]}}, "host_namespace_left_as_found"}: bench_network.main()."""
    rows = []
    e2e = data["end_to_end"]
    # As bench_network.report(): ratio of the medians of the raw run lists.
    for ours, theirs, label in (("ours", "by hand", "no cgroup"), ("ours (cgroup)", "by hand (cgroup)", "with a cgroup")):
        a, b = statistics.median(e2e[ours]), statistics.median(e2e[theirs])
        rows.append(Row("network: end to end, `ansible -m linuxns.pidns.sandbox` `network_mode: bridge`, a published "
                        "port, %s (median of %d)" % (label, len(e2e[ours])), _s(a),
                        "%s (`-m command`: unshare, veth, bridge, nft DNAT + masquerade by hand)" % _s(b), a / b,
                        "<= 1.15", a / b <= 1.15))
    throughput = data["throughput"]
    labels, mbps = throughput["labels"], throughput["mbps"]
    direct = statistics.median(mbps[labels["direct"]])
    for key, where in (("published_loopback", "127.0.0.1"), ("published_uplink", "the host's uplink address")):
        a = statistics.median(mbps[labels[key]])
        rows.append(Row("network: throughput through a published port on %s, %d MiB per connection (median of %d)"
                        % (where, throughput["megabytes"], len(mbps[labels[key]])), "%.0f MB/s" % a,
                        "%.0f MB/s (directly to the sandbox's address)" % direct, a / direct, ">= 0.9", a / direct >= 0.9))
    return rows


# ---------------------------------------------------------------- bench_workloads.py

def rows_workloads(data: dict) -> list:
    """{"restart": {"samples", "runs_ms": {"ours", "ours (no cgroup)", "floor": [ms...]}}, "memory": {"idle_seconds",
    "workloads", "rows": {label: {"VmRSS", "Pss", "cpu_ticks_idle", ...} | None}}}: bench_workloads.main()."""
    runs = data["restart"]["runs_ms"]
    # As bench_workloads.report(): the difference of the medians of the raw sample lists.
    ours, floor = statistics.median(runs["ours"]), statistics.median(runs["floor"])
    plain = statistics.median(runs["ours (no cgroup)"]) - floor  # information: a sandbox without a cgroup
    rows = [Row("workloads: restart latency, exit to restart of `sh -c 'date; exit 1'` with `restart: on-failure:1` "
                "(100 ms back-off) (median of %d)" % len(runs["ours"]),
                "%.1f ms (%+.1f ms; no cgroup %+.1f ms)" % (ours, ours - floor, plain),
                "%.1f ms (shell loop: the same, `sleep 0.1`, in the same sandbox)" % floor, ours / floor,
                "<= floor + 5 ms", ours - floor <= 5.0)]
    memory = data["memory"]
    count = memory["workloads"]
    made, added = memory["rows"]["supervisor, %d workloads" % count], memory["rows"]["supervisor, %d workloads added in place" % count]
    floor_row = memory["rows"].get("catatonit -P")
    largest = max(made["VmRSS"], added["VmRSS"])
    rows.append(Row("workloads: supervisor (PID 1) VmRSS with %d workloads, made with them / given them in place" % count,
                    "%d / %d KiB" % (made["VmRSS"], added["VmRSS"]),
                    "%d KiB (catatonit -P)" % floor_row["VmRSS"] if floor_row else "catatonit not installed",
                    _ratio(largest, floor_row["VmRSS"]) if floor_row else None, "<= 8 MiB (8192 KiB)", largest <= 8192))
    ticks = made["cpu_ticks_idle"] + added["cpu_ticks_idle"]
    rows.append(Row("workloads: supervisor (PID 1) CPU while idle %.0f s with %d workloads, both ways"
                    % (memory["idle_seconds"], count), "%d / %d ticks" % (made["cpu_ticks_idle"], added["cpu_ticks_idle"]),
                    "%d ticks (catatonit -P)" % floor_row["cpu_ticks_idle"] if floor_row else "catatonit not installed",
                    None, "0 ticks", ticks == 0))
    return rows


EXTRACT = {"sandbox": rows_sandbox, "sandbox_exec": rows_sandbox_exec, "rootfs": rows_rootfs,
           "pidns_facts": rows_pidns_facts, "fleet": rows_fleet, "connection": rows_connection,
           "network": rows_network, "workloads": rows_workloads}


def build_rows(name: str, data) -> list:
    """The table's rows of one benchmark from what its script wrote with --json (parsed)."""
    try:
        return EXTRACT[name](data)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, StopIteration, ZeroDivisionError,
            statistics.StatisticsError) as exc:
        return [Row("%s: figures not as expected in its JSON (%s: %s)" % (name, type(exc).__name__, exc), failed=True)]


def failed_row(name: str, why: str) -> Row:
    return Row("%s: FAILED, %s" % (name, why), failed=True)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(rows: list) -> str:
    lines = ["| what | ours | anchor | ratio | goal | met |", "| --- | ---: | ---: | ---: | --- | --- |"]
    for row in rows:
        met = "-" if row.met is None else ("yes" if row.met else "no")
        ratio = "-" if row.ratio is None else "%.2f" % row.ratio
        lines.append("| " + " | ".join(_cell(cell) for cell in (row.what, row.ours, row.anchor, ratio, row.goal, met)) + " |")
    return "\n".join(lines)


BEGIN = "<!-- summary: begin (make bench rewrites this block) -->"
END = "<!-- summary: end -->"


def replace_block(document: str, table: str) -> str:
    """`document` with the lines between its BEGIN and END lines replaced by `table`."""
    head, begin, rest = document.partition(BEGIN + "\n")
    _old, end, tail = rest.partition(END + "\n")
    if not begin or not end:
        raise SystemExit("summary: the document has no %s ... %s block" % (BEGIN, END))
    return head + begin + table.rstrip("\n") + "\n" + end + tail


# ---------------------------------------------------------------- running

def run_one(name: str, out_dir: Path, log_dir: Path, timeout: float) -> tuple:
    """Run one benchmark, its output shown and kept in log_dir/NAME.log; (exit code, seconds, how it was
    stopped: "" when it ended by itself)."""
    script, quick = QUICK[name]
    target = out_dir / ("%s.json" % name)
    # -u: its output shows as it runs (not inherited by the ansible processes it starts)
    argv = [sys.executable, "-u", str(HERE / script)] + quick + ["--json", str(target)]
    log_path = log_dir / ("%s.log" % name)
    print("\n==> %s (log: %s)" % (" ".join([Path(argv[0]).name] + argv[2:]), log_path), flush=True)
    start = time.monotonic()
    interrupted = False
    timed_out = threading.Event()
    with open(log_path, "w") as log:
        log.write("$ %s\n" % " ".join(argv))
        proc = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace")

        def stop():
            timed_out.set()
            # SIGINT first: the scripts' finally blocks remove what they made; harder signals later.
            for signum, grace in ((signal.SIGINT, 180), (signal.SIGTERM, 60), (signal.SIGKILL, 0)):
                if proc.poll() is not None:
                    return
                print("summary: %s: sending %s" % (name, signal.Signals(signum).name), file=sys.stderr, flush=True)
                proc.send_signal(signum)
                if grace:
                    try:
                        proc.wait(grace)
                    except subprocess.TimeoutExpired:
                        pass
        timer = threading.Timer(timeout, stop)
        timer.daemon = True
        timer.start()
        try:
            while True:
                try:
                    line = proc.stdout.readline()
                except KeyboardInterrupt:  # Ctrl-C reached the benchmark too: let it clean up
                    interrupted = True
                    continue
                if not line:
                    break
                sys.stdout.write(line)
                sys.stdout.flush()
                log.write(line)
            while True:
                try:
                    code = proc.wait()
                    break
                except KeyboardInterrupt:
                    interrupted = True
        finally:
            timer.cancel()
    seconds = time.monotonic() - start
    print("<== %s: exit code %d, %.0f s" % (name, code, seconds), flush=True)
    return code, seconds, "timed out after %.0f s" % timeout if timed_out.is_set() else "interrupted" if interrupted else ""


def names_of(text: str | None) -> list:
    if not text:
        return list(QUICK)
    names = []
    for name in text.split(","):
        name = name.strip().removesuffix(".py").removeprefix("bench_")
        if name not in QUICK:
            raise SystemExit("--only: unknown benchmark %r (one of %s)" % (name, ", ".join(QUICK)))
        names.append(name)
    return names


def load(folder: Path, name: str):
    """The parsed NAME.json (or bench_NAME.json) of folder; None if there is none."""
    for candidate in (folder / ("%s.json" % name), folder / ("bench_%s.json" % name)):
        if candidate.is_file():
            return json.loads(candidate.read_text())
    return None


def rows_from_folder(folder: Path, names: list) -> list:
    rows = []
    for name in names:
        try:
            data = load(folder, name)
        except ValueError as exc:
            rows.append(failed_row(name, "its JSON does not parse: %s" % exc))
            continue
        if data is None:
            rows.append(failed_row(name, "no %s.json in %s" % (name, folder)))
        else:
            rows.extend(build_rows(name, data))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--from-json", metavar="DIR", help="build the table from DIR/NAME.json, run nothing")
    parser.add_argument("--only", metavar="NAME[,NAME]", help="these benchmarks only: " + ", ".join(QUICK))
    parser.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    parser.add_argument("--update-doc", metavar="FILE",
                        help="also put the table into FILE between its %s and %s lines" % (BEGIN, END))
    parser.add_argument("--log-dir", default=str(REPO / ".build" / "bench"),
                        help="benchmark logs and JSON copies go here (.build/bench)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per benchmark (%d)" % TIMEOUT)
    args = parser.parse_args(argv)
    names = names_of(args.only)

    if args.from_json:
        rows = rows_from_folder(Path(args.from_json), names)
        note = "from %s" % args.from_json
    else:
        if os.geteuid() != 0:
            print("summary: not root; the benchmarks need root and will fail", file=sys.stderr)
        log_dir = Path(args.log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        rows = []
        total = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="pidns-bench-summary-") as out:
            for index, name in enumerate(names):
                code, _seconds, stopped = run_one(name, Path(out), log_dir, args.timeout)
                kept = log_dir / ("%s.json" % name)
                made = Path(out) / ("%s.json" % name)
                if code == 0 and made.is_file():
                    shutil.copyfile(made, kept)
                    rows.extend(rows_from_folder(Path(out), [name]))
                else:
                    if kept.exists():
                        kept.unlink()  # not the figures of an earlier run beside this run's log
                    why = "exit code %d" % code if code else "exit code 0 but no JSON written"
                    rows.append(failed_row(name, "%s%s (log: %s)" % (why, ", " + stopped if stopped else "",
                                                                     log_dir / ("%s.log" % name))))
                if stopped == "interrupted":
                    rows.extend(failed_row(rest, "not run (interrupted)") for rest in names[index + 1:])
                    break
        shown = os.path.relpath(log_dir, REPO) if str(log_dir).startswith(str(REPO) + os.sep) else str(log_dir)
        note = "quick mode, %.0f s in all; logs and JSON in %s" % (time.monotonic() - total, shown)

    text = ("Measured by `make bench` on %s (%s).\n\n%s\n\nanchor: what a user would otherwise use, measured in the same run; "
            "ratio: ours / anchor; met: the goal as the benchmark itself judges it (\"-\": no goal).\n"
            % (time.strftime("%Y-%m-%d"), note, markdown(rows)))
    print("\n" + text, end="")
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(text)
    if args.update_doc:
        doc = Path(args.update_doc)
        doc.write_text(replace_block(doc.read_text(), text))
    return 1 if any(row.failed for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
