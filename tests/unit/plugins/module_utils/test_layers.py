# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module_utils packages import only from the layers below them (docs/design.md, "Where the code
is"): under AnsiballZ a module ships every file it imports, so a kernel or facts file that reached
into the lifecycle would make pidns_facts carry the sandbox code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MODULE_UTILS = Path(__file__).resolve().parents[4] / "plugins" / "module_utils"
BASE = "ansible_collections.linuxns.pidns.plugins.module_utils"
# package -> the packages its files may import from (besides their own)
ALLOWED = {
    "_common": set(),
    "_kernel": {"_common"},
    "_containment": {"_common", "_kernel"},
    "_network": {"_common", "_kernel"},
    "_init": {"_common"},
    "_lifecycle": {"_common", "_kernel", "_containment", "_network", "_init", "_payload"},
    "_exec": {"_common", "_kernel", "_containment", "_lifecycle"},
    "_facts": {"_common", "_kernel"},
    "_module_runner": {"_common"},
    "_payload": set(),
}


def _package_of(dotted):
    rest = dotted[len(BASE) + 1:] if dotted.startswith(BASE + ".") else ""
    return rest.split(".")[0] or None


def _imported_packages(path):
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == BASE:
                found.update(alias.name for alias in node.names)
            else:
                found.add(_package_of(node.module))
        elif isinstance(node, ast.Import):
            found.update(_package_of(alias.name) for alias in node.names)
    return found - {None}


FILES = sorted(p for p in MODULE_UTILS.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_file_is_in_a_known_package():
    packages = set(p.relative_to(MODULE_UTILS).parts[0].split(".")[0] for p in FILES)
    assert packages == set(ALLOWED)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(MODULE_UTILS)))
def test_imports_only_from_lower_layers(path):
    package = path.relative_to(MODULE_UTILS).parts[0].split(".")[0]
    wrong = _imported_packages(path) - ALLOWED[package] - {package}
    assert not wrong, "%s imports from %s" % (path.relative_to(MODULE_UTILS), sorted(wrong))
