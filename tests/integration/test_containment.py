# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 18: a sandbox keeps its hands off the host, and survives what runs in it.

The modules run as their own processes (run_module_main); the oracles are the host's own files:
/proc/PID/oom_score_adj, the memory cgroup's counters, psutil.
"""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from ansible_cli import run_module_main
from sandboxes import STATE_DIR, wait_for

pytestmark = pytest.mark.skipif(not Path("/sys/fs/cgroup/memory").is_dir(),
                                reason="needs a memory cgroup controller (this machine's v1 memory hierarchy)")


CAP_SYS_RESOURCE = 24


def _oom_score_adj(pid: int) -> int:
    return int(Path("/proc/%d/oom_score_adj" % pid).read_text())


def _may_lower_oom_score_adj() -> bool:
    effective = [line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("CapEff:")]
    return bool(int(effective[0].split()[1], 16) >> CAP_SYS_RESOURCE & 1)


def test_a_full_tmpfs_kills_the_writer_not_the_sandbox(names):
    """Finding 1: files written in an ephemeral root are tmpfs, charged to the sandbox's memory. The
    writer is the OOM victim: not the joiner (the command's result comes back), not PID 1."""
    name = names("fill")
    made = run_module_main("sandbox", {"name": name, "memory": "64M",
                                       "rootfs": {"type": "overlay", "ephemeral": True}})
    assert not made["failed"], made
    supervisor = made["sandbox"]["supervisor"]["pid"]
    # -998 where root may lower it (this machine's root lacks CAP_SYS_RESOURCE); commands run at 1000.
    assert _oom_score_adj(supervisor) == (-998 if _may_lower_oom_score_adj() else 0)
    assert run_module_main("sandbox_exec", {"sandbox": name, "argv": ["cat", "/proc/self/oom_score_adj"]})[
        "stdout"] == "1000"

    filled = run_module_main("sandbox_exec", {"sandbox": name, "timeout": 60,
                                              "argv": ["dd", "if=/dev/zero", "of=/dev/shm/fill", "bs=1M",
                                                       "count=200"]})
    assert filled["failed"] is True
    assert filled["rc"] == -9, filled  # SIGKILL from the OOM killer, and the result reached the module
    assert psutil.pid_exists(supervisor) and psutil.Process(supervisor).status() != psutil.STATUS_ZOMBIE

    [info] = run_module_main("sandbox_info", {"name": name})["sandboxes"]
    assert info["health"] == "alive", info["problems"]
    assert info["cgroup_usage"]["oom_kills"] >= 1, info["cgroup_usage"]
    removed = run_module_main("sandbox", {"name": name, "state": "absent"})
    assert removed["changed"] and not removed["failed"], removed
    assert wait_for(lambda: not psutil.pid_exists(supervisor), 10)


def test_a_kill_loop_inside_does_not_grow_the_hosts_log(names):
    """Finding 6: PID 1 logs a signal from inside that it ignores, once per IGNORED_EVERY seconds."""
    name = names("killloop")
    made = run_module_main("sandbox", {"name": name})
    assert not made["failed"], made
    log = STATE_DIR / name / "supervisor.log"
    before = log.stat().st_size
    looped = run_module_main("sandbox_exec", {"sandbox": name, "argv": [
        "sh", "-c", "n=0; while [ $n -lt 3000 ]; do kill -TERM 1; n=$((n + 1)); done"]})
    assert looped["rc"] == 0, looped
    grown = log.read_text()[before:]
    assert "inside the sandbox: ignored" in grown
    assert len(grown) < 1024, grown[:2000]
    assert made["sandbox"]["supervisor"]["pid"] in [p.pid for p in psutil.process_iter()]


def test_every_tmpfs_of_an_own_root_is_bounded_and_none_above_memory(names):
    """Finding 2: the kernel's default tmpfs is half the host's RAM, each; here /dev/shm is shm_size,
    /run and /tmp have fixed sizes, and the ephemeral upper layer (df / reports it) too, all within memory."""
    small, large = names("tmpfs"), names("tmpfs")
    sizes = {}
    for name, options in ((small, {"memory": "96M", "shm_size": "32M"}), (large, {})):
        made = run_module_main("sandbox", dict(options, name=name, rootfs={"type": "overlay", "ephemeral": True}))
        assert not made["failed"], made
        df = run_module_main("sandbox_exec", {"sandbox": name, "argv": ["df", "-k", "/dev/shm", "/run", "/tmp", "/"]})
        assert df["rc"] == 0, df
        sizes[name] = [int(line.split()[1]) for line in df["stdout_lines"][1:]]
    assert sizes[small] == [32 * 1024, 64 * 1024, 96 * 1024, 96 * 1024]
    assert sizes[large] == [64 * 1024, 64 * 1024, 512 * 1024, 1024 * 1024]


DOCKER_DEFAULT = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                  "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
# include/uapi/linux/capability.h, independent of the code under test
CAPS = {0: "CHOWN", 1: "DAC_OVERRIDE", 2: "DAC_READ_SEARCH", 3: "FOWNER", 4: "FSETID", 5: "KILL", 6: "SETGID",
        7: "SETUID", 8: "SETPCAP", 10: "NET_BIND_SERVICE", 12: "NET_ADMIN", 13: "NET_RAW", 16: "SYS_MODULE",
        18: "SYS_CHROOT", 19: "SYS_PTRACE", 21: "SYS_ADMIN", 22: "SYS_BOOT", 24: "SYS_RESOURCE", 25: "SYS_TIME",
        27: "MKNOD", 29: "AUDIT_WRITE", 31: "SETFCAP"}


def _caps(mask_hex: str) -> set:
    mask = int(mask_hex, 16)
    return {CAPS.get(bit, str(bit)) for bit in range(64) if mask >> bit & 1}


def _inside(name: str, script: str) -> dict:
    return run_module_main("sandbox_exec", {"sandbox": name, "argv": ["sh", "-c", script]})


def _status_caps(text: str, field: str = "CapEff") -> set:
    return _caps([line.split()[1] for line in text.splitlines() if line.startswith(field + ":")][0])


def test_a_root_of_its_own_gets_dockers_capabilities_and_a_protected_proc(names):
    """Finding 3 and 4: docker's default set (no SYS_ADMIN, SYS_MODULE, SYS_TIME, DAC_READ_SEARCH...),
    /proc/sys read-only, /proc/kcore masked, /proc/1/map_files closed; PID 1 too holds only the set."""
    name = names("caps")
    made = run_module_main("sandbox", {"name": name, "rootfs": {"type": "overlay", "ephemeral": True}})
    assert not made["failed"], made
    status = _inside(name, "cat /proc/self/status")
    assert _status_caps(status["stdout"]) == DOCKER_DEFAULT
    assert _status_caps(status["stdout"], "CapBnd") == DOCKER_DEFAULT
    supervisor = Path("/proc/%d/status" % made["sandbox"]["supervisor"]["pid"]).read_text()
    assert _status_caps(supervisor) == DOCKER_DEFAULT  # KILL and SYS_CHROOT are in it already
    # The same value written back: a sandbox without the fix must not change the host either.
    sysctl = _inside(name, "v=$(cat /proc/sys/vm/swappiness) && echo $v > /proc/sys/vm/swappiness")
    assert sysctl["rc"] != 0 and "Read-only file system" in sysctl["stderr"], sysctl
    # /proc/keys lists the host's keyrings, /proc/timer_list its timers (this kernel has no /proc/kcore)
    assert _inside(name, "wc -c < /proc/keys; wc -c < /proc/timer_list")["stdout_lines"] == ["0", "0"]
    # Opening a mapped file of PID 1 (the host's Python and its libraries) needs CAP_SYS_ADMIN, and PID 1
    # is not dumpable (its descriptors are host files), so even listing them is refused. Read only: a
    # sandbox without the fix must not get a host file opened for writing by a test.
    mapped = _inside(name, "f=$(ls /proc/1/map_files | head -n 1) && head -c 1 /proc/1/map_files/$f > /dev/null")
    assert mapped["rc"] != 0 and ("Operation not permitted" in mapped["stderr"]
                                  or "ls: reading directory '/proc/1/map_files': Permission denied" in mapped["stderr"]), mapped
    # Its log, a host file, through its descriptor: refused.
    descriptors = _inside(name, "head -c 1 /proc/1/fd/1 > /dev/null")
    assert descriptors["rc"] != 0 and "Permission denied" in descriptors["stderr"], descriptors
    undo = _inside(name, "umount /proc/sys")
    assert undo["rc"] != 0, undo


def test_privileged_keeps_everything_and_the_host_root_default_is_unchanged(names):
    own, host, trimmed = names("priv"), names("hostcaps"), names("trimmed")
    assert not run_module_main("sandbox", {"name": own, "privileged": True,
                                           "rootfs": {"type": "overlay", "ephemeral": True}})["failed"]
    assert not run_module_main("sandbox", {"name": host})["failed"]
    assert not run_module_main("sandbox", {"name": trimmed, "cap_drop": ["net_raw", "CAP_SYS_ADMIN"],
                                           "cap_add": ["SYS_BOOT"]})["failed"]
    ours = _status_caps(Path("/proc/self/status").read_text())
    for name in (own, host):
        inside = _inside(name, "cat /proc/self/status; grep -c ' /proc/sys ' /proc/self/mountinfo || true")
        assert _status_caps(inside["stdout"]) == ours - {"SYS_BOOT"}  # allow_reboot keeps SYS_BOOT
        assert inside["stdout_lines"][-1] == "0"  # /proc/sys is not made read-only
    trimmed_caps = _status_caps(_inside(trimmed, "cat /proc/self/status")["stdout"])
    assert trimmed_caps == ours - {"SYS_BOOT", "NET_RAW", "SYS_ADMIN"}
    rebooter = run_module_main("sandbox_exec", {"sandbox": trimmed, "argv": ["cat", "/proc/self/status"],
                                                "allow_reboot": True})
    assert _status_caps(rebooter["stdout"]) == ours - {"NET_RAW", "SYS_ADMIN"}
