# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Bridged networks on the host: the bridge, a sandbox's veth and address, the nftables table, the
forwarding switch. Through the kernel's own tools, no daemon: `ip` (rtnetlink; one batch per
namespace) and `nft -j` (one transaction), or the machine's `iptables-restore` where there is no nft.

What the collection makes is marked as its own (the interface alias starts with ALIAS) and lives in
the network namespace the module runs in: records say which (`netns`, an inode), so sandboxes made
from another namespace (a test's, a parent sandbox's) never mix. `sync` makes the host match the
records: links no record uses go, the table is rewritten, and forwarding is turned back off when the
collection turned it on and its last bridge goes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import json
import os
import socket
import subprocess

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _syscalls
from ansible_collections.linuxns.pidns.plugins.module_utils._network import _config, _rules

ALIAS = "linuxns.pidns"
# On a bridge: forwarding was off before the collection turned it on (turned off again with the last bridge).
FORWARDING_MARK = ALIAS + " forwarding-was-off"
INSIDE_INTERFACE = "eth0"
IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"
TOOL_TIMEOUT = 30
MAX_TOOL_OUTPUT = 16 * 1024 * 1024
PACKAGES = {"ip": "iproute2", "nft": "nftables", "iptables-save": "iptables", "iptables-restore": "iptables"}
NFTABLES, IPTABLES = "nftables", "iptables"
_SEARCH_PATH = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")


def tool(name):
    """The tool's path; SandboxError naming the Debian package when it is missing."""
    for folder in _SEARCH_PATH:
        path = os.path.join(folder, name)
        if os.access(path, os.X_OK):
            return path
    raise SandboxError("network_mode: bridge needs %s (the %s package) on the host, and it is not in %s"
                       % (name, PACKAGES[name], ":".join(_SEARCH_PATH)))


def firewall():
    """What the rules go through: nft where present, else the machine's iptables (legacy or nft)."""
    try:
        tool("nft")
        return NFTABLES
    except SandboxError:
        pass
    try:
        tool("iptables-restore")
        tool("iptables-save")
        return IPTABLES
    except SandboxError:
        raise SandboxError("network_mode: bridge needs nft (the nftables package) or, without it, iptables-restore "
                           "and iptables-save (the iptables package) on the host, and neither is in %s"
                           % ":".join(_SEARCH_PATH))


def _run(argv, stdin=None, netns_path=None):
    """The tool's stdout; SandboxError with its stderr on failure. netns_path: run it in that network
    namespace (joined in the child before exec)."""
    def enter():
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        _syscalls.setns(fd, _syscalls.CLONE_NEWNET)
        os.close(fd)
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               close_fds=True, preexec_fn=enter if netns_path else None,
                               env={"PATH": ":".join(_SEARCH_PATH), "LC_ALL": "C"})
    try:
        out, err = process.communicate(stdin.encode() if stdin is not None else None, timeout=TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise SandboxError("%s did not finish within %d seconds" % (" ".join(argv[:3]), TOOL_TIMEOUT))
    if process.returncode != 0:
        message = err.decode("utf-8", "replace").strip()[-2000:]
        raise SandboxError("%s failed (exit %d): %s" % (" ".join(argv[:3]), process.returncode, message))
    return out[:MAX_TOOL_OUTPUT].decode("utf-8", "replace")


def _ip_batch(lines, netns_path=None):
    if lines:
        _run([tool("ip"), "-batch", "-"], "\n".join(lines) + "\n", netns_path)


def _links():
    """{name: {"alias", "kind", "addresses": [(address, prefix)]}} of this namespace's interfaces."""
    links = {}
    for link in json.loads(_run([tool("ip"), "-j", "-d", "addr", "show"]) or "[]"):
        links[link.get("ifname")] = {
            "alias": link.get("ifalias") or "",
            "kind": (link.get("linkinfo") or {}).get("info_kind"),
            "addresses": [(info["local"], info["prefixlen"]) for info in link.get("addr_info") or []
                          if info.get("family") == "inet" and "local" in info],
        }
    return links


def _is_ours(link):
    return link["alias"] == ALIAS or link["alias"].startswith(ALIAS + " ")


def netns_id(proc_root="/proc"):
    return os.stat(os.path.join(proc_root, "self", "ns", "net")).st_ino


def veth_name(name):
    """The host end of a sandbox's veth: stable per name, within IFNAMSIZ."""
    return "vp" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]


