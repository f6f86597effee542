# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""userns: auto (issue 18): root inside is a range of unprivileged host ids, taken from the entry
linuxns-pidns of /etc/subuid and /etc/subgid (scripts/bootstrap.sh adds one where there is none).

The modules run as their own processes (run_module_main); the oracles are the host's: /proc/PID/status
of the supervisor, the files a command inside tried to write, the owners of what it wrote."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from ansible_cli import TARGET_PYTHON, run_module_main, run_playbook
from sandboxes import STATE_DIR

pytestmark = pytest.mark.skipif(
    not any(line.startswith("linuxns-pidns:") for line in
            (Path("/etc/subuid").read_text().splitlines() if Path("/etc/subuid").exists() else [])),
    reason="needs an entry linuxns-pidns in /etc/subuid and /etc/subgid (scripts/bootstrap.sh adds one)")

NOBODY = 65534
LAYERS_DIR = Path("/var/lib/linuxns-pidns")


def _inside(name: str, script: str, **options) -> dict:
    return run_module_main("sandbox_exec", dict({"sandbox": name, "argv": ["sh", "-c", script]}, **options))


def _host_ids(pid: int) -> tuple:
    fields = dict(line.split(":", 1) for line in Path("/proc/%d/status" % pid).read_text().splitlines())
    return int(fields["Uid"].split()[0]), int(fields["Gid"].split()[0])


def test_root_inside_is_an_unprivileged_range_and_cannot_write_the_hosts_files(names, host_dir):
    """With the host's root: root inside is the range's first id; the host's files show as nobody's,
    and root inside may not write them. Two sandboxes get ranges that do not overlap."""
    first, second = names("uns"), names("uns")
    made = run_module_main("sandbox", {"name": first, "userns": "auto"})
    assert not made["failed"], made
    ids = made["sandbox"]["userns"]
    assert ids["count"] == 65536 and ids["uid"] >= 65536 and ids["gid"] >= 65536
    assert made["sandbox"]["spec"]["namespaces"][0] == "user" and "user" in made["sandbox"]["handles"]
    assert _host_ids(made["sandbox"]["supervisor"]["pid"]) == (ids["uid"], ids["gid"])

    probe = host_dir / "written-from-inside"
    seen = _inside(first, "id -u; id -g; cat /proc/self/uid_map; stat -c %%u /etc/passwd; touch %s" % probe)
    assert seen["rc"] != 0 and "Permission denied" in seen["stderr"], seen
    uid, gid, uid_map, passwd_owner = seen["stdout_lines"]
    assert (uid, gid, passwd_owner) == ("0", "0", str(NOBODY))
    assert uid_map.split() == ["0", str(ids["uid"]), "65536"]
    assert not probe.exists()

    other = run_module_main("sandbox", {"name": second, "userns": "auto"})["sandbox"]["userns"]
    assert other["uid"] >= ids["uid"] + 65536 or other["uid"] + 65536 <= ids["uid"]
    assert other["gid"] >= ids["gid"] + 65536 or other["gid"] + 65536 <= ids["gid"]
    [info] = run_module_main("sandbox_info", {"name": second})["sandboxes"]
    assert info["userns"] == other and info["health"] == "alive"


