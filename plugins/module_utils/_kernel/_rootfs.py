# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A sandbox's own root filesystem: checks of `rootfs` and `binds` (pure), host preparation before
the fork, and PID 1's mount work before it execs the supervisor.

Kinds: ``host`` (shared, the default; `binds` may bind over existing paths, privately); ``overlay``
(lower: the host's or parent sandbox's root; upper: LAYERS_DIR/<name>, kept across recreations until
state absent, or a tmpfs if ephemeral; disk submounts such as /home get upper layers of their own,
memory and kernel filesystems are left out); ``directory`` (a prepared host tree, optionally read-only).

Host paths arrive as detached mount trees (open_tree(2) in the module), so a nested launcher that
joined its parent's mount namespace works too. PID 1 builds the root on a staging tmpfs, then
pivot_root(".", "."). A prepared tree may lack Python: PID 1 execs the supervisor from the module's
root, and the supervisor chroots into the new root (fd 4) before it reports ready.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

from ansible_collections.linuxns.pidns.plugins.module_utils._common import STATE_DIR, SandboxError

# Also what a spec recorded before rootfs existed means.
HOST_ROOTFS = {"type": "host", "path": None, "read_only": False, "ephemeral": False}

# On disk, not in the state directory: that is a tmpfs on most hosts (a package install would fill /run).
LAYERS_DIR = "/var/lib/linuxns-pidns"
# Every tmpfs of a root of its own is bounded (the kernel's default, half the host's RAM each, lets a
# sandbox take the host's memory), and none is larger than the sandbox's memory limit.
DEFAULT_SHM_SIZE = 64 * 1024 * 1024  # docker's /dev/shm
RUN_SIZE = 64 * 1024 * 1024
TMP_SIZE = 512 * 1024 * 1024
EPHEMERAL_UPPER_SIZE = 1024 * 1024 * 1024
# docker's and runc's defaults for a container: kernel settings read-only, host-wide state masked.
READ_ONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
MASKED_PATHS = ("/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats", "/sys/firmware",
                "/sys/devices/virtual/powercap")
ROOTFS_TYPES = ("host", "overlay", "directory")
# Supervisor argv flag: fd 4 is the new root, to chroot into first.
ENTER_ROOT_FLAG = "enter-root"
ROOT_FD = 4
# Made fresh in a root of its own, never taken from the host or a bind.
RESERVED_DESTS = ("/", "/proc", "/sys", "/dev")
# Not carried into an overlay root: made fresh, or memory and kernel state rather than files.
FRESH_PATHS = ("/proc", "/sys", "/dev", "/run", "/tmp")
VIRTUAL_FSTYPES = frozenset((
    "proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "ramfs", "cgroup", "cgroup2", "nsfs", "mqueue",
    "hugetlbfs", "securityfs", "debugfs", "tracefs", "configfs", "fusectl", "bpf", "pstore", "efivarfs",
    "autofs", "binfmt_misc", "rpc_pipefs", "nfsd", "selinuxfs"))
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
MAX_SYMLINKS = 40


# ---------------------------------------------------------------- checks (pure)

def _is_clean_path(path):
    """Absolute, normalized (no . or .. components, no doubled or trailing slashes), no NUL."""
    return isinstance(path, str) and path.startswith("/") and "\0" not in path and \
        (path == "/" or (os.path.normpath(path) == path and not path.startswith("//")))


def _inside(path, ancestor):
    """Whether `path` is `ancestor` or below it (both clean)."""
    return path == ancestor or ancestor == "/" or path.startswith(ancestor.rstrip("/") + "/")


