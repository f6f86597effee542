# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet import start_fleet  # noqa: E402
from sandboxes import force_remove, unique  # noqa: E402


@pytest.fixture
def host_dir():
    """A folder on the host's root filesystem (not /tmp, which is a fresh tmpfs inside a root of its
    own), owned by root, removed afterwards."""
    path = Path("/var/tmp") / ("pidns-test-%s" % uuid.uuid4().hex[:8])
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="integration tests create namespaces and mounts: they need root")
        for item in items:
            item.add_marker(skip)
    for tool in ("nsenter", "lsns", "unshare"):
        if shutil.which(tool) is None:
            raise pytest.UsageError("util-linux %s is missing: `make test` installs what the tests need" % tool)


@pytest.fixture
def names():
    """Unique sandbox names for one test; whatever the test made is removed afterwards by name."""
    made = []

    def make(prefix="it"):
        name = unique(prefix)
        made.append(name)
        return name

    yield make
    for name in reversed(made):
        force_remove(name)


@pytest.fixture(scope="module")
def fleet4():
    """Four SSH test hosts (tests/integration/fleet.py) for a test module; removed by name afterwards."""
    fleet = start_fleet(4)
    try:
        yield fleet
    finally:
        fleet.close()


@pytest.fixture
def fleet_factory():
    """start_fleet for one test; every fleet it made is closed afterwards."""
    made = []

    def make(count=4, **kwargs):
        fleet = start_fleet(count, **kwargs)
        made.append(fleet)
        return fleet

    yield make
    for fleet in reversed(made):
        fleet.close()
