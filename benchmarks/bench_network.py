#!/usr/bin/env python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: linuxns.pidns.sandbox with `network_mode: bridge` against the same network made by hand.

Run as root from the repository root, in the environment of scripts/env.sh (about 3 minutes on a quiet
2-core machine):

    python benchmarks/bench_network.py [--e2e-runs 10] [--rounds 5] [--megabytes 512] [--json FILE]

Everything runs in network namespaces the benchmark makes (as tests/integration/netns.py does): a
"host", where the modules and the by-hand commands run under `nsenter --net=...`, and a machine
"outside" on a veth link to it (the host's uplink, 198.51.100.1). This machine's own links, routes,
nftables ruleset and forwarding switch are never touched; the host namespace is checked to be left as
it was found.

1. end to end, interleaved: `ansible localhost -c local -m linuxns.pidns.sandbox -a '{"name": X,
   "network_mode": "bridge", "published_ports": ["8080:80"]}'` against one `-m command` task doing the
   same by hand: `unshare --fork --kill-child --pid --mount-proc --uts --ipc --net --mount sleep infinity` started
   detached (setsid), its pid/mnt/uts/ipc/net namespaces pinned with `mount --bind /proc/PID/ns/TYPE
   FILE` in a private folder, bridge handbr0 (10.99.0.1/24, route_localnet) made when missing, a veth
   pair with `eth0` moved into the sandbox, inside its address, `eth0` and `lo` up and a default
   route, forwarding on, a resolv.conf bound read-only over /etc/resolv.conf in the sandbox's mount
   namespace, and an nftables table (`nft -f -`) with prerouting + output DNAT of port 8080 and
   postrouting masquerades (the subnet going out; loopback sources to the bridge, for 127.0.0.1).
   Removal (untimed) is `state: absent`, or kill + umount + `ip link del` + the bridge, the table and
   forwarding undone, so that every run makes the bridge as the module does. Without a cgroup (the
   module's _cgroup made to see no hierarchy by a sitecustomize on PYTHONPATH, as bench_sandbox.py part
   3), and with one (bench_sandbox.py's limits; by hand its mkdir, limit files and cgroup.procs).
   The first run of each side is untimed and checked: a server inside answers on 127.0.0.1:8080 and
   from outside on 198.51.100.1:8080. Goal: ours / by hand <= 1.15 (medians).
2. throughput through a published port: a receiver in a bridged sandbox (started by `-m
   linuxns.pidns.sandbox_exec` with `detach: true`) reads what a connection sends and answers with
   the byte count; a Python sender in the host namespace sends MEGABYTES MiB in 1 MiB `sendall`
   chunks to 127.0.0.1:8080 and to the uplink address 198.51.100.1:8080 (DNAT in the output chain),
   and directly to SANDBOX_ADDRESS:80 (no NAT); also from the machine outside to 198.51.100.1:8080
   (prerouting DNAT, forwarded; for information). Interleaved rounds, the order rotating; MB/s
   (10^6 bytes per second) medians. Goal: published / direct >= 0.9.

A benchmark, not a test: it prints figures and ratios and asserts nothing about timing.
Everything it creates is removed on the way out, also on failure or Ctrl-C: sandboxes by name through
the module (`state: absent`), processes by PID, the namespaces by killing the processes holding them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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

# The sandbox benchmark's helpers (it puts tests/ and .build/collections on sys.path): the no-cgroup
# sitecustomize, the cgroup limits of its "with a cgroup" runs, util-linux sandboxes' private folder
# and cgroups (UtilLinux: setup, cgroup_dirs, remove_cgroup, cleanup), machine() versions, /proc readers.
import bench_sandbox  # noqa: E402
from bench_sandbox import (LIMIT_FILES, LIMITS, NO_CGROUP_SITECUSTOMIZE, UtilLinux,  # noqa: E402
                           cgroup_mounts, comm, log, machine, run)

# The tests' network namespaces (tests/integration/netns.py): NetworkLab (a host and a machine outside
# on a veth, each held by a sleep of its own session, snapshot()), the echo server and its client.
from netns import ECHO_SERVER, NetworkLab, ask  # noqa: E402

TAG = "netbench-%d" % os.getpid()
UL_DIR = Path("/tmp/%s-by-hand" % TAG)
SITECUSTOMIZE_DIR = Path("/tmp/%s-no-cgroup" % TAG)
HOST_PORT, PORT = 8080, 80
PUBLISHED = "%d:%d" % (HOST_PORT, PORT)

NS_TYPES = ("pid", "mnt", "uts", "ipc", "net")
UNSHARE = ["unshare", "--fork", "--kill-child", "--pid", "--mount-proc", "--uts", "--ipc", "--net", "--mount", "sleep", "infinity"]
HAND_BRIDGE = "handbr0"
HAND_SUBNET = "10.99.0.0/24"
HAND_GATEWAY = "10.99.0.1"
HAND_ADDRESS = "10.99.0.2"
HAND_TABLE = "handnat"
CHUNK_KIB = 1024

# Reads whatever each connection sends, then answers with the byte count (one connection at a time).
RECEIVER = r"""
import socket, sys
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", int(sys.argv[1])))
server.listen(16)
buffer = bytearray(1 << 20)
while True:
    conn, _peer = server.accept()
    total = 0
    while True:
        got = conn.recv_into(buffer)
        if not got:
            break
        total += got
    conn.sendall(b"%d\n" % total)
    conn.close()
"""

# Sends MiB mebibytes in CHUNK_KIB chunks to host:port (connecting for up to 15 s), half-closes, waits
# for the byte count; prints {"bytes", "received", "seconds"} (from connected to the answer read).
SENDER = r"""
import json, socket, sys, time
host, port, mib, chunk_kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
chunk = b"\0" * (chunk_kib * 1024)
count = mib * 1024 // chunk_kib
deadline = time.monotonic() + 15
while True:
    try:
        conn = socket.create_connection((host, port), timeout=120)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
start = time.perf_counter()
for _ in range(count):
    conn.sendall(chunk)
conn.shutdown(socket.SHUT_WR)
answer = b""
while not answer.endswith(b"\n"):
    part = conn.recv(64)
    if not part:
        break
    answer += part
seconds = time.perf_counter() - start
conn.close()
print(json.dumps({"bytes": count * len(chunk), "received": int(answer or b"-1"), "seconds": seconds}))
"""


# ---------------------------------------------------------------- the namespaces

def checked(prefix):
    """prefix (`nsenter --net=PATH --`), once PATH is seen to be a network namespace other than this
    machine's (the one this process is in): nothing here runs in this machine's own."""
    path = next(arg for arg in prefix if arg.startswith("--net="))[len("--net="):]
    if os.stat(path).st_ino == os.stat("/proc/self/ns/net").st_ino:
        raise RuntimeError("%s is this machine's network namespace" % path)
    return list(prefix)


# ---------------------------------------------------------------- ansible

def ansible_adhoc(prefix, module, args, extra_env=None):
    """bench_sandbox.ansible_adhoc under `prefix` (nsenter into the lab's host, checked)."""
    return bench_sandbox.ansible_adhoc(module, args, extra_env, prefix=checked(prefix), timeout=180)


class Ours:
    """Bridged sandboxes made through `ansible -m linuxns.pidns.sandbox` in the lab's host; removed by
    name (state: absent) from the same namespace."""

    def __init__(self, lab):
        self.lab = lab
        self.names = set()

    def create(self, name, extra=None, env=None):
        self.names.add(name)
        args = dict({"name": name, "network_mode": "bridge", "published_ports": [PUBLISHED]}, **(extra or {}))
        return ansible_adhoc(self.lab.host.prefix, "linuxns.pidns.sandbox", args, env)

    def remove(self, name, env=None):
        ansible_adhoc(self.lab.host.prefix, "linuxns.pidns.sandbox", {"name": name, "state": "absent"}, env)
        self.names.discard(name)

    def cleanup(self):
        for name in sorted(self.names):
            try:
                self.remove(name)
            except Exception as exc:  # pylint: disable=broad-except
                log("cleanup of sandbox %s: %s" % (name, exc))


# ---------------------------------------------------------------- by hand

def by_hand_script(folder, veth, cgroup_dirs=None):
    """One shell script doing what the module does for a bridged sandbox with port 8080 published,
    the util-linux / iproute2 / nftables way (bench_sandbox.util_linux_command's shape); prints the
    sandbox's PID 1 (host PID). With cgroup_dirs, in a cgroup of its own in each hierarchy first."""
    start = "setsid %s" % " ".join(UNSHARE)
    cgroup = ""
    if cgroup_dirs:
        dirs = " ".join(sorted(cgroup_dirs.values()))
        cgroup = "for g in %s; do mkdir $g; done; " % dirs
        for key, filename, text in LIMIT_FILES:
            if key in cgroup_dirs:
                cgroup += "echo %s > %s/%s; " % (text, cgroup_dirs[key], filename)
        start = ("setsid sh -c \"for g in %s; do echo \\$\\$ > \\$g/cgroup.procs; done; exec %s\""
                 % (dirs, " ".join(UNSHARE)))
    length = HAND_SUBNET.split("/")[1]
    dnat = "fib daddr type local tcp dport %d dnat to %s:%d;" % (HOST_PORT, HAND_ADDRESS, PORT)
    rules = ("table ip %(table)s { "
             "chain prerouting { type nat hook prerouting priority -100; %(dnat)s }; "
             "chain output { type nat hook output priority -100; %(dnat)s }; "
             "chain postrouting { type nat hook postrouting priority 100; "
             "ip saddr %(subnet)s oifname != %(bridge)s masquerade; "
             "oifname %(bridge)s ip saddr 127.0.0.0/8 masquerade; }; "
             "}") % {"table": HAND_TABLE, "dnat": dnat, "subnet": HAND_SUBNET, "bridge": HAND_BRIDGE}
    script = (
        "set -e; d=%(folder)s; mkdir -m 700 $d; cd $d; touch %(types)s; %(cgroup)s"
        "%(start)s </dev/null >/dev/null 2>&1 & p=$!; "
        "n=0; until set -- $(cat /proc/$p/task/$p/children 2>/dev/null) && [ $# -gt 0 ] "
        "&& [ \"$(cat /proc/$1/comm 2>/dev/null)\" = sleep ]; do "
        "n=$((n+1)); [ $n -lt 1000 ] || { kill -9 $p; exit 1; }; sleep 0.005; done; c=$1; "
        "for t in %(types)s; do mount --bind /proc/$c/ns/$t $t; done; "
        "if ! ip link show %(bridge)s >/dev/null 2>&1; then "
        "ip link add %(bridge)s type bridge; ip addr add %(gateway)s/%(length)s dev %(bridge)s; "
        "ip link set %(bridge)s up; echo 1 > /proc/sys/net/ipv4/conf/%(bridge)s/route_localnet; fi; "
        "ip link add %(veth)s type veth peer name eth0 netns $c; "
        "ip link set %(veth)s master %(bridge)s; ip link set %(veth)s up; "
        "nsenter --net=/proc/$c/ns/net ip addr add %(address)s/%(length)s dev eth0; "
        "nsenter --net=/proc/$c/ns/net ip link set eth0 up; "
        "nsenter --net=/proc/$c/ns/net ip link set lo up; "
        "nsenter --net=/proc/$c/ns/net ip route add default via %(gateway)s; "
        "echo 1 > /proc/sys/net/ipv4/ip_forward; "
        "grep -E \"^(nameserver|search|options)\" /etc/resolv.conf > resolv.conf || :; "
        "nsenter --mount=/proc/$c/ns/mnt mount --bind -o ro $d/resolv.conf /etc/resolv.conf; "
        "echo \"%(rules)s\" | nft -f -; "
        "echo $c"
    ) % {"folder": folder, "types": " ".join(NS_TYPES), "cgroup": cgroup, "start": start, "bridge": HAND_BRIDGE,
         "gateway": HAND_GATEWAY, "length": length, "veth": veth, "address": HAND_ADDRESS, "rules": rules}
    return ["sh", "-c", script]


class ByHand:
    """The by-hand side: made by one `-m command` task in the lab's host, removed from here (untimed)."""

    def __init__(self, lab, util_linux, util_linux_cg, ip_forward):
        self.lab = lab
        self.util_linux = util_linux  # the private folder (setup / cleanup of what is left)
        self.util_linux_cg = util_linux_cg  # cgroup_dirs / remove_cgroup / cleanup
        self.ip_forward = ip_forward  # the lab host's own value, put back on removal
        self.started = {}  # key -> (folder, init PID or None, veth, cgroup name or None)
        self.count = 0

    def create(self, key, cgroup=False):
        self.count += 1
        folder = self.util_linux.root / key
        veth = "hv%d" % self.count
        name = key if cgroup else None
        self.started[key] = (folder, None, veth, name)
        dirs = self.util_linux_cg.cgroup_dirs(name) if cgroup else None
        seconds, result = ansible_adhoc(self.lab.host.prefix, "ansible.builtin.command",
                                        {"argv": by_hand_script(folder, veth, dirs)})
        init = int(result["stdout"].strip().splitlines()[-1])
        self.started[key] = (folder, init, veth, name)
        return seconds, init

    def remove(self, key):
        folder, init, veth, name = self.started.pop(key)
        self.lab.host.run("ip", "link", "del", veth, check=False)
        if init is not None and comm(init) == "sleep":
            os.kill(init, signal.SIGKILL)
        for ns_type in NS_TYPES:
            run("umount", str(folder / ns_type), check=False)
        shutil.rmtree(folder, ignore_errors=True)
        # Back to no bridge, no table, forwarding as it was: every run makes them, as the module's does.
        self.lab.host.run("ip", "link", "del", HAND_BRIDGE, check=False)
        self.lab.host.run("nft", "delete", "table", "ip", HAND_TABLE, check=False)
        self.lab.host.run("sh", "-c", "echo %s > /proc/sys/net/ipv4/ip_forward" % self.ip_forward)
        if name is not None:
            self.util_linux_cg.remove_cgroup(name)

    def cleanup(self):
        for key in list(self.started):
            try:
                self.remove(key)
            except Exception as exc:  # pylint: disable=broad-except
                log("cleanup of %s: %s" % (key, exc))
        # A command interrupted before its handles were mounted: its processes work in the folder.
        root = str(self.util_linux.root)
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cwd = os.readlink("/proc/%s/cwd" % entry)
            except OSError:
                continue
            if (cwd == root or cwd.startswith(root + "/")) and comm(int(entry)) in ("sleep", "unshare", "sh"):
                log("cleanup: SIGKILL to PID %s (%s, working in %s)" % (entry, comm(int(entry)), cwd))
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except ProcessLookupError:
                    pass


# ---------------------------------------------------------------- part 1

LABELS = ("ours", "by hand", "ours (cgroup)", "by hand (cgroup)")


def check_answers(lab, netns_path, tag):
    """A server in the sandbox's network namespace answers on 127.0.0.1:8080 and, from outside, on the
    uplink address: the made network does what it should (else the timing compares nothing)."""
    checked(lab.host.prefix)
    checked(lab.outside.prefix)
    checked(["--net=" + netns_path])
    server = subprocess.Popen(["nsenter", "--net=" + netns_path, "--", sys.executable, "-c", ECHO_SERVER, tag,
                               str(PORT)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        local = ask("127.0.0.1", HOST_PORT, prefix=lab.host.prefix)
        outside = ask(lab.host_address, HOST_PORT, prefix=lab.outside.prefix)
    finally:
        server.kill()
        server.wait()
    if not (local.startswith(tag + " ") and outside.startswith(tag + " ")):
        raise RuntimeError("%s: the published port does not answer as it should: 127.0.0.1 -> %r, from outside "
                           "-> %r" % (tag, local, outside))
    log("part 1: %s checked: 127.0.0.1:%d -> %r, from outside %s:%d -> %r"
        % (tag, HOST_PORT, local, lab.host_address, HOST_PORT, outside))


def bench_end_to_end(lab, ours, by_hand, runs):
    times = dict((label, []) for label in LABELS)
    no_cgroup = {"PYTHONPATH": str(SITECUSTOMIZE_DIR)}

    def one(label, key, check=False):
        if label.startswith("ours"):
            name = "%s-%s" % (TAG, key)
            cgroup = label == "ours (cgroup)"
            env = None if cgroup else no_cgroup
            seconds, result = ours.create(name, dict(LIMITS) if cgroup else None, env)
            sandbox = result["sandbox"]
            if (sandbox["cgroup"] is not None) != cgroup or sandbox["network"]["mode"] != "bridge":
                raise RuntimeError("%s: not the sandbox asked for: %s" % (label, json.dumps(sandbox)[:1000]))
            if check:
                check_answers(lab, "/proc/%d/ns/net" % sandbox["supervisor"]["pid"], "ours")
            ours.remove(name, env)
        else:
            key = "%s-%s" % ("cg" if "cgroup" in label else "plain", key)
            seconds, init = by_hand.create(key, cgroup="cgroup" in label)
            if check:
                check_answers(lab, "/proc/%d/ns/net" % init, "hand")
                resolv = run("nsenter", "--mount=/proc/%d/ns/mnt" % init, "cat", "/etc/resolv.conf").stdout
                if resolv != (by_hand.util_linux.root / key / "resolv.conf").read_text():
                    raise RuntimeError("by hand: /etc/resolv.conf inside is not its own: %r" % resolv)
            by_hand.remove(key)
        return seconds

    for label in LABELS:
        one(label, "warm-%d" % LABELS.index(label), check=True)
    for i in range(runs):
        order = LABELS[i % len(LABELS):] + LABELS[:i % len(LABELS)]
        for label in order:
            times[label].append(one(label, "%d-%d" % (i, LABELS.index(label))))
    for label, values in times.items():
        log("part 1: %-18s mean %.3f s, median %.3f s over %d runs"
            % (label, statistics.mean(values), statistics.median(values), len(values)))
    return times


# ---------------------------------------------------------------- part 2

def send(prefix, host, port, megabytes):
    argv = checked(prefix) + [sys.executable, "-c", SENDER, host, str(port), str(megabytes), str(CHUNK_KIB)]
    proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600, check=False)
    try:
        figures = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise RuntimeError("sender to %s:%d gave no figures (rc=%d): %s"
                           % (host, port, proc.returncode, proc.stderr[-2000:])) from None
    if figures["received"] != figures["bytes"]:
        raise RuntimeError("sender to %s:%d: sent %d bytes, the receiver counted %d"
                           % (host, port, figures["bytes"], figures["received"]))
    return figures["bytes"] / figures["seconds"] / 1e6


def bench_throughput(lab, ours, rounds, megabytes):
    name = "%s-throughput" % TAG
    _seconds, result = ours.create(name)
    address = result["sandbox"]["network"]["address"]
    _seconds, started = ansible_adhoc(lab.host.prefix, "linuxns.pidns.sandbox_exec", {
        "sandbox": name, "detach": True, "argv": [sys.executable, "-c", RECEIVER, str(PORT)]})
    if started.get("rc") not in (0, None):
        raise RuntimeError("the receiver did not start: %s" % started)
    targets = {
        "published 127.0.0.1:%d" % HOST_PORT: (lab.host.prefix, "127.0.0.1", HOST_PORT),
        "published %s:%d (uplink)" % (lab.host_address, HOST_PORT): (lab.host.prefix, lab.host_address, HOST_PORT),
        "direct %s:%d" % (address, PORT): (lab.host.prefix, address, PORT),
        "from outside, %s:%d" % (lab.host_address, HOST_PORT): (lab.outside.prefix, lab.host_address, HOST_PORT),
    }
    labels = list(targets)
    mbps = dict((label, []) for label in labels)
    for label in labels:  # untimed: the receiver is up, every path works, caches warm
        send(*targets[label], megabytes=min(megabytes, 64))
    for i in range(rounds):
        order = labels[i % len(labels):] + labels[:i % len(labels)]
        for label in order:
            mbps[label].append(send(*targets[label], megabytes=megabytes))
    ours.remove(name)
    for label in labels:
        log("part 2: %-36s median %.0f MB/s over %d rounds (%s)"
            % (label, statistics.median(mbps[label]), rounds, ", ".join("%.0f" % x for x in mbps[label])))
    return {"megabytes": megabytes, "chunk_kib": CHUNK_KIB, "rounds": rounds, "address": address,
            "labels": {"published_loopback": labels[0], "published_uplink": labels[1], "direct": labels[2],
                       "outside": labels[3]},
            "mbps": mbps}


# ---------------------------------------------------------------- report

def report(info, e2e, throughput, left_as_found):
    out = []
    out.append("machine: " + ", ".join("%s %s" % item for item in info.items()))
    out.append("")
    runs = len(e2e["ours"])
    out.append("1. end to end, `ansible localhost -c local` in a network namespace of the benchmark, %d interleaved "
               "runs each, seconds" % runs)
    out.append("   ours: -m linuxns.pidns.sandbox network_mode=bridge published_ports=[%s]; by hand: -m command "
               "(unshare, mount --bind x5, ip, nsenter ip x4, nft -f -)" % PUBLISHED)
    out.append("   (cgroup): bench_sandbox.py's limits, pids %(pids_limit)s, memory %(memory)s, cpus %(cpus)s" % LIMITS)
    out.append("   %-8s %8s %8s %8s %8s %9s %9s" % ("", "ours", "by hand", "ours+cg", "hand+cg", "ours/hand",
                                                    "+cg/+cg"))
    for label, function in (("mean", statistics.mean), ("median", statistics.median), ("min", min)):
        a, b, c, d = (function(e2e[label_]) for label_ in LABELS)
        out.append("   %-8s %8.3f %8.3f %8.3f %8.3f %8.2fx %8.2fx" % (label, a, b, c, d, a / b, c / d))
    plain = statistics.median(e2e["ours"]) / statistics.median(e2e["by hand"])
    cgroup = statistics.median(e2e["ours (cgroup)"]) / statistics.median(e2e["by hand (cgroup)"])
    pairs = statistics.median(a / b for a, b in zip(e2e["ours"], e2e["by hand"]))
    out.append("   goal median ratio <= 1.15 without a cgroup: %s (%.2fx; median of the pairs %.2fx); with one: "
               "%s (%.2fx)" % ("met" if plain <= 1.15 else "NOT met", plain, pairs,
                               "met" if cgroup <= 1.15 else "NOT met", cgroup))
    out.append("")
    labels, mbps = throughput["labels"], throughput["mbps"]
    direct = statistics.median(mbps[labels["direct"]])
    out.append("2. throughput into a bridged sandbox, %d MiB per connection in %d KiB sendall chunks, %d interleaved "
               "rounds, MB/s" % (throughput["megabytes"], throughput["chunk_kib"], throughput["rounds"]))
    out.append("   %-38s %8s %8s %8s %9s %7s" % ("sender -> receiver", "median", "min", "max", "/ direct", "pairs"))
    for key in ("published_loopback", "published_uplink", "direct", "outside"):
        values = mbps[labels[key]]
        pair = statistics.median(a / b for a, b in zip(values, mbps[labels["direct"]]))
        out.append("   %-38s %8.0f %8.0f %8.0f %8.2fx %6.2fx"
                   % (labels[key], statistics.median(values), min(values), max(values),
                      statistics.median(values) / direct, pair))
    loopback = statistics.median(mbps[labels["published_loopback"]]) / direct
    uplink = statistics.median(mbps[labels["published_uplink"]]) / direct
    out.append("   goal published / direct >= 0.9: 127.0.0.1 %s (%.2fx), uplink address %s (%.2fx); from outside "
               "(forwarded, one more veth) for information" % ("met" if loopback >= 0.9 else "NOT met", loopback,
                                                               "met" if uplink >= 0.9 else "NOT met", uplink))
    out.append("")
    out.append("the benchmark's host namespace after removal: %s" % (
        "as found (links, addresses, routes, nft ruleset, ip_forward)" if left_as_found else "NOT as found"))
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--e2e-runs", type=int, default=10, help="ansible runs per side and variant (10)")
    parser.add_argument("--rounds", type=int, default=5, help="throughput rounds over every path (5)")
    parser.add_argument("--megabytes", type=int, default=512, help="MiB sent per throughput connection (512)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.e2e_runs < 1 or args.rounds < 1 or args.megabytes < 1:
        parser.error("--e2e-runs, --rounds and --megabytes take 1 or more")
    if os.geteuid() != 0:
        sys.exit("run as root: sandboxes and network namespaces need CAP_SYS_ADMIN / CAP_NET_ADMIN")
    missing = [tool for tool in ("unshare", "mount", "umount", "nsenter", "setsid", "ip", "nft")
               if not shutil.which(tool)]
    if missing:
        sys.exit("missing tools: %s" % ", ".join(missing))
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda signum, _frame: sys.exit(128 + signum))

    started = time.monotonic()
    cgroups = cgroup_mounts()
    if not cgroups:
        sys.exit("no cgroup hierarchy found: nothing to compare")
    lab = ours = by_hand = None
    util_linux = UtilLinux(UL_DIR)
    util_linux_cg = UtilLinux(UL_DIR, cgroups)
    try:
        info = machine()
        version = re.search(r"iproute2-(\S+?),?(\s|$)", run("ip", "-V").stdout)
        info["iproute2"] = version.group(1) if version else "?"
        info["nftables"] = run("nft", "--version").stdout.split()[1]
        info["loadavg_start"] = "%.2f" % os.getloadavg()[0]
        SITECUSTOMIZE_DIR.mkdir(mode=0o700)
        (SITECUSTOMIZE_DIR / "sitecustomize.py").write_text(NO_CGROUP_SITECUSTOMIZE)
        util_linux.setup()
        util_linux_cg.setup()
        lab = NetworkLab()
        before = lab.host.snapshot()
        ours = Ours(lab)
        by_hand = ByHand(lab, util_linux, util_linux_cg, before["ip_forward"])
        e2e = bench_end_to_end(lab, ours, by_hand, args.e2e_runs)
        throughput = bench_throughput(lab, ours, args.rounds, args.megabytes)
        after = lab.host.snapshot()
        left_as_found = after == before
        if not left_as_found:
            log("the lab's host namespace changed:\nbefore %s\nafter  %s" % (before, after))
        info["loadavg_end"] = "%.2f" % os.getloadavg()[0]
    finally:
        if ours is not None:
            ours.cleanup()
        if by_hand is not None:
            by_hand.cleanup()
        if lab is not None:
            lab.close()
        util_linux_cg.cleanup()
        util_linux.cleanup()
        shutil.rmtree(SITECUSTOMIZE_DIR, ignore_errors=True)
    print(report(info, e2e, throughput, left_as_found))
    print("\n(total %.0f s)" % (time.monotonic() - started))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": info, "end_to_end": e2e, "throughput": throughput,
                       "host_namespace_left_as_found": left_as_found}, handle, indent=2)


if __name__ == "__main__":
    main()
