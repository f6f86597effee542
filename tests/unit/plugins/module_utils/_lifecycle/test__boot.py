# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""restart_on_boot's records, the boot order, and what is installed for systemd (in a fake root)."""

from __future__ import annotations

import json
import os
import zipfile

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _boot


def test_remember_writes_the_record_the_program_and_on_systemd_the_unit(tmp_path, monkeypatch):
    monkeypatch.setattr(_boot._systemd, "booted", lambda: True)
    boot_dir = tmp_path / "boot"
    _boot.remember("web", {"parent": None, "hostname": "w"}, str(boot_dir), str(tmp_path))
    assert json.loads((boot_dir / "web.json").read_text()) == {"name": "web", "spec": {"parent": None, "hostname": "w"}}
    assert (boot_dir / "web.json").stat().st_mode & 0o777 == 0o600 and boot_dir.stat().st_mode & 0o777 == 0o700
    program = zipfile.ZipFile(str(boot_dir / "linuxns-pidns-boot.pyz"))
    names = program.namelist()
    assert "__main__.py" in names
    assert "ansible_collections/linuxns/pidns/plugins/module_utils/_lifecycle/_boot.py" in names
    assert "ansible_collections/linuxns/pidns/plugins/module_utils/_lifecycle/_supervisor.py" in names
    unit = (tmp_path / "etc/systemd/system/linuxns-pidns-boot.service").read_text()
    assert "ExecStart=/usr/bin/python3 -I %s" % _boot.BOOT_PROGRAM in unit and "WantedBy=multi-user.target" in unit
    assert os.readlink(str(tmp_path / "etc/systemd/system/multi-user.target.wants/linuxns-pidns-boot.service")) \
        == _boot.UNIT_PATH
    before = (boot_dir / "linuxns-pidns-boot.pyz").stat().st_ino
    _boot.remember("db", {"parent": "web"}, str(boot_dir), str(tmp_path))
    assert (boot_dir / "linuxns-pidns-boot.pyz").stat().st_ino == before  # the same program: not rewritten
    assert _boot.forget("db", str(boot_dir)) and not _boot.forget("db", str(boot_dir))


def test_records_are_checked_and_parents_come_first(tmp_path):
    boot_dir = tmp_path / "boot"
    boot_dir.mkdir()
    for name, parent in (("a", "b"), ("b", "c"), ("c", None), ("d", "elsewhere")):
        (boot_dir / ("%s.json" % name)).write_text(json.dumps({"name": name, "spec": {"parent": parent}}))
    (boot_dir / "evil.json").write_text(json.dumps({"name": "other", "spec": {}}))
    (boot_dir / "..json").write_text("{}")
    (boot_dir / "junk.json").write_text("[")
    specs, problems = _boot.marked(str(boot_dir))
    assert sorted(specs) == ["a", "b", "c", "d"]
    assert len(problems) == 3 and all("skipped" in problem for problem in problems)
    assert _boot.boot_order(specs) == ["c", "b", "a", "d"]
    loop = {"x": {"parent": "y"}, "y": {"parent": "x"}}
    assert sorted(_boot.boot_order(loop)) == ["x", "y"]


def test_a_folder_others_may_write_is_refused(tmp_path):
    boot_dir = tmp_path / "boot"
    boot_dir.mkdir()
    os.chmod(str(boot_dir), 0o777)
    with pytest.raises(SandboxError, match="must be a folder owned by root that only root may write to"):
        _boot.remember("web", {}, str(boot_dir), str(tmp_path))
