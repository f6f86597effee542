# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What network a sandbox asks for: `network_mode`, `bridge`, `published_ports`, `dns_servers`.
Pure (shapes only, no host); the plan filter imports it too.

Modes (community.docker's names): ``host`` shares the machine's network; ``none`` is a network
namespace with ``lo`` only; ``bridge`` is a namespace with a veth into a bridge the collection manages,
an address, a default route, outbound NAT and a resolv.conf that works inside."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError

MODES = ("host", "none", "bridge")
DEFAULT_BRIDGE = "pidns0"
# Interface names: IFNAMSIZ (16) with its NUL; letters, digits and "_.-" only, so every name is safe in
# an nft rule and an `ip` batch line.
BRIDGE_NAME_RULE = "1 to 15 characters from a-z A-Z 0-9 _ . -, starting with a letter"
# Where a bridge's subnet comes from when none is given: the first /24 of these no host route overlaps
# (docker walks its default address pools the same way). Podman's default is 10.88.0.0/16.
DEFAULT_POOL = "10.89.0.0/16"
POOL_PREFIX = 24
PROTOCOLS = ("tcp", "udp")
ANY_ADDRESS = "0.0.0.0"
MAX_PUBLISHED_PORTS = 256
MAX_DNS_SERVERS = 3  # resolv.conf's MAXNS: glibc reads no more


def parse_ipv4(text, option):
    """The address as an int; SandboxError naming the option unless it is a dotted-quad IPv4 address."""
    parts = text.split(".") if isinstance(text, str) else []
    if len(parts) != 4 or not all(part.isdigit() and part.isascii() and len(part) <= 3 and int(part) <= 255
                                  for part in parts):
        raise SandboxError("%s: %r is not an IPv4 address such as 127.0.0.1 (IPv6 is not supported yet)"
                           % (option, text))
    value = 0
    for part in parts:
        value = value * 256 + int(part)
    return value


def format_ipv4(value):
    return ".".join(str((value >> shift) & 255) for shift in (24, 16, 8, 0))


def parse_subnet(text, option):
    """(network int, prefix length) of an IPv4 subnet such as 10.89.0.0/24; /16 to /29."""
    address, slash, prefix = text.partition("/") if isinstance(text, str) else ("", "", "")
    if not slash or not prefix.isdigit() or not prefix.isascii():
        raise SandboxError("%s: %r is not a subnet such as 10.89.0.0/24" % (option, text))
    network, length = parse_ipv4(address, option), int(prefix)
    if not 16 <= length <= 29:
        raise SandboxError("%s: %r: the prefix length must be 16 to 29 (room for sandboxes, and not half the "
                           "address space)" % (option, text))
    if network & ~_mask(length) & 0xFFFFFFFF:
        raise SandboxError("%s: %r has host bits set; did you mean %s/%d?"
                           % (option, text, format_ipv4(network & _mask(length)), length))
    return network, length


def _mask(length):
    return (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF


def format_subnet(network, length):
    return "%s/%d" % (format_ipv4(network), length)


def overlaps(a, b):
    """Whether two (network, length) ranges share an address."""
    shorter = min(a[1], b[1])
    return (a[0] & _mask(shorter)) == (b[0] & _mask(shorter))


def is_bridge_name(name):
    return isinstance(name, str) and 1 <= len(name) <= 15 and name[0].isalpha() and name.isascii() and \
        all(char.isalnum() or char in "_.-" for char in name)


def parse_published_port(value, option):
    """{"host_ip", "host_port", "port", "protocol"} from docker's syntax: "8080:80",
    "127.0.0.1:8080:80", "8053:53/udp"."""
    if not isinstance(value, str):
        value = str(value)
    text, _slash, protocol = value.partition("/")
    protocol = protocol or "tcp"
    if protocol not in PROTOCOLS:
        raise SandboxError("%s: %r: the protocol after / must be tcp or udp" % (option, value))
    parts = text.split(":")
    if len(parts) == 2:
        host_ip, host_port, port = ANY_ADDRESS, parts[0], parts[1]
    elif len(parts) == 3:
        host_ip, host_port, port = parts
        host_ip = host_ip or ANY_ADDRESS
        parse_ipv4(host_ip, "%s: %r: the host IP" % (option, value))
    else:
        raise SandboxError("%s: %r is not HOST_PORT:PORT, HOST_IP:HOST_PORT:PORT, with /udp or /tcp after it "
                           "if wanted (such as 8080:80 or 127.0.0.1:8053:53/udp)" % (option, value))
    if "-" in host_port or "-" in port:
        raise SandboxError("%s: %r: port ranges are not supported; list each port" % (option, value))
    return {"host_ip": host_ip, "host_port": _port(host_port, option, value, "host port"),
            "port": _port(port, option, value, "port inside"), "protocol": protocol}


def _port(text, option, value, what):
    if not (text.isdigit() and text.isascii() and 1 <= int(text) <= 65535):
        raise SandboxError("%s: %r: the %s %r is not a port number from 1 to 65535" % (option, value, what, text))
    return int(text)


def normalize_network(mode, namespaces, bridge=None, published_ports=None, dns_servers=None):
    """(network spec or None, published ports, namespaces): the spec's `network` is None for the modes
    `namespaces` says all of (host: no "net"; none: "net"), a dict for bridge. mode None: what
    `namespaces` says (today's behaviour)."""
    namespaces = list(namespaces)
    if mode is None:
        mode = "none" if "net" in namespaces else "host"
    if mode not in MODES:
        raise SandboxError("network_mode: %r is not one of %s" % (mode, ", ".join(MODES)))
    if mode == "host" and "net" in namespaces:
        raise SandboxError("network_mode: host shares the machine's network, but namespaces lists net: "
                           "use network_mode none (lo only) or bridge, or drop net from namespaces")
    if mode != "bridge":
        for option, value in (("bridge", bridge), ("published_ports", published_ports),
                              ("dns_servers", dns_servers)):
            if value:
                raise SandboxError("%s: only a sandbox with network_mode bridge has one (network_mode is %s)"
                                   % (option, mode))
    if mode == "host":
        return None, [], namespaces
    if "net" not in namespaces:
        namespaces.append("net")
    if mode == "none":
        return None, [], namespaces
    return _bridge_spec(bridge or {}, dns_servers or []), _published(published_ports or []), namespaces


def _bridge_spec(bridge, dns_servers):
    if not isinstance(bridge, dict):
        raise SandboxError("bridge: %r is not a dict of name and subnet" % (bridge,))
    unknown = sorted(set(bridge) - set(["name", "subnet"]))
    if unknown:
        raise SandboxError("bridge: unknown key(s) %s; it takes name and subnet" % ", ".join(unknown))
    name = bridge.get("name") or DEFAULT_BRIDGE
    if not is_bridge_name(name):
        raise SandboxError("bridge.name: %r is not an interface name: use %s" % (name, BRIDGE_NAME_RULE))
    subnet = bridge.get("subnet")
    if subnet is not None:
        subnet = format_subnet(*parse_subnet(subnet, "bridge.subnet"))
    if not isinstance(dns_servers, list) or len(dns_servers) > MAX_DNS_SERVERS:
        raise SandboxError("dns_servers: a list of at most %d IPv4 addresses (what resolv.conf takes), got %r"
                           % (MAX_DNS_SERVERS, dns_servers))
    servers = [format_ipv4(parse_ipv4(server, "dns_servers[%d]" % index)) for index, server in enumerate(dns_servers)]
    return {"mode": "bridge", "bridge": name, "subnet": subnet, "dns_servers": servers}


def _published(values):
    if not isinstance(values, list) or len(values) > MAX_PUBLISHED_PORTS:
        raise SandboxError("published_ports: a list of at most %d entries such as \"8080:80\", got %r"
                           % (MAX_PUBLISHED_PORTS, values))
    ports = []
    for index, value in enumerate(values):
        option = "published_ports[%d]" % index
        port = parse_published_port(value, option)
        for other_index, other in enumerate(ports):
            if clashes(port, other):
                raise SandboxError("%s: %r takes host port %d/%s, as published_ports[%d] does"
                                   % (option, value, port["host_port"], port["protocol"], other_index))
        ports.append(port)
    return sorted(ports, key=lambda p: (p["protocol"], p["host_port"], p["host_ip"]))


def network_mode(spec):
    """The mode a normalized spec has."""
    if spec.get("network"):
        return spec["network"]["mode"]
    return "none" if "net" in spec.get("namespaces", ()) else "host"


def clashes(port, other):
    """Whether two published ports take the same host port (0.0.0.0 takes it on every address)."""
    return port["host_port"] == other["host_port"] and port["protocol"] == other["protocol"] and (
        port["host_ip"] == other["host_ip"] or ANY_ADDRESS in (port["host_ip"], other["host_ip"]))
