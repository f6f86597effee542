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


# The machine's iptables, where there is no nft: chains of the collection's own, each jumped to from
# the start of its built-in chain. A forward chain of ours RETURNs what it lets through (an ACCEPT
# there would end FORWARD and skip the operator's own rules after the jump) and DROPs the rest, as
# the nft table's accept leaves other base chains their say.
IPTABLES_CHAINS = (("nat", "PREROUTING", "LINUXNS-PIDNS-PRE"), ("nat", "OUTPUT", "LINUXNS-PIDNS-OUT"),
                   ("nat", "POSTROUTING", "LINUXNS-PIDNS-POST"), ("filter", "FORWARD", "LINUXNS-PIDNS-FWD"))


def iptables_present(saved):
    """From `iptables-save`: (our chains that exist, our jumps that exist) as sets of chain names."""
    chains, jumps = set(), set()
    ours = set(chain for _table, _builtin, chain in IPTABLES_CHAINS)
    for line in saved.splitlines():
        if line.startswith(":") and line[1:].split(" ")[0] in ours:
            chains.add(line[1:].split(" ")[0])
        parts = line.split()
        for _table, builtin, chain in IPTABLES_CHAINS:
            if parts == ["-A", builtin, "-j", chain]:
                jumps.add(chain)
    return chains, jumps


def iptables_forward_drops(saved):
    """Whether `iptables-save` shows the filter table's FORWARD policy as DROP."""
    table = None
    for line in saved.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif table == "filter" and line.split(" ")[:2] == [":FORWARD", "DROP"]:
            return True
    return False


def _iptables_dnat(chain, address, port):
    if port["host_ip"] == ANY_ADDRESS:
        destination = "-m addrtype --dst-type LOCAL"
    else:
        destination = "-d %s/32" % port["host_ip"]
    return "-A %s %s -p %s --dport %d -j DNAT --to-destination %s:%d" % (
        chain, destination, port["protocol"], port["host_port"], address, port["port"])


def iptables_input(networks, drop_other_forwarding, present):
    """`iptables-restore --noflush` input that makes our chains say what `ruleset` says (present: what
    iptables_present found). With no networks, our jumps and chains go."""
    chains, jumps = present
    rules = dict((chain, []) for _table, _builtin, chain in IPTABLES_CHAINS)
    pre, out, post, forward = (chain for _table, _builtin, chain in IPTABLES_CHAINS)
    for network in networks:
        rules[forward].append("-A %s -i %s -j RETURN" % (forward, network["bridge"]))
    for network in networks:
        bridge, subnet = network["bridge"], network["subnet"]
        rules[post] += ["-A %s -s %s ! -o %s -j MASQUERADE" % (post, subnet, bridge),
                        "-A %s -s %s/%d -o %s -j MASQUERADE" % (post, LOOPBACK[0], LOOPBACK[1], bridge),
                        "-A %s -s %s -o %s -m conntrack --ctstate DNAT -j MASQUERADE" % (post, subnet, bridge)]
        rules[forward] += ["-A %s -o %s -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN" % (forward, bridge),
                           "-A %s -o %s -m conntrack --ctstate DNAT -j RETURN" % (forward, bridge),
                           "-A %s -o %s -j DROP" % (forward, bridge)]
        for member in network["members"]:
            for port in member["published_ports"]:
                rules[pre].append(_iptables_dnat(pre, member["address"], port))
                rules[out].append(_iptables_dnat(out, member["address"], port))
    if networks and drop_other_forwarding:
        rules[forward].append("-A %s -j DROP" % forward)
    lines = []
    for table in ("nat", "filter"):
        lines.append("*%s" % table)
        for chain_table, builtin, chain in IPTABLES_CHAINS:
            if chain_table != table or (not networks and chain not in chains):
                continue
            lines.append(":%s - [0:0]" % chain)  # declared under --noflush: made, or emptied
            if networks:
                lines += rules[chain]
                if chain not in jumps:
                    lines.append("-I %s 1 -j %s" % (builtin, chain))
            else:
                if chain in jumps:
                    lines.append("-D %s -j %s" % (builtin, chain))
                lines.append("-X %s" % chain)
        lines.append("COMMIT")
    return "\n".join(lines) + "\n"
