# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Workloads declared on a sandbox (issue 20): PID 1 starts them, restarts them by docker's policies,
logs their output (rotated), applies a changed list in place, and stops them with their signal.

The modules run as their own processes (run_module_main); the oracles are the host's: the processes
(/proc), their cgroups, what they wrote, and the supervisor's PID that must not change."""

from __future__ import annotations

import time
from pathlib import Path

from ansible_cli import run_module_main, run_playbook
from sandboxes import STATE_DIR, state_of


def _sandbox(name, workloads, **options):
    made = run_module_main("sandbox", dict({"name": name, "workloads": workloads}, **options))
    assert not made["failed"], made
    return made


def _workloads(name):
    [info] = run_module_main("sandbox_info", {"name": name})["sandboxes"]
    return dict((w["name"], w) for w in info["workloads"])


def _until(name, check, what, seconds=20):
    """The workloads once check(workloads) holds (polled; the deadline only bounds a failure)."""
    deadline = time.monotonic() + seconds
    while True:
        found = _workloads(name)
        if check(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError("%s: never happened; workloads: %r" % (what, found))
        time.sleep(0.1)


def _alive(pid):
    try:
        return Path("/proc/%d/stat" % pid).read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_restart_policies_and_logs(names):
    """on-failure:2 restarts a failing command twice, then it stays exited with its code; on-failure does
    not restart a success; no never restarts; always keeps restarting (backing off between tries).
    Each one's stdout and stderr are in its log; sandbox_logs returns the last lines."""
    name = names("wl")
    made = _sandbox(name, [
        {"name": "fails", "argv": ["sh", "-c", "echo out; echo err >&2; exit 3"], "restart": "on-failure:2"},
        {"name": "succeeds", "argv": ["sh", "-c", "echo done"], "restart": "on-failure"},
        {"name": "once", "argv": ["sh", "-c", "exit 1"], "restart": "no"},
        {"name": "forever", "argv": ["sh", "-c", "echo tick"], "restart": "always"},
        {"name": "serves", "argv": ["sleep", "600"], "user": "nobody"},
    ])
    assert [w["name"] for w in made["sandbox"]["workloads"]] == ["fails", "succeeds", "once", "forever", "serves"]
    found = _until(name, lambda w: w["fails"]["state"] == "exited" and w["forever"]["restart_count"] >= 3
                   and w["succeeds"]["state"] == "exited" and w["once"]["state"] == "exited", "the policies")
    assert (found["fails"]["restart_count"], found["fails"]["exit_code"]) == (2, 3)
    assert (found["succeeds"]["restart_count"], found["succeeds"]["exit_code"]) == (0, 0)
    assert (found["once"]["restart_count"], found["once"]["exit_code"]) == (0, 1)
    assert found["forever"]["state"] in ("running", "backing off") and found["forever"]["restart"] == "always"
    serves = found["serves"]
    assert serves["state"] == "running" and _alive(serves["host_pid"])
    status = dict(line.split(":", 1) for line in Path("/proc/%d/status" % serves["host_pid"]).read_text().splitlines())
    assert status["Uid"].split()[0] == "65534" and status["PPid"].strip() == str(made["sandbox"]["supervisor"]["pid"])
    assert Path("/proc/%d/cgroup" % serves["host_pid"]).read_text().count("/%s/_workloads" % name) >= 1
    assert Path("/proc/%d/oom_score_adj" % serves["host_pid"]).read_text().strip() == "0"

    logs = run_module_main("sandbox_logs", {"sandbox": name, "workload": "fails", "tail": 4})
    assert logs["lines"] == ["out", "err", "out", "err"] and logs["log"] == str(STATE_DIR / name / "workloads" / "fails.log")
    assert Path(logs["log"]).read_text() == "out\nerr\n" * 3
    missing = run_module_main("sandbox_logs", {"sandbox": name, "workload": "nope"})
    assert missing["failed"] and "workload: sandbox %s has no workload 'nope'" % name in missing["msg"]


def test_a_changed_list_applies_in_place(names):
    """New workloads start, removed ones get their stop signal (then SIGKILL after their stop_timeout),
    changed ones restart, unchanged ones keep their PIDs; check mode changes nothing; a rerun with the
    same list changes nothing; the supervisor is the same process throughout."""
    name = names("wl")
    keep = {"name": "keep", "argv": ["sleep", "600"]}
    polite = {"name": "polite", "argv": ["sh", "-c", "trap 'echo got USR1; exit 0' USR1; while :; do sleep 0.1; done"],
              "stop_signal": "USR1"}
    stubborn = {"name": "stubborn", "argv": ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"],
                "stop_timeout": 0.5}
    change = {"name": "change", "argv": ["sleep", "601"]}
    made = _sandbox(name, [keep, polite, stubborn, change])
    supervisor = made["sandbox"]["supervisor"]["pid"]
    before = _until(name, lambda w: all(x["host_pid"] for x in w.values()), "all running")

    wanted = [keep, dict(change, argv=["sleep", "602"]), {"name": "new", "argv": ["sleep", "603"]}]
    checked = run_module_main("sandbox", {"name": name, "workloads": wanted}, check=True, diff=True)
    assert checked["changed"] and checked["updated"] == ["workloads"], checked
    assert _workloads(name)["polite"]["host_pid"] == before["polite"]["host_pid"]  # check mode touched nothing
    updated = _sandbox(name, wanted)
    assert updated["changed"] and updated["updated"] == ["workloads"]
    after = _until(name, lambda w: set(w) == {"keep", "change", "new"} and all(x["host_pid"] for x in w.values()),
                   "the new list running")
    assert after["keep"]["host_pid"] == before["keep"]["host_pid"]
    assert after["change"]["host_pid"] != before["change"]["host_pid"]
    assert not _alive(before["change"]["host_pid"]) and not _alive(before["polite"]["host_pid"])
    deadline = time.monotonic() + 20
    while _alive(before["stubborn"]["host_pid"]):  # SIGKILL once its 0.5 s are over
        assert time.monotonic() < deadline, "the stubborn workload was never killed"
        time.sleep(0.05)
    assert "got USR1" in (STATE_DIR / name / "workloads" / "polite.log").read_text()
    assert _sandbox(name, wanted)["changed"] is False
    assert state_of(name)["supervisor"]["pid"] == supervisor

    run_module_main("sandbox", {"name": name, "state": "absent"})
    assert not any(_alive(after[w]["host_pid"]) for w in after)


def test_logs_are_rotated_by_size(names):
    """A workload that writes ~4 MiB keeps at most three files of at most 1 MiB; the tail is its last lines."""
    name = names("wl")
    script = 'BEGIN { for (i = 0; i < 60000; i++) printf "line %d %040d\\n", i, i }'
    _sandbox(name, [{"name": "chatty", "argv": ["awk", script]}])
    _until(name, lambda w: w["chatty"]["state"] == "exited", "the chatty workload done", seconds=120)
    folder = STATE_DIR / name / "workloads"
    files = sorted(p.name for p in folder.iterdir() if p.name.startswith("chatty.log"))
    assert files == ["chatty.log", "chatty.log.1", "chatty.log.2"]
    assert all((folder / f).stat().st_size <= 1024 * 1024 for f in files)
    tail = run_module_main("sandbox_logs", {"sandbox": name, "workload": "chatty", "tail": 2})["lines"]
    assert tail == ["line 59998 %040d" % 59998, "line 59999 %040d" % 59999]


BAD_WORKLOADS = [
    ([{"name": "a", "argv": ["true"]}, {"name": "a", "argv": ["false"]}], "workloads[1].name: 'a' is listed twice"),
    ([{"name": "a", "argv": ["true"], "restart": "sometimes"}], "workloads[0].restart: 'sometimes' is not one of"),
    ([{"name": "a", "argv": ["true"], "restart": "on-failure:x"}], "workloads[0].restart: 'on-failure:x'"),
    ([{"name": "a", "argv": ["true"], "restart": "always:3"}], "workloads[0].restart: 'always:3'"),
    ([{"name": "a", "argv": []}], "workloads[0].argv: must be a non-empty list"),
    ([{"name": "a", "argv": {"x": 1}}], "argv"),
    ([{"name": "a b", "argv": ["true"]}], "workloads[0].name: 'a b' is not a workload name"),
    ([{"name": "a", "argv": ["true"], "stop_signal": "SIGSTOP"}], "workloads[0].stop_signal: 'SIGSTOP' is not a signal"),
    ([{"name": "a", "argv": ["true"], "chdir": "relative"}], "workloads[0].chdir: 'relative' is not an absolute path"),
]


def test_bad_workloads_name_the_option_and_leave_a_running_sandbox_alone(names):
    name = names("wlbad")
    made = _sandbox(name, [{"name": "keep", "argv": ["sleep", "600"]}])
    pid = _until(name, lambda w: w["keep"]["host_pid"], "running")["keep"]["host_pid"]
    for workloads, message in BAD_WORKLOADS:
        failed = run_module_main("sandbox", {"name": name, "workloads": workloads})
        assert failed["failed"] and message in failed["msg"], (workloads, failed)
    assert state_of(name)["supervisor"]["pid"] == made["sandbox"]["supervisor"]["pid"]
    assert _workloads(name)["keep"]["host_pid"] == pid and _alive(pid)
    assert list(_workloads(name)) == ["keep"]


def test_workloads_in_a_real_play_with_check_and_diff(names, tmp_path):
    """Through ansible-playbook: the list, a rerun unchanged, a change in check and diff mode shown and
    not made."""
    name = names("wlplay")
    play = tmp_path / "play.yml"
    play.write_text("""
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - linuxns.pidns.sandbox:
        name: %(name)s
        workloads:
          - {name: web, argv: [sleep, "600"], restart: always}
      register: first
    - linuxns.pidns.sandbox:
        name: %(name)s
        workloads:
          - {name: web, argv: [sleep, "600"], restart: always}
      register: again
    - linuxns.pidns.sandbox:
        name: %(name)s
        workloads:
          - {name: web, argv: [sleep, "600"], restart: always}
          - {name: extra, argv: [sleep, "601"]}
      check_mode: true
      diff: true
      register: predicted
    - ansible.builtin.assert:
        that:
          - first is changed and again is not changed
          - predicted is changed and predicted.updated == ['workloads']
          - predicted.diff.after.workloads | length == 2 and predicted.diff.before.workloads | length == 1
""" % {"name": name})
    proc = run_playbook(play, "-i", "localhost,")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert set(_workloads(name)) == {"web"}


def test_init_catatonit_is_pid_1_and_the_others_still_get_a_graceful_stop(names, host_dir):
    """init: catatonit (podman's pause process) in a root of its own: PID 1 is catatonit -P; on removal
    the module gives the other processes SIGTERM first (catatonit stops nothing); workloads are refused."""
    name = names("cat")
    made = _sandbox(name, [], init="catatonit", rootfs={"type": "overlay", "ephemeral": True},
                    binds=[{"src": str(host_dir), "dest": "/out"}])
    pid = made["sandbox"]["supervisor"]["pid"]
    assert Path("/proc/%d/comm" % pid).read_text().strip() == "catatonit"
    assert made["sandbox"]["spec"]["init"] == "catatonit"
    seen = run_module_main("sandbox_exec", {"sandbox": name, "argv": ["ps", "-o", "args=", "-p", "1"]})
    assert seen["stdout_lines"] == ["catatonit -P"], seen
    started = run_module_main("sandbox_exec", {"sandbox": name, "detach": True, "argv": [
        "sh", "-c", "trap 'echo got TERM > /out/term; exit 0' TERM; while :; do sleep 0.1; done"]})
    assert started["rc"] == 0, started
    refused = run_module_main("sandbox", {"name": name, "init": "catatonit", "workloads": [{"name": "a", "argv": ["true"]}],
                                          "rootfs": {"type": "overlay", "ephemeral": True},
                                          "binds": [{"src": str(host_dir), "dest": "/out"}]})
    assert refused["failed"] and "workloads: PID 1 runs them, and init catatonit only reaps" in refused["msg"]
    assert state_of(name)["supervisor"]["pid"] == pid
    gone = run_module_main("sandbox", {"name": name, "state": "absent"})
    assert gone["changed"] and (host_dir / "term").read_text() == "got TERM\n"
    assert not _alive(pid)
