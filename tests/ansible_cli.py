# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real `ansible` / `ansible-playbook` runs against this checkout's collection, for tests and benchmarks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS = REPO / ".build" / "collections"
# The Python that modules run with on the managed hosts the tests use (localhost, the SSH test hosts):
# the tests' own interpreter unless PIDNS_TARGET_PYTHON names another one (`scripts/run-tests.sh matrix`
# sets it to the oldest and newest target Python of each ansible-core version).
TARGET_PYTHON = os.environ.get("PIDNS_TARGET_PYTHON") or sys.executable


def ansible_env(**extra: str) -> dict:
    """Environment for ansible/ansible-playbook subprocesses using this checkout's collection."""
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update({
        "PATH": bindir + os.pathsep + env.get("PATH", ""),
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_PYTHON_INTERPRETER": TARGET_PYTHON,
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
    })
    env.update(extra)
    return env


def run_module(module: str, args: dict | None = None, *, check: bool = False, diff: bool = False,
               env: dict | None = None, timeout: float = 180, prefix: list | None = None) -> dict:
    """Run one module ad hoc on localhost with real `ansible`; return its result dict.

    The test-only raw_results callback prints the module's result as JSON, untouched.
    """
    cmd = list(prefix or []) + [
        str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-i", "localhost,",
        "-m", "linuxns.pidns." + module,
    ]
    if args:  # `-a '{}'` would be taken as a raw parameter
        cmd += ["-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    run_env = ansible_env(ANSIBLE_STDOUT_CALLBACK="raw_results", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                          ANSIBLE_CALLBACK_PLUGINS=str(REPO / "tests" / "callback_plugins"))
    run_env.update(env or {})
    proc = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)
    try:
        line = [line for line in proc.stdout.splitlines() if line.startswith("{")][-1]
        document = json.loads(line)
        result = document["result"]
        result.setdefault("failed", document["status"] == "failed")
        result.setdefault("skipped", document["status"] == "skipped")
        return result
    except (ValueError, IndexError, KeyError) as exc:
        raise AssertionError("ansible gave no JSON result (rc=%s): %s\nstdout:\n%s\nstderr:\n%s"
                             % (proc.returncode, exc, proc.stdout, proc.stderr)) from None


def module_process(module: str, args: dict, timeout: float = 180,
                   prefix: list | None = None) -> subprocess.CompletedProcess:
    """A module's own main() in a process of its own on this Python, its arguments on stdin as Ansible
    hands them over (ANSIBLE_MODULE_ARGS), without the controller: about 0.2 s of CPU where `ansible`
    takes 1.2. The target Pythons of the matrix get the modules through real ansible runs. prefix: a
    command the module runs under (nsenter into a test's network namespace)."""
    return subprocess.run(list(prefix or []) +
                          [sys.executable, "-m", "ansible_collections.linuxns.pidns.plugins.modules." + module],
                          input=json.dumps({"ANSIBLE_MODULE_ARGS": args}), capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, PYTHONPATH=str(COLLECTIONS)), check=False)


ZYGOTE = r"""
import importlib, io, json, os, select, sys
from ansible.module_utils import basic  # noqa: F401  (imported once, before the forks)
modules = {}
requests = io.TextIOWrapper(io.FileIO(os.dup(0), "r"), encoding="utf-8")
replies = io.TextIOWrapper(io.FileIO(os.dup(1), "w"), encoding="utf-8", write_through=True)
for line in requests:
    request = json.loads(line)
    name = "ansible_collections.linuxns.pidns.plugins.modules." + request["module"]
    if name not in modules:
        modules[name] = importlib.import_module(name)
    module = modules[name]
    args_r, args_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for source, target in ((args_r, 0), (out_w, 1), (err_w, 2)):
                os.dup2(source, target)
            os.closerange(3, 65536)
            sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
            sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8")
            sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8")
            try:
                module.main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass
            os._exit(code)
    for fd in (args_r, out_w, err_w):
        os.close(fd)
    os.write(args_w, json.dumps({"ANSIBLE_MODULE_ARGS": request["args"]}).encode())
    os.close(args_w)
    pending, output = {out_r: [], err_r: []}, {}
    while pending:
        for fd in select.select(list(pending), [], [])[0]:
            data = os.read(fd, 65536)
            if data:
                pending[fd].append(data)
            else:
                os.close(fd)
                output[fd] = b"".join(pending.pop(fd))
    status = os.waitpid(pid, 0)[1]
    replies.write(json.dumps({"rc": os.waitstatus_to_exitcode(status),
                              "stdout": output[out_r].decode("utf-8", "replace"),
                              "stderr": output[err_r].decode("utf-8", "replace")}) + "\n")
"""


class ModuleZygote:
    """One Python with ansible-core and the modules imported once, forking a child per call that runs a
    module's main() with its arguments on stdin, as module_process does: for the option fuzz test's
    hundreds of calls, a fork instead of an interpreter and its imports each time."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=dict(os.environ, PYTHONPATH=str(COLLECTIONS)))

    def run(self, module: str, args: dict) -> subprocess.CompletedProcess:
        self.proc.stdin.write(json.dumps({"module": module, "args": args}) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise AssertionError("the module zygote ended (rc=%s)" % self.proc.poll())
        result = json.loads(reply)
        return subprocess.CompletedProcess([module], result["rc"], result["stdout"], result["stderr"])

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def run_module_main(module: str, args: dict | None = None, *, check: bool = False, diff: bool = False,
                    timeout: float = 180, prefix: list | None = None) -> dict:
    """module_process's result, for tests whose subject is what a module does on the host (kernel work,
    results, errors) and that run it many times; how Ansible calls the modules is what run_module and
    the plays test."""
    proc = module_process(module, dict(args or {}, _ansible_check_mode=check, _ansible_diff=diff), timeout, prefix)
    try:
        result = json.loads(proc.stdout)
    except ValueError as exc:
        raise AssertionError("%s gave no JSON result (rc=%s): %s\nstdout:\n%s\nstderr:\n%s"
                             % (module, proc.returncode, exc, proc.stdout, proc.stderr)) from None
    assert ("failed" in result) == (proc.returncode != 0), (proc.returncode, result)
    result.setdefault("failed", False)
    result.setdefault("skipped", False)
    return result


def run_playbook(playbook: str | Path, *args: str, env: dict | None = None,
                 timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ansible-playbook; the caller checks returncode and output."""
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook), *args]
    run_env = ansible_env()
    run_env.update(env or {})
    return subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)


def run_local_play(directory: Path, tasks: str, *, keep: str | None = None,
                   timeout: float = 300) -> tuple[subprocess.CompletedProcess, object]:
    """Run `tasks` (YAML list) in a play on localhost with real ansible-playbook.

    With `keep`, the registered variable of that name is saved as JSON and returned as data.
    """
    body = textwrap.indent(textwrap.dedent(tasks).strip() + "\n", "    ")
    if keep:
        saved = Path(directory) / ("%s.json" % keep)
        body += textwrap.indent(textwrap.dedent("""\
            - ansible.builtin.copy:
                content: "{{ %s | to_json }}"
                dest: %s
                mode: "0600"
            """ % (keep, saved)), "    ")
    playbook = Path(directory) / "play.yml"
    playbook.write_text("- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n" + body)
    proc = run_playbook(playbook, "-i", "localhost,", timeout=timeout)
    kept = json.loads(saved.read_text()) if keep and proc.returncode == 0 else None
    return proc, kept