def normalize_rootfs(value, namespaces, state_dir=STATE_DIR):
    """The checked rootfs spec ({type, path, read_only, ephemeral}); SandboxError naming the option."""
    if value is None:
        return dict(HOST_ROOTFS)
    if not isinstance(value, dict):
        raise SandboxError("rootfs: %r is not a dictionary with a type (host, overlay or directory)" % (value,))
    unknown = sorted(set(value) - set(HOST_ROOTFS))
    if unknown:
        raise SandboxError("rootfs: unknown key(s) %s; use type, path, read_only, ephemeral" % ", ".join(unknown))
    kind = value.get("type") or "host"
    if kind not in ROOTFS_TYPES:
        raise SandboxError("rootfs.type: %r is not one of %s" % (kind, ", ".join(ROOTFS_TYPES)))
    path = value.get("path")
    read_only = value.get("read_only") or False
    ephemeral = value.get("ephemeral") or False
    for key, flag in (("read_only", read_only), ("ephemeral", ephemeral)):
        if not isinstance(flag, bool):
            raise SandboxError("rootfs.%s: %r is not a boolean" % (key, flag))
    if kind == "directory":
        if path is None:
            raise SandboxError("rootfs.path: type directory needs the path of a prepared root tree on the host")
        if not _is_clean_path(path):
            raise SandboxError("rootfs.path: %r must be an absolute path without . or .. components" % (path,))
        if path == "/":
            raise SandboxError("rootfs.path: / is the host's own root; use type overlay for a copy-on-write view of it")
        if _inside(state_dir, path) or _inside(path, state_dir) or _inside(path, LAYERS_DIR):
            raise SandboxError("rootfs.path: %s holds or lies in the collection's state (%s, %s)"
                               % (path, state_dir, LAYERS_DIR))
    elif path is not None:
        raise SandboxError("rootfs.path: only type directory takes a path (the tree to use as root)")
    if read_only and kind != "directory":
        raise SandboxError("rootfs.read_only: only type directory can be read-only (an overlay's point is "
                           "its writable layer; use a read-only bind for a read-only path)")
    if ephemeral and kind != "overlay":
        raise SandboxError("rootfs.ephemeral: only type overlay has an upper layer to keep in memory")
    if kind != "host" and "mnt" not in namespaces:
        raise SandboxError("rootfs: a root filesystem of its own needs the 'mnt' namespace; add mnt to namespaces")
    return {"type": kind, "path": path, "read_only": read_only, "ephemeral": ephemeral}


def normalize_binds(value, namespaces, state_dir=STATE_DIR):
    """The checked binds ([{src, dest, read_only}] in the order given); SandboxError naming the entry."""
    if not value:
        return []
    if not isinstance(value, list):
        raise SandboxError("binds: %r is not a list of {src, dest, read_only}" % (value,))
    if "mnt" not in namespaces:
        raise SandboxError("binds: binding paths needs the 'mnt' namespace; add mnt to namespaces")
    binds = []
    for index, entry in enumerate(value):
        label = "binds[%d]" % index
        if not isinstance(entry, dict):
            raise SandboxError("%s: %r is not a dictionary with src and dest" % (label, entry))
        unknown = sorted(set(entry) - {"src", "dest", "read_only"})
        if unknown:
            raise SandboxError("%s: unknown key(s) %s; use src, dest, read_only" % (label, ", ".join(unknown)))
        src, dest = entry.get("src"), entry.get("dest")
        if dest is None:
            dest = src
        read_only = entry.get("read_only") or False
        if not _is_clean_path(src):
            raise SandboxError("%s.src: %r must be an absolute host path without . or .. components" % (label, src))
        if not _is_clean_path(dest):
            raise SandboxError("%s.dest: %r must be an absolute path inside the sandbox without . or .. "
                               "components (a path outside its root does not exist)" % (label, dest))
        if not isinstance(read_only, bool):
            raise SandboxError("%s.read_only: %r is not a boolean" % (label, read_only))
        if dest in RESERVED_DESTS or _inside(dest, "/proc") or _inside(dest, "/sys"):
            raise SandboxError("%s.dest: %s is made by the sandbox itself (/, /proc, /sys, /dev); bind below "
                               "another path" % (label, dest))
        if _inside(state_dir, src) or _inside(src, state_dir) or _inside(src, LAYERS_DIR):
            raise SandboxError("%s.src: %s holds or lies in the collection's state (%s, %s): it cannot be bound "
                               "into a sandbox" % (label, src, state_dir, LAYERS_DIR))
        for other_index, other in enumerate(binds):
            if _inside(dest, other["dest"]) or _inside(other["dest"], dest):
                raise SandboxError("%s.dest: %s overlaps binds[%d].dest %s; give each bind a destination of "
                                   "its own" % (label, dest, other_index, other["dest"]))
        binds.append({"src": src, "dest": dest, "read_only": read_only})
    return binds


