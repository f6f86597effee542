# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pytest set-up: the collection on an import/collections path, and real ansible runs."""

from __future__ import annotations

import os
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


@pytest.fixture
def needs_root():
    if os.geteuid() != 0:
        pytest.skip("needs root: creates namespaces and mounts")
