# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/report.yml (role linuxns.pidns.pidns_report) end to end, and its HTML in headless Chromium.

One report run per module (it is the slow part): localhost over the local connection, an SSH host on a
closed loopback port (unreachable; its name carries HTML metacharacters), and a local host whose Python
does not exist (facts fail). On localhost: a sandbox with a nested sandbox (owner, nesting level 2) and
a PID namespace whose PID 1 never reaps three zombies (warnings), made by util-linux unshare, not by the
code under test, and checked with psutil. One more run, of its own, shows the sandboxes part: a sandbox
with a PID limit and a workload killed once (restarted by its PID 1), and a host without root.
Everything made here is removed by name or PID.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest

from ansible_cli import REPO, TARGET_PYTHON, run_playbook
from sandboxes import STATE_DIR, force_remove, make_sandbox, pid_ns_of, state_of, unique, wait_for

PLAYBOOK = REPO / "playbooks" / "report.yml"
OUTPUT = REPO / "tests" / "output"
UNREACHABLE = 'unreach<u>&"\'host'
BROKEN = "broken-python"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

NO_REAP = """
import os, time
for _ in range(3):
    if os.fork() == 0:
        os._exit(0)
time.sleep(1000)
"""


def closed_port() -> int:
    """A loopback TCP port with nothing listening (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_inventory(path: Path) -> None:
    inventory = {"all": {"hosts": {
        "localhost": {"ansible_connection": "local", "ansible_python_interpreter": TARGET_PYTHON},
        UNREACHABLE: {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": closed_port(),
                      "ansible_user": "root", "ansible_ssh_timeout": 5,
                      "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                                                 "-o BatchMode=yes -o ConnectionAttempts=1"},
        BROKEN: {"ansible_connection": "local", "ansible_python_interpreter": "/nonexistent/bin/python3"},
    }}}
    path.write_text(json.dumps(inventory))  # JSON is YAML


def recap(stdout: str) -> dict:
    """PLAY RECAP counters per host."""
    found = {}
    for host, counters in re.findall(r"^(\S.*?)\s+:\s+(ok=\d+.*)$", stdout, re.M):
        found[host] = dict((key, int(value)) for key, value in re.findall(r"(\w+)=(\d+)", counters))
    return found


@pytest.fixture(scope="module")
def zombie_ns():
    """A PID namespace (util-linux unshare) whose PID 1, a Python that never waits, holds 3 zombies."""
    unshare = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", sys.executable, "-c", NO_REAP],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    init = None
    try:
        def ready():
            kids = psutil.Process(unshare.pid).children()
            if not kids:
                return None
            zombies = [p for p in kids[0].children() if p.status() == psutil.STATUS_ZOMBIE]
            return kids[0] if len(zombies) == 3 else None
        init = wait_for(ready, timeout=30)
        assert init is not None, "unshare did not make a PID namespace with 3 zombies"
        yield {"pid": init.pid, "ns": pid_ns_of(init.pid),
               "zombies": sorted(p.pid for p in init.children() if p.status() == psutil.STATUS_ZOMBIE)}
    finally:
        for pid in ([init.pid] if init is not None else []) + [unshare.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        unshare.wait(timeout=30)


@pytest.fixture(scope="module")
def sandboxes():
    """A sandbox with a sandbox nested in it (module scope, so not the per-test `names` fixture)."""
    outer, inner = unique("rpt"), unique("rpt-in")
    try:
        for name, options in ((outer, {}), (inner, {"parent": outer})):
            result = make_sandbox(name, **options)
            assert not result["failed"], result
        yield {"outer": outer, "inner": inner}
    finally:
        force_remove(inner)
        force_remove(outer)


@pytest.fixture(scope="module")
def report(tmp_path_factory, zombie_ns, sandboxes):
    """Run playbooks/report.yml twice (the second must change nothing); return the outputs."""
    work = tmp_path_factory.mktemp("report")
    inventory = work / "inventory.yml"
    write_inventory(inventory)
    out = work / "out"
    args = ("-i", str(inventory), "-e", "pidns_report_dir=%s" % out)
    first = run_playbook(PLAYBOOK, *args)
    assert first.returncode == 0, first.stdout + first.stderr
    second = run_playbook(PLAYBOOK, *args)
    assert second.returncode == 0, second.stdout + second.stderr
    return {"dir": out, "first": first, "second": second, "inventory": inventory,
            "json": json.loads((out / "report.json").read_text()), "md": (out / "report.md").read_text(),
            "zombie_ns": zombie_ns, "sandboxes": sandboxes}


def host(report_json: dict, name: str) -> dict:
    return [row for row in report_json["hosts"] if row["name"] == name][0]


# ---------------------------------------------------------------- play and files

def test_play_keeps_going_and_second_run_changes_nothing(report):
    first, second = recap(report["first"].stdout), recap(report["second"].stdout)
    assert set(first) == {"localhost", UNREACHABLE, BROKEN}
    # unreachable and failed hosts are ignored (listed in the report), not fatal for the play
    for counters in (first, second):
        assert counters[UNREACHABLE]["unreachable"] == 0 and counters[UNREACHABLE]["ignored"] == 1
        assert counters[BROKEN]["failed"] == 0 and counters[BROKEN]["ignored"] == 1
    assert first["localhost"]["changed"] == 1  # the report directory was made
    assert all(counters["changed"] == 0 for counters in second.values()), report["second"].stdout


def test_files_and_modes(report):
    for name in ("report.json", "report.md", "report.html"):
        path = report["dir"] / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, name
    assert stat.S_IMODE(report["dir"].stat().st_mode) == 0o755


def test_json_schema_and_totals(report):
    data = report["json"]
    assert data["schema"] == 1 and data["kind"] == "linuxns.pidns.report"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", data["generated"])
    assert [row["name"] for row in data["hosts"]] == ["localhost", UNREACHABLE, BROKEN]
    for row in data["hosts"]:
        assert set(row) == {"name", "status", "message", "summary", "facts", "sandboxes", "sandbox_summary",
                            "sandboxes_message"}
    local, gone, broken = (host(data, name) for name in ("localhost", UNREACHABLE, BROKEN))
    assert local["status"] == "ok" and local["message"] is None
    assert local["facts"]["schema"] == 1 and local["facts"]["root"] is True
    assert gone["status"] == "unreachable" and gone["facts"] is None and "127.0.0.1" in gone["message"]
    # 2.19 names the interpreter in msg; 2.16-2.18 only in module_stderr, which the report adds then.
    assert broken["status"] == "failed" and broken["facts"] is None and "/nonexistent/bin/python3" in broken["message"]
    totals = data["totals"]
    facts = local["facts"]
    assert totals["hosts"] == 3 and totals["ok"] == 1 and totals["reachable"] == 2
    assert totals["unreachable"] == 1 and totals["failed"] == 1 and totals["dropped"] == 0
    assert totals["namespaces"] == facts["count"] == len(facts["namespaces"]) == local["summary"]["namespaces"]
    assert totals["max_depth"] == facts["max_depth"] >= 2  # the nested sandbox
    assert totals["deepest_hosts"] == ["localhost"]
    assert totals["zombies"] == sum(ns["zombies"] for ns in facts["namespaces"]) >= 3
    assert totals["warnings"] == len(facts["warnings"]) >= 2
    assert totals["warning_codes"]["zombies"] >= 1 and totals["warning_codes"]["init_not_reaper"] >= 1


def test_json_sees_the_zombie_namespace_and_sandboxes(report):
    facts = host(report["json"], "localhost")["facts"]
    spaces = dict((ns["id"], ns) for ns in facts["namespaces"])
    zombie = spaces[report["zombie_ns"]["ns"]]
    assert zombie["init"]["pid"] == report["zombie_ns"]["pid"]
    assert zombie["zombies"] == len(report["zombie_ns"]["zombies"]) == 3  # psutil is the oracle
    assert {"zombies", "init_not_reaper"} <= set(w["code"] for w in zombie["warnings"])
    owners = host(report["json"], "localhost")["summary"]["owners"]
    assert "sandbox %s" % report["sandboxes"]["outer"] in owners
    assert "sandbox %s" % report["sandboxes"]["inner"] in owners
    inner = [ns for ns in facts["namespaces"] if (ns["owner"] or {}).get("name") == report["sandboxes"]["inner"]][0]
    assert inner["level"] == 2
    # sandbox_info's view of the same sandboxes (pidns_report_sandboxes is on by default)
    listed = dict((entry["name"], entry) for entry in host(report["json"], "localhost")["sandboxes"])
    outer, nested = listed[report["sandboxes"]["outer"]], listed[report["sandboxes"]["inner"]]
    assert outer["health"] == nested["health"] == "alive" and outer["init"] == "supervisor"
    assert nested["parent"] == report["sandboxes"]["outer"] and nested["level"] == 2
    # hosts without facts are not asked for their sandboxes (an unreachable host is not tried twice)
    for name in (UNREACHABLE, BROKEN):
        row = host(report["json"], name)
        assert row["sandboxes"] is None and row["sandboxes_message"] == "not gathered (skipped)"
    assert report["json"]["totals"]["sandboxes_unavailable_hosts"] == []


def test_markdown_has_table_and_a_tree_per_reachable_host(report):
    md = report["md"]
    facts = host(report["json"], "localhost")["facts"]
    assert md.startswith("# PID namespaces\n")
    assert "| localhost | ok |" in md
    escaped = 'unreach&lt;u&gt;&amp;"\'host'
    assert "| %s | **unreachable** |" % escaped in md and "<u>" not in md
    section = md.split("## localhost\n", 1)[1].split("\n## ", 1)[0]
    assert "```text\n" in section
    for ns in facts["namespaces"]:
        assert str(ns["id"]) in section
    assert "WARN: " in section and "init_not_reaper" in section
    assert "## %s\n\n**UNREACHABLE**: " % escaped in md
    assert "## %s\n\n**FAILED**: " % BROKEN in md


def test_one_generated_time_in_all_files(report):
    generated = report["json"]["generated"]
    assert "Generated %s by" % generated in report["md"]
    assert '<span id="generated">%s</span>' % generated in (report["dir"] / "report.html").read_text()


def test_report_written_on_the_controller_without_a_module_run(report, tmp_path):
    """The write task is an action plugin (linuxns.pidns.fleet_report) that runs no module: its result
    has no module `invocation`; run_once puts it on the first host. --check writes nothing."""
    env = {"ANSIBLE_STDOUT_CALLBACK": "raw_results", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
           "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "tests" / "callback_plugins")}
    out = tmp_path / "checked"
    run = run_playbook(PLAYBOOK, "-i", str(report["inventory"]), "-e", "pidns_report_dir=%s" % out, "--check",
                       env=env)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    documents = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    written = [d for d in documents if d["task"].endswith("Write the fleet report on the controller")]
    assert [d["host"] for d in written] == ["localhost"]
    result = written[0]["result"]
    assert "invocation" not in result and result["written"] is False and result["changed"] is True
    assert result["files"] == [str(out / name) for name in ("report.json", "report.md", "report.html")]
    assert result["totals"]["hosts"] == 3 and result["totals"]["unreachable"] == 1
    assert not out.exists()


def test_fail_on_unreachable_fails_after_writing(report, tmp_path):
    out = tmp_path / "strict"
    run = run_playbook(PLAYBOOK, "-i", str(report["inventory"]), "-e", "pidns_report_dir=%s" % out,
                       "-e", json.dumps({"pidns_report_fail_on_unreachable": True, "pidns_report_formats": ["json"],
                                         "pidns_report_sandboxes": False}))
    assert run.returncode != 0
    counters = recap(run.stdout)
    assert counters[UNREACHABLE]["failed"] == 1 and counters[BROKEN]["failed"] == 1
    assert counters["localhost"]["failed"] == 0
    written = json.loads((out / "report.json").read_text())
    assert written["totals"]["unreachable"] == 1
    assert not (out / "report.html").exists()
    # pidns_report_sandboxes: false leaves sandbox_info out, and the sandboxes out of the report
    assert "TASK [linuxns.pidns.pidns_report : Gather the sandboxes]" in run.stdout
    assert "ok: [localhost]" not in run.stdout.split("Gather the sandboxes]", 1)[1].split("TASK [", 1)[0]
    assert "sandboxes" not in written["totals"] and "sandboxes" not in host(written, "localhost")


# ---------------------------------------------------------------- HTML in a real browser

class Dom(HTMLParser):
    """Elements of a dumped DOM with their attributes, and the text (entities decoded)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.elements = []
        self.text = []
        self._raw = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._raw = tag in ("script", "style", "noscript", "title")

    def handle_endtag(self, tag):
        self._raw = False

    def handle_data(self, data):
        if not self._raw:  # rendered text only, not the embedded data or the script
            self.text.append(data)

    def having(self, attribute: str) -> list:
        return [(tag, attrs) for tag, attrs in self.elements if attribute in attrs]


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--user-data-dir=%s" % profile, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)