def check_host(spec, exists=os.path.exists, isdir=os.path.isdir, state_dir=STATE_DIR):
    """Host prerequisites, before anything is made: the tree, bind sources, and with the host's root
    the bind dests (nothing is created on the host's files)."""
    rootfs = spec.get("rootfs") or HOST_ROOTFS
    if rootfs["type"] == "directory":
        if not isdir(rootfs["path"]):
            raise SandboxError("rootfs.path: %s is not a directory on the host (a prepared root tree: a debootstrap "
                               "result, an unpacked image)" % rootfs["path"])
        _check_resolved("rootfs.path", rootfs["path"], state_dir)
        _check_fresh_paths(rootfs["path"])
    for index, bind in enumerate(spec.get("binds") or []):
        if not exists(bind["src"]):
            raise SandboxError("binds[%d].src: %s does not exist on the host" % (index, bind["src"]))
        _check_resolved("binds[%d].src" % index, bind["src"], state_dir)
        if rootfs["type"] == "host" and not exists(bind["dest"]):
            raise SandboxError("binds[%d].dest: %s does not exist; a sandbox that shares the host's root creates "
                               "nothing on it (create it, or give the sandbox a rootfs)" % (index, bind["dest"]))


def tmpfs_kib(size, memory=None):
    """A tmpfs size= in KiB: `size`, but no more than the memory limit (bytes) where there is one."""
    return max(1, min(size, memory or size) // 1024)


def _check_fresh_paths(tree):
    """The paths a root of its own gets fresh (/proc, /sys, ...) must be directories of the tree, or
    absent: a symlink would take the mount elsewhere (a /proc under /tmp ends up hidden by /tmp's tmpfs)."""
    for path in FRESH_PATHS:
        where = os.path.join(tree, path.lstrip("/"))
        try:
            mode = os.lstat(where).st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(mode):
            raise SandboxError("rootfs.path: %s is a symlink (to %s); in a root tree %s must be directories "
                               "or absent" % (where, os.readlink(where), ", ".join(FRESH_PATHS)))
        if not stat.S_ISDIR(mode):
            raise SandboxError("rootfs.path: %s is not a directory; in a root tree %s must be directories or "
                               "absent" % (where, ", ".join(FRESH_PATHS)))


def _check_resolved(option, path, state_dir):
    """normalize_rootfs's and normalize_binds's lexical checks again, on what `path` is once its
    symlinks are resolved (and, for the root, on its device and inode: a bind mount of / is / too)."""
    real = os.path.realpath(path)
    if option == "rootfs.path" and (real == "/" or os.path.samestat(os.stat(path), os.stat("/"))):
        raise SandboxError("rootfs.path: %s is the host's own root (as %s); use type overlay for a copy-on-write "
                           "view of it" % (path, real))
    for protected in (state_dir, LAYERS_DIR):
        protected = os.path.realpath(protected)
        if _inside(real, protected) or _inside(protected, real):
            raise SandboxError("%s: %s is %s, which holds or lies in the collection's state (%s, %s)"
                               % (option, path, real, state_dir, LAYERS_DIR))


# ---------------------------------------------------------------- planning (pure)

def layers_path(name, layers_dir=LAYERS_DIR):
    return os.path.join(layers_dir, name)


def layer_key(path):
    """The folder name of a submount's layers: its path with / and % escaped (reversible)."""
    return path.replace("%", "%25").replace("/", "%2F")


def overlay_options(lower, upper, work):
    """overlayfs mount data; the separators , : and \\ in a path are escaped with a backslash."""
    def escape(path):
        return path.replace("\\", "\\\\").replace(",", "\\,").replace(":", "\\:")
    return "lowerdir=%s,upperdir=%s,workdir=%s" % (escape(lower), escape(upper), escape(work))


def plan_submounts(mounts, skip=()):
    """Mount points to overlay (from parsed mountinfo): topmost disk filesystems below /, parents
    first, none below FRESH_PATHS or `skip`."""
    if not mounts:
        return []
    root_ids = set(m["mount_id"] for m in mounts if m["mount_point"] == "/")
    topmost = {}
    for mount in mounts:
        topmost[mount["mount_point"]] = mount
    excluded = FRESH_PATHS + tuple(skip)
    chosen = []
    for point, mount in topmost.items():
        if point == "/" or mount["mount_id"] in root_ids:
            continue
        if any(_inside(point, path) for path in excluded):
            continue
        if mount["fstype"] in VIRTUAL_FSTYPES:
            continue
        # Below a left-out memory filesystem (a disk mount in a tmpfs /srv) the point is not in the overlay.
        if any(_inside(point, other) and topmost[other]["fstype"] in VIRTUAL_FSTYPES
               for other in topmost if other != point and other != "/"):
            continue
        chosen.append(point)
    return sorted(chosen, key=lambda p: (p.count("/"), p))


def resolve_in_root(root, path, lstat=os.lstat, readlink=os.readlink):
    """root + `path` with symlinks followed as if `root` were / (as RESOLVE_IN_ROOT), so none leads out.
    Missing components are kept as they are."""
    pending = [part for part in path.split("/") if part]
    resolved = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *(resolved + [part]))
        try:
            mode = lstat(candidate).st_mode
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise
            resolved.append(part)
            resolved.extend(p for p in pending if p not in (".",))
            break
        if stat.S_ISLNK(mode):
            links += 1
            if links > MAX_SYMLINKS:
                raise OSError(errno.ELOOP, "too many symbolic links resolving %s" % path)
            target = readlink(candidate)
            if target.startswith("/"):
                resolved = []
            pending = [p for p in target.split("/") if p] + pending
            continue
        resolved.append(part)
    return os.path.join(root, *resolved) if resolved else root


