# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""userns: auto: the subordinate id entries, the blocks sandboxes take, and the spec rules."""

from __future__ import annotations

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError
from ansible_collections.linuxns.pidns.plugins.module_utils._containment import _userns
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle._spec import normalize_spec

R = _userns.RANGE


def test_parse_subids_takes_only_the_owners_good_lines():
    text = ("alice:100000:65536\n"
            "linuxns-pidns:1879048192:131072\n"
            "linuxns-pidns:x:1\n"            # not a number
            "linuxns-pidns:0:65536\n"        # would map the host's root
            "linuxns-pidns:5:0\n"            # empty
            "linuxns-pidns:2000000000:65536:extra\n"
            "  linuxns-pidns:3000000000:65536  \n")
    assert _userns.parse_subids(text) == [(1879048192, 2 * R), (3000000000, R)]
    assert _userns.parse_subids(text, "alice") == [(100000, R)]
    assert _userns.parse_subids("") == []


def test_read_subids_of_a_missing_file_is_empty(tmp_path):
    assert _userns.read_subids(str(tmp_path / "nope")) == []
    (tmp_path / "subuid").write_text("linuxns-pidns:200000:65536\n")
    assert _userns.read_subids(str(tmp_path / "subuid")) == [(200000, R)]


def test_allocate_takes_the_first_free_block_without_overlap():
    uids, gids = [(100000, 3 * R)], [(500000, 3 * R)]
    first = _userns.allocate(uids, gids, [])
    assert first == {"uid": 100000, "gid": 500000, "count": R}
    second = _userns.allocate(uids, gids, [first])
    assert second == {"uid": 100000 + R, "gid": 500000 + R, "count": R}
    # A range recorded by hand that straddles two blocks takes both.
    odd = {"uid": 100000 + R + 5, "gid": 900000, "count": R}
    assert _userns.allocate([(100000, 4 * R)], [(500000, 4 * R)], [first, odd]) == {
        "uid": 100000 + 3 * R, "gid": 500000 + 3 * R, "count": R}
    with pytest.raises(SandboxError, match="taken"):
        _userns.allocate(uids, gids, [first, odd])
    # The blocks of several lines, in order; a remainder smaller than a block is not used.
    assert _userns.allocate([(100000, R + 10), (900000, R)], [(100000, 2 * R)], [first]) == {
        "uid": 900000, "gid": 100000 + R, "count": R}


def test_allocate_prefers_an_earlier_block_when_it_is_free():
    uids, gids = [(100000, 3 * R)], [(100000, 3 * R)]
    assert _userns.allocate(uids, gids, [], prefer=(100000 + 2 * R, 100000 + 2 * R))["uid"] == 100000 + 2 * R
    taken = [{"uid": 100000 + 2 * R, "gid": 100000 + 2 * R, "count": R}]
    assert _userns.allocate(uids, gids, taken, prefer=(100000 + 2 * R, 100000 + 2 * R))["uid"] == 100000
    # Not a block of the entry (say, the host's root owned the folder): ignored.
    assert _userns.allocate(uids, gids, [], prefer=(7, 7))["uid"] == 100000


def test_allocate_names_the_file_without_an_entry_and_a_full_range():
    with pytest.raises(SandboxError, match=r"userns: auto needs subordinate ids for linuxns-pidns in /etc/subuid "
                                           r"and /etc/subgid .*; /etc/subgid has none"):
        _userns.allocate([(100000, R)], [], [])
    with pytest.raises(SandboxError, match="/etc/subuid has none"):
        _userns.allocate([], [(100000, R)], [])
    with pytest.raises(SandboxError, match=r"every block of 65536 ids .* is taken by a sandbox \(1\)"):
        _userns.allocate([(100000, R)], [(100000, R)], [{"uid": 100000, "gid": 100000, "count": R}])


def test_write_maps_writes_both_files(tmp_path):
    (tmp_path / "42").mkdir()
    _userns.write_maps(42, {"uid": 100000, "gid": 200000, "count": R}, str(tmp_path))
    assert (tmp_path / "42" / "uid_map").read_text() == "0 100000 65536\n"
    assert (tmp_path / "42" / "gid_map").read_text() == "0 200000 65536\n"


def test_spec_userns_auto_adds_the_user_namespace_first():
    spec = normalize_spec("web", userns="auto")[0]
    assert spec["userns"] == "auto" and spec["namespaces"] == ["user", "pid", "mnt", "uts", "ipc"]
    assert normalize_spec("web")[0]["userns"] == "host" and "user" not in normalize_spec("web")[0]["namespaces"]
    # Nested, it is the parent's (the module checks the parent has one: it needs the host).
    assert normalize_spec("inner", parent="outer", userns="auto")[0]["namespaces"][0] == "user"
    with pytest.raises(SandboxError, match="userns: 'yes' is not one of host, auto"):
        normalize_spec("web", userns="yes")