def bridged_records(state_dir, netns, skip=()):
    """[(name, state)] of the sandboxes with a bridged network in namespace `netns`."""
    found = []
    for name in state_dir.names():
        if name in skip:
            continue
        state = state_dir.read_state(name)
        network = (state or {}).get("network")
        if isinstance(network, dict) and network.get("netns") == netns:
            found.append((name, state))
    return found


def check_ports(published, others):
    """Refuse host ports another sandbox publishes or a host process holds (before anything is made)."""
    for index, port in enumerate(published):
        label = "published_ports[%d] (%s:%d/%s)" % (index, port["host_ip"], port["host_port"], port["protocol"])
        for other_name, other_state in others:
            for other in other_state["spec"].get("published_ports") or []:
                if _config.clashes(port, other):
                    raise SandboxError("%s: sandbox %s publishes that port already" % (label, other_name))
        kind = socket.SOCK_STREAM if port["protocol"] == "tcp" else socket.SOCK_DGRAM
        probe = socket.socket(socket.AF_INET, kind)
        try:
            probe.bind((port["host_ip"], port["host_port"]))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise SandboxError("%s: the port is in use on the host" % label)
            if exc.errno == errno.EADDRNOTAVAIL:
                raise SandboxError("%s: %s is not an address of this host" % (label, port["host_ip"]))
            raise
        finally:
            probe.close()


def _pick_subnet(links):
    """The first /24 of the default pool that no address or route of the host overlaps."""
    taken = [_range(address, prefix) for link in links.values() for address, prefix in link["addresses"]]
    for route in json.loads(_run([tool("ip"), "-j", "-4", "route", "show", "table", "all"]) or "[]"):
        destination = route.get("dst", "")
        if destination and destination != "default":
            address, _slash, length = destination.partition("/")
            taken.append(_range(address, int(length or 32)))
    pool, pool_length = _config.parse_subnet(_config.DEFAULT_POOL, "pool")
    for index in range(1 << (_config.POOL_PREFIX - pool_length)):
        candidate = (pool + (index << (32 - _config.POOL_PREFIX)), _config.POOL_PREFIX)
        if not any(_config.overlaps(candidate, other) for other in taken):
            return _config.format_subnet(*candidate)
    raise SandboxError("bridge.subnet: every /%d of %s overlaps a route or address of this host; give a subnet"
                       % (_config.POOL_PREFIX, _config.DEFAULT_POOL))