def describe(spec, name, usage=None):
    """The sandbox's root as sandbox and sandbox_info report it."""
    rootfs = spec.get("rootfs") or HOST_ROOTFS
    persistent = rootfs["type"] == "overlay" and not rootfs["ephemeral"]
    return {
        "type": rootfs["type"],
        "path": rootfs["path"],
        "read_only": rootfs["read_only"],
        "ephemeral": rootfs["ephemeral"],
        "upper": layers_path(name) if persistent else None,
        "binds": list(spec.get("binds") or []),
    }


def disk_usage(path):
    """Bytes the files under `path` take on disk (st_blocks, each inode once); None if it is not there."""
    if not os.path.isdir(path):
        return None
    seen = set()
    total = 0
    for directory, dirs, files in os.walk(path):
        for entry in dirs + files:
            try:
                info = os.lstat(os.path.join(directory, entry))
            except OSError:
                continue
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            total += info.st_blocks * 512
    return total


# ---------------------------------------------------------------- the module's side, before it forks

def needs_preparing(spec):
    """Whether PID 1 has rootfs work to do: a root of its own, or binds."""
    return (spec.get("rootfs") or HOST_ROOTFS)["type"] != "host" or bool(spec.get("binds"))


class Prepared(object):
    """Host resources PID 1 needs, as fds inherited across the forks: the module's root (to exec the
    supervisor from) and detached mount trees of the layers folder, the tree and the bind sources;
    with a user namespace of the sandbox's own, the overlay's lower layers too ((path, fd): the host's
    root, then its disk submounts), to be idmapped (idmap) once that namespace exists."""

    def __init__(self):
        self.exec_root = None
        self.layers = None
        self.tree = None
        self.binds = []
        self.lowers = []

    def fds(self):
        return [fd for fd in [self.exec_root, self.layers, self.tree] + self.binds + [fd for _p, fd in self.lowers]
                if fd is not None]

    def close(self):
        for fd in self.fds():
            try:
                os.close(fd)
            except OSError:
                pass
        self.__init__()

    def idmap(self, userns_fd, spec):
        """In the module, once the sandbox's user namespace is mapped (userns: auto): make the detached
        trees idmapped mounts of it (the same trees PID 1 has inherited), so files show inside with the
        owners they have on the host. The overlay's lower layers read-only: root inside would write
        them as the host's root."""
        sc = _sys()
        rootfs = spec.get("rootfs") or HOST_ROOTFS
        jobs = [(fd, True, False, "the host's %s (the overlay's lower layer)" % point) for point, fd in self.lowers]
        if self.tree is not None:
            jobs.append((self.tree, rootfs["read_only"], True, "rootfs.path %s" % rootfs["path"]))
        for index, (bind, fd) in enumerate(zip(spec.get("binds") or [], self.binds)):
            jobs.append((fd, bind["read_only"], True, "binds[%d].src %s" % (index, bind["src"])))
        for fd, read_only, recursive, what in jobs:
            try:
                sc.idmap_tree(fd, userns_fd, read_only, recursive)
            except OSError as exc:
                raise SandboxError("userns: auto: %s cannot be an idmapped mount: %s (idmapped mounts need Linux "
                                   "5.12 and a file system that supports them: ext4, xfs, btrfs, tmpfs 6.3+)"
                                   % (what, exc.strerror or exc))


