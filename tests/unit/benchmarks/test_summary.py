# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for benchmarks/summary.py: the table built from sample JSON shaped as each benchmark
script writes it. No benchmark runs here."""

from __future__ import annotations

import json
import os
import statistics
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "benchmarks"))

import summary  # noqa: E402


def summ(values):
    """The shape of bench_fleet.summary() / bench_connection.summary()."""
    return {"median": statistics.median(values), "mean": statistics.fmean(values), "min": min(values),
            "max": max(values), "runs": [round(v, 3) for v in values]}


def create_remove(create_median):
    return {"create_ms": create_median + 0.3, "create_median_ms": create_median, "remove_ms": 3.2,
            "remove_median_ms": 2.7, "n": 10}


def memory_row(vmrss):
    return {"VmRSS": vmrss, "RssAnon": 3444, "RssFile": 2452, "Pss": 3698, "cpu_ticks_idle": 0}


# bench_sandbox.main(): {"machine", "create_remove": part1, "memory": part2, "end_to_end": part3}
SANDBOX = {
    "machine": {"nproc": 2, "kernel": "6.18.44", "python": "3.11.7", "ansible-core": "2.19.14",
                "util-linux": "2.38.1", "catatonit": "catatonit v0.1.7"},
    "create_remove": {
        "ours": create_remove(18.0), "ours (cgroup)": create_remove(21.0),
        "util-linux": create_remove(11.0), "util-linux (cgroup)": create_remove(16.0),
        "cgroups": {"v2": "/sys/fs/cgroup/unified", "pids": "/sys/fs/cgroup/pids"},
        "cgroup steps": {"create_ms": 2.41, "create_median_ms": 1.79, "remove_ms": 4.39, "remove_median_ms": 0.8, "n": 10},
    },
    "memory": {"idle_seconds": 1.0, "rows": {
        "supervisor (idle)": memory_row(5896), "supervisor (after reaping)": memory_row(6936),
        "catatonit -P": memory_row(696), "bare python -I -S (sleeping)": memory_row(8320)}},
    "end_to_end": {"ours": [0.80, 0.90, 0.85], "util-linux": [0.70, 0.72, 0.71],
                   "ours (cgroup)": [1.00, 1.10, 1.05], "util-linux (cgroup)": [1.00, 0.95, 0.98],
                   "ours (userns)": [0.90, 0.95, 1.00], "util-linux (userns)": [0.80, 0.75, 0.85]},
}

# bench_sandbox_exec.main()
SANDBOX_EXEC = {
    "machine": {"nproc": 2, "nsenter": "2.38.1", "loadavg (start, end)": "1.00, 1.20"},
    "sandbox": "bench-exec-1", "in_process": {"ours": [0.003, 0.004], "nsenter": [0.004, 0.005]},
    "steps": {"whole _join.run": [0.003, 0.004]},
    "end_to_end": {"sandbox_exec": [0.90, 0.80, 0.85], "command nsenter": [0.80, 0.82, 0.81]},
    "end_to_end_command": "nsenter --pid=/x/pid --mount=/x/mnt --uts=/x/uts --ipc=/x/ipc -- true",
}


def part3_entry(median_ms):
    return {"mean_ms": median_ms, "median_ms": median_ms, "min_ms": median_ms - 50, "n": 3,
            "runs": [median_ms / 1000] * 3}


# bench_rootfs.main(): {"machine", "part1", "part2", "part3": {label: summary_ms(values) | {"runs"}}}
ROOTFS = {
    "machine": {"nproc": 2, "loadavg_start": [1.0, 1.0, 1.0], "loadavg_end": [1.0, 1.0, 1.0]},
    "part1": {"ours": create_remove(20.0), "ours overlay (mem)": create_remove(30.5),
              "ours overlay (mem) privileged": create_remove(29.0)},
    "part2": {"ours": memory_row(6000)},
    "part3": {"ours": part3_entry(900.0), "ours overlay (mem)": part3_entry(1200.0),
              "u-l": part3_entry(850.0), "u-l overlay (mem)": part3_entry(1000.0)},
}

FACTS, SETUP, LSNS_CMD, PING = summary.FACTS, summary.SETUP, summary.LSNS_CMD, summary.PING

# bench_pidns_facts.main(): a list of bench() results; tuples (median s, peak RSS KiB, CPU s) as lists
PIDNS_FACTS = [{
    "n": 50, "k": 4, "namespaces": 51, "processes": 380,
    "scan": {"scan (python -I -S)": [0.0412, 10956, 0.050], "scan (python)": [0.0428, 11059, 0.0508],
             "lsns -t pid -J": [0.0540, 3584, 0.0514]},
    "e2e": {FACTS: [0.799, None, 0.820], SETUP: [1.235, None, 1.055], LSNS_CMD: [0.762, None, 0.769],
            PING: [0.699, None, 0.706]},
}]


def fleet(rerun, ping, goals=True):
    times = {"ping": summ(ping), "report": summ([3.0]), "setup": summ([4.0]), "provision": summ([6.0]),
             "rerun": summ(rerun), "teardown": summ([5.0])}
    figures = {"sizes": [{"hosts": 4, "forks": 4, "fleet_start_s": 1.5, "times": times}], "sandboxes_per_host": 3,
               "repeat": 1, "pairs": 2, "pipelining": True, "forks": "hosts",
               "machine": {"nproc": 2, "loadavg_start": [1, 1, 1], "loadavg_end": [1, 1, 1]}, "wall_s": 60.0}
    if goals:  # bench_fleet.print_goals()
        figures["goals"] = {"hosts": 4, "rerun_over_ping": times["rerun"]["median"] / times["ping"]["median"],
                            "rerun_over_ping_pairs": statistics.median(r / p for r, p in zip(rerun, ping))}
    return figures


def connection(sandbox_runs=(11.0,), pairs=None):
    walls = {"local": summ([10.0]), "sandbox": summ(list(sandbox_runs)), "ssh": summ([14.0]),
             "ssh+sandbox": summ([24.0])}
    molecule = {key: summ([1.0]) for key in ("m_create", "m_create_book", "m_destroy", "m_destroy_book", "m_version",
                                             "d_create", "d_destroy", "empty", "version", "floor")}
    molecule["floor_ping"] = summ([3.02])
    molecule["total"] = summ([3.36])
    return {"machine": {"nproc": 2, "loadavg_start": [1, 1, 1], "loadavg_end": [1, 1, 1]},
            "play": {"walls": walls, "tasks": {}, "per_module": {},
                     "pair_ratios": {"sandbox/local": pairs or [s / 10.0 for s in sandbox_runs],
                                     "ssh+sandbox/ssh": [24.0 / 14.0]}},
            "molecule": molecule}


# bench_network.main(): {"machine", "end_to_end": {label: [s...]}, "throughput": {...}, "host_namespace_left_as_found"}
NETWORK_LABELS = {"published_loopback": "published 127.0.0.1:8080",
                  "published_uplink": "published 198.51.100.1:8080 (uplink)", "direct": "direct 10.89.0.2:80",
                  "outside": "from outside, 198.51.100.1:8080"}
NETWORK = {
    "machine": {"nproc": 2, "iproute2": "6.1.0", "nftables": "v1.0.6"},
    "end_to_end": {"ours": [1.50, 1.40, 1.45], "by hand": [1.30, 1.20, 1.25],
                   "ours (cgroup)": [1.60, 1.50, 1.55], "by hand (cgroup)": [1.40, 1.45, 1.50]},
    "throughput": {"megabytes": 128, "chunk_kib": 1024, "rounds": 2, "address": "10.89.0.2", "labels": NETWORK_LABELS,
                   "mbps": {NETWORK_LABELS["published_loopback"]: [800.0, 900.0],
                            NETWORK_LABELS["published_uplink"]: [700.0, 720.0],
                            NETWORK_LABELS["direct"]: [1000.0, 1000.0],
                            NETWORK_LABELS["outside"]: [600.0, 650.0]}},
    "host_namespace_left_as_found": True,
}


def idle_row(vmrss, ticks=0):
    return {"VmRSS": vmrss, "RssAnon": 4990, "RssFile": vmrss - 4990, "Pss": 5300, "cpu_ticks_idle": ticks}


# bench_workloads.main(): {"machine", "restart": part1, "memory": part2}
WORKLOADS = {
    "machine": {"nproc": 2, "catatonit": "tini version 0.1.7_catatonit", "loadavg_start": "1.00", "loadavg_end": "1.10"},
    "restart": {"samples": 3, "runs_ms": {"ours": [108.0, 106.0, 120.0], "ours (no cgroup)": [105.0, 105.5, 106.0],
                                          "floor": [103.5, 104.0, 103.0]},
                "how": {"ours": "...", "ours (no cgroup)": "...", "floor": "..."}},
    "memory": {"settle_seconds": 1.0, "idle_seconds": 2.0, "workloads": 10, "workload_argv": ["sleep", "3600"],
               "rows": {"supervisor, no workloads": idle_row(7150), "supervisor, 10 workloads": idle_row(7230),
                        "supervisor, 10 workloads added in place": idle_row(8100), "catatonit -P": idle_row(690)}},
}


def test_sandbox_rows():
    rows = summary.build_rows("sandbox", SANDBOX)
    assert [row.goal for row in rows] == ["<= 2 ms", "<= 2 ms", "<= 8 MiB (8192 KiB)", "<= 1.15", "<= 1.15",
                                          "<= 1.15"]
    added, steps, memory, cgroup, plain, userns = rows
    assert userns.ratio == pytest.approx(0.95 / 0.80) and userns.met is False and "userns=auto" in userns.what
    assert "unshare --user --map-users" in userns.anchor
    del SANDBOX["end_to_end"]["ours (userns)"]  # a JSON from before userns: auto gives the other rows
    try:
        assert len(summary.build_rows("sandbox", SANDBOX)) == 5
    finally:
        SANDBOX["end_to_end"]["ours (userns)"] = [0.90, 0.95, 1.00]
    assert added.ours == "+3.0 ms" and added.anchor.startswith("+5.0 ms") and added.ratio == pytest.approx(0.6)
    assert added.met is False
    assert steps.ours == "1.79 ms" and steps.met is True and steps.ratio is None
    assert memory.ours == "5896 KiB" and memory.anchor.startswith("696 KiB") and memory.met is True
    assert memory.ratio == pytest.approx(5896 / 696)
    assert cgroup.ratio == pytest.approx(1.05 / 0.98) and cgroup.met is True
    assert plain.ratio == pytest.approx(0.85 / 0.71) and plain.met is False
    assert not any(row.failed for row in rows)


def test_sandbox_without_catatonit():
    data = json.loads(json.dumps(SANDBOX))
    data["memory"]["rows"]["catatonit -P"] = None
    memory = summary.build_rows("sandbox", data)[2]
    assert memory.ratio is None and "not installed" in memory.anchor and memory.met is True


def test_sandbox_exec_row():
    [row] = summary.build_rows("sandbox_exec", SANDBOX_EXEC)
    assert row.ours == "0.850 s" and row.anchor.startswith("0.810 s")
    assert row.ratio == pytest.approx(0.85 / 0.81) and row.goal == "<= 1.1" and row.met is True


def test_rootfs_rows_and_without_part3():
    containment, row = summary.build_rows("rootfs", ROOTFS)
    assert containment.ours == "+1.5 ms (30.5 ms)" and containment.anchor.startswith("29.0 ms")
    assert containment.ratio is None and containment.goal == "<= +2 ms" and containment.met is True
    assert row.ratio == pytest.approx(1.2) and row.goal == "<= 1.15" and row.met is False
    assert row.ours == "1.200 s" and row.anchor.startswith("1.000 s")
    containment, row = summary.build_rows("rootfs", {key: value for key, value in ROOTFS.items() if key != "part3"})
    assert containment.met is True
    assert "not measured" in row.what and row.met is None and not row.failed


def test_pidns_facts_rows():
    scan, command, above = summary.build_rows("pidns_facts", PIDNS_FACTS)
    assert scan.ratio == pytest.approx(0.0412 / 0.054) and scan.met is True and scan.goal == "<= 0.8"
    assert scan.ours == "41.2 ms"
    assert command.ratio == pytest.approx(0.799 / 0.762) and command.met is True and command.goal == "<= 1.1"
    assert above.ours == "+100 ms" and above.anchor.startswith("+536 ms")
    assert above.ratio == pytest.approx(0.100 / 0.536) and above.met is None and "retired" in above.goal
    data = json.loads(json.dumps(PIDNS_FACTS))
    del data[0]["e2e"][PING]
    above = summary.build_rows("pidns_facts", data)[2]
    assert "not measured" in above.what and above.ratio is None and above.met is None


def test_fleet_rows():
    rerun, report = summary.build_rows("fleet", fleet([5.0, 5.2], [4.0, 4.1]))
    assert rerun.ratio == pytest.approx(5.1 / 4.05) and rerun.met is True
    assert report.ratio == pytest.approx(0.75) and report.met is True and report.goal == "<= 0.8"
    # the ratio of the medians is under 1.3, a pair is not: not met (print_goals takes the larger)
    rerun = summary.build_rows("fleet", fleet([5.3, 5.3, 5.8, 4.4, 4.4], [4.0, 4.0, 4.4, 4.4, 4.4]))[0]
    assert rerun.ratio == pytest.approx(5.3 / 4.4) and rerun.met is False and "pairs 1.32" in rerun.what
    data = fleet([5.0], [4.0])
    data["goals"]["first_over_recorded"] = 6.0 / 18.35
    rows = summary.build_rows("fleet", data)
    assert rows[2].anchor.startswith("18.35 s") and rows[2].met is True
    [row] = summary.build_rows("fleet", fleet([5.0], [4.0], goals=False))
    assert row.met is None and not row.failed


def test_connection_rows():
    local, ssh, molecule = summary.build_rows("connection", connection())
    assert local.ratio == pytest.approx(1.1) and local.met is True and local.ours == "11.00 s"
    assert ssh.ratio == pytest.approx(24.0 / 14.0) and ssh.met is False
    assert molecule.ours == "3.36 s" and molecule.ratio == pytest.approx(3.36 / 3.02) and molecule.met is False
    assert molecule.goal == "<= 3 s"
    local = summary.build_rows("connection", connection([12.0], pairs=[1.35]))[0]
    assert local.ratio == pytest.approx(1.2) and local.met is False
    data = connection()
    del data["play"], data["molecule"]
    rows = summary.build_rows("connection", data)
    assert len(rows) == 3 and all("not measured" in row.what and row.met is None for row in rows)


def test_network_rows():
    plain, cgroup, loopback, uplink = summary.build_rows("network", NETWORK)
    assert plain.ours == "1.450 s" and plain.anchor.startswith("1.250 s") and "no cgroup" in plain.what
    assert plain.ratio == pytest.approx(1.45 / 1.25) and plain.goal == "<= 1.15" and plain.met is False
    assert cgroup.ratio == pytest.approx(1.55 / 1.45) and cgroup.met is True and "with a cgroup" in cgroup.what
    assert loopback.ours == "850 MB/s" and loopback.anchor.startswith("1000 MB/s") and "127.0.0.1" in loopback.what
    assert loopback.ratio == pytest.approx(0.85) and loopback.goal == ">= 0.9" and loopback.met is False
    assert uplink.ratio == pytest.approx(0.71) and uplink.met is False and "uplink" in uplink.what
    data = json.loads(json.dumps(NETWORK))
    data["throughput"]["mbps"][NETWORK_LABELS["published_loopback"]] = [950.0, 900.0]
    assert summary.build_rows("network", data)[2].met is True
    assert not any(row.failed for row in summary.build_rows("network", NETWORK))


def test_workloads_rows():
    restart, memory, cpu = summary.build_rows("workloads", WORKLOADS)
    assert restart.ours == "108.0 ms (+4.5 ms; no cgroup +2.0 ms)" and restart.anchor.startswith("103.5 ms") and "on-failure:1" in restart.what
    assert restart.ratio == pytest.approx(108.0 / 103.5) and restart.goal == "<= floor + 5 ms" and restart.met is True
    assert memory.ours == "7230 / 8100 KiB" and memory.anchor.startswith("690 KiB") and memory.met is True
    assert memory.ratio == pytest.approx(8100 / 690) and "10 workloads" in memory.what
    assert cpu.ours == "0 / 0 ticks" and cpu.anchor.startswith("0 ticks") and cpu.goal == "0 ticks" and cpu.met is True
    assert cpu.ratio is None and "idle 2 s" in cpu.what
    data = json.loads(json.dumps(WORKLOADS))
    data["restart"]["runs_ms"]["ours"] = [110.0, 109.0, 108.6]
    rows = data["memory"]["rows"]
    rows["supervisor, 10 workloads added in place"] = idle_row(9230, ticks=1)  # the larger of the two counts
    rows["catatonit -P"] = None
    restart, memory, cpu = summary.build_rows("workloads", data)
    assert restart.met is False and restart.ours.startswith("109.0 ms (+5.5 ms;")
    assert memory.met is False and memory.ratio is None and "not installed" in memory.anchor
    assert cpu.met is False and cpu.ours == "0 / 1 ticks" and "not installed" in cpu.anchor
    assert not any(row.failed for row in summary.build_rows("workloads", WORKLOADS))


def test_unexpected_json_is_a_failed_row():
    [row] = summary.build_rows("sandbox_exec", {"end_to_end": {}})
    assert row.failed and "KeyError" in row.what


def test_markdown():
    text = summary.markdown([summary.Row("a | b", "1 s", "2 s", 0.5, "<= 1", True), summary.Row("c", met=False),
                             summary.Row("d")])
    lines = text.splitlines()
    assert lines[0] == "| what | ours | anchor | ratio | goal | met |"
    assert lines[2] == "| a \\| b | 1 s | 2 s | 0.50 | <= 1 | yes |"
    assert lines[3] == "| c | - | - | - | - | no |"
    assert lines[4] == "| d | - | - | - | - | - |"


def test_from_json(tmp_path, capsys):
    samples = {"sandbox": SANDBOX, "sandbox_exec": SANDBOX_EXEC, "rootfs": ROOTFS, "pidns_facts": PIDNS_FACTS,
               "fleet": fleet([5.0], [4.0]), "connection": connection(), "network": NETWORK, "workloads": WORKLOADS}
    for name, data in samples.items():
        (tmp_path / ("%s.json" % name)).write_text(json.dumps(data))
    target = tmp_path / "out" / "summary.md"
    assert summary.main(["--from-json", str(tmp_path), "--markdown", str(target)]) == 0
    out = capsys.readouterr().out
    table = target.read_text()
    assert "| what | ours | anchor | ratio | goal | met |" in out and "| what | ours | anchor" in table
    assert len([line for line in table.splitlines() if line.startswith("| ")]) == 2 + 6 + 1 + 2 + 3 + 2 + 3 + 4 + 3
    (tmp_path / "fleet.json").rename(tmp_path / "bench_fleet.json")  # the script's name is accepted too
    assert summary.main(["--from-json", str(tmp_path), "--only", "fleet,bench_rootfs"]) == 0
    (tmp_path / "bench_fleet.json").unlink()
    assert summary.main(["--from-json", str(tmp_path), "--only", "fleet"]) == 1
    assert "fleet: FAILED, no fleet.json" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        summary.main(["--from-json", str(tmp_path), "--only", "nope"])
