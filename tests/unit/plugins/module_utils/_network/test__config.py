# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""network_mode, bridge, published_ports, dns_servers: parsing, the spec they make, and its rules."""

from __future__ import annotations

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._network import _config
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._decision import decide
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import normalize_spec


@pytest.mark.parametrize("text, expected", [
    ("8080:80", {"host_ip": "0.0.0.0", "host_port": 8080, "port": 80, "protocol": "tcp"}),
    ("127.0.0.1:8080:80", {"host_ip": "127.0.0.1", "host_port": 8080, "port": 80, "protocol": "tcp"}),
    ("8053:53/udp", {"host_ip": "0.0.0.0", "host_port": 8053, "port": 53, "protocol": "udp"}),
    ("::53/udp", None),
    (":8080:80/tcp", {"host_ip": "0.0.0.0", "host_port": 8080, "port": 80, "protocol": "tcp"}),
])
def test_published_ports_take_dockers_syntax(text, expected):
    if expected is None:
        with pytest.raises(SandboxError, match=r"^p: '::53/udp': the host port '' is not a port number"):
            _config.parse_published_port(text, "p")
    else:
        assert _config.parse_published_port(text, "p") == expected


@pytest.mark.parametrize("text, message", [
    ("99999:80", "the host port '99999' is not a port number from 1 to 65535"),
    ("80:0", "the port inside '0' is not a port number"),
    ("a:b", "the host port 'a' is not a port number"),
    ("80", "is not HOST_PORT:PORT"),
    ("1.2.3.4:5:6:7", "is not HOST_PORT:PORT"),
    ("8000-8010:80-90", "port ranges are not supported"),
    ("80:80/sctp", "the protocol after / must be tcp or udp"),
    ("256.0.0.1:80:80", "'256.0.0.1' is not an IPv4 address"),
    ("[::1]:80:80", "is not HOST_PORT:PORT"),
    ("٣:80", "the host port '٣' is not a port number"),  # a digit, but not an ASCII one
])
def test_bad_published_ports_name_the_entry_and_what_is_wrong(text, message):
    with pytest.raises(SandboxError) as caught:
        _config.parse_published_port(text, "published_ports[2]")
    assert str(caught.value).startswith("published_ports[2]: %r" % text) and message in str(caught.value)


def test_two_entries_taking_one_host_port_are_refused_and_the_list_is_sorted():
    with pytest.raises(SandboxError, match=r"published_ports\[1\]: '127.0.0.1:80:81' takes host port 80/tcp"):
        _config.normalize_network("bridge", ["pid"], published_ports=["80:80", "127.0.0.1:80:81"])
    _network, ports, _namespaces = _config.normalize_network(
        "bridge", ["pid"], published_ports=["127.0.0.1:80:81", "127.0.0.2:80:82", "80:80/udp", "53:53"])
    assert [(p["protocol"], p["host_port"], p["host_ip"]) for p in ports] == [
        ("tcp", 53, "0.0.0.0"), ("tcp", 80, "127.0.0.1"), ("tcp", 80, "127.0.0.2"), ("udp", 80, "0.0.0.0")]


def test_the_mode_follows_namespaces_when_unset_and_bridge_adds_net():
    assert _config.normalize_network(None, ["pid", "mnt"]) == (None, [], ["pid", "mnt"])
    assert _config.normalize_network(None, ["pid", "net"]) == (None, [], ["pid", "net"])
    assert _config.normalize_network("none", ["pid"]) == (None, [], ["pid", "net"])
    network, ports, namespaces = _config.normalize_network("bridge", ["pid"], dns_servers=["10.0.0.53"])
    assert network == {"mode": "bridge", "bridge": "pidns0", "subnet": None, "dns_servers": ["10.0.0.53"]}
    assert (ports, namespaces) == ([], ["pid", "net"])


@pytest.mark.parametrize("args, message", [
    (("host", ["pid", "net"]), "network_mode: host shares the machine's network, but namespaces lists net"),
    (("bogus", ["pid"]), "network_mode: 'bogus' is not one of host, none, bridge"),
    (("none", ["pid"], {"name": "br0"}), "bridge: only a sandbox with network_mode bridge has one"),
    ((None, ["pid"], None, ["80:80"]), "published_ports: only a sandbox with network_mode bridge"),
    (("bridge", ["pid"], {"name": "-x"}), "bridge.name: '-x' is not an interface name"),
    (("bridge", ["pid"], {"name": "a b"}), "bridge.name: 'a b' is not an interface name"),
    (("bridge", ["pid"], {"nmae": "x"}), "bridge: unknown key(s) nmae"),
    (("bridge", ["pid"], {"subnet": "10.0.0.0/8"}), "bridge.subnet: '10.0.0.0/8': the prefix length must be 16 to 29"),
    (("bridge", ["pid"], {"subnet": "10.0.0.1/24"}), "has host bits set; did you mean 10.0.0.0/24?"),
    (("bridge", ["pid"], {"subnet": "10.0.0.0"}), "bridge.subnet: '10.0.0.0' is not a subnet"),
    (("bridge", ["pid"], None, None, ["1.1.1.1"] * 4), "dns_servers: a list of at most 3"),
    (("bridge", ["pid"], None, None, ["1.1.1"]), "dns_servers[0]: '1.1.1' is not an IPv4 address"),
])
def test_bad_network_options_name_the_option(args, message):
    with pytest.raises(SandboxError) as caught:
        _config.normalize_network(*args)
    assert message in str(caught.value)


def test_overlaps_and_subnets():
    parse = _config.parse_subnet
    assert _config.overlaps(parse("10.89.0.0/24", "s"), parse("10.89.0.128/25", "s"))
    assert _config.overlaps(parse("10.89.0.0/16", "s"), parse("10.89.7.0/24", "s"))
    assert not _config.overlaps(parse("10.89.0.0/24", "s"), parse("10.89.1.0/24", "s"))
    assert _config.format_subnet(*parse("192.168.0.0/16", "s")) == "192.168.0.0/16"


def test_published_ports_update_in_place_and_the_mode_recreates():
    wanted, _warnings = normalize_spec("web", network_mode="bridge", published_ports=["8080:80"])
    current = {"health": "alive", "problems": [], "spec": normalize_spec("web", network_mode="bridge")[0]}
    assert decide("web", current, wanted).action == "update"
    assert decide("web", current, wanted).reasons == ["published_ports"]
    host = {"health": "alive", "problems": [], "spec": normalize_spec("web")[0]}
    decision = decide("web", host, wanted)
    assert decision.action == "recreate" and decision.reasons == ["namespaces", "network", "published_ports"]


def test_a_spec_recorded_before_networks_keeps_its_sandbox():
    """Records made before `network` existed lack the keys: their defaults mean what they had."""
    for namespaces in (["pid", "mnt"], ["pid", "mnt", "net"]):
        old = normalize_spec("web", namespaces=namespaces)[0]
        del old["network"], old["published_ports"]
        current = {"health": "alive", "problems": [], "spec": old}
        assert decide("web", current, normalize_spec("web", namespaces=namespaces)[0]).action == "keep"


def test_a_bridged_sandbox_without_a_mount_namespace_is_warned_about():
    _spec, warnings = normalize_spec("web", namespaces=["pid"], network_mode="bridge")
    assert any("no mount namespace, so its resolv.conf cannot be its own" in w for w in warnings)