def prepare(spec, name, layers_dir=LAYERS_DIR, allocation=None, lowers=True):
    """Open what PID 1 will need (see Prepared); make the upper layer's folder of a persistent overlay
    (owned by the sandbox's root with a user namespace of its own: allocation, see _userns). lowers: with
    an allocation, open the host's root and disk submounts as an overlay's lower layers, to idmap (not
    for a sandbox nested in one with a user namespace: its lower layer is its parent's root)."""
    from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _syscalls
    rootfs = spec.get("rootfs") or HOST_ROOTFS
    prepared = Prepared()
    try:
        if rootfs["type"] != "host":
            prepared.exec_root = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        if rootfs["type"] == "overlay" and not rootfs["ephemeral"]:
            folder = layers_path(name, layers_dir)
            os.makedirs(layers_dir, 0o700, exist_ok=True)
            os.makedirs(folder, 0o700, exist_ok=True)
            if allocation is not None:
                os.chown(folder, allocation["uid"], allocation["gid"])
            prepared.layers = _syscalls.open_tree(folder, _syscalls.OPEN_TREE_CLONE)
        if rootfs["type"] == "overlay" and allocation is not None and lowers:
            from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _procfs
            for point in ["/"] + plan_submounts(_procfs.read_mountinfo()):
                prepared.lowers.append((point, _syscalls.open_tree(point, _syscalls.OPEN_TREE_CLONE)))
        if rootfs["type"] == "directory":
            prepared.tree = _syscalls.open_tree(rootfs["path"], _syscalls.OPEN_TREE_CLONE | _syscalls.AT_RECURSIVE)
        for index, bind in enumerate(spec.get("binds") or []):
            try:
                prepared.binds.append(_syscalls.open_tree(bind["src"], _syscalls.OPEN_TREE_CLONE |
                                                          _syscalls.AT_RECURSIVE))
            except OSError as exc:
                raise SandboxError("binds[%d].src: cannot bind %s: %s" % (index, bind["src"], exc.strerror or exc))
    except BaseException:
        prepared.close()
        raise
    return prepared


def layers_owner(spec, name, layers_dir=LAYERS_DIR):
    """(uid, gid) of a persistent overlay's existing upper layers folder, or None: a sandbox with a user
    namespace of its own takes the same ids again, so its files stay its own."""
    if not keeps_layers(spec):
        return None
    try:
        info = os.stat(layers_path(name, layers_dir))
    except OSError:
        return None
    return (info.st_uid, info.st_gid) if info.st_uid else None


def remove_layers(name, layers_dir=LAYERS_DIR):
    """Delete a sandbox's upper layers; whether there were any."""
    folder = layers_path(name, layers_dir)
    if not os.path.lexists(folder):
        return False
    import shutil  # lazy: it pulls in bz2 and lzma, and the joiner imports this module
    shutil.rmtree(folder)
    return True


def keeps_layers(spec):
    rootfs = (spec or {}).get("rootfs") or HOST_ROOTFS
    return rootfs["type"] == "overlay" and not rootfs["ephemeral"]


# ---------------------------------------------------------------- PID 1's side

def _sys():
    from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _syscalls
    return _syscalls


def _mount(source, target, fstype, flags=0, data=None, what=None):
    try:
        _sys().mount(source, target, fstype, flags, data)
    except OSError as exc:
        raise OSError(exc.errno, "%s: mounting %s on %s: %s" % (what or "rootfs", fstype or source, target,
                                                                os.strerror(exc.errno)))


def _remount_read_only(target, mounts_below):
    """Read-only: the mount at `target` and every mount below it (their other flags kept)."""
    sc = _sys()
    flag_of = {"nosuid": sc.MS_NOSUID, "nodev": sc.MS_NODEV, "noexec": sc.MS_NOEXEC}
    for point, options in mounts_below:
        flags = sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY
        for option in options.split(","):
            flags |= flag_of.get(option, 0)
        sc.mount(None, point, None, flags)


def _mounts_at_or_below(path):
    from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _procfs
    found = []
    for mount in _procfs.read_mountinfo():
        if _inside(mount["mount_point"], path):
            found.append((mount["mount_point"], mount["options"]))
    return found


def _missing_from_read_only(path, what):
    return OSError(errno.EROFS, "%s: %s is missing from the read-only root tree; create it in the tree" % (what, path))


def _make_dir(path, writable, what):
    if os.path.isdir(path):
        return
    if not writable:
        raise _missing_from_read_only(path, what)
    os.makedirs(path, 0o755)


def _make_file(path, writable, what):
    if os.path.lexists(path):
        return
    if not writable:
        raise _missing_from_read_only(path, what)
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        os.makedirs(parent, 0o755)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))


def _stage_dir(candidates):
    for path in candidates:
        if os.path.isdir(path) and not os.path.islink(path):
            return path
    raise OSError(errno.ENOENT, "rootfs: no directory to build the new root on (tried %s)" % ", ".join(candidates))


