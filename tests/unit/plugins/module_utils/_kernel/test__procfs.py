# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the /proc readers and parsers in _procfs, over fake files and this process."""

from __future__ import annotations

import os

import pytest

from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _procfs

MOUNTINFO = (
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
    "27 22 0:5 / /proc rw,nosuid,nodev,noexec,relatime shared:12 master:3 - proc proc rw\n"
    "66 42 0:4 pid:[4026532180] /run/linuxns-pidns/web/ns/pid rw - nsfs nsfs rw\n"
    "67 42 0:4 mnt:[4026532177] /run/linuxns-pidns/web/ns/mnt rw - nsfs nsfs rw\n"
    "70 27 0:4 pid:[4026532190] /srv/with\\040space rw - nsfs nsfs rw\n"
    "71 27 0:4 pid:[4026532191] /srv/with\\040space rw - nsfs nsfs rw\n"
    "garbage line without separator\n"
    "72 27 0:4 / /short rw - tmpfs\n"
)


def test_parse_mountinfo_fields_escapes_and_propagation():
    mounts = _procfs.parse_mountinfo(MOUNTINFO)
    assert len(mounts) == 6
    assert mounts[1]["propagation"] == {"shared": "12", "master": "3"}
    assert mounts[1]["fstype"] == "proc" and mounts[1]["super_options"] == "rw"
    assert mounts[4]["mount_point"] == "/srv/with space"
    assert mounts[0]["mount_id"] == 22 and mounts[0]["parent_id"] == 1 and mounts[0]["source"] == "/dev/sda1"


def test_nsfs_mounts_topmost_wins_and_mount_at():
    mounts = _procfs.parse_mountinfo(MOUNTINFO)
    handles = _procfs.nsfs_mounts(mounts)
    assert handles["/run/linuxns-pidns/web/ns/pid"] == ("pid", 4026532180)
    assert handles["/run/linuxns-pidns/web/ns/mnt"] == ("mnt", 4026532177)
    assert handles["/srv/with space"] == ("pid", 4026532191)
    assert _procfs.mount_at(mounts, "/srv/with space")["mount_id"] == 71
    assert _procfs.mount_at(mounts, "/nowhere") is None


def test_pid_ns_handles_only_pid_type():
    assert _procfs.pid_ns_handles(MOUNTINFO) == {"/run/linuxns-pidns/web/ns/pid": 4026532180,
                                                 "/srv/with space": 4026532191}
    assert _procfs.pid_ns_handles("") == {}


def test_parse_stat_comm_with_spaces_and_parentheses():
    text = "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 987654 0 0\n"
    parsed = _procfs.parse_stat(text)
    assert dict(parsed, **{"pid": 4242, "comm": "my (odd) prog", "state": "S", "ppid": 1,
                           "start_time": 987654}) == parsed


def test_parse_status_and_nspid_chain():
    status = _procfs.parse_status("Name:\tsleep\nPid:\t300\nPPid:\t7\nNSpid:\t300\t7\t1\nCapEff:\t0000000000200000\n")
    assert status["Name"] == "sleep" and status["PPid"] == "7"
    assert _procfs.nspid_chain(status) == [300, 7, 1]
    assert _procfs.nspid_chain({"Pid": "12"}) == [12]
    assert _procfs.nspid_chain({}) == []
    assert _procfs.has_capability(status, 21) and not _procfs.has_capability(status, 0)


def test_parse_status_fields_fast_path():
    data = (b"Name:\tweird\\\\name\\n\nUmask:\t0022\nState:\tZ (zombie)\nTgid:\t9\nPid:\t9\nPPid:\t3\n"
            b"NStgid:\t9\t2\nNSpid:\t9\t2\nNSpgid:\t1\n")
    assert _procfs.parse_status_fields(data) == ("weird\\name\n", "Z", 3, [9, 2])
    # Old kernels: no NSpid line.
    assert _procfs.parse_status_fields(b"Name:\tx\nState:\tS (sleeping)\nPid:\t5\nPPid:\t1\n") == ("x", "S", 1, [5])
    # Truncated or foreign content.
    assert _procfs.parse_status_fields(b"Name:\tx\n") is None
    assert _procfs.parse_status_fields(b"") is None
    assert _procfs.parse_status_fields(b"Name:\tx\nState:\tS\nPPid:\tnope\nPid:\t1\n") is None


def test_status_fields_agree_with_full_parser_on_real_processes():
    for pid in _procfs.proc_pids()[:50]:
        status = _procfs.read_status("/proc", pid)
        fields = _procfs.read_status_fields("/proc", pid)
        if status is None or fields is None:
            continue  # exited meanwhile
        assert fields[2] == int(status["PPid"])
        assert fields[3] == _procfs.nspid_chain(status)
        assert fields[1] == status["State"][0]


def test_parse_ns_link():
    assert _procfs.parse_ns_link("pid:[4026531836]") == 4026531836
    assert _procfs.parse_ns_link("pid:[x]") is None
    assert _procfs.parse_ns_link("/not/a/ns") is None


def test_ns_link_inode_real_and_vanished(tmp_path):
    assert _procfs.ns_link_inode("/proc", "self", "pid") == os.stat("/proc/self/ns/pid").st_ino
    assert _procfs.ns_link_inode(str(tmp_path), 12345, "pid") is None