def test_an_overlay_root_shows_the_hosts_owners_and_keeps_writes_inside(names, host_dir):
    """An overlay over a read-only idmapped view of the host's root: files owned as on the host,
    writes in the upper layer (owned by the range on the host), the host's files unchanged; a bind is
    idmapped too; a command as another user gets that user's id of the range."""
    name = names("unso")
    (host_dir / "shared").mkdir()
    made = run_module_main("sandbox", {"name": name, "userns": "auto", "hostname": "mapped",
                                       "rootfs": {"type": "overlay"},
                                       "binds": [{"src": str(host_dir / "shared"), "dest": "/mnt/shared"}]})
    assert not made["failed"], made
    ids = made["sandbox"]["userns"]
    seen = _inside(name, "stat -c %u:%g /etc/passwd; echo inside > /etc/pidns-userns-probe && cat /etc/pidns-userns-probe;"
                         " hostname; stat -c %u /mnt/shared; echo bound > /mnt/shared/file")
    assert seen["rc"] == 0, seen
    assert seen["stdout_lines"] == ["0:0", "inside", "mapped", "0"]
    assert not Path("/etc/pidns-userns-probe").exists()
    upper = LAYERS_DIR / name / "upper" / "etc" / "pidns-userns-probe"
    assert (upper.stat().st_uid, upper.stat().st_gid) == (ids["uid"], ids["gid"])
    # Through the idmapped bind, root inside writes as the host's root (what binding it writable means).
    assert (host_dir / "shared" / "file").stat().st_uid == 0
    as_nobody = _inside(name, "id -u", user="nobody")
    assert as_nobody["stdout"] == str(NOBODY), as_nobody
    # The host's kernel settings stay read-only, and root inside holds no capability on the host.
    sysctl = _inside(name, "v=$(cat /proc/sys/vm/swappiness) && echo $v > /proc/sys/vm/swappiness")
    assert sysctl["rc"] != 0, sysctl
    removed = run_module_main("sandbox", {"name": name, "state": "absent"})
    assert removed["changed"] and not (LAYERS_DIR / name).exists()


def test_check_and_diff_mode_predict_it_and_a_change_recreates(names):
    name = names("unsr")
    predicted = run_module_main("sandbox", {"name": name, "userns": "auto"}, check=True, diff=True)
    assert predicted["changed"] and predicted["diff"]["after"]["userns"] == "auto"
    assert predicted["sandbox"]["userns"] is None
    made = run_module_main("sandbox", {"name": name, "userns": "auto"})["sandbox"]
    again = run_module_main("sandbox", {"name": name, "userns": "auto"})
    assert again["changed"] is False and again["sandbox"]["supervisor"] == made["supervisor"]
    host = run_module_main("sandbox", {"name": name})
    assert host["changed"] and host["sandbox"]["userns"] is None
    assert host["sandbox"]["supervisor"]["pid"] != made["supervisor"]["pid"]
    assert _host_ids(host["sandbox"]["supervisor"]["pid"]) == (0, 0)


def test_a_nested_sandbox_shares_its_parents_user_namespace(names):
    """Nested in a sandbox with userns: auto (and an overlay root), a sandbox shares its user namespace
    and ids, as its root; one that asks for the host's users, or for auto under a parent with the
    host's users, is refused, naming userns, and nothing is made."""
    outer, inner, plain, orphan = names("unsp"), names("unsc"), names("unsh"), names("unso")
    top = run_module_main("sandbox", {"name": outer, "userns": "auto", "rootfs": {"type": "overlay", "ephemeral": True}})
    assert not top["failed"], top
    nested = run_module_main("sandbox", {"name": inner, "parent": outer, "userns": "auto",
                                         "namespaces": ["pid", "mnt", "uts", "ipc"]})
    assert not nested["failed"], nested
    assert nested["sandbox"]["userns"] == top["sandbox"]["userns"]
    assert nested["sandbox"]["namespaces"]["user"] == top["sandbox"]["namespaces"]["user"]
    assert nested["sandbox"]["level"] == top["sandbox"]["level"] + 1
    ids = top["sandbox"]["userns"]
    assert _host_ids(nested["sandbox"]["supervisor"]["pid"]) == (ids["uid"], ids["gid"])
    seen = _inside(inner, "id -u; cat /proc/self/uid_map; echo nested > /etc/pidns-userns-nested; ps -e -o pid= | wc -l")
    assert seen["rc"] == 0, seen
    assert seen["stdout_lines"][0] == "0" and seen["stdout_lines"][1].split()[1] == str(ids["uid"])
    assert _inside(outer, "cat /etc/pidns-userns-nested")["stdout"] == "nested"  # the parent's root, shared
    assert not Path("/etc/pidns-userns-nested").exists()

    refused = run_module_main("sandbox", {"name": plain, "parent": outer})
    assert refused["failed"] and "set userns: auto" in refused["msg"] and refused["msg"].startswith("userns"), refused
    assert not run_module_main("sandbox", {"name": orphan})["failed"]
    refused = run_module_main("sandbox", {"name": inner + "x", "parent": orphan, "userns": "auto"})
    assert refused["failed"] and "has none (userns: host)" in refused["msg"], refused
    listed = [box["name"] for box in run_module_main("sandbox_info", {})["sandboxes"]]
    assert plain not in listed and inner + "x" not in listed
    removed = run_module_main("sandbox", {"name": outer, "state": "absent"})
    assert removed["removed"] == [inner, outer], removed


