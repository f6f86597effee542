# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ctypes wrappers for the namespace system calls (os.setns/unshare need 3.12; modules run on 3.8+).

Every wrapper raises OSError with errno set.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import os

CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# /proc/PID/ns names.
NAMESPACE_FLAGS = {
    "pid": CLONE_NEWPID,
    "mnt": CLONE_NEWNS,
    "uts": CLONE_NEWUTS,
    "ipc": CLONE_NEWIPC,
    "net": CLONE_NEWNET,
    "cgroup": CLONE_NEWCGROUP,
    "time": CLONE_NEWTIME,
    "user": CLONE_NEWUSER,
}

# As nsenter(1): user first (it grants the rights for the others), mnt late (it changes what paths mean).
JOIN_ORDER = ("user", "cgroup", "ipc", "uts", "net", "pid", "time", "mnt")

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

MNT_DETACH = 0x2
UMOUNT_NOFOLLOW = 0x8

# ioctl request on a PID-namespace fd (linux/nsfs.h): _IO(0xb7, 0x2), the parent namespace's fd.
NS_GET_PARENT = 0xB702

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24

# open_tree(2) / move_mount(2) (Linux 5.2+): the same number on every architecture.
SYS_OPEN_TREE = 428
SYS_MOVE_MOUNT = 429
OPEN_TREE_CLONE = 1
AT_RECURSIVE = 0x8000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
SYS_MOUNT_SETATTR = 442
AT_EMPTY_PATH = 0x1000
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_IDMAP = 0x100000
AT_FDCWD = -100
# pivot_root has no glibc wrapper and differs per architecture.
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "ppc64": 203,
                  "s390x": 217, "i686": 217, "i386": 217, "armv7l": 218}

# Generic syscall numbers (pidfd_* are the same on every architecture since 5.3).
SYS_PIDFD_SEND_SIGNAL = 424
SYS_PIDFD_OPEN = 434
# rt_sigaction differs per architecture.
SYS_RT_SIGACTION = {"x86_64": 13, "aarch64": 134, "riscv64": 134, "ppc64le": 173, "ppc64": 173,
                    "s390x": 174, "i686": 174, "i386": 174, "armv7l": 174}

_libc = None


def _lib():
    global _libc
    if _libc is None:
        # The interpreter's own symbols include libc; find_library would import re, shutil and
        # subprocess and run ldconfig: milliseconds on every module run and connection command.
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    return _libc


def _check(result, what):
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))
    return result


def unshare(flags):
    _check(_lib().unshare(ctypes.c_int(flags)), "unshare")


def setns(fd, nstype=0):
    _check(_lib().setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")


def _path(value):
    if value is None:
        return None
    return value.encode() if not isinstance(value, bytes) else value


def mount(source, target, fstype, flags=0, data=None):
    _check(
        _lib().mount(_path(source), _path(target), _path(fstype), ctypes.c_ulong(flags), _path(data)),
        "mount %s" % target,
    )


def umount2(target, flags=0):
    _check(_lib().umount2(_path(target), ctypes.c_int(flags)), "umount %s" % target)


def sethostname(name):
    raw = name.encode()
    _check(_lib().sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname")


def reset_signal_raw(signum):
    """SIG_DFL for `signum` via raw rt_sigaction; False where the syscall number is unknown.

    glibc refuses sigaction() on its reserved 32 and 33, yet they can be inherited ignored (GNU
    make's children). An all-zero struct is SIG_DFL on every architecture's field order.
    """
    number = SYS_RT_SIGACTION.get(os.uname().machine)
    if number is None:
        return False
    action = ctypes.create_string_buffer(64)
    _check(_lib().syscall(ctypes.c_long(number), ctypes.c_int(signum), action, None, ctypes.c_size_t(8)),
           "rt_sigaction")
    return True


def prctl(option, arg2=0):
    _check(_lib().prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(0),
                        ctypes.c_ulong(0), ctypes.c_ulong(0)), "prctl")


def pidfd_open(pid):
    return _check(_lib().syscall(ctypes.c_long(SYS_PIDFD_OPEN), ctypes.c_int(pid), ctypes.c_uint(0)),
                  "pidfd_open")


def pidfd_send_signal(pidfd, sig):
    _check(_lib().syscall(ctypes.c_long(SYS_PIDFD_SEND_SIGNAL), ctypes.c_int(pidfd), ctypes.c_int(sig),
                          None, ctypes.c_uint(0)), "pidfd_send_signal")


def pivot_root(new_root, put_old):
    number = SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise OSError(38, "pivot_root: the system call number is not known for %s" % os.uname().machine)
    _check(_lib().syscall(ctypes.c_long(number), _path(new_root), _path(put_old)), "pivot_root")


def open_tree(path, flags):
    """An fd of a detached copy of the mount tree at `path`, attachable in another mount namespace."""
    return _check(_lib().syscall(ctypes.c_long(SYS_OPEN_TREE), ctypes.c_int(AT_FDCWD), _path(path),
                                 ctypes.c_uint(flags | os.O_CLOEXEC)), "open_tree %s" % path)


def move_mount(fd, target):
    """Attach the detached tree of `fd` (from open_tree) at `target`."""
    _check(_lib().syscall(ctypes.c_long(SYS_MOVE_MOUNT), ctypes.c_int(fd), b"", ctypes.c_int(AT_FDCWD),
                          _path(target), ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH)), "move_mount %s" % target)


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                ("userns_fd", ctypes.c_uint64)]


def idmap_tree(fd, userns_fd, read_only, recursive):
    """mount_setattr(2) on a detached tree (from open_tree): its ids seen through `userns_fd`'s maps
    (an idmapped mount; Linux 5.12), read-only if asked."""
    attr = _MountAttr(MOUNT_ATTR_IDMAP | (MOUNT_ATTR_RDONLY if read_only else 0), 0, 0, userns_fd)
    flags = AT_EMPTY_PATH | (AT_RECURSIVE if recursive else 0)
    _check(_lib().syscall(ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_int(fd), b"", ctypes.c_uint(flags),
                          ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr))), "mount_setattr")