def test_readers_return_none_for_vanished_processes(tmp_path):
    root = str(tmp_path)
    assert _procfs.read_stat(root, 1) is None
    assert _procfs.read_status(root, 1) is None
    assert _procfs.read_status_fields(root, 1) is None
    assert _procfs.read_cmdline(root, 1) is None
    assert _procfs.read_bytes(os.path.join(root, "nope")) is None


def test_read_bytes_reads_past_one_chunk(tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"x" * (_procfs._READ_CHUNK * 3 + 5))
    assert len(_procfs.read_bytes(str(big))) == _procfs._READ_CHUNK * 3 + 5
    (tmp_path / "empty").write_bytes(b"")
    assert _procfs.read_bytes(str(tmp_path / "empty")) == b""


def test_read_bytes_raises_other_errors(tmp_path):
    with pytest.raises(OSError):
        _procfs.read_bytes(str(tmp_path))  # a directory: EISDIR is not "vanished"


def test_cmdline_and_cgroup_parsers():
    assert _procfs.parse_cmdline(b"sleep\0infinity\0") == ["sleep", "infinity"]
    assert _procfs.parse_cmdline(b"") == []
    assert _procfs.parse_cmdline(b"sh\0-c\0echo a:b\0") == ["sh", "-c", "echo a:b"]
    assert _procfs.parse_cgroup("0::/a:b\n9:name=systemd:/x\nbad\n") == [("0", "", "/a:b"), ("9", "name=systemd", "/x")]


def test_real_readers_on_this_process():
    me = os.getpid()
    stat = _procfs.read_stat("/proc", me)
    assert stat["pid"] == me and stat["ppid"] == os.getppid()
    assert _procfs.read_cmdline("/proc", me)
    assert _procfs.read_status_fields("/proc", me)[3][-1] == me or _procfs.read_status_fields("/proc", me)[3][0] == me
    assert me in _procfs.proc_pids()
    assert _procfs.read_mountinfo("/proc")
    assert len(_procfs.read_boot_id()) == 36
    assert _procfs.INITIAL_PID_NS_INODE == 4026531836


def test_read_bytes_of_many_records_reads_past_short_reads(tmp_path, monkeypatch):
    # mountinfo (a seq_file of many records) returns short reads before its end: the first read of
    # a 5 kB mountinfo gives ~4 kB. Files formatted in one piece stop at the first short read.
    path = tmp_path / "mountinfo"
    path.write_bytes(b"x" * 1000)
    real_read = os.read
    monkeypatch.setattr(_procfs.os, "read", lambda fd, size: real_read(fd, min(size, 300)))
    assert _procfs.read_bytes(str(path), one_record=False) == b"x" * 1000
    assert _procfs.read_bytes(str(path)) == b"x" * 300


def test_read_bytes_real_mountinfo_is_whole():
    with open("/proc/self/mountinfo", "rb") as handle:
        expected = handle.read()
    assert _procfs.read_bytes("/proc/self/mountinfo", one_record=False) == expected


@pytest.mark.parametrize("text", [
    MOUNTINFO,
    # stacked on one point: the topmost wins, whatever its type
    "66 42 0:4 pid:[11] /a rw - nsfs nsfs rw\n67 42 0:4 net:[12] /a rw - nsfs nsfs rw\n"
    "68 42 0:4 net:[13] /b rw - nsfs nsfs rw\n69 42 0:4 pid:[14] /b rw - nsfs nsfs rw\n",
    # escapes in the mount point, a foreign root, a bind of a folder on nsfs, optional fields
    "70 27 0:4 pid:[21] /x\\011tab\\134back rw shared:5 master:2 - nsfs nsfs rw\n"
    "71 27 0:4 pid:[abc] /bad rw - nsfs nsfs rw\n72 27 0:4 / /root-of-nsfs rw - nsfs nsfs rw\n"
    "73 27 0:4 pid:[22] /no-type-sep rw - tmpfs nsfs rw\n74 27 0:4 PID:[23] /upper rw - nsfs nsfs rw\n",
    "",
])
def test_pid_ns_handles_agrees_with_the_full_parser(text):
    full = dict((path, inode) for path, (ns_type, inode) in
                _procfs.nsfs_mounts(_procfs.parse_mountinfo(text)).items() if ns_type == "pid")
    assert _procfs.pid_ns_handles(text) == full


def test_escaped_comm_still_unescaped():
    assert _procfs.unescape_comm(b"a\\\\b\\nc") == "a\\b\nc"


def test_a_huge_command_line_is_cut_and_says_so(tmp_path):
    (tmp_path / "77").mkdir()
    (tmp_path / "77" / "cmdline").write_bytes(b"\0".join([b"python3"] + [b"x" * 100000] * 15) + b"\0")
    args = _procfs.read_cmdline(str(tmp_path), 77)
    assert args[0] == "python3" and args[-1] == "[truncated at %d bytes]" % _procfs.CMDLINE_LIMIT
    assert sum(len(arg) + 1 for arg in args[:-1]) <= _procfs.CMDLINE_LIMIT + 1


def test_a_command_line_at_the_limit_is_whole():
    data = b"a" * (_procfs.CMDLINE_LIMIT - 1) + b"\0"
    assert _procfs.parse_cmdline(data) == ["a" * (_procfs.CMDLINE_LIMIT - 1)]
