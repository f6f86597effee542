# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection as users get it: `ansible-galaxy collection build`, install the tarball into an
empty collections path, and render every module's and plugin's documentation from that installed copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BINDIR = Path(sys.executable).parent
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
# The other plugins with documentation of their own: (ansible-doc type, name).
PLUGINS = sorted((kind, p.stem) for kind in ("connection", "inventory")
                 for p in (REPO / "plugins" / kind).glob("*.py") if p.stem != "__init__")

# Top-level paths that must never be shipped (galaxy.yml build_ignore): local state, test output, CI glue.
NOT_SHIPPED = (".venv", ".build", ".git", ".ci", ".cache", ".pytest_cache", "tests/output", "benchmarks/results")


def _env(collections: Path) -> dict:
    env = dict(os.environ)
    env.update({
        "PATH": str(BINDIR) + os.pathsep + env.get("PATH", ""),
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
    })
    return env


def _run(cmd: list, cwd: Path, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=str(cwd), env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 0, "%s failed (rc=%s)\nstdout:\n%s\nstderr:\n%s" % (
        " ".join(map(str, cmd)), proc.returncode, proc.stdout, proc.stderr)
    return proc


def _inside(path: str, root: Path) -> bool:
    return Path(path).resolve().is_relative_to(root.resolve())


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Build the tarball from the checkout and install it into a fresh, otherwise empty path."""
    base = tmp_path_factory.mktemp("packaging")
    dist, collections, work = base / "dist", base / "collections", base / "work"
    for d in (dist, collections, work):
        d.mkdir()
    env = _env(collections)
    _run([BINDIR / "ansible-galaxy", "collection", "build", "--output-path", dist, REPO], cwd=work, env=env)
    tarballs = list(dist.glob("linuxns-pidns-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    _run([BINDIR / "ansible-galaxy", "collection", "install", "--offline", "-p", collections, tarballs[0]],
         cwd=work, env=env)
    return {"tarball": tarballs[0], "collections": collections, "work": work, "env": env}


def test_tarball_contents(installed):
    with tarfile.open(installed["tarball"]) as tar:
        names = tar.getnames()
    assert "MANIFEST.json" in names and "FILES.json" in names
    assert "meta/runtime.yml" in names
    for module in MODULES:
        assert "plugins/modules/%s.py" % module in names
    junk = [n for n in names if any(n == p or n.startswith(p + "/") for p in NOT_SHIPPED)]
    assert not junk, junk
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_installed_copy_listed(installed):
    proc = _run([BINDIR / "ansible-galaxy", "collection", "list", "linuxns.pidns", "--format", "json",
                 "-p", installed["collections"]], cwd=installed["work"], env=installed["env"])
    listing = json.loads(proc.stdout)
    paths = [p for p, cols in listing.items() if "linuxns.pidns" in cols]
    assert paths and all(_inside(p, installed["collections"]) for p in paths), listing


@pytest.mark.skipif(not MODULES, reason="no modules in plugins/modules yet")
@pytest.mark.parametrize("module", MODULES)
def test_module_doc_renders_from_installed_copy(installed, module):
    fqcn = "linuxns.pidns." + module
    proc = _run([BINDIR / "ansible-doc", "-t", "module", "--json", fqcn], cwd=installed["work"], env=installed["env"])
    doc = json.loads(proc.stdout)[fqcn]["doc"]
    assert _inside(doc["filename"], installed["collections"]), doc["filename"]
    assert doc.get("short_description")
    # And the text rendering a user reads.
    text = _run([BINDIR / "ansible-doc", "-t", "module", fqcn], cwd=installed["work"], env=installed["env"]).stdout
    assert fqcn in text


@pytest.mark.parametrize("kind,name", PLUGINS)
def test_plugin_doc_renders_from_installed_copy(installed, kind, name):
    fqcn = "linuxns.pidns." + name
    proc = _run([BINDIR / "ansible-doc", "-t", kind, "--json", fqcn], cwd=installed["work"], env=installed["env"])
    doc = json.loads(proc.stdout)[fqcn]["doc"]
    assert _inside(doc["filename"], installed["collections"]), doc["filename"]
    assert doc.get("short_description") and doc.get("options")
    text = _run([BINDIR / "ansible-doc", "-t", kind, fqcn], cwd=installed["work"], env=installed["env"]).stdout
    assert fqcn in text


def test_installed_copy_works(installed):
    """The installed tarball, not the checkout, makes a sandbox, runs a command inside and removes it."""
    if os.geteuid() != 0:
        pytest.skip("making a sandbox needs root")
    name = "pkg-%d" % os.getpid()
    playbook = installed["work"] / "works.yml"
    playbook.write_text("""\
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - linuxns.pidns.sandbox:
        name: %(name)s
    - linuxns.pidns.sandbox_exec:
        sandbox: %(name)s
        argv: [hostname]
      register: inside
    - linuxns.pidns.pidns_facts:
    - ansible.builtin.assert:
        that:
          - inside.stdout == "%(name)s"
          - ansible_facts.pidns.namespaces | selectattr('owner') | map(attribute='owner.name') | select('equalto', '%(name)s') | list | length == 1
  post_tasks:
    - linuxns.pidns.sandbox:
        name: %(name)s
        state: absent
""" % {"name": name})
    try:
        proc = _run([BINDIR / "ansible-playbook", "-i", "localhost,", playbook], cwd=installed["work"],
                    env=installed["env"])
        assert "failed=0" in proc.stdout
    finally:
        subprocess.run([str(BINDIR / "ansible"), "localhost", "-c", "local", "-i", "localhost,", "-m",
                        "linuxns.pidns.sandbox", "-a", "name=%s state=absent" % name,
                        "-e", "ansible_python_interpreter=" + sys.executable],
                       env=installed["env"], capture_output=True, timeout=120, check=False)
