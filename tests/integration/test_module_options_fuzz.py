# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Table-driven fuzz of every module option (issue 10): each bad value fails with a message that
names the option, changes nothing on the host, and never shows a traceback.

Modules run as Ansible runs them without a play (a module's main() in a process of its own, its
arguments on stdin as ANSIBLE_MODULE_ARGS), each forked from one Python that imported ansible-core and
the modules once (ansible_cli.ModuleZygote): a few ms of start a case instead of an interpreter's.
"""

from __future__ import annotations

import json

import psutil
import pytest

from ansible_cli import ModuleZygote
from sandboxes import STATE_DIR, force_remove, make_sandbox, unique

CONTROL = ["", "\n", "a\nb", "x\n", "\x1b[31mred", "a\x00b", "\u202eevil", "tab\there", " lead", "trail "]
UNICODE = ["ü", "日本", "e\u0301", "\U0001f600"]
LENGTHS = ["a" * n for n in (0, 65, 128, 256)]
NAMES = CONTROL + UNICODE + LENGTHS + [".", "..", "-a", "_a", "a/b", "../x", [], {}, ["web"]]
NUMBERS = [float("nan"), float("inf"), float("-inf"), -1, -0.001, 1e300, 10 ** 30, "soon", [], {}]
BOOLS = ["maybe", "2", [], {}, 1.5]
LISTS_OF_NAMESPACES = [["bogus"], ["pid", "bogus"], ["PID"], [""], [5], "pid,bogus", [[]], {}]


_ZYGOTE = []


@pytest.fixture(scope="module", autouse=True)
def _zygote():
    _ZYGOTE.append(ModuleZygote())
    yield
    _ZYGOTE.pop().close()


def module(name, args):
    """Run plugins/modules/<name>.py's main() with `args` in a process of its own (forked from one that
    imported ansible-core and the modules once); return (result, stderr)."""
    proc = _ZYGOTE[0].run(name, args)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, "no JSON result (rc=%s): %s %s" % (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return json.loads(lines[-1]), proc.stderr


def names_in(args):
    """The sandbox names a call could create or touch (other tests may run sandboxes meanwhile)."""
    found = [args.get(key) for key in ("name", "parent", "sandbox")]
    if isinstance(args.get("sandboxes"), list):
        found += [entry.get("name") for entry in args["sandboxes"] if isinstance(entry, dict)]
    return sorted(set(name for name in found if isinstance(name, str) and name))


def host_state(names):
    """What a failed call must not change: those sandboxes' folders and their supervisors."""
    folders = [name for name in names if _exists(STATE_DIR / name)]
    supervisors = sorted(p.pid for p in psutil.process_iter(["name"])
                         if (p.info["name"] or "").startswith("pidns:") and (p.info["name"] or "")[6:] in
                         [name[:9] for name in names])
    return folders, supervisors


def _exists(path):
    try:
        return path.exists()
    except (OSError, ValueError):  # too long, or a NUL: no such folder can be
        return False


def assert_refused(name, args, option, names_option=True):
    names = names_in(args)
    before = host_state(names)
    try:
        result, stderr = module(name, args)
        assert result.get("failed") is True, "accepted %s=%r: %s" % (option, args.get(option), result)
        message = result.get("msg", "")
        if names_option:
            assert option in message, "the message does not name %s: %r" % (option, message)
        for text in (message, stderr, str(result.get("exception", "")), str(result.get("module_stderr", ""))):
            assert "Traceback" not in text, text
        assert host_state(names) == before, "a refused %s=%r changed the host" % (option, args.get(option))
    finally:
        if name == "sandbox":
            for made in names:
                if made.startswith("fz-") and "/" not in made and made not in before[0]:
                    force_remove(made)


def cases(option, values, base=None):
    return [pytest.param(option, value, base or {}, id="%s=%s" % (option, ascii(value)[:40])) for value in values]


