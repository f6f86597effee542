# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's nftables table, as nft's JSON, from the bridged sandboxes of one network namespace.
Pure. The table is the whole truth: it is replaced in one transaction from the sandboxes' records on
every change, so a killed run or a removed sandbox never leaves a rule behind, and the operator's own
tables and chains are never touched.

Per bridge: outbound NAT for its subnet; its traffic forwarded out and back; published ports DNATed
from every local address (or the one given), for packets from other machines (prerouting) and from this
one (output), with loopback sources masqueraded so 127.0.0.1:PORT works (with the bridge's
route_localnet); a sandbox reaching a published port of its bridge is masqueraded too (hairpin).
Where the collection turned forwarding on, its forward chain drops what it did not turn it on for."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.linuxns.pidns.plugins.module_utils._network._config import ANY_ADDRESS

TABLE = "linuxns_pidns"
FAMILY = "ip"
LOOPBACK = ("127.0.0.0", 8)


def _chain(name, kind, hook, priority):
    return {"chain": {"family": FAMILY, "table": TABLE, "name": name, "type": kind, "hook": hook,
                      "prio": priority, "policy": "accept"}}


def _rule(chain, *expr):
    return {"rule": {"family": FAMILY, "table": TABLE, "chain": chain, "expr": list(expr)}}


def _match(left, right, op="=="):
    return {"match": {"op": op, "left": left, "right": right}}


def _meta(key):
    return {"meta": {"key": key}}


def _field(protocol, field):
    return {"payload": {"protocol": protocol, "field": field}}


def _prefix(subnet):
    address, length = subnet.split("/")
    return {"prefix": {"addr": address, "len": int(length)}}


def _dnat_rules(chain, address, port):
    if port["host_ip"] == ANY_ADDRESS:
        destination = _match({"fib": {"result": "type", "flags": ["daddr"]}}, "local")
    else:
        destination = _match(_field("ip", "daddr"), port["host_ip"])
    return _rule(chain, destination, _match(_field(port["protocol"], "dport"), port["host_port"]),
                 {"dnat": {"addr": address, "port": port["port"]}})


def ruleset(networks, drop_other_forwarding):
    """nft's JSON input that replaces the table: networks [{"bridge", "subnet", "members": [{"address",
    "published_ports"}]}]; an empty list deletes it. drop_other_forwarding: forwarding was off before
    the collection turned it on, so what is not a bridge's stays unforwarded."""
    commands = [{"add": {"table": {"family": FAMILY, "name": TABLE}}},
                {"delete": {"table": {"family": FAMILY, "name": TABLE}}}]
    if not networks:
        return {"nftables": commands}
    objects = [{"table": {"family": FAMILY, "name": TABLE}},
               _chain("prerouting", "nat", "prerouting", -100),
               _chain("output", "nat", "output", -100),
               _chain("postrouting", "nat", "postrouting", 100),
               _chain("forward", "filter", "forward", 0)]
    # What a sandbox sends is forwarded (out, or to another bridge's sandbox: masqueraded there too).
    objects.extend(_rule("forward", _match(_meta("iifname"), network["bridge"]), {"accept": None})
                   for network in networks)
    for network in networks:
        bridge, subnet = network["bridge"], network["subnet"]
        on_bridge_out = _match(_meta("oifname"), bridge)
        objects.append(_rule("postrouting", _match(_field("ip", "saddr"), _prefix(subnet)),
                             _match(_meta("oifname"), bridge, "!="), {"masquerade": None}))
        objects.append(_rule("postrouting", on_bridge_out,
                             _match(_field("ip", "saddr"), {"prefix": {"addr": LOOPBACK[0], "len": LOOPBACK[1]}}),
                             {"masquerade": None}))
        objects.append(_rule("postrouting", on_bridge_out, _match({"ct": {"key": "status"}}, "dnat", "in"),
                             _match(_field("ip", "saddr"), _prefix(subnet)), {"masquerade": None}))
        objects.append(_rule("forward", on_bridge_out,
                             _match({"ct": {"key": "state"}}, ["established", "related"], "in"), {"accept": None}))
        objects.append(_rule("forward", on_bridge_out, _match({"ct": {"key": "status"}}, "dnat", "in"),
                             {"accept": None}))
        # From elsewhere, new connections into a bridge come through a published port only.
        objects.append(_rule("forward", on_bridge_out, {"drop": None}))
        for member in network["members"]:
            for port in member["published_ports"]:
                objects.append(_dnat_rules("prerouting", member["address"], port))
                objects.append(_dnat_rules("output", member["address"], port))
    if drop_other_forwarding:
        objects.append(_rule("forward", {"drop": None}))
    commands.extend({"add": item} for item in objects)
    return {"nftables": commands}


def forward_drops(listing, table=TABLE):
    """Base chains of other tables that drop forwarded packets by policy, from `nft -j list ruleset`:
    ["ip filter forward", ...]. Ours cannot override them (a drop in any base chain is final)."""
    found = []
    for item in (listing or {}).get("nftables", []):
        chain = item.get("chain") if isinstance(item, dict) else None
        if isinstance(chain, dict) and chain.get("hook") == "forward" and chain.get("policy") == "drop" \
                and chain.get("table") != table:
            found.append("%s %s %s" % (chain.get("family"), chain.get("table"), chain.get("name")))
    return found
