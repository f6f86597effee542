# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""network_mode: bridge (issue 19): an address on a bridge the collection manages, outbound NAT,
published ports, a resolv.conf of its own.

The modules run in a network namespace the test made (netns.NetworkLab: a "host" with a link to a
machine "outside"), so this machine's links, routes, nftables ruleset and forwarding are never touched;
every test also checks that removal leaves the test's host as it found it. The oracles are real
connections: servers inside sandboxes and outside answer with their tag and the address they saw."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_cli import run_module_main
from netns import ECHO_SERVER, NetworkLab, ask
from sandboxes import STATE_DIR, state_of

pytestmark = pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v nft && command -v ip"],
                                               capture_output=True, check=False).returncode != 0,
                                reason="needs nft (nftables) and ip (iproute2): `make test` installs them")

# Answers A queries for probe.test with the address in argv[1]; NXDOMAIN for anything else.
DNS_SERVER = r"""
import socket, struct, sys
answer_ip = socket.inet_aton(sys.argv[1])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("0.0.0.0", 53))
while True:
    query, peer = sock.recvfrom(512)
    labels, end = [], 12
    while query[end]:
        labels.append(query[end + 1:end + 1 + query[end]].decode("ascii", "replace"))
        end += query[end] + 1
    qtype, = struct.unpack("!H", query[end + 1:end + 3])
    found = ".".join(labels) == "probe.test" and qtype == 1
    header = query[:2] + struct.pack("!HHHHH", 0x8180 if found else 0x8183, 1, 1 if found else 0, 0, 0)
    record = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + answer_ip if found else b""
    sock.sendto(header + query[12:end + 5] + record, peer)
"""


@pytest.fixture
def net():
    network = NetworkLab()
    yield network
    network.close()


def _module(net, module, args, **kwargs):
    return run_module_main(module, args, prefix=net.host.prefix, **kwargs)


def _bridged(net, name, **options):
    made = _module(net, "sandbox", dict({"name": name, "network_mode": "bridge"}, **options))
    assert not made["failed"], made
    return made


def _serve_inside(net, name, tag, tcp_port, *udp_ports):
    started = _module(net, "sandbox_exec", {"sandbox": name, "detach": True, "argv": [
        sys.executable, "-c", ECHO_SERVER, tag, str(tcp_port)] + [str(port) for port in udp_ports]})
    assert started["rc"] == 0, started


def _ask_from(net, name, host, port, protocol="tcp"):
    from netns import CLIENT
    seen = _module(net, "sandbox_exec", {"sandbox": name, "argv": [
        sys.executable, "-c", CLIENT, host, str(port), protocol, "10"]})
    return seen["stdout"].strip()


def _remove(net, *names):
    for name in names:
        gone = _module(net, "sandbox", {"name": name, "state": "absent"})
        assert not gone["failed"] and gone["changed"], gone


def test_published_ports_reach_the_sandbox_from_everywhere_and_it_reaches_out_through_nat(net, names):
    """A server in a bridged sandbox answers on its published ports from the host (its own address and
    127.0.0.1), from a machine outside, and from a second sandbox by address; UDP too. A port published
    on 127.0.0.1 only is not reachable from outside. The sandbox reaches a server outside, which sees
    the host's address (NAT). Removing both leaves the test's host as it was."""
    before = net.host.snapshot()
    web, client = names("net"), names("net")
    made = _bridged(net, web, published_ports=["8080:80", "127.0.0.1:8081:80", "5353:53/udp"])
    network = made["sandbox"]["network"]
    assert network["mode"] == "bridge" and network["bridge"] == "pidns0"
    assert network["subnet"] == "10.89.0.0/24" and network["gateway"] == "10.89.0.1"
    address = network["address"]
    assert address == "10.89.0.2"
    _serve_inside(net, web, "web", 80, 53)

    assert ask("127.0.0.1", 8080, prefix=net.host.prefix).startswith("web ")
    assert ask(net.host_address, 8080, prefix=net.host.prefix).startswith("web ")
    assert ask("127.0.0.1", 8081, prefix=net.host.prefix).startswith("web ")
    assert ask("127.0.0.1", 5353, "udp", prefix=net.host.prefix).startswith("web ")
    assert ask(net.host_address, 8080, prefix=net.outside.prefix) == "web %s" % net.outside_address
    assert ask(net.host_address, 5353, "udp", prefix=net.outside.prefix) == "web %s" % net.outside_address
    assert ask(net.host_address, 8081, wait=1, prefix=net.outside.prefix).startswith("ERROR")
    # Nothing but the published ports comes in from outside, even with a route to the bridge.
    net.outside.run("ip", "route", "add", "10.89.0.0/24", "via", net.host_address)
    assert ask(address, 80, wait=1, prefix=net.outside.prefix).startswith("ERROR")

    other = _bridged(net, client)["sandbox"]["network"]
    assert other["address"] == "10.89.0.3"
    assert _ask_from(net, client, address, 80) == "web %s" % other["address"]

    net.serve(net.outside, "outside", 9000)
    assert _ask_from(net, web, net.outside_address, 9000) == "outside %s" % net.host_address

    [info] = _module(net, "sandbox_info", {"name": web})["sandboxes"]
    assert info["network"] == network
    # pidns_facts (and so the fleet report) sees nothing wrong with bridged sandboxes
    facts = _module(net, "pidns_facts", {})["ansible_facts"]["pidns"]
    mine = [entry for entry in facts["namespaces"]
            if entry["id"] in (made["sandbox"]["namespaces"]["pid"], info["namespaces"]["pid"])]
    assert mine and all(entry["warnings"] == [] for entry in mine), mine

    _remove(net, client, web)
    assert net.host.snapshot() == before