SANDBOX_CASES = (
    cases("name", [n for n in NAMES if n != ""])
    + cases("hostname", CONTROL + UNICODE + LENGTHS[1:] + ["a/b", "-a", [], {}], {"name": "fz-host"})
    + cases("parent", [n for n in NAMES if n not in ("",)] + ["fz-self"], {"name": "fz-self"})
    + cases("namespaces", LISTS_OF_NAMESPACES + [[], ["mnt", "uts"]], {"name": "fz-ns"})
    + cases("stop_timeout", NUMBERS, {"name": "fz-st"})
    + cases("state", ["running", "", "Present", 1, []], {"name": "fz-state"})
    + cases("mount_proc", BOOLS, {"name": "fz-mp"})
    + cases("recreate", BOOLS, {"name": "fz-rc"})
    + cases("shm_size", ["lots", "512k", "0", -1, "1.5x", [], {}], {"name": "fz-shm", "rootfs": {"type": "overlay"}})
    + cases("shm_size", ["64M"], {"name": "fz-shm-host"})
    + cases("cap_add", [["SYS_EVERYTHING"], ["CAP_"], [""], ["net admin"], [{}], [[]]], {"name": "fz-cap"})
    + cases("cap_drop", [["bogus"], ["ALL", "x"], [{}]], {"name": "fz-cap"})
    + cases("privileged", BOOLS, {"name": "fz-priv"})
    + cases("privileged", [True], {"name": "fz-priv2", "cap_drop": ["NET_RAW"]})
    + cases("userns", ["Auto", "yes", "", 1, [], {}], {"name": "fz-uns"})
    # Refused before the host is looked at: no bridge, rule or forwarding change on this machine.
    + cases("network_mode", ["Bridge", "nat", "", 1, [], {}], {"name": "fz-net"})
    + cases("network_mode", ["host"], {"name": "fz-net", "namespaces": ["pid", "net"]})
    + cases("published_ports", [["99999:80"], ["a:b"], ["80"], ["1-2:1-2"], ["80:80/sctp"], ["::80"],
                                ["300.1.1.1:80:80"], ["80:80", "80:81"], [{}], [[]]],
            {"name": "fz-net", "network_mode": "bridge"})
    + cases("published_ports", [["80:80"]], {"name": "fz-net"})
    + cases("bridge", [{"name": "x" * 16}, {"name": "a b"}, {"name": "-x"}, {"subnet": "10.0.0.0/8"},
                       {"subnet": "10.0.0.1/24"}, {"subnet": "x"}, {"bogus": 1}, []],
            {"name": "fz-net", "network_mode": "bridge"})
    + cases("dns_servers", [["x"], ["1.1.1"], ["::1"], ["1.1.1.1"] * 4, [{}]],
            {"name": "fz-net", "network_mode": "bridge"})
    + cases("init", ["systemd", "tini", "", 1, [], {}], {"name": "fz-init"})
    + cases("workloads", [[{}], [{"name": "a"}], [{"name": "a", "argv": []}], [{"name": "a b", "argv": ["x"]}],
                          [{"name": "a", "argv": ["x"]}, {"name": "a", "argv": ["y"]}],
                          [{"name": "a", "argv": ["x"], "restart": "sometimes"}],
                          [{"name": "a", "argv": ["x"], "restart": "on-failure:0"}],
                          [{"name": "a", "argv": ["x"], "stop_signal": "SIGSTOP"}],
                          [{"name": "a", "argv": ["x"], "stop_timeout": -1}],
                          [{"name": "a", "argv": ["x"], "chdir": "rel"}],
                          [{"name": "a", "argv": ["x"], "env": {"A=B": "1"}}],
                          [{"name": "a", "argv": ["x"], "bogus": 1}]], {"name": "fz-wl"})
    + cases("workloads", [[{"name": "a", "argv": ["x"]}]], {"name": "fz-wl", "init": "catatonit"})
    + cases("sandboxes", [[{}], [{"name": "fz-a"}, {"name": "fz-a"}], [{"name": "fz-a", "bogus": 1}],
                          [{"name": "fz-a", "stop_timeout": "nan"}], [{"name": "fz a"}], [{"name": "fz-a", "parent": "fz-a"}]])
)