def _upper_pair(base, lower):
    """upper/ and work/ under `base`; upper gets the lower's owner and mode (the overlay root takes them)."""
    upper, work = os.path.join(base, "upper"), os.path.join(base, "work")
    info = os.stat(lower)
    for path in (upper, work):
        if not os.path.isdir(path):
            os.makedirs(path, 0o700)
    os.chown(upper, info.st_uid, info.st_gid)
    os.chmod(upper, stat.S_IMODE(info.st_mode))
    return upper, work


def _build_overlay(sc, stage, new_root, rootfs, prepared, memory):
    """The overlay of the host's root and its disk submounts at new_root. Its lower layers are host
    paths (or, with a user namespace, their idmapped trees, attached on the stage), so this runs
    before the pivot; only the host's root can change the paths it walks (the upper layers are in
    LAYERS_DIR, 0700, and nothing runs in the sandbox yet)."""
    layers = os.path.join(stage, "layers")
    os.mkdir(layers, 0o700)
    if rootfs["ephemeral"]:
        _mount("tmpfs", layers, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV,
               "mode=0700,size=%dk" % tmpfs_kib(EPHEMERAL_UPPER_SIZE, memory), "rootfs.ephemeral")
    else:
        sc.move_mount(prepared.layers, layers)
    if prepared.lowers:
        lower_of = {}
        for index, (point, fd) in enumerate(prepared.lowers):
            lower_of[point] = os.path.join(stage, "lower%d" % index)
            os.mkdir(lower_of[point], 0o700)
            sc.move_mount(fd, lower_of[point])
        submounts = [point for point, _fd in prepared.lowers[1:]]
    else:
        from ansible_collections.linuxns.pidns.plugins.module_utils._kernel import _procfs
        submounts = plan_submounts(_procfs.read_mountinfo(), skip=[stage])
        lower_of = dict((point, point) for point in ["/"] + submounts)
    upper, work = _upper_pair(layers, lower_of["/"])
    _mount("overlay", new_root, "overlay", 0, overlay_options(lower_of["/"], upper, work), "rootfs (overlay of /)")
    for point in submounts:
        target = resolve_in_root(new_root, point)
        if not os.path.isdir(target) or not os.path.isdir(lower_of[point]):
            continue
        upper, work = _upper_pair(os.path.join(layers, "mounts", layer_key(point)), lower_of[point])
        _mount("overlay", target, "overlay", 0, overlay_options(lower_of[point], upper, work),
               "rootfs (overlay of the host's %s)" % point)


def _build_dev(sc, dev, shm_kib):
    _mount("tmpfs", dev, "tmpfs", sc.MS_NOSUID | sc.MS_NOEXEC, "mode=0755,size=65536k", "/dev")
    for node in DEVICES:
        source = os.path.join("/dev", node)
        if not os.path.exists(source):
            continue
        target = os.path.join(dev, node)
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o666))
        _mount(source, target, None, sc.MS_BIND, None, "/dev/" + node)
    os.mkdir(os.path.join(dev, "pts"), 0o755)
    _mount("devpts", os.path.join(dev, "pts"), "devpts", sc.MS_NOSUID | sc.MS_NOEXEC,
           "newinstance,ptmxmode=0666,mode=0620", "/dev/pts")
    os.symlink("pts/ptmx", os.path.join(dev, "ptmx"))
    os.mkdir(os.path.join(dev, "shm"), 0o1777)
    _mount("tmpfs", os.path.join(dev, "shm"), "tmpfs", sc.MS_NOSUID | sc.MS_NODEV, "mode=1777,size=%dk" % shm_kib,
           "/dev/shm")
    for link, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(dev, link))


def _protect_kernel_files(sc, staged):
    """Kernel settings read-only, host-wide kernel state masked (bind mounts root inside cannot undo
    without CAP_SYS_ADMIN); paths this kernel lacks are skipped. `staged`: the folder holding the
    staged proc and sys."""
    for path in READ_ONLY_PATHS:
        target = os.path.join(staged, path.lstrip("/"))
        if os.path.lexists(target):
            _mount(target, target, None, sc.MS_BIND | sc.MS_REC, None, path)
            _mount(None, target, None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV
                   | sc.MS_NOEXEC, None, path)
    for path in MASKED_PATHS:
        target = os.path.join(staged, path.lstrip("/"))
        if os.path.isdir(target) and not os.path.islink(target):
            _mount("tmpfs", target, "tmpfs", sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC,
                   "size=4k,mode=0555", path)
        elif os.path.lexists(target) and not os.path.islink(target):
            _mount("/dev/null", target, None, sc.MS_BIND, None, path)