def test_dns_resolves_a_name_the_test_serves_on_the_bridge(net, names):
    """dns_servers makes the sandbox's /etc/resolv.conf (bound over the host's, which stays unchanged);
    the name resolves through a DNS server running in another sandbox of the bridge."""
    host_resolv = open("/etc/resolv.conf").read()
    dns, asker = names("dns"), names("dns")
    server = _bridged(net, dns)["sandbox"]["network"]["address"]
    started = _module(net, "sandbox_exec", {"sandbox": dns, "detach": True,
                                            "argv": [sys.executable, "-c", DNS_SERVER, "10.1.2.3"]})
    assert started["rc"] == 0, started
    _bridged(net, asker, dns_servers=[server])
    seen = _module(net, "sandbox_exec", {"sandbox": asker, "argv": [sys.executable, "-c", (
        "import socket, time\n"
        "print(open('/etc/resolv.conf').read().strip())\n"
        "for _ in range(100):\n"
        "    try:\n"
        "        print(socket.gethostbyname('probe.test')); break\n"
        "    except OSError:\n"
        "        time.sleep(0.05)\n")]})
    assert seen["stdout_lines"] == ["nameserver %s" % server, "10.1.2.3"], seen
    assert open("/etc/resolv.conf").read() == host_resolv


def test_published_ports_change_in_place_and_parallel_creates_take_distinct_addresses(net, names):
    """New published ports apply without a restart (same supervisor); the old port stops answering.
    Two creates started together get different addresses."""
    first, second, third = names("par"), names("par"), names("par")
    procs = [subprocess.Popen(net.host.prefix + [sys.executable, "-c", (
        "import json, sys; sys.path.insert(0, %r)\n"
        "from ansible_cli import run_module_main\n"
        "print(json.dumps(run_module_main('sandbox', {'name': %r, 'network_mode': 'bridge'})))\n")
        % (str(__import__("pathlib").Path(__file__).resolve().parent.parent), name)],
        stdout=subprocess.PIPE, text=True) for name in (first, second)]
    for proc in procs:
        proc.communicate(timeout=120)
    addresses = [state_of(name)["network"]["address"] for name in (first, second)]
    assert sorted(addresses) == ["10.89.0.2", "10.89.0.3"]

    made = _bridged(net, third, published_ports=["8090:80"])
    pid = made["sandbox"]["supervisor"]["pid"]
    _serve_inside(net, third, "third", 80)
    assert ask("127.0.0.1", 8090, prefix=net.host.prefix).startswith("third ")
    again = _bridged(net, third, published_ports=["8090:80"])
    assert not again["changed"]
    moved = _bridged(net, third, published_ports=["8091:80"])
    assert moved["changed"] and moved["updated"] == ["published_ports"], moved
    assert moved["sandbox"]["supervisor"]["pid"] == pid
    assert ask("127.0.0.1", 8091, prefix=net.host.prefix).startswith("third ")
    assert ask("127.0.0.1", 8090, wait=1, prefix=net.host.prefix).startswith("ERROR")


