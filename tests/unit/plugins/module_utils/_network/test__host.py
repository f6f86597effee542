# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure parts of the host side: resolv.conf for a bridged sandbox from a fake root, names."""

from __future__ import annotations

from ansible_collections.linuxns.pidns.plugins.module_utils._network import _host


def _root(tmp_path, resolv, resolved=None):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "resolv.conf").write_text(resolv)
    if resolved is not None:
        (tmp_path / "run" / "systemd" / "resolve").mkdir(parents=True)
        (tmp_path / "run" / "systemd" / "resolve" / "resolv.conf").write_text(resolved)
    return str(tmp_path)


def test_dns_servers_given_are_the_whole_file(tmp_path):
    root = _root(tmp_path, "nameserver 192.0.2.53\n")
    assert _host.resolv_conf(["10.0.0.1", "10.0.0.2"], root) == ("nameserver 10.0.0.1\nnameserver 10.0.0.2\n", [])


def test_the_hosts_nameservers_without_loopback_and_its_search_and_options(tmp_path):
    root = _root(tmp_path, "# made by hand\nnameserver 127.0.0.1\nnameserver 192.0.2.53 ; inline\n"
                           "search example.test\noptions ndots:2\nsortlist 1.2.3.4\nnameserver ::1\n")
    assert _host.resolv_conf([], root) == (
        "nameserver 192.0.2.53\nsearch example.test\noptions ndots:2\n", [])


def test_a_resolved_stub_gives_its_upstreams(tmp_path):
    root = _root(tmp_path, "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n",
                 "nameserver 192.0.2.1\nnameserver 192.0.2.2\nsearch .\n")
    assert _host.resolv_conf([], root) == (
        "nameserver 192.0.2.1\nnameserver 192.0.2.2\noptions edns0 trust-ad\nsearch .\n", [])


def test_no_reachable_nameserver_is_a_warning_and_hostile_lines_are_dropped(tmp_path):
    root = _root(tmp_path, "nameserver 127.0.0.1\nsearch \x1b[31mred\n" + "x" * 100000)
    text, warnings = _host.resolv_conf([], root)
    assert text == ""
    assert warnings and "names no nameserver a bridged sandbox can reach" in warnings[0]


def test_veth_names_fit_ifnamsiz_and_differ_per_sandbox():
    names = set(_host.veth_name("web-%d" % index) for index in range(1000))
    assert len(names) == 1000 and all(len(name) <= 15 and name.startswith("vp") for name in names)


def test_a_missing_tool_names_its_package(monkeypatch, tmp_path):
    import pytest
    from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
    monkeypatch.setattr(_host, "_SEARCH_PATH", (str(tmp_path),))
    with pytest.raises(SandboxError, match=r"network_mode: bridge needs ip \(the iproute2 package\)"):
        _host.tool("ip")
    with pytest.raises(SandboxError, match=r"needs nft \(the nftables package\) or, without it, iptables-restore"):
        _host.firewall()
    for name in ("iptables-restore", "iptables-save"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    assert _host.firewall() == _host.IPTABLES
    (tmp_path / "nft").write_text("#!/bin/sh\n")
    (tmp_path / "nft").chmod(0o755)
    assert _host.firewall() == _host.NFTABLES
