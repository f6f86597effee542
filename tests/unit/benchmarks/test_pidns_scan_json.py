# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for benchmarks/pidns_scan_json.py, the benchmark's whole-process scan."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "benchmarks"))

import pidns_scan_json  # noqa: E402


def test_dumps_is_json_dumps():
    import json
    value = {"a": [1, None, True, False, 2.5, u"x\u00e9\udcff\n\"\\"], "b": {"c": [], "d": {}}, "e": -3}
    assert pidns_scan_json.dumps(value) == json.dumps(value)
    with pytest.raises(TypeError):
        pidns_scan_json.dumps({"a": object()})


def test_main_prints_the_facts_as_json(capsys):
    import json
    pidns_scan_json.main(lambda: {"schema": 1, "namespaces": [{"id": 1, "init": None}]})
    assert json.loads(capsys.readouterr().out) == {"schema": 1, "namespaces": [{"id": 1, "init": None}]}


def test_main_scans_this_host_by_default(capsys):
    import json
    pidns_scan_json.main()
    facts = json.loads(capsys.readouterr().out)
    assert facts["schema"] == 1 and facts["self"]["id"] == os.stat("/proc/self/ns/pid").st_ino