@pytest.mark.parametrize("option, value, base", SANDBOX_CASES)
def test_sandbox_refuses(needs_root, option, value, base):
    args = dict(base)
    args[option] = value
    if option != "name" and "name" not in args and option != "sandboxes":
        args["name"] = "fz-x"
    assert_refused("sandbox", args, option)


@pytest.mark.parametrize("value", ["web", [1], [[]]])
def test_sandboxes_entries_that_are_not_dicts(needs_root, value):
    """ansible-core's own argument-spec message for a list element that is not a dict ("dictionary
    requested, could not parse JSON or key=value") does not name the option; it fails cleanly."""
    assert_refused("sandbox", {"sandboxes": value}, "sandboxes", names_option=False)


def test_sandbox_name_and_sandboxes_together_or_neither(needs_root):
    assert_refused("sandbox", {}, "name")
    assert_refused("sandbox", {"name": "fz-b", "sandboxes": [{"name": "fz-c"}]}, "sandboxes")


def test_sandbox_empty_list_changes_nothing(needs_root):
    result, _stderr = module("sandbox", {"sandboxes": []})
    assert result.get("failed") is not True and result["changed"] is False and result["results"] == []


def test_duplicate_namespaces_are_one(needs_root):
    name = unique("fz-dup")
    try:
        result, _stderr = module("sandbox", {"name": name, "namespaces": ["pid", "pid", "mnt", "mnt"]})
        assert result.get("failed") is not True, result
        assert result["sandbox"]["spec"]["namespaces"] == ["pid", "mnt"]
    finally:
        force_remove(name)


@pytest.mark.parametrize("option, value, base", cases("name", NAMES[1:]) + cases("processes", BOOLS))
def test_sandbox_info_refuses(needs_root, option, value, base):
    assert_refused("sandbox_info", dict(base, **{option: value}), option)


@pytest.mark.parametrize("option, value, base",
                         cases("pids", [[0], [-1], [2 ** 22 + 1], [10 ** 30], ["x"], [1.5], "x", [[]], [{}]])
                         + cases("processes", BOOLS)
                         + cases("known_inits", [[""], ["a" * 65], ["a\x00b"], ["a/b"], "x" * 65])
                         + cases("state_dir", ["relative/dir", "", [], {}]))
def test_pidns_facts_refuses(option, value, base):
    assert_refused("pidns_facts", dict(base, **{option: value}), option)


@pytest.fixture(scope="module")
def fuzz_box():
    name = unique("fz-exec")
    made = make_sandbox(name)
    assert not made["failed"], made
    yield name
    force_remove(name)


EXEC_CASES = (
    cases("sandbox", NAMES[1:] + ["no-such-sandbox-fz"])
    + cases("argv", [[], [""], "", [[]], [{}]])
    + cases("cmd", ["", "   ", "'unterminated"])
    + cases("timeout", NUMBERS + [0])
    + cases("namespaces", LISTS_OF_NAMESPACES + [["pid", "net"]])
    + cases("env", [{"": "x"}, {"A=B": "x"}, {"A": "a\x00b"}, {"A\x00": "x"}, [], 5])
    + cases("user", ["no-such-user-fz", "", "a\nb", 10 ** 30, -5])
    + cases("group", ["no-such-group-fz", "", "a\nb", 10 ** 30, -5])
    + cases("chdir", ["/no/such/dir/fz", "relative/dir", "a\x00b"])
    + cases("stdin_add_newline", BOOLS)
    + cases("detach", BOOLS)
    + cases("output_limit", ["-1", "abc", "1.5.3", [], {}, "1T"])
)


@pytest.mark.parametrize("option, value, base", EXEC_CASES)
def test_sandbox_exec_refuses(needs_root, fuzz_box, option, value, base):
    args = {"sandbox": fuzz_box, "argv": ["true"]}
    if option == "cmd":
        del args["argv"]
    args[option] = value
    assert_refused("sandbox_exec", args, option)