BAD_INPUT = [
    ({"published_ports": ["99999:80"]}, "published_ports[0]: '99999:80': the host port '99999' is not a port number"),
    ({"published_ports": ["a:b"]}, "published_ports[0]: 'a:b': the host port 'a' is not a port number"),
    ({"published_ports": ["8080:80", "8080:81"]}, "published_ports[1]: '8080:81' takes host port 8080/tcp"),
    ({"published_ports": ["[::1]:80:80"]}, "published_ports[0]: '[::1]:80:80' is not HOST_PORT:PORT"),
    ({"network_mode": "host", "namespaces": ["pid", "net"]}, "network_mode: host shares the machine's network"),
    ({"network_mode": "none", "published_ports": ["80:80"]}, "published_ports: only a sandbox with network_mode bridge"),
    ({"bridge": {"name": "br-host"}}, "bridge.name: br-host is an interface of the host that the collection did not make"),
    ({"bridge": {"name": "x" * 16}}, "bridge.name: 'xxxxxxxxxxxxxxxx' is not an interface name"),
    ({"bridge": {"subnet": "10.89.0.1/24"}}, "bridge.subnet: '10.89.0.1/24' has host bits set"),
    ({"dns_servers": ["dns.example"]}, "dns_servers[0]: 'dns.example' is not an IPv4 address"),
    ({"published_ports": ["7000:80"]}, "published_ports[0] (0.0.0.0:7000/tcp): the port is in use on the host"),
]


def test_bad_network_input_names_the_option_and_makes_nothing(net, names):
    """Each bad entry fails naming the option, and leaves no sandbox, link, rule or route behind. The
    host has a bridge of its own (br-host) and a process listening on port 7000."""
    net.host.run("ip", "link", "add", "br-host", "type", "bridge")
    holder = subprocess.Popen(net.host.prefix + [sys.executable, "-c", "import socket, time\ns = socket.socket()\n"
                              "s.bind(('0.0.0.0', 7000)); s.listen(); print('ready', flush=True); time.sleep(600)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        before = net.host.snapshot()
        for options, message in BAD_INPUT:
            name = names("bad")
            failed = _module(net, "sandbox", dict({"name": name, "network_mode": "bridge"}, **options))
            assert failed["failed"] and message in failed["msg"], (options, failed)
            assert state_of(name) is None
        assert net.host.snapshot() == before
    finally:
        holder.kill()
        holder.wait()


def test_a_sandbox_whose_record_was_lost_leaves_nothing_when_removed(net, names):
    """A create killed between plumbing and record (simulated: the state file removed) leaves a veth,
    a bridge, a table and forwarding on: removing the broken sandbox takes them all away."""
    before = net.host.snapshot()
    name = names("lost")
    made = _bridged(net, name, published_ports=["8095:80"])
    veth = made["sandbox"]["network"]["interface"]
    assert veth in net.host.snapshot()["links"] and net.host.snapshot()["ip_forward"] == "1"
    (STATE_DIR / name / "state.json").unlink()
    [info] = _module(net, "sandbox_info", {"name": name})["sandboxes"]
    assert info["health"] == "broken" and info["network"] is None
    gone = _module(net, "sandbox", {"name": name, "state": "absent"})
    assert gone["changed"], gone
    assert net.host.snapshot() == before


def test_own_root_user_namespace_and_nesting_on_the_bridge(net, names):
    """A bridged sandbox with an overlay root and userns: auto gets its resolv.conf inside its own root,
    and a sandbox nested in it has a bridged network of its own (another address on the bridge): each
    answers on its published port, and the nested one reaches its parent by address."""
    if not any(line.startswith("linuxns-pidns:") for line in open("/etc/subuid").read().splitlines()):
        pytest.skip("needs an entry linuxns-pidns in /etc/subuid (scripts/bootstrap.sh adds one)")
    parent, child = names("own"), names("own")
    made = _bridged(net, parent, rootfs={"type": "overlay", "ephemeral": True}, userns="auto",
                    dns_servers=["192.0.2.53"], published_ports=["8100:80"])["sandbox"]
    assert made["userns"] and made["rootfs"]["type"] == "overlay"
    nested = _bridged(net, child, parent=parent, userns="auto", published_ports=["8101:80"])["sandbox"]
    assert nested["network"]["address"] != made["network"]["address"]
    assert nested["network"]["bridge"] == made["network"]["bridge"]
    python = "/usr/bin/python3"  # .venv's is not in the root inside (/root is 0700 to the range's ids)
    for name, tag in ((parent, "parent"), (child, "child")):
        started = _module(net, "sandbox_exec", {"sandbox": name, "detach": True, "argv": [
            python, "-c", ECHO_SERVER, tag, "80"]})
        assert started["rc"] == 0, started
    assert ask("127.0.0.1", 8100, prefix=net.host.prefix).startswith("parent ")
    assert ask("127.0.0.1", 8101, prefix=net.host.prefix).startswith("child ")
    from netns import CLIENT
    seen = _module(net, "sandbox_exec", {"sandbox": child, "argv": [
        python, "-c", CLIENT, made["network"]["address"], "80", "tcp", "10"]})
    assert seen["stdout"].strip() == "parent %s" % nested["network"]["address"], seen
    resolv = _module(net, "sandbox_exec", {"sandbox": parent, "argv": ["cat", "/etc/resolv.conf"]})
    assert resolv["stdout_lines"] == ["nameserver 192.0.2.53"]


def test_a_host_firewall_that_drops_forwarding_is_reported_and_not_overridden(net, names):
    """An operator's own nftables chain with a forward policy of drop: the create warns naming it, the
    sandbox cannot reach outside (nothing overrode it), and removal leaves the operator's table as it was."""
    net.host.run("nft", "add table inet operator; add chain inet operator keep_out "
                        "{ type filter hook forward priority 0; policy drop; }")
    before = net.host.snapshot()
    name = names("fwd")
    made = _bridged(net, name)
    # ansible-core 2.19 gives warnings as summaries ({"event": {"msg"}}), earlier ones as text
    texts = [w if isinstance(w, str) else w["event"]["msg"] for w in made.get("warnings", [])]
    assert any("chain inet operator keep_out drops forwarded packets" in text for text in texts), made
    net.serve(net.outside, "outside", 9000)
    assert _ask_from(net, name, net.outside_address, 9000).startswith("ERROR")
    _remove(net, name)
    assert net.host.snapshot() == before


IPTABLES_ONLY = r"""
import json, sys
sys.path[:0] = [%(integration)r, %(collections)r]
from ansible_collections.linuxns.pidns.plugins.module_utils._network import _host
real_tool = _host.tool
def tool(name):
    if name == "nft":  # a machine without nftables: the rules go through its iptables
        raise _host.SandboxError("no nft here")
    return real_tool(name)
_host.tool = tool
from sandboxes import make_sandbox
print(json.dumps(make_sandbox(*json.loads(sys.argv[1]), **json.loads(sys.argv[2]))))
"""


def _rules_of_iptables(net):
    return sorted(line for line in net.host.run("iptables-save").splitlines()
                  if line.startswith("-A") or "LINUXNS" in line)


@pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v iptables-restore && command -v iptables-save"],
                                   capture_output=True, check=False).returncode != 0,
                    reason="needs iptables (the iptables package): `make test` installs it")
