# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Network namespaces a test makes for itself, so bridged sandboxes never touch this machine's links,
routes, nftables ruleset or forwarding switch: a "host" (where the modules run, under nsenter) and
machines outside it on a veth link (a client from elsewhere, a server on the internet). Each is
held by a `sleep` of its own and ends, with everything in it, when that process is killed by PID."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

# TEST-NET-2 (RFC 5737): never routed, so a mistake cannot reach a real machine.
OUTSIDE_SUBNET = "198.51.100.%d"

ECHO_SERVER = r"""
import socket, sys, threading
tag = sys.argv[1]
def udp(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))
    while True:
        _data, peer = sock.recvfrom(512)
        sock.sendto(("%s %s\n" % (tag, peer[0])).encode(), peer)
for port in sys.argv[3:]:
    threading.Thread(target=udp, args=(int(port),), daemon=True).start()
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", int(sys.argv[2])))
server.listen(64)
while True:
    conn, peer = server.accept()
    conn.sendall(("%s %s\n" % (tag, peer[0])).encode())
    conn.close()
"""

# Asks host:port over TCP (or UDP) until it answers, for up to `wait` seconds; prints the answer, or
# ERROR and why.
CLIENT = r"""
import socket, sys, time
host, port, protocol, wait = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
deadline = time.monotonic() + wait
while True:
    try:
        if protocol == "tcp":
            with socket.create_connection((host, port), timeout=1) as conn:
                answer = conn.recv(512)
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(0.5)
                sock.sendto(b"?", (host, port))
                answer = sock.recv(512)
        print(answer.decode().strip())
        break
    except OSError as exc:
        if time.monotonic() > deadline:
            print("ERROR %s" % exc)
            break
        time.sleep(0.05)
"""


def ask(host: str, port: int, protocol: str = "tcp", wait: float = 10.0, prefix: list | None = None) -> str:
    """What the server at host:port says (CLIENT), run under `prefix` (a namespace's nsenter)."""
    proc = subprocess.run(list(prefix or []) + [sys.executable, "-c", CLIENT, host, str(port), protocol, str(wait)],
                          capture_output=True, text=True, timeout=wait + 30, check=False)
    return proc.stdout.strip() or "ERROR " + proc.stderr.strip()


class Namespace:
    """A network namespace held by a sleep; lo up."""

    def __init__(self):
        own = os.stat("/proc/self/ns/net").st_ino
        # A session of its own: a Ctrl-C on a terminal does not end the namespace before what was made
        # in it is removed from it.
        self.holder = subprocess.Popen(["unshare", "--net", "--", "sleep", "infinity"], stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        try:
            deadline = time.monotonic() + 10
            while os.stat("/proc/%d/ns/net" % self.holder.pid).st_ino == own:
                if time.monotonic() > deadline:
                    raise AssertionError("unshare --net did not make a namespace")
                time.sleep(0.01)
            self.path = "/proc/%d/ns/net" % self.holder.pid
            self.prefix = ["nsenter", "--net=" + self.path, "--"]
            self.run("ip", "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise

    def run(self, *argv: str, check: bool = True) -> str:
        proc = subprocess.run(self.prefix + list(argv), capture_output=True, text=True, timeout=60, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("%s failed: %s" % (" ".join(argv), proc.stderr))
        return proc.stdout

    def start(self, *argv: str) -> subprocess.Popen:
        return subprocess.Popen(self.prefix + list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def snapshot(self) -> dict:
        """What a test must leave as it found it: links, addresses, routes, the nft ruleset, forwarding."""
        return {
            "links": sorted(line.split(":")[1].strip().split("@")[0] for line in self.run("ip", "-o", "link").splitlines()),
            "addresses": self.run("ip", "-o", "-4", "addr"),
            "routes": self.run("ip", "-4", "route", "show", "table", "all"),
            "nft": json.loads(self.run("nft", "-j", "list", "ruleset"))["nftables"][1:],
            "ip_forward": self.run("cat", "/proc/sys/net/ipv4/ip_forward").strip(),
        }

    def close(self):
        self.holder.kill()
        self.holder.wait()


class NetworkLab:
    """A host namespace and one machine outside it: host eth-side 198.51.100.1, outside 198.51.100.2."""

    def __init__(self):
        self.servers = []
        self.host = self.outside = None
        try:
            self.host = Namespace()
            self.outside = Namespace()
            self._plumb()
        except BaseException:
            self.close()
            raise

    def _plumb(self):
        link = "t" + uuid.uuid4().hex[:8]
        self.host.run("ip", "link", "add", link, "type", "veth", "peer", "name", "uplink",
                      "netns", str(self.outside.holder.pid))
        self.host.run("ip", "addr", "add", OUTSIDE_SUBNET % 1 + "/24", "dev", link)
        self.host.run("ip", "link", "set", link, "up")
        self.outside.run("ip", "addr", "add", OUTSIDE_SUBNET % 2 + "/24", "dev", "uplink")
        self.outside.run("ip", "link", "set", "uplink", "up")
        self.host_address = OUTSIDE_SUBNET % 1
        self.outside_address = OUTSIDE_SUBNET % 2

    def serve(self, namespace: Namespace, tag: str, tcp_port: int, *udp_ports: int):
        self.servers.append(namespace.start(sys.executable, "-c", ECHO_SERVER, tag, str(tcp_port),
                                            *[str(port) for port in udp_ports]))

    def close(self):
        for server in self.servers:
            server.kill()
            server.wait()
        for namespace in (self.host, self.outside):
            if namespace is not None:
                namespace.close()