def _build_sys(sc, target):
    flags = sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC | sc.MS_RDONLY
    try:
        sc.mount("sysfs", target, "sysfs", flags)
    except OSError:
        # A fresh sysfs needs its own or the host's network namespace; else bind the host's read-only.
        _mount("/sys", target, None, sc.MS_BIND | sc.MS_REC, None, "/sys")
        _remount_read_only(target, _mounts_at_or_below(target))
        return
    cgroups = os.path.join(target, "fs", "cgroup")
    if os.path.ismount("/sys/fs/cgroup") and os.path.isdir(cgroups):
        _mount("/sys/fs/cgroup", cgroups, None, sc.MS_BIND | sc.MS_REC, None, "/sys/fs/cgroup")
        _remount_read_only(cgroups, _mounts_at_or_below(cgroups))


def _write_hostname(hostname):
    """In the new root: /etc/hostname (a regular file, or none yet) says `hostname`. Never through a
    symlink or into anything but a regular file; a tree without /etc gets none."""
    try:
        fd = os.open("/etc/hostname", os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ENXIO, errno.EISDIR):
            return
        raise
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.ftruncate(fd, 0)
            os.write(fd, (hostname + "\n").encode())
    finally:
        os.close(fd)


def _apply_binds(sc, binds, fds, writable, read_only_done=False):
    """Attach the bind sources (detached trees) at their destinations, resolved in the current root;
    read-only where asked, unless they are already (staged)."""
    for index, (bind, fd) in enumerate(zip(binds, fds)):
        what = "binds[%d].dest" % index
        target = bind["dest"]
        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
        if not os.path.lexists(target):
            if writable is None:
                raise OSError(errno.ENOENT, "%s: %s does not exist" % (what, bind["dest"]))
            (_make_dir if is_dir else _make_file)(target, writable, what)
        if is_dir != os.path.isdir(target):
            raise OSError(errno.ENOTDIR if is_dir else errno.EISDIR,
                          "%s: %s is a %s but binds[%d].src %s is not" % (
                              what, bind["dest"], "directory" if os.path.isdir(target) else "file", index, bind["src"]))
        try:
            sc.move_mount(fd, target)
        except OSError as exc:
            raise OSError(exc.errno, "%s: binding %s on %s: %s" % (what, bind["src"], bind["dest"],
                                                                   os.strerror(exc.errno)))
        if bind["read_only"] and not read_only_done:
            _remount_read_only(target, _mounts_at_or_below(target))


