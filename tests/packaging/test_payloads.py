# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What each module ships to a managed host: ansible-core's own AnsiballZ builder packs every
module_utils file a module imports (lazily or not), so the packages' layering is what a module
pays for on every run. Built in a subprocess of this venv's Python, from the checkout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".build" / "collections"

BUILD = r'''
import base64, io, json, re, sys, zipfile
from ansible.executor.module_common import modify_module
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, module_loader
from ansible.template import Templar
init_plugin_loader([sys.argv[1]])
shipped = {}
for name in sys.argv[2:]:
    found = module_loader.find_plugin_with_context("linuxns.pidns." + name)
    built = modify_module(module_name=found.resolved_fqcn, module_path=found.plugin_resolved_path, module_args={},
                          module_compression="ZIP_DEFLATED", templar=Templar(loader=DataLoader()),
                          task_vars={"ansible_python_interpreter": "/usr/bin/python3"})
    blob = base64.b64decode(max(re.findall(rb"[A-Za-z0-9+/=]{2000,}", built.b_module_data), key=len))
    names = zipfile.ZipFile(io.BytesIO(blob)).namelist()
    shipped[name] = sorted(n.split("/module_utils/", 1)[1] for n in names
                           if "linuxns/pidns/plugins/module_utils/" in n and not n.endswith("__init__.py"))
print(json.dumps(shipped))
'''

MODULES = ("sandbox", "sandbox_exec", "sandbox_info", "sandbox_logs", "pidns_facts")


@pytest.fixture(scope="module")
def shipped():
    proc = subprocess.run([sys.executable, "-c", BUILD, str(COLLECTIONS), *MODULES], capture_output=True,
                          text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _packages(files):
    return set(name.split("/")[0] for name in files)


def test_pidns_facts_ships_no_sandbox_code(shipped):
    assert _packages(shipped["pidns_facts"]) == {"_common.py", "_facts", "_kernel", "_module_runner.py"}
    assert "_kernel/_rootfs.py" not in shipped["pidns_facts"]
    assert "_kernel/_cgroup.py" not in shipped["pidns_facts"]


def test_only_the_sandbox_module_ships_the_supervisor(shipped):
    having = sorted(name for name, files in shipped.items() if "_lifecycle/_supervisor.py" in files)
    assert having == ["sandbox"]


def test_exec_ships_the_join_and_not_the_launch(shipped):
    assert "_exec/_join.py" in shipped["sandbox_exec"]
    assert not {"_lifecycle/_launch.py", "_lifecycle/_sandbox.py"} & set(shipped["sandbox_exec"])
    assert not _packages(shipped["sandbox_info"]) & {"_exec", "_facts"}


def test_the_read_only_modules_ship_no_launch_network_plumbing_or_exec(shipped):
    for module in ("sandbox_info", "sandbox_logs"):
        assert not {"_lifecycle/_launch.py", "_network/_host.py", "_exec/_join.py"} & set(shipped[module]), module
