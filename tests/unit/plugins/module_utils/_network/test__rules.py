# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's nftables table, built from records; checked against the rules nft itself printed
for the same table (nft -j list ruleset)."""

from __future__ import annotations

from ansible_collections.linuxns.pidns.plugins.module_utils._network import _rules


def _rules_of(ruleset, chain):
    return [item["add"]["rule"]["expr"] for item in ruleset["nftables"]
            if "add" in item and "rule" in item["add"] and item["add"]["rule"]["chain"] == chain]


NETWORKS = [{"bridge": "pidns0", "subnet": "10.89.0.0/24", "members": [
    {"address": "10.89.0.2", "published_ports": [
        {"host_ip": "0.0.0.0", "host_port": 8080, "port": 80, "protocol": "tcp"},
        {"host_ip": "127.0.0.1", "host_port": 8053, "port": 53, "protocol": "udp"}]},
    {"address": "10.89.0.3", "published_ports": []}]}]


def test_the_table_is_replaced_whole_and_an_empty_one_deleted():
    gone = _rules.ruleset([], False)["nftables"]
    # "add" first, so the delete never fails on a host without the table.
    assert gone == [{"add": {"table": {"family": "ip", "name": "linuxns_pidns"}}},
                    {"delete": {"table": {"family": "ip", "name": "linuxns_pidns"}}}]
    made = _rules.ruleset(NETWORKS, False)["nftables"]
    assert made[:2] == gone and made[2] == {"add": {"table": {"family": "ip", "name": "linuxns_pidns"}}}
    chains = [item["add"]["chain"] for item in made if "chain" in item.get("add", {})]
    assert [(c["name"], c["type"], c["hook"], c["prio"], c["policy"]) for c in chains] == [
        ("prerouting", "nat", "prerouting", -100, "accept"), ("output", "nat", "output", -100, "accept"),
        ("postrouting", "nat", "postrouting", 100, "accept"), ("forward", "filter", "forward", 0, "accept")]


def test_published_ports_are_dnated_from_any_local_address_or_the_one_given():
    ruleset = _rules.ruleset(NETWORKS, False)
    expected = [
        [{"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}},
         {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8080}},
         {"dnat": {"addr": "10.89.0.2", "port": 80}}],
        [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "127.0.0.1"}},
         {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 8053}},
         {"dnat": {"addr": "10.89.0.2", "port": 53}}]]
    assert _rules_of(ruleset, "prerouting") == expected
    assert _rules_of(ruleset, "output") == expected


def test_forwarding_and_nat_per_bridge_and_the_drop_only_where_forwarding_was_off():
    ruleset = _rules.ruleset(NETWORKS, False)
    forward = _rules_of(ruleset, "forward")
    assert forward[0] == [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "pidns0"}},
                          {"accept": None}]
    assert forward[-1] == [{"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "pidns0"}},
                           {"drop": None}]
    masquerade = _rules_of(ruleset, "postrouting")[0]
    assert masquerade == [
        {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                   "right": {"prefix": {"addr": "10.89.0.0", "len": 24}}}},
        {"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": "pidns0"}}, {"masquerade": None}]
    assert _rules_of(_rules.ruleset(NETWORKS, True), "forward")[-1] == [{"drop": None}]


def test_two_bridges_accept_each_others_traffic_before_any_drop():
    two = NETWORKS + [{"bridge": "pidns1", "subnet": "10.89.1.0/24", "members": []}]
    forward = _rules_of(_rules.ruleset(two, False), "forward")
    accepts = [rule[0]["match"]["right"] for rule in forward[:2]]
    assert accepts == ["pidns0", "pidns1"] and all(rule[-1] == {"accept": None} for rule in forward[:2])


def test_forward_drops_of_other_tables_are_found():
    listing = {"nftables": [
        {"metainfo": {}},
        {"chain": {"family": "inet", "table": "filter", "name": "forward", "hook": "forward", "policy": "drop"}},
        {"chain": {"family": "ip", "table": "linuxns_pidns", "name": "forward", "hook": "forward", "policy": "drop"}},
        {"chain": {"family": "ip", "table": "nat", "name": "pre", "hook": "prerouting", "policy": "drop"}},
        {"chain": {"family": "ip", "table": "x", "name": "fw", "hook": "forward", "policy": "accept"}}]}
    assert _rules.forward_drops(listing) == ["inet filter forward"]
    assert _rules.forward_drops({}) == []


SAVED = """*nat
:PREROUTING ACCEPT [0:0]
:LINUXNS-PIDNS-PRE - [0:0]
-A PREROUTING -j LINUXNS-PIDNS-PRE
-A PREROUTING -j OTHER
COMMIT
*filter
:FORWARD DROP [0:0]
:LINUXNS-PIDNS-FWD - [0:0]
COMMIT
"""


def test_iptables_present_reads_our_chains_and_jumps_only():
    assert _rules.iptables_present(SAVED) == ({"LINUXNS-PIDNS-PRE", "LINUXNS-PIDNS-FWD"}, {"LINUXNS-PIDNS-PRE"})
    assert _rules.iptables_present("") == (set(), set())
    assert _rules.iptables_forward_drops(SAVED)
    assert not _rules.iptables_forward_drops(SAVED.replace(":FORWARD DROP", ":FORWARD ACCEPT"))


def test_iptables_input_fills_our_chains_and_adds_missing_jumps_once():
    text = _rules.iptables_input(NETWORKS, True, _rules.iptables_present(SAVED))
    lines = text.splitlines()
    assert lines[0] == "*nat" and lines.count("COMMIT") == 2
    assert ":LINUXNS-PIDNS-PRE - [0:0]" in lines  # emptied under --noflush, then filled
    assert "-I PREROUTING 1 -j LINUXNS-PIDNS-PRE" not in lines  # already jumped to
    assert "-I OUTPUT 1 -j LINUXNS-PIDNS-OUT" in lines and "-I FORWARD 1 -j LINUXNS-PIDNS-FWD" in lines
    assert ("-A LINUXNS-PIDNS-PRE -m addrtype --dst-type LOCAL -p tcp --dport 8080 -j DNAT "
            "--to-destination 10.89.0.2:80") in lines
    assert "-A LINUXNS-PIDNS-OUT -d 127.0.0.1/32 -p udp --dport 8053 -j DNAT --to-destination 10.89.0.2:53" in lines
    assert "-A LINUXNS-PIDNS-POST -s 10.89.0.0/24 ! -o pidns0 -j MASQUERADE" in lines
    forward = [line for line in lines if line.startswith("-A LINUXNS-PIDNS-FWD")]
    # What it lets through it RETURNs (the operator's FORWARD rules still see it); the rest it drops.
    assert forward == ["-A LINUXNS-PIDNS-FWD -i pidns0 -j RETURN",
                       "-A LINUXNS-PIDNS-FWD -o pidns0 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
                       "-A LINUXNS-PIDNS-FWD -o pidns0 -m conntrack --ctstate DNAT -j RETURN",
                       "-A LINUXNS-PIDNS-FWD -o pidns0 -j DROP",
                       "-A LINUXNS-PIDNS-FWD -j DROP"]
    assert "ACCEPT" not in text


def test_iptables_input_without_networks_removes_what_is_there():
    text = _rules.iptables_input([], False, _rules.iptables_present(SAVED))
    assert text == ("*nat\n:LINUXNS-PIDNS-PRE - [0:0]\n-D PREROUTING -j LINUXNS-PIDNS-PRE\n-X LINUXNS-PIDNS-PRE\n"
                    "COMMIT\n*filter\n:LINUXNS-PIDNS-FWD - [0:0]\n-X LINUXNS-PIDNS-FWD\nCOMMIT\n")