def test_the_connection_runs_tasks_as_the_namespaces_root(names, tmp_path):
    """Through linuxns.pidns.sandbox: modules run as root inside (the range's first id on the host),
    files are copied in and fetched out, become works. The joiner runs on the machine as the host's
    root; inside, the modules need a Python root inside can reach (a virtualenv under /root is not)."""
    name = names("unsc")
    assert not run_module_main("sandbox", {"name": name, "userns": "auto",
                                           "rootfs": {"type": "overlay", "ephemeral": True}})["failed"]
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {name: {}}, "vars": {
        "ansible_connection": "linuxns.pidns.sandbox", "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_sandbox_machine_python": TARGET_PYTHON}}}))
    playbook = tmp_path / "play.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: all
          gather_facts: false
          tasks:
            - ansible.builtin.copy: {content: "copied in\\n", dest: /etc/pidns-userns-copied, mode: "0640"}
            - ansible.builtin.command: stat -c '%%u %%a' /etc/pidns-userns-copied
              register: owner
            - ansible.builtin.command: id -u
              become: true
              become_user: nobody
              register: someone
            - ansible.builtin.fetch: {src: /etc/pidns-userns-copied, dest: "%s/", flat: true}
            - ansible.builtin.assert:
                that: [owner.stdout == "0 640", someone.stdout == "65534"]
        """ % tmp_path))
    proc = run_playbook(playbook, "-i", str(inventory))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert (tmp_path / "pidns-userns-copied").read_text() == "copied in\n"
    assert not Path("/etc/pidns-userns-copied").exists()


def test_a_directory_root_is_idmapped_and_limits_apply(names, host_dir):
    """A prepared tree (busybox) read-only, idmapped: its files are root's inside; /etc/hostname is
    bound over read-only; the memory limit is on the sandbox's cgroup as without a user namespace."""
    from test_rootfs import busybox_tree
    name = names("unsd")
    tree = busybox_tree(host_dir)
    made = run_module_main("sandbox", {"name": name, "userns": "auto", "hostname": "tree-box", "memory": "128M",
                                       "rootfs": {"type": "directory", "path": str(tree), "read_only": True}})
    assert not made["failed"], made
    seen = _inside(name, "ls -ln /etc/marker; cat /etc/hostname; cat /proc/self/uid_map; touch /etc/x")
    assert seen["rc"] != 0 and "Read-only file system" in seen["stderr"], seen
    marker, hostname, uid_map = seen["stdout_lines"]
    assert marker.split()[2:4] == ["0", "0"] and hostname == "tree-box"
    assert uid_map.split()[1] == str(made["sandbox"]["userns"]["uid"])
    assert made["sandbox"]["limits"]["memory"] == 128 * 1024 * 1024
    assert (tree / "etc" / "hostname").read_text() == "from-the-tree\n"


def test_a_bind_that_cannot_be_idmapped_fails_clearly_and_leaves_nothing(names):
    """procfs has no idmapped mounts: binding part of it into a sandbox with userns: auto fails naming
    the bind, and nothing of the sandbox is left (state folder, layers, handles, processes)."""
    name = names("unsb")
    refused = run_module_main("sandbox", {"name": name, "userns": "auto", "rootfs": {"type": "overlay", "ephemeral": True},
                                          "binds": [{"src": "/proc/sys/kernel", "dest": "/mnt/kernel",
                                                     "read_only": True}]})
    assert refused["failed"], refused
    assert "binds[0].src /proc/sys/kernel cannot be an idmapped mount" in refused["msg"], refused
    assert not (STATE_DIR / name).exists() and not (LAYERS_DIR / name).exists()
    assert str(STATE_DIR / name) not in Path("/proc/self/mountinfo").read_text()
