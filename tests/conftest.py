# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pytest set-up: the collection on an import/collections path, and real ansible runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS = REPO / ".build" / "collections"
_LINK = COLLECTIONS / "ansible_collections" / "linuxns" / "pidns"


def _ensure_collection_link() -> None:
    """Ansible finds collections only at .../ansible_collections/<ns>/<name>: link the checkout there."""
    if _LINK.is_symlink() and _LINK.resolve() == REPO:
        return
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    if _LINK.is_symlink() or _LINK.exists():
        _LINK.unlink()
    _LINK.symlink_to(REPO)


_ensure_collection_link()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))


def ansible_env(**extra: str) -> dict:
    """Environment for ansible/ansible-playbook subprocesses using this checkout's collection."""
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update({
        "PATH": bindir + os.pathsep + env.get("PATH", ""),
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
    })
    env.update(extra)
    return env


def run_module(module: str, args: dict | None = None, *, check: bool = False, diff: bool = False,
               env: dict | None = None, timeout: float = 180, prefix: list | None = None) -> dict:
    """Run one module ad hoc on localhost with real `ansible`; return its result dict.

    The json stdout callback gives the result as data instead of scraping text.
    """
    cmd = list(prefix or []) + [
        str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-i", "localhost,",
        "-m", "linuxns.pidns." + module, "-a", json.dumps(args or {}),
    ]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    run_env = ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    run_env.update(env or {})
    proc = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    try:
        data = json.loads(proc.stdout)
        return data["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError) as exc:
        raise AssertionError("ansible gave no JSON result (rc=%s): %s\nstdout:\n%s\nstderr:\n%s"
                             % (proc.returncode, exc, proc.stdout, proc.stderr)) from None


def run_playbook(playbook: str | Path, *args: str, env: dict | None = None,
                 timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ansible-playbook; the caller checks returncode and output."""
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook), *args]
    run_env = ansible_env()
    run_env.update(env or {})
    return subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def needs_root():
    if os.geteuid() != 0:
        pytest.skip("needs root: creates namespaces and mounts")