@pytest.fixture(scope="module")
def browser(report, tmp_path_factory):
    if CHROMIUM is None:
        pytest.fail("chromium is missing: scripts/bootstrap.sh installs it (apt-get install -y chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    url = (report["dir"] / "report.html").resolve().as_uri()

    def dump(fragment: str = "") -> Dom:
        run = chromium("--dump-dom", url + fragment, profile=profile)
        assert run.returncode == 0 and "<html" in run.stdout, run.stderr[-2000:]
        return Dom(run.stdout)

    def screenshot(target: Path, fragment: str = "") -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        run = chromium("--screenshot=%s" % target, "--window-size=1280,1600", "--hide-scrollbars", url + fragment,
                       profile=profile)
        assert run.returncode == 0 and target.exists(), run.stderr[-2000:]
        return target

    return {"dump": dump, "screenshot": screenshot, "url": url}


def test_html_is_self_contained(report):
    html = (report["dir"] / "report.html").read_text()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", html, re.I)
    assert "<link" not in html.lower()
    # the data element cannot be closed early by any text in it
    data = html.split('<script type="application/json" id="pidns-report-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data and ">" not in data and "&" not in data
    assert json.loads(data)["totals"] == report["json"]["totals"]


def test_html_renders_every_host_namespace_and_warning(report, browser):
    dom = browser["dump"]()
    assert ("html", {"lang": "en", "data-rendered": "true"}) in dom.elements
    rows = dict((attrs["data-host"], attrs) for tag, attrs in dom.having("data-host") if tag == "tr")
    sections = dict((attrs["data-host"], attrs) for tag, attrs in dom.having("data-host") if tag == "section")
    assert set(rows) == set(sections) == {"localhost", UNREACHABLE, BROKEN}
    assert not any("hidden" in attrs for attrs in list(rows.values()) + list(sections.values()))
    assert "unreachable" in sections[UNREACHABLE]["class"].split() and "failed" in sections[BROKEN]["class"].split()
    # the host name with markup is text, not elements
    assert "u" not in [element[0] for element in dom.elements]
    text = "".join(dom.text)
    assert UNREACHABLE in text and "UNREACHABLE: " in text and "FAILED: " in text
    facts = host(report["json"], "localhost")["facts"]
    shown = dict((int(attrs["data-ns"]), attrs) for unused, attrs in dom.having("data-ns"))
    assert set(shown) == set(ns["id"] for ns in facts["namespaces"])
    zombie = shown[report["zombie_ns"]["ns"]]
    assert "flagged" in zombie["class"].split()
    codes = [attrs["data-code"] for unused, attrs in dom.having("data-code")]
    assert "zombies" in codes and "init_not_reaper" in codes
    for sandbox in report["sandboxes"].values():
        assert "sandbox %s" % sandbox in text
    summary = text.split("Hosts", 1)[1]
    assert "1 ok" in summary and "1 unreachable" in summary and "1 failed" in summary


@pytest.mark.parametrize("term, visible", [
    ("localhost", {"localhost"}),
    ("UNREACHABLE", {UNREACHABLE}),
    ('unreach<u>&"', {UNREACHABLE}),
    ("init_not_reaper", {"localhost"}),
    ("no-such-host-anywhere", set()),
])
def test_html_filter_from_url_fragment_hides_other_hosts(report, browser, term, visible):
    dom = browser["dump"]("#filter=" + quote(term, safe=""))
    box = [attrs for tag, attrs in dom.elements if tag == "input" and attrs.get("id") == "filter"][0]
    assert box["value"] == term  # pre-filled from the URL
    for tag in ("tr", "section"):
        elements = dict((attrs["data-host"], attrs) for t, attrs in dom.having("data-host") if t == tag)
        assert set(elements) == {"localhost", UNREACHABLE, BROKEN}
        assert set(name for name, attrs in elements.items() if "hidden" not in attrs) == visible, (tag, term)
    text = "".join(dom.text)
    none = [attrs for tag, attrs in dom.elements if attrs.get("id") == "no-match"][0]
    assert ("hidden" not in none) == (not visible)
    assert ("showing %d of 3 hosts" % len(visible)) in text


@pytest.mark.parametrize("fragment, order, header, direction", [
    ("", ["localhost", UNREACHABLE, BROKEN], None, None),  # inventory order
    ("#sort=-name", [UNREACHABLE, "localhost", BROKEN], "name", "descending"),
    ("#sort=status", [BROKEN, "localhost", UNREACHABLE], "status", "ascending"),
    ("#filter=o&sort=-namespaces", ["localhost", UNREACHABLE, BROKEN], "namespaces", "descending"),  # no value: last
])
def test_html_sort_from_url_fragment_orders_table_and_trees(browser, fragment, order, header, direction):
    dom = browser["dump"](fragment)
    for tag in ("tr", "section"):
        assert [attrs["data-host"] for t, attrs in dom.having("data-host") if t == tag] == order, tag
    sorted_by = [(attrs["data-key"], attrs["aria-sort"]) for t, attrs in dom.having("aria-sort") if t == "th"]
    assert sorted_by == ([(header, direction)] if header else [])


def test_html_screenshot(report, browser):
    shot = browser["screenshot"](OUTPUT / "report.png")
    browser["screenshot"](OUTPUT / "report-filtered.png", "#filter=" + quote("unreach", safe=""))
    with open(shot, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20000  # a rendered page, not a blank one


# ---------------------------------------------------------------- sandboxes (a run of its own)

UNPRIVILEGED = "unprivileged"


def restart_workload_once(name: str) -> int:
    """SIGKILL the sandbox's workload (the host's view: the child of its PID 1 that runs sleep 600) and
    wait until PID 1 has started it again and written so in its status file. Returns the new PID."""
    supervisor = state_of(name)["supervisor"]["pid"]

    def sleeper():
        try:
            kids = [p for p in psutil.Process(supervisor).children() if p.cmdline() == ["sleep", "600"]]
        except psutil.Error:
            return None
        return kids[0] if len(kids) == 1 else None

    first = wait_for(sleeper, timeout=30)
    assert first is not None, "the workload never started"
    os.kill(first.pid, signal.SIGKILL)
    status = STATE_DIR / name / "workloads" / "status.json"

    def restarted():
        try:
            entry = json.loads(status.read_text()).get("w") or {}
        except (OSError, ValueError):
            return None
        again = sleeper()
        return again if entry.get("restart_count") == 1 and entry.get("state") == "running" and again \
            and again.pid != first.pid else None

    again = wait_for(restarted, timeout=30)
    assert again is not None, "PID 1 did not restart the workload"
    return again.pid


def test_report_shows_sandboxes_with_health_limits_and_workloads(names, tmp_path):
    """One run on localhost (root) and on a local host that becomes nobody (facts, but sandbox_info needs
    root): the sandbox with its PID limit and its workload restarted once is in report.json, report.md
    and the page Chromium draws; the other host says why it has no sandboxes."""
    if CHROMIUM is None:
        pytest.fail("chromium is missing: scripts/bootstrap.sh installs it (apt-get install -y chromium)")
    name = names("rsb")
    made = make_sandbox(name, workloads=[{"name": "w", "argv": ["sleep", "600"], "restart": "always"}], pids_limit=64)
    assert not made["failed"], made
    restart_workload_once(name)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {
        "localhost": {"ansible_connection": "local", "ansible_python_interpreter": TARGET_PYTHON},
        # nobody cannot run this checkout's venv Python; the system's serves
        UNPRIVILEGED: {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
                       "ansible_become_user": "nobody"},
    }}}))
    out = tmp_path / "out"
    run = run_playbook(PLAYBOOK, "-i", str(inventory), "-e", "pidns_report_dir=%s" % out)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]

    data = json.loads((out / "report.json").read_text())
    local, other = host(data, "localhost"), host(data, UNPRIVILEGED)
    [mine] = [entry for entry in local["sandboxes"] if entry["name"] == name]
    assert mine["health"] == "alive" and mine["problems"] == [] and mine["init"] == "supervisor"
    assert mine["parent"] is None and mine["level"] == 1 and mine["paused"] is False
    assert mine["limits"]["pids_limit"] == 64 and mine["network"]["mode"] == "host"
    assert mine["usage"]["pids"] == 2  # its PID 1 and the workload
    assert mine["usage"]["oom_kills"] in (0, None)
    [workload] = mine["workloads"]
    assert workload == {"name": "w", "state": "running", "restart_count": 1, "exit_code": None, "exit_signal": 9}
    assert local["sandbox_summary"]["restarted"] >= 1 and data["totals"]["workloads_restarted"] >= 1
    assert other["status"] == "ok" and other["sandboxes"] is None and "needs root" in other["sandboxes_message"]
    assert data["totals"]["sandboxes_unavailable_hosts"] == [UNPRIVILEGED]

    md = (out / "report.md").read_text()
    [row] = [line for line in md.splitlines() if line.startswith("| %s |" % name)]
    cells = [text.strip() for text in row.strip("|").split(" | ")]
    assert cells[1:4] == ["alive", "supervisor", "pids 64"] and cells[5] == "2 / 64"
    assert cells[8] == "w: running, 1 restart, last exit: signal 9"
    section = md.split("\n## %s\n" % UNPRIVILEGED, 1)[1]
    assert "\n**Sandboxes:** not available (reading the sandboxes' state" in section

    profile = tmp_path / "chromium-profile"
    url = (out / "report.html").resolve().as_uri()
    dumped = chromium("--dump-dom", url, profile=profile)
    assert dumped.returncode == 0 and "<html" in dumped.stdout, dumped.stderr[-2000:]
    dom = Dom(dumped.stdout)
    [start] = [index for index, (tag, attrs) in enumerate(dom.elements)
               if tag == "tr" and attrs.get("data-sandbox") == name]
    box = dom.elements[start][1]
    assert box["data-health"] == "alive" and "broken" not in box.get("class", "")
    end = next((index for index in range(start + 1, len(dom.elements)) if dom.elements[index][0] in ("tr", "section")),
               len(dom.elements))
    workloads = [attrs for tag, attrs in dom.elements[start:end] if "data-workload" in attrs]  # in its row
    assert [(w["data-workload"], w["data-state"], w["data-restarts"]) for w in workloads] == [("w", "running", "1")]
    text = "".join(dom.text)
    assert "sandboxes: not available (reading the sandboxes' state" in text and "1 restart" in text
    assert "sandboxes" in [attrs["data-key"] for tag, attrs in dom.having("data-key") if tag == "th"]
    # the filter finds a host by its sandboxes' names
    filtered = Dom(chromium("--dump-dom", url + "#filter=" + quote(name, safe=""), profile=profile).stdout)
    rows = dict((attrs["data-host"], attrs) for tag, attrs in filtered.having("data-host") if tag == "tr")
    assert "hidden" not in rows["localhost"] and "hidden" in rows[UNPRIVILEGED]
