# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parents of PID namespaces: from the process tree where it is exact, else NS_GET_PARENT.

A parent namespace comes from the process tree when the init's parent process is exactly one
level up (parents_from_processes says why that is exact), else from the NS_GET_PARENT ioctl on a
namespace fd, which also finds ancestors that have neither a process nor a handle ("hidden").
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.linuxns.pidns.plugins.module_utils._kernel._procfs import _VANISHED

# NS_GET_PARENT is not there (kernel < 4.9, or a filesystem that is not nsfs).
_NO_IOCTL = (errno.ENOTTY, errno.ENOSYS, errno.EINVAL, errno.ENOTSUP)


def ioctl_parent(path, expected):
    """Parent PID-namespace inode of the namespace ``expected`` open at ``path`` and a fd of it, via
    NS_GET_PARENT.

    Returns (inode, fd) -- the caller closes fd -- or (None, None) when the parent is outside the
    caller's view (EPERM) or the namespace is gone. Raises OSError(ENOTTY/ENOSYS...) when the
    ioctl is unsupported so the caller can fall back, and OSError(ESTALE) when what ``path`` opened
    is not ``expected`` (the process scanned there exited and its PID went to another one).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno in _VANISHED or exc.errno == errno.EACCES:
            return None, None
        raise
    try:
        if os.fstat(fd).st_ino != expected:
            raise OSError(errno.ESTALE, "%s is no longer PID namespace %d" % (path, expected))
        return parent_of_fd(fd)
    finally:
        os.close(fd)


def parent_of_fd(fd):
    """(inode, fd) of the parent of the PID namespace open at ``fd``; (None, None) above the view."""
    import fcntl  # cheap, and only needed on real hosts
    # Imported here: _syscalls imports ctypes, which a scan that never asks the kernel does not need.
    from ansible_collections.linuxns.pidns.plugins.module_utils._kernel._syscalls import NS_GET_PARENT
    try:
        parent_fd = fcntl.ioctl(fd, NS_GET_PARENT)
    except OSError as exc:
        if exc.errno == errno.EPERM:
            return None, None
        raise
    try:
        return os.fstat(parent_fd).st_ino, parent_fd
    except OSError:
        os.close(parent_fd)
        raise


class Parents(object):
    """The parent of each PID namespace of a ProcessTable, and the ancestors found on the way.

    ``of``: {namespace: parent or None}; ``hidden``: ancestors with neither process nor handle;
    ``exact``: True when NS_GET_PARENT works, so that every parent is exact.
    """

    def __init__(self, table, handle_paths):
        self.table = table
        self.handle_paths = handle_paths
        self.of = {}
        self.hidden = set()
        self.exact = False

    def resolve(self, known, levels, inits, use_ioctl=True):
        """Parents of every known namespace: first from the process tree (exact where it answers),
        then via NS_GET_PARENT for the rest. Without the ioctl, namespaces the process tree does
        not place get no parent (None). Returns self."""
        self.from_processes(levels, inits)
        if not use_ioctl:
            return self
        probed = self._from_ioctl(known)
        if probed is None and known:
            # Every parent came from the process tree: still say whether the ioctl works, so that
            # parents_from tells the same thing whatever the shape of the tree. One call.
            probed = self._ioctl_works(sorted(known)[0])
        self.exact = probed is not False
        if not self.exact:
            # What the ioctl found before it failed is dropped too: either every parent is exact or
            # parents_from says they are not.
            self.of.clear()
            self.hidden.clear()
            self.from_processes(levels, inits)
        return self

    def _ioctl_works(self, ns):
        """True/False whether NS_GET_PARENT works on ``ns``; None if that cannot be told."""
        path = self._ns_path(ns)
        if path is None:
            return None
        try:
            _parent, fd = ioctl_parent(path, ns)
        except OSError as exc:
            return False if exc.errno in _NO_IOCTL else None
        if fd is not None:
            os.close(fd)
        return True

    def _from_ioctl(self, known):
        """NS_GET_PARENT for the known namespaces without a parent yet; True if it worked, False if
        it is unsupported, None if there was nothing to ask."""
        parents = self.of
        tried = None
        for ns in sorted(known):
            if ns in parents:
                continue
            path = self._ns_path(ns)
            if path is None:
                continue
            try:
                parent, fd = ioctl_parent(path, ns)
            except OSError as exc:
                if exc.errno in _NO_IOCTL:
                    return False
                continue
            tried = True
            parents[ns] = parent
            # Walk up through ancestors the scan did not see otherwise (no process, no handle).
            while fd is not None:
                if parent in known or parent in parents:
                    os.close(fd)
                    break
                self.hidden.add(parent)
                try:
                    grand, grand_fd = parent_of_fd(fd)
                except OSError:
                    grand, grand_fd = None, None
                finally:
                    os.close(fd)
                parents[parent] = grand
                parent, fd = grand, grand_fd
        return tried

    def _ns_path(self, ns):
        for pid in self.table.members.get(ns, ()):
            return "%s/%d/ns/pid" % (self.table.proc, pid)
        paths = self.handle_paths.get(ns)
        return paths[0] if paths else None

    def from_processes(self, levels, inits):
        """Parents from the process tree, set only where they are certain.

        From PID 1 (or a member) of a namespace, follow PPid up to the first process in another
        namespace. A parent process is always in the same PID namespace as its child or in an
        ancestor of it (fork places a child in the caller's namespace or a descendant; an orphan
        is adopted by a process of its dead parent's namespace), so that namespace is an ancestor;
        if its level is exactly one less, it is the parent. Levels come from NSpid lengths read in
        one /proc, so they are consistent with each other even where not absolute. A parent
        process started after its child is a reused PID: the walk stops there.
        """
        procs = self.table.procs
        parents = self.of
        for ns, pids in self.table.members.items():
            if ns in parents:
                continue
            level = levels.get(ns)
            if level is None:
                continue
            process = procs[inits.get(ns) or min(pids)]
            seen = set()
            pid = process.ppid
            while pid and pid not in seen:
                above = procs.get(pid)
                if above is None or above.start_time > process.start_time:
                    break
                seen.add(pid)
                other = above.ns
                if other != ns:
                    if levels.get(other) == level - 1:
                        parents[ns] = other
                    break
                process = above
                pid = above.ppid
