#!/usr/bin/env python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: sandboxes with an overlay root of their own (issue 12) against the same by hand.

Run as root from the repository root (about 2 minutes on a quiet machine):

    .venv/bin/python benchmarks/bench_rootfs.py [--count 20] [--e2e-runs 6] [--json FILE]

1. create/remove in process, COUNT each, interleaved in blocks (the order rotating), one untimed
   warm-up each:
     ours                   _sandbox.run, the host's root (as bench_sandbox.py part 1)
     ours overlay (mem)     rootfs: {type: overlay, ephemeral: true}   (upper layer in a tmpfs)
     ours overlay (disk)    rootfs: {type: overlay}                    (upper in /var/lib/linuxns-pidns/<name>)
     ours overlay (mem) privileged   the same as (mem) with privileged: true: no capabilities dropped, no
                            read-only or masked /proc and /sys paths. Goal (issue 18): the default
                            containment adds <= 2 ms to a create (median of (mem) - median of this)
     u-l                    bench_sandbox.py's util-linux sandbox (unshare ... sleep infinity + 4 handles)
     u-l overlay min (mem)  unshare --fork --pid --mount --uts --ipc, then in it: tmpfs for the layers,
                            mount -t overlay (lower /), a fresh /proc, pivot_root . ., umount -l ., exec sleep
     u-l overlay (mem)      the same plus what ours sets up: /sys read-only, a minimal /dev (tmpfs, six
                            device binds, devpts, /dev/shm), fresh /run and /tmp, hostname + /etc/hostname
     u-l overlay (disk)     as u-l overlay (mem), upper and work on disk under this run's folder
   Every one ends in its own pid/mnt/uts/ipc namespaces pinned by 4 handles. All "ours" runs see no
   cgroup hierarchy (bench_sandbox.py's benchmark-only patch), like the hand-made ones.
2. idle cost of one overlay sandbox: VmRSS/RssAnon/Pss of the supervisor (host root vs overlay), number
   of mounts in the sandbox, bytes of the persistent upper layer on disk (st_blocks, as sandbox_info's
   upper_bytes) right after creation and after 2 s idle, and of the hand-made one.
3. end to end: `ansible localhost -m linuxns.pidns.sandbox` with and without an overlay root against
   `ansible localhost -m command -a "sh -c '...'"` doing the hand-made equivalent (u-l and
   u-l overlay (mem) above, started detached, waited for, handles bound), interleaved, one warm-up
   each. Goal: ours overlay / u-l overlay <= 1.15 (medians).

A benchmark, not a test: it prints figures and asserts nothing about timing. Everything it creates is
removed at the end (sandboxes by name with state absent, hand-made ones by the PID of their init).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_sandbox as bs  # noqa: E402  (its helpers; sets up the collection's import path)
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _rootfs  # noqa: E402
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _sandbox, _statedir

TAG = "brootfs-%d" % os.getpid()
STATE_DIR = "/run/linuxns-pidns-%s" % TAG
UL_ROOT = Path("/tmp/%s-util-linux" % TAG)
OVERLAY_MEM = {"type": "overlay", "ephemeral": True}
OVERLAY_DISK = {"type": "overlay"}

# PID 1 of the hand-made sandbox: sh, then exec sleep in the new root. $1 folder, $2 min|full,
# $3 mem|disk (where the upper layer is), $4 hostname.
INNER = r"""set -e
f=$1; L=$f/layers; R=$f/root
mkdir -p $L $R
[ "$3" = disk ] || mount -t tmpfs -o nosuid,nodev,mode=0700 tmpfs $L
mkdir $L/upper $L/work
mount -t overlay overlay -o lowerdir=/,upperdir=$L/upper,workdir=$L/work $R
mount -t proc -o nosuid,nodev,noexec proc $R/proc
if [ "$2" = full ]; then
  mount --rbind /sys $R/sys
  mount -o remount,bind,ro $R/sys
  mount -t tmpfs -o nosuid,noexec,mode=0755,size=65536k tmpfs $R/dev
  for n in null zero full random urandom tty; do : > $R/dev/$n; mount --bind /dev/$n $R/dev/$n; done
  mkdir $R/dev/pts $R/dev/shm
  mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts $R/dev/pts
  ln -s pts/ptmx $R/dev/ptmx
  mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs $R/dev/shm
  mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs $R/run
  mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs $R/tmp
  hostname $4
  echo $4 > $R/etc/hostname
fi
cd $R
pivot_root . .
umount -l .
cd /
exec sleep infinity
"""
UNSHARE_NS = ["unshare", "--fork", "--kill-child", "--pid", "--mount", "--uts", "--ipc"]

log = bs.log


# ---------------------------------------------------------------- hand-made overlay sandboxes

class UtilLinuxOverlay(bs.UtilLinux):
    """bench_sandbox's util-linux sandboxes, PID 1 building an overlay root first (INNER)."""

    def __init__(self, root, script, mode, layer):
        super().__init__(root)
        self.script, self.mode, self.layer = script, mode, layer

    def setup(self):
        if not self.root.exists():
            super().setup()

    def argv(self, folder, name):
        return UNSHARE_NS + ["sh", str(self.script), str(folder), self.mode, self.layer, name[-60:]]

    def create(self, name):
        folder = self.root / name
        folder.mkdir(mode=0o700)
        proc = subprocess.Popen(self.argv(folder, name), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)
        init = None
        deadline = time.monotonic() + 10
        while init is None:
            kids = bs.children(proc.pid)
            if kids and bs.comm(kids[0]) == "sleep":
                init = kids[0]
            elif proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("hand-made overlay sandbox: unshare exited or hung (rc=%s): %s"
                                   % (proc.returncode, proc.stderr.read().decode() if proc.poll() is not None else ""))
            else:
                time.sleep(0.0005)
        self.started[name] = (proc, init, bs.start_time(init))
        for ns_type in bs.NS_TYPES:
            handle = folder / ns_type
            handle.touch(mode=0o600)
            bs.run("mount", "--bind", "/proc/%d/ns/%s" % (init, ns_type), str(handle))

    def remove(self, name):
        proc = self.started[name][0]
        super().remove(name)  # kill -9 of the init, umount of the handles, rm -r (the disk upper with it)
        if proc.stderr:
            proc.stderr.close()


class OursRootfs(bs.Ours):
    """The module's code path in this process, no cgroup, with a rootfs (None: the host's root)."""

    def __init__(self, state_dir, rootfs=None, privileged=False):
        super().__init__(state_dir, cgroup=False)
        self.rootfs = rootfs
        self.privileged = privileged

    def apply(self, name, state):
        params = {"name": name, "state": state, "namespaces": list(bs.NS_TYPES), "mount_proc": True,
                  "stop_timeout": 10, "hostname": name[-60:]}
        if self.rootfs and state == "present":
            params["rootfs"] = dict(self.rootfs)
            params["privileged"] = self.privileged
        with bs.NoCgroup():
            result = _sandbox.run(params, state_dir=_statedir.StateDir(self.state_dir) if self.state_dir else None)
        if result.get("failed"):
            raise RuntimeError("sandbox %s %s: %s" % (name, state, result))
        return result


# ---------------------------------------------------------------- part 2

def mount_count(pid):
    with open("/proc/%d/mountinfo" % pid) as handle:
        return sum(1 for _line in handle)


def bench_idle(impls, idle_seconds):
    rows = {}
    for label in ("ours", "ours overlay (mem)", "ours overlay (disk)"):
        name = "%s-idle-%d" % (TAG, len(rows))
        record = impls[label].create(name)["sandbox"]
        pid = record["supervisor"]["pid"]
        time.sleep(0.5)
        row = bs.memory_of(pid, idle_seconds)
        row["mounts"] = mount_count(pid)
        if label == "ours overlay (disk)":
            upper = _rootfs.layers_path(name)
            row["upper_bytes"] = _rootfs.disk_usage(upper)
            row["upper_files"] = sum(len(dirs) + len(files) for _d, dirs, files in os.walk(upper))
            row["upper_list"] = sorted(os.path.relpath(os.path.join(d, e), upper)
                                       for d, dirs, files in os.walk(upper) for e in dirs + files)
        rows[label] = row
        impls[label].remove(name)
        if label == "ours overlay (disk)":
            row["upper_after_absent"] = os.path.exists(_rootfs.layers_path(name))
    for label in ("u-l overlay (mem)", "u-l overlay (disk)"):
        name = "%s-idle-%d" % (TAG, len(rows))
        impls[label].create(name)
        init = impls[label].started[name][1]
        time.sleep(0.5)
        row = bs.memory_of(init, idle_seconds)
        row["mounts"] = mount_count(init)
        if label.endswith("(disk)"):
            upper = impls[label].root / name / "layers" / "upper"
            row["upper_bytes"] = _rootfs.disk_usage(str(upper))
            row["upper_files"] = sum(len(dirs) + len(files) for _d, dirs, files in os.walk(upper))
        rows[label] = row
        impls[label].remove(name)
    for label, row in rows.items():
        log("part 2: %-22s %s" % (label, row))
    return rows


# ---------------------------------------------------------------- part 3

def hand_command(folder, script, mode, name):
    """`sh -c '...'` for the command module: the hand-made overlay sandbox, started detached, waited
    for until its PID 1 is sleep, its four namespaces bound; prints the init's PID."""
    inner = "%s sh %s $d %s mem %s" % (" ".join(UNSHARE_NS), script, mode, name)
    body = (
        "set -e; d=%s; mkdir -m 700 $d; cd $d; touch pid mnt uts ipc; "
        "setsid %s </dev/null >/dev/null 2>&1 & p=$!; "
        "n=0; until set -- $(cat /proc/$p/task/$p/children 2>/dev/null) && [ $# -gt 0 ] "
        "&& [ \"$(cat /proc/$1/comm 2>/dev/null)\" = sleep ]; do "
        "n=$((n+1)); [ $n -lt 1000 ] || { kill -9 $p; exit 1; }; sleep 0.005; done; c=$1; "
        "for t in pid mnt uts ipc; do mount --bind /proc/$c/ns/$t $t; done; echo $c"
    ) % (folder, inner)
    return "sh -c '%s'" % body


def bench_end_to_end(ours, ul_root, script, runs, sitecustomize_dir):
    labels = ("ours", "ours overlay (mem)", "u-l", "u-l overlay (mem)")
    times = {label: [] for label in labels}
    no_cgroup = {"PYTHONPATH": str(sitecustomize_dir)}

    def one(label, i):
        name = "%s-e2e-%s" % (TAG, i)
        if label.startswith("ours"):
            args = {"name": name, "hostname": name[-60:]}
            if "overlay" in label:
                args["rootfs"] = OVERLAY_MEM
            ours.names.add(name)
            seconds, result = bs.ansible_adhoc("linuxns.pidns.sandbox", json.dumps(args), no_cgroup)
            assert result["sandbox"]["cgroup"] is None, result["sandbox"]
            ours.remove(name)
        else:
            folder = ul_root / ("e2e-%s" % i)
            if label == "u-l":
                command = bs.util_linux_command(folder)
            else:
                command = hand_command(folder, script, "full", name[-60:])
            seconds, result = bs.ansible_adhoc("ansible.builtin.command", command)
            init = int(result["stdout"].strip())
            bs.remove_util_linux_e2e(folder, init)
        return seconds

    for label in labels:
        one(label, "warm-%d" % labels.index(label))
    for i in range(runs):
        for label in labels[i % len(labels):] + labels[:i % len(labels)]:
            times[label].append(one(label, "%d-%d" % (i, labels.index(label))))
        log("part 3: round %d: %s" % (i + 1, ", ".join("%s %.2f s" % (l, times[l][-1]) for l in labels)))
    return times


# ---------------------------------------------------------------- main

def summary_ms(values):
    return {"mean_ms": 1000 * statistics.fmean(values), "median_ms": 1000 * statistics.median(values),
            "min_ms": 1000 * min(values), "n": len(values)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=20, help="creates/removes per variant in part 1")
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--e2e-runs", type=int, default=6)
    parser.add_argument("--idle-seconds", type=float, default=2.0)
    parser.add_argument("--json")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 2
    info = bs.machine()
    info["loadavg_start"] = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="pidns-bench-rootfs-"))
    script = work / "overlay-init.sh"
    script.write_text(INNER)
    sitecustomize = work / "nocgroup"
    sitecustomize.mkdir()
    (sitecustomize / "sitecustomize.py").write_text(bs.NO_CGROUP_SITECUSTOMIZE)
    impls = {
        "ours": OursRootfs(STATE_DIR),
        "ours overlay (mem)": OursRootfs(STATE_DIR, OVERLAY_MEM),
        "ours overlay (disk)": OursRootfs(STATE_DIR, OVERLAY_DISK),
        "ours overlay (mem) privileged": OursRootfs(STATE_DIR, OVERLAY_MEM, privileged=True),
        "u-l": bs.UtilLinux(UL_ROOT / "plain"),
        "u-l overlay min (mem)": UtilLinuxOverlay(UL_ROOT / "ov", script, "min", "mem"),
        "u-l overlay (mem)": UtilLinuxOverlay(UL_ROOT / "ov", script, "full", "mem"),
        "u-l overlay (disk)": UtilLinuxOverlay(UL_ROOT / "ov", script, "full", "disk"),
    }
    ul_e2e = bs.UtilLinux(UL_ROOT / "e2e")
    ours_default = OursRootfs(None)  # part 3 goes through `ansible`: the default state directory
    figures = {"machine": info}
    try:
        UL_ROOT.mkdir(mode=0o700)
        impls["u-l"].setup()
        impls["u-l overlay (mem)"].setup()
        ul_e2e.setup()
        start = time.perf_counter()
        part1 = bs.bench_create_remove(impls, args.count, blocks=args.blocks)
        figures["part1"] = part1
        log("part 1 took %.0f s" % (time.perf_counter() - start))
        figures["part2"] = bench_idle(impls, args.idle_seconds)
        if args.e2e_runs:
            times = bench_end_to_end(ours_default, UL_ROOT / "e2e", script, args.e2e_runs, sitecustomize)
            figures["part3"] = {label: summary_ms(values) | {"runs": [round(v, 3) for v in values]}
                                for label, values in times.items()}
    finally:
        for impl in list(impls.values()) + [ul_e2e, ours_default]:
            try:
                impl.cleanup()
            except Exception as exc:  # pylint: disable=broad-except
                log("cleanup: %s" % exc)
        for point in sorted(bs.mount_points_under(str(UL_ROOT)), key=len, reverse=True):
            bs.run("umount", "-l", point, check=False)
        shutil.rmtree(UL_ROOT, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    info["loadavg_end"] = os.getloadavg()
    report(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def containment_ms(part1):
    """What the default containment adds to an overlay create, in ms (medians)."""
    return part1["ours overlay (mem)"]["create_median_ms"] - part1["ours overlay (mem) privileged"]["create_median_ms"]


def report(figures):
    info = figures["machine"]
    print("machine: " + ", ".join("%s %s" % (k, v) for k, v in info.items()))
    part1 = figures["part1"]
    labels = list(part1)
    print("\n1. in process, ms per sandbox, %d each (no cgroup on either side)" % part1["ours"]["n"])
    print("| | " + " | ".join(labels) + " |")
    print("| --- |" + " ---: |" * len(labels))
    for key, label in (("create_median_ms", "create, median"), ("create_ms", "create, mean"),
                       ("remove_median_ms", "remove, median"), ("remove_ms", "remove, mean")):
        print("| %s | " % label + " | ".join("%.1f" % part1[l][key] for l in labels) + " |")
    for ours, hand in (("ours overlay (mem)", "u-l overlay (mem)"), ("ours overlay (disk)", "u-l overlay (disk)"),
                       ("ours overlay (mem)", "u-l overlay min (mem)"), ("ours", "u-l")):
        print("%s / %s: create %.2f, remove %.2f (medians)"
              % (ours, hand, part1[ours]["create_median_ms"] / part1[hand]["create_median_ms"],
                 part1[ours]["remove_median_ms"] / part1[hand]["remove_median_ms"]))
    print("the overlay root adds to a create: ours %+.1f ms (mem) / %+.1f ms (disk); by hand %+.1f ms (mem, full)"
          " / %+.1f ms (mem, min) (medians)"
          % (part1["ours overlay (mem)"]["create_median_ms"] - part1["ours"]["create_median_ms"],
             part1["ours overlay (disk)"]["create_median_ms"] - part1["ours"]["create_median_ms"],
             part1["u-l overlay (mem)"]["create_median_ms"] - part1["u-l"]["create_median_ms"],
             part1["u-l overlay min (mem)"]["create_median_ms"] - part1["u-l"]["create_median_ms"]))
    added = containment_ms(part1)
    print("containment (docker's capabilities, read-only and masked /proc and /sys paths) adds %+.1f ms to a "
          "create with an overlay root: ours overlay (mem) against the same privileged (medians; goal <= 2 ms: %s)"
          % (added, "met" if added <= 2 else "NOT met"))
    rows = figures["part2"]
    print("\n2. idle (KiB unless said)")
    print("| | VmRSS | RssAnon | RssFile | Pss | CPU ticks idle | mounts inside | upper bytes on disk | upper entries |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, row in rows.items():
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |"
              % (label, row["VmRSS"], row["RssAnon"], row["RssFile"], row["Pss"], row["cpu_ticks_idle"],
                 row["mounts"], row.get("upper_bytes", ""), row.get("upper_files", "")))
    disk = rows["ours overlay (disk)"]
    print("persistent upper layer still there after state absent: %s; upper entries: %s"
          % (disk["upper_after_absent"], ", ".join(disk["upper_list"])))
    if "part3" in figures:
        part3 = figures["part3"]
        labels = list(part3)
        print("\n3. end to end, ansible localhost, %d runs each (no cgroup on either side)" % part3["ours"]["n"])
        print("| | " + " | ".join(labels) + " |")
        print("| --- |" + " ---: |" * len(labels))
        for key in ("median_ms", "mean_ms", "min_ms"):
            print("| %s | " % key.split("_", maxsplit=1)[0] + " | ".join("%.3f s" % (part3[l][key] / 1000) for l in labels) + " |")
        ratio = part3["ours overlay (mem)"]["median_ms"] / part3["u-l overlay (mem)"]["median_ms"]
        print("ours overlay / u-l overlay: %.2f (goal <= 1.15: %s); ours / u-l: %.2f"
              % (ratio, "met" if ratio <= 1.15 else "NOT met",
                 part3["ours"]["median_ms"] / part3["u-l"]["median_ms"]))


if __name__ == "__main__":
    sys.exit(main())