def _mask(length):
    return (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF if length else 0


def _range(address, prefix):
    """(network int, prefix) of an address and prefix length the host shows."""
    return _config.parse_ipv4(address, "address") & _mask(prefix), prefix


def _bridge_subnet(link):
    """(subnet, gateway) of an existing bridge: its first IPv4 address."""
    if not link["addresses"]:
        return None, None
    address, prefix = link["addresses"][0]
    return _config.format_subnet(*_range(address, prefix)), address


def _free_address(subnet, gateway, used):
    network, length = _config.parse_subnet(subnet, "bridge.subnet")
    taken = set([gateway]) | set(used)
    for offset in range(2, (1 << (32 - length)) - 1):
        candidate = _config.format_ipv4(network + offset)
        if candidate not in taken:
            return candidate
    raise SandboxError("bridge.subnet: %s has no free address left for another sandbox" % subnet)


def _read(path):
    with open(path) as handle:
        return handle.read().strip()


def _write(path, value):
    with open(path, "w") as handle:
        handle.write(value)


def preflight(network, published, others):
    """Check, before anything is made, what the host must allow: the tools, the bridge (the
    collection's, with the subnet asked for), the host ports. Returns the links seen (for connect)."""
    firewall()
    links = _links()
    bridge = links.get(network["bridge"])
    if bridge is not None:
        if not _is_ours(bridge):
            raise SandboxError("bridge.name: %s is an interface of the host that the collection did not make; "
                               "choose another name" % network["bridge"])
        subnet, _gateway = _bridge_subnet(bridge)
        if subnet is None:
            raise SandboxError("bridge.name: bridge %s has no IPv4 address; remove it (ip link del %s)"
                               % (network["bridge"], network["bridge"]))
        if network["subnet"] is not None and network["subnet"] != subnet:
            raise SandboxError("bridge.subnet: bridge %s has %s, not %s (every sandbox on a bridge shares its "
                               "subnet)" % (network["bridge"], subnet, network["subnet"]))
    check_ports(published, others)
    return links


def connect(network, name, supervisor_pid, others, netns, links, proc_root="/proc"):
    """Give a new sandbox (its PID 1 running) its veth, address and route on the bridge, made when
    missing (links: preflight's). Returns the record's `network` (what sync and removal need)."""
    bridge = network["bridge"]
    existing = links.get(bridge)
    batch = []
    if existing is not None:
        subnet, gateway = _bridge_subnet(existing)
    else:
        subnet = network["subnet"] or _pick_subnet(links)
        subnet_value, length = _config.parse_subnet(subnet, "bridge.subnet")
        gateway = _config.format_ipv4(subnet_value + 1)
        # Forwarding off before: the mark says to turn it off again (any bridge of ours may carry it).
        forwarding_off = _read(IP_FORWARD) == "0" or any(link["alias"] == FORWARDING_MARK for link in links.values())
        batch += ["link add name %s type bridge" % bridge,
                  "link set dev %s alias \"%s\"" % (bridge, FORWARDING_MARK if forwarding_off else ALIAS),
                  "addr add %s/%d dev %s" % (gateway, length, bridge), "link set dev %s up" % bridge]
    used = [state["network"]["address"] for _other, state in others if state["network"]["bridge"] == bridge]
    address = _free_address(subnet, gateway, used)
    veth = veth_name(name)
    if veth in links:
        _delete_links([veth])  # left by a create that was killed half way
    batch += ["link add name %s type veth peer name %s netns %d" % (veth, INSIDE_INTERFACE, supervisor_pid),
              "link set dev %s alias \"%s %s\"" % (veth, ALIAS, name),
              "link set dev %s master %s" % (veth, bridge),
              "link set dev %s type bridge_slave hairpin on" % veth,
              "link set dev %s up" % veth]
    _ip_batch(batch)
    if existing is None:
        # The bridge's own: a published port on 127.0.0.1 is DNATed here with its loopback source.
        _write("/proc/sys/net/ipv4/conf/%s/route_localnet" % bridge, "1")
        if _read(IP_FORWARD) == "0":
            _write(IP_FORWARD, "1")
    length = subnet.split("/")[1]
    _ip_batch(["addr add %s/%s dev %s" % (address, length, INSIDE_INTERFACE),
               "link set dev %s up" % INSIDE_INTERFACE,
               "route add default via %s" % gateway],
              os.path.join(proc_root, str(supervisor_pid), "ns", "net"))
    return {"netns": netns, "bridge": bridge, "subnet": subnet, "gateway": gateway, "address": address,
            "veth": veth}


def sync(state_dir, netns):
    """Make this namespace's links, table and forwarding match the records of sandboxes bridged in it."""
    records = bridged_records(state_dir, netns)
    links = _links()
    bridges = set(state["network"]["bridge"] for _name, state in records)
    veths = set(state["network"]["veth"] for _name, state in records)
    ours = dict((name, link) for name, link in links.items() if _is_ours(link))
    forwarding_owned = any(link["alias"] == FORWARDING_MARK for link in ours.values())
    stale = sorted(name for name, link in ours.items()
                   if name not in (bridges if link["kind"] == "bridge" else veths))
    _delete_links(sorted(stale, key=lambda n: ours[n]["kind"] == "bridge"))  # veths first: a bridge's ports go before it
    networks = []
    for bridge in sorted(bridges):
        members = [{"address": state["network"]["address"],
                    "published_ports": state["spec"].get("published_ports") or []}
                   for _name, state in records if state["network"]["bridge"] == bridge]
        networks.append({"bridge": bridge, "subnet": next(state["network"]["subnet"] for _name, state in records
                                                          if state["network"]["bridge"] == bridge),
                         "members": members})
    if firewall() == NFTABLES:
        if networks or _table_exists():
            _run([tool("nft"), "-j", "-f", "-"], json.dumps(_rules.ruleset(networks, forwarding_owned)))
    else:
        present = _rules.iptables_present(_run([tool("iptables-save")]))
        if networks or present[0]:
            _run([tool("iptables-restore"), "--noflush"], _rules.iptables_input(networks, forwarding_owned, present))
    if not bridges and forwarding_owned:
        _write(IP_FORWARD, "0")


def _delete_links(names):
    """Delete these links; one that went meanwhile is fine (a sandbox's veth goes with its network
    namespace, which the kernel frees a moment after the last process and handle)."""
    if not names:
        return
    try:
        _run([tool("ip"), "-force", "-batch", "-"], "".join("link del dev %s\n" % name for name in names))
    except SandboxError:
        left = sorted(set(names) & set(_links()))
        if left:
            raise SandboxError("could not delete the interface(s) %s" % ", ".join(left))


def after_removal(state_dir, state):
    """sync after a sandbox went: one bridged from this namespace, or one whose record was lost (a
    create killed half way may have left its veth)."""
    network = (state or {}).get("network")
    netns = netns_id(state_dir.proc_root)
    if network and network["netns"] == netns:
        sync(state_dir, netns)
    elif state is None and _has_tools():
        sync(state_dir, netns)


def _has_tools():
    try:
        tool("ip")
        firewall()
    except SandboxError:
        return False
    return True


def _table_exists():
    try:
        _run([tool("nft"), "-j", "list", "table", _rules.FAMILY, _rules.TABLE])
    except SandboxError:
        return False
    return True


def host_warnings(network):
    """What on the host keeps a bridged sandbox from working fully (reported, never overridden): the
    tools missing (named), a firewall that drops forwarding, no nameserver reachable from inside."""
    tool("ip")
    if firewall() == NFTABLES:
        chains = _rules.forward_drops(json.loads(_run([tool("nft"), "-j", "list", "ruleset"]) or "{}"))
    else:
        chains = ["iptables filter FORWARD"] if _rules.iptables_forward_drops(_run([tool("iptables-save")])) else []
    dropping = ["the host's firewall chain %s drops forwarded packets by policy: sandboxes on a bridge cannot reach "
                "other machines, nor be reached on their published ports, until it accepts them" % chain
                for chain in chains]
    return resolv_conf(network["dns_servers"])[1] + dropping


def resolv_conf(dns_servers, root="/"):
    """(resolv.conf text for a bridged sandbox, warnings): dns_servers, else the host's nameservers that
    are not loopback (unreachable inside), else a systemd-resolved stub's upstreams."""
    warnings = []
    if dns_servers:
        return "".join("nameserver %s\n" % server for server in dns_servers), warnings
    keep, servers = [], []
    host = _resolv_lines(os.path.join(root, "etc/resolv.conf"))
    for keyword, rest in host:
        if keyword == "nameserver":
            if not (rest.startswith("127.") or rest == "::1"):
                servers.append(rest)
        elif keyword in ("search", "domain", "options"):
            keep.append("%s %s" % (keyword, rest))
    if not servers:
        servers = [rest for keyword, rest in _resolv_lines(os.path.join(root, "run/systemd/resolve/resolv.conf"))
                   if keyword == "nameserver" and not rest.startswith("127.")]
    if not servers:
        warnings.append("the host's resolv.conf names no nameserver a bridged sandbox can reach (only loopback "
                        "ones, or none): names will not resolve inside; set dns_servers")
    text = "".join("nameserver %s\n" % server for server in servers[:_config.MAX_DNS_SERVERS]) + \
        "".join("%s\n" % line for line in keep)
    return text, warnings


def _resolv_lines(path, limit=64 * 1024):
    """[(keyword, rest)] of a resolv.conf, bounded; a line with odd characters is skipped."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit)
    except (IOError, OSError):
        return []
    lines = []
    for raw in data.decode("ascii", "replace").splitlines():
        text = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not text or not all(32 <= ord(char) < 127 for char in text):
            continue
        keyword, _space, rest = text.partition(" ")
        lines.append((keyword, " ".join(rest.split())[:256]))
    return lines