def _stage_binds(sc, staged, fds, binds):
    """Each bind source attached in the staging area (read-only there where asked) and cloned again, to
    attach after the pivot; the fds of the clones."""
    clones = []
    for index, (bind, fd) in enumerate(zip(binds, fds)):
        point = os.path.join(staged, "bind%d" % index)
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            os.mkdir(point, 0o700)
        else:
            os.close(os.open(point, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        sc.move_mount(fd, point)
        if bind["read_only"]:
            _remount_read_only(point, _mounts_at_or_below(point))
        clones.append(_detached(sc, point))
    return clones


def _attach(sc, trees, writable):
    """Attach staged trees ((path, fd) pairs) at their paths in the new root."""
    for path, fd in trees:
        _make_dir(path, writable, "rootfs.path")
        sc.move_mount(fd, path)


def _detached(sc, path):
    """A detached copy of the mount tree at `path` (staged), to attach in the new root after the pivot."""
    return sc.open_tree(path, sc.OPEN_TREE_CLONE | sc.AT_RECURSIVE)


def enter(spec, state_root, prepared, protect_kernel=True):
    """In PID 1, mounts private and state directory hidden: build the root and pivot into it.
    Returns the new root's fd, or None with the host's root (then only the binds are applied).
    protect_kernel: /proc's kernel settings read-only and its host-wide files masked (docker's and
    runc's paths), unless the sandbox is privileged.

    Whoever can write the tree (a host user, another sandbox with the same tree) can swap any of its
    folders for a symlink while this runs. So nothing is made, written or mounted at a path in the tree
    before the pivot: /proc, /sys and /dev are built on the staging tmpfs (private to this mount
    namespace), the pivot then leaves nothing of the host reachable by path, and they are attached
    in the new root as detached trees, where the kernel resolves every symlink inside it; /proc last,
    since its magic links (/proc/PID/root) lead out of any root."""
    sc = _sys()
    rootfs = spec.get("rootfs") or HOST_ROOTFS
    binds = spec.get("binds") or []
    if rootfs["type"] == "host":
        _apply_binds(sc, binds, prepared.binds, None)
        return None
    memory = (spec.get("limits") or {}).get("memory")
    stage = _stage_dir([state_root, "/tmp", "/run", "/mnt", "/media", "/srv", "/opt"])
    _mount("tmpfs", stage, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV, "mode=0700,size=%dk" % tmpfs_kib(RUN_SIZE, memory),
           "rootfs (staging)")
    new_root = os.path.join(stage, "root")
    os.mkdir(new_root, 0o755)
    writable = not rootfs["read_only"]
    if rootfs["type"] == "overlay":
        _build_overlay(sc, stage, new_root, rootfs, prepared, memory)
    else:
        try:
            sc.move_mount(prepared.tree, new_root)
        except OSError as exc:
            raise OSError(exc.errno, "rootfs.path: binding %s: %s" % (rootfs["path"], os.strerror(exc.errno)))
        if not writable:
            _remount_read_only(new_root, _mounts_at_or_below(new_root))
    # Staged: what needs the host's paths (its /dev nodes, /sys, /sys/fs/cgroup, /dev/null to mask with).
    staged = os.path.join(stage, "staged")
    os.mkdir(staged, 0o700)
    proc, sys_dir, dev = (os.path.join(staged, part) for part in ("proc", "sys", "dev"))
    for path in (proc, sys_dir, dev):
        os.mkdir(path, 0o755)
    if spec["mount_proc"]:
        _mount("proc", proc, "proc", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC, None, "/proc")
    else:
        # mount_proc false: the previous /proc, as with the host's root.
        _mount("/proc", proc, None, sc.MS_BIND | sc.MS_REC, None, "/proc")
    _build_sys(sc, sys_dir)
    if protect_kernel:
        _protect_kernel_files(sc, staged)
    _build_dev(sc, dev, tmpfs_kib(spec["shm_size"], memory))
    hostname = spec.get("hostname") if "uts" in spec["namespaces"] else None
    hostname_file = None
    if hostname and not writable:
        # A read-only tree's /etc/hostname is covered by a read-only file of ours.
        source = os.path.join(staged, "hostname")
        with open(source, "w") as handle:
            handle.write(hostname + "\n")
        _mount(source, source, None, sc.MS_BIND, None, "/etc/hostname")
        sc.mount(None, source, None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY)
        hostname_file = _detached(sc, source)
    bind_clones = _stage_binds(sc, staged, prepared.binds, binds)
    trees = [(path, _detached(sc, os.path.join(staged, path.lstrip("/")))) for path in ("/sys", "/dev", "/proc")]
    # pivot_root(".", ".") stacks the old root on the new one; detach it whole (no put_old dir on a read-only root).
    os.chdir(new_root)
    sc.pivot_root(".", ".")
    sc.umount2(".", sc.MNT_DETACH)
    os.chdir("/")
    try:
        _attach(sc, trees[:2], writable)
        for path, mode, default_size in (("/run", "0755", RUN_SIZE), ("/tmp", "1777", TMP_SIZE)):
            if not os.path.isdir(path) and not writable:
                continue  # a read-only tree without it: nothing to cover
            _make_dir(path, writable, "rootfs.path")
            _mount("tmpfs", path, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV,
                   "mode=%s,size=%dk" % (mode, tmpfs_kib(default_size, memory)), path)
        if rootfs["type"] == "overlay" and os.path.isdir(LAYERS_DIR):
            # Hide other sandboxes' upper layers, visible through the lower layer.
            _mount("tmpfs", LAYERS_DIR, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC | sc.MS_RDONLY,
                   "mode=0700")
        if hostname_file is not None:
            if os.path.isfile("/etc/hostname"):
                sc.move_mount(hostname_file, "/etc/hostname")
        elif hostname:
            _write_hostname(hostname)
        _apply_binds(sc, binds, bind_clones, writable, read_only_done=True)
        # /proc last: with it come magic links (/proc/PID/root) that lead out of any root.
        _attach(sc, trees[2:], writable)
    finally:
        for fd in [tree[1] for tree in trees] + bind_clones + ([hostname_file] if hostname_file is not None else []):
            try:
                os.close(fd)
            except OSError:
                pass
    root_fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    # The new root may lack the supervisor's Python: exec it from ours; it chroots to fd 4 before anything runs.
    os.fchdir(prepared.exec_root)
    os.chroot(".")
    return root_fd