def test_without_nft_the_rules_go_through_iptables(net, names):
    """On a machine without nft (simulated: the module is told nft is missing; the kernel work is
    real), chains of the collection's own, jumped to from the built-in ones, publish the port and NAT
    the way out; removal takes the chains and jumps away and leaves the operator's rules."""
    from ansible_cli import COLLECTIONS
    net.host.run("iptables", "-A", "FORWARD", "-s", "192.0.2.99", "-j", "ACCEPT")  # the operator's own
    before_rules = _rules_of_iptables(net)
    before = dict(net.host.snapshot(), nft=None)
    name = names("ipt")
    script = IPTABLES_ONLY % {"integration": str(Path(__file__).resolve().parent), "collections": str(COLLECTIONS)}

    def module(**options):
        proc = subprocess.run(net.host.prefix + [sys.executable, "-c", script, json.dumps([name]),
                                                 json.dumps(options)],
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    made = module(network_mode="bridge", published_ports=["8200:80"])
    assert not made["failed"], made
    saved = net.host.run("iptables-save")
    assert "-A PREROUTING -j LINUXNS-PIDNS-PRE" in saved and "-A FORWARD -j LINUXNS-PIDNS-FWD" in saved
    assert "table ip linuxns_pidns" not in net.host.run("nft", "list", "ruleset")
    _serve_inside(net, name, "ipt", 80)
    assert ask("127.0.0.1", 8200, prefix=net.host.prefix).startswith("ipt ")
    assert ask(net.host_address, 8200, prefix=net.outside.prefix) == "ipt %s" % net.outside_address
    net.serve(net.outside, "outside", 9000)
    assert _ask_from(net, name, net.outside_address, 9000) == "outside %s" % net.host_address
    gone = module(state="absent")
    assert gone["changed"], gone
    assert _rules_of_iptables(net) == before_rules
    # iptables-nft leaves the built-in chains it made, empty: compare all but the nft listing
    assert dict(net.host.snapshot(), nft=None) == before
