# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the linuxns.pidns.fleet_report action plugin (controller side, no host, no module).

The plugin runs here with a real Templar and DataLoader (used only for a template of the user's own);
only the task and the connection are stand-ins (the plugin must not touch the connection at all).
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.linuxns.pidns.plugins.action.fleet_report import ensure_dir, parse_mode, write_file
from ansible_collections.linuxns.pidns.plugins.filter.pidns_fleet import pidns_fleet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugin_utils"))
import hostile  # noqa: E402  pylint: disable=wrong-import-position

REPO = Path(__file__).resolve().parents[4]
COLLECTIONS = REPO / ".build" / "collections"
HOST, A = 4026531836, 4026532201

FACTS = {
    "schema": 1, "kernel": "6.1.0", "root": True, "partial": False, "count": 2, "max_depth": 1,
    "namespaces": [
        {"id": HOST, "parent": None, "level": 0, "children": [A], "nprocs": 40, "zombies": 0, "owner": None,
         "warnings": [], "init": {"pid": 1, "ns_pid": 1, "command": "init", "cmdline": ["/sbin/init"]}},
        {"id": A, "parent": HOST, "level": 1, "children": [], "nprocs": 2, "zombies": 1,
         "owner": {"type": "sandbox", "runtime": "linuxns.pidns", "name": "web"},
         "warnings": [{"code": "zombies", "message": "1 zombie"}],
         "init": {"pid": 4242, "ns_pid": 1, "command": "python3", "cmdline": ["python3", "-c", "x"]}},
    ],
    "warnings": [{"code": "zombies", "message": "1 zombie", "namespace": A}],
    "processes": [{"pid": 4242, "nspid": [4242, 1], "ns": A, "ppid": 4200, "state": "S", "comm": "python3"},
                  {"pid": 4243, "nspid": [4243, 7], "ns": A, "ppid": 4242, "state": "Z", "comm": "zombie-kid"}],
}
RESULTS = {
    "web": {"changed": False, "failed": False, "ansible_facts": {"pidns": FACTS}},
    "gone<b>": {"unreachable": True, "changed": False, "msg": "Failed to connect to the host via ssh"},
}
HOSTS = ["web", "gone<b>", "dropped"]


# A user's template may use the collection's pidns_tree filter by its FQCN, which needs Ansible's collection
# loader; installing it in the pytest process would change how the other unit tests import the
# collection. So each run of the action happens in a fresh Python that installs it first.
RUNNER = """
import json, sys
from unittest import mock
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible_collections.linuxns.pidns.plugins.action.fleet_report import ActionModule
request = json.load(sys.stdin)
task = mock.MagicMock(args=request["args"], check_mode=request["check_mode"], async_val=0,
                      action="linuxns.pidns.fleet_report")
task.get_search_path.return_value = request["task_vars"]["ansible_search_path"]
connection = mock.MagicMock()
connection._shell.tmpdir = None
loader = DataLoader()
action = ActionModule(task, connection, mock.MagicMock(), loader, Templar(loader=loader), None)
try:
    result = action.run(task_vars=request["task_vars"])
except AnsibleActionFail as error:
    result = {"_fail": str(error)}
result["_connection_used"] = bool(connection.method_calls)
print(json.dumps(result, default=str))
"""


def run(tmp_path: Path, check_mode: bool = False, task_vars: dict | None = None, **args) -> dict:
    """Run the action plugin (real Templar and DataLoader; task and connection are stand-ins)."""
    task_args = {"results": RESULTS, "hosts": HOSTS, "active": ["web", "gone<b>"], "dest": str(tmp_path / "out")}
    task_args.update(args)
    request = {"args": task_args, "check_mode": check_mode,
               "task_vars": dict({"inventory_hostname": "web", "ansible_search_path": [str(tmp_path)]},
                                 **(task_vars or {}))}
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(COLLECTIONS)], input=json.dumps(request),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result.pop("_connection_used") is False  # controller only: never touches the connection
    if "_fail" in result:
        raise AnsibleActionFail(result["_fail"])
    return result


# ---------------------------------------------------------------- helpers

def test_parse_mode():
    assert parse_mode("0640", "mode") == 0o640
    assert parse_mode("755", "mode") == 0o755
    assert parse_mode(0o600, "mode") == 0o600  # what YAML makes of an unquoted 0600
    for bad in ("u=rw", "0999", True, "-1", 0o17777):
        with pytest.raises(AnsibleActionFail):
            parse_mode(bad, "mode")


def test_ensure_dir_makes_sets_mode_and_predicts(tmp_path):
    target = tmp_path / "a" / "b"
    assert ensure_dir(str(target), 0o750, check_mode=True) is True and not target.exists()
    assert ensure_dir(str(target), 0o750, check_mode=False) is True
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert ensure_dir(str(target), 0o750, check_mode=False) is False
    assert ensure_dir(str(target), 0o700, check_mode=True) is True
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert ensure_dir(str(target), 0o700, check_mode=False) is True
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    (tmp_path / "file").write_text("x")
    with pytest.raises(AnsibleActionFail, match="not a directory"):
        ensure_dir(str(tmp_path / "file"), 0o755, check_mode=False)


def test_write_file_replaces_atomically_with_mode(tmp_path):
    target = tmp_path / "report.json"
    target.symlink_to(tmp_path / "elsewhere")
    write_file(str(target), "é\n", 0o640)
    assert not target.is_symlink() and target.read_text(encoding="utf-8") == "é\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert not (tmp_path / "elsewhere").exists()
    assert sorted(os.listdir(tmp_path)) == ["report.json"]  # no temporary file left


# ---------------------------------------------------------------- the action

def test_writes_three_files_once_changed_then_not(tmp_path):
    first = run(tmp_path)
    out = tmp_path / "out"
    assert first["changed"] is True and first["written"] is True  # the directory was made
    assert first["files"] == [str(out / name) for name in ("report.json", "report.md", "report.html")]
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    for name in ("report.json", "report.md", "report.html"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o640
    data = json.loads((out / "report.json").read_text())
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", data["generated"])
    assert data["generated"] == first["generated"]
    assert data == pidns_fleet(RESULTS, hosts=HOSTS, active=["web", "gone<b>"], generated=first["generated"])
    assert [(h["name"], h["status"]) for h in data["hosts"]] == [
        ("web", "ok"), ("gone<b>", "unreachable"), ("dropped", "dropped")]
    assert first["totals"] == data["totals"]
    assert first["msg"] == "PID-namespace report of 3 hosts (1 ok, 1 unreachable, 1 failed): %s" % out

    md = (out / "report.md").read_text()
    assert md.startswith("# PID namespaces\n\nGenerated %s " % first["generated"])
    assert "| web | ok |" in md and "| gone&lt;b&gt; | **unreachable** |" in md
    assert str(A) in md and "sandbox web" in md
    html = (out / "report.html").read_text()
    assert "<title>PID namespaces · 3 hosts · %s</title>" % first["generated"] in html
    embedded = html.split('<script type="application/json" id="pidns-report-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in embedded and json.loads(embedded) == data

    second = run(tmp_path)
    assert second["changed"] is False  # rewritten, but a report is output, not managed state
    assert json.loads((out / "report.json").read_text())["generated"] == second["generated"]


def test_check_mode_writes_nothing(tmp_path):
    result = run(tmp_path, check_mode=True)
    assert result["changed"] is True and result["written"] is False
    assert not (tmp_path / "out").exists()
    run(tmp_path)
    before = (tmp_path / "out" / "report.json").read_text()
    result = run(tmp_path, check_mode=True, dir_mode="0700")
    assert result["changed"] is True  # the mode would be set
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755
    assert (tmp_path / "out" / "report.json").read_text() == before


def test_formats_title_processes_and_modes(tmp_path):
    result = run(tmp_path, formats=["md"], title="Fleet <one>", processes=True, mode=0o600, dir_mode="0700")
    out = tmp_path / "out"
    assert result["files"] == [str(out / "report.md")] and os.listdir(out) == ["report.md"]
    md = (out / "report.md").read_text()
    assert md.startswith("# Fleet &lt;one&gt;\n")
    assert "PID 7 (host 4243): zombie-kid" in md  # processes listed in the trees
    assert stat.S_IMODE((out / "report.md").stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o700


def test_own_template_found_like_template_src(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "mine.j2").write_text(
        "{{ pidns_report_title }}: {{ pidns_report_data.totals.ok }} ok of {{ pidns_report_data.totals.hosts }}\n")
    run(tmp_path, formats=["md", "html"], md_template="mine.j2", title="T")
    assert (tmp_path / "out" / "report.md").read_text() == "T: 1 ok of 3\n"
    assert "pidns-report-data" in (tmp_path / "out" / "report.html").read_text()  # the default one
    with pytest.raises(AnsibleActionFail, match="html_template"):
        run(tmp_path, html_template="missing.j2")
    (tmp_path / "templates" / "broken.j2").write_text("{{ pidns_report_data | linuxns.pidns.pidns_tree(width='x') }}")
    with pytest.raises(AnsibleActionFail, match="cannot render report.md from .*broken.j2"):
        run(tmp_path, md_template="broken.j2")


def test_default_report_needs_no_template_and_no_templar(tmp_path):
    """report.md and report.html come from plugin_utils/_report.py: task variables are not template
    context, and the role ships no templates the action could reach through __file__."""
    assert not (REPO / "roles" / "pidns_report" / "templates").exists()
    run(tmp_path, title="{{ inventory_hostname }}")
    md = (tmp_path / "out" / "report.md").read_text()
    assert md.startswith("# {{ inventory_hostname }}\n")


@pytest.mark.parametrize("processes, lines", [(False, hostile.TREE_LINES),
                                              (True, hostile.TREE_LINES_WITH_PROCESSES)])
def test_hostile_host_strings_stay_text(tmp_path, processes, lines):
    """Template syntax, line breaks, 20 backticks, table and link syntax, HTML and control characters in
    every string the hosts report: no templating, one fence per tree, one row per host, no markup."""
    run(tmp_path, results=hostile.RESULTS, hosts=hostile.HOSTS, active=hostile.HOSTS, processes=processes)
    out = tmp_path / "out"
    assert json.loads((out / "report.json").read_text())["hosts"][0]["facts"] == hostile.FACTS  # exact data
    hostile.check_markdown((out / "report.md").read_text(), tree_lines=lines)
    hostile.check_html((out / "report.html").read_text())


def test_own_template_gets_host_data_as_text(tmp_path):
    """A template of the user's own is rendered by the templar, but host data in it is never template text."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "mine.j2").write_text(
        "{% for h in pidns_report_data.hosts %}{{ h.name }}|{{ h.message }}|{{ h.summary.kernel if h.summary }}\n"
        "{% endfor %}{{ pidns_report_data.hosts[0].facts | linuxns.pidns.pidns_tree }}\n")
    run(tmp_path, results=hostile.RESULTS, hosts=hostile.HOSTS, active=hostile.HOSTS, formats=["md"],
        md_template="mine.j2")
    md = (tmp_path / "out" / "report.md").read_text()
    assert md.startswith("web{{ 7*7 }} {% for x in [1] %}LOOP{% endfor %}") and not re.search(r"\b49\b", md) and "\nLOOP" not in md


@pytest.mark.parametrize("args, message", [
    ({"formats": ["pdf"]}, "formats"),
    ({"mode": "u=rw"}, "mode"),
    ({"results": "web"}, "results"),
    ({"processes": "maybe"}, "processes"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_arguments_fail_before_writing(tmp_path, args, message):
    with pytest.raises(AnsibleActionFail, match=message):
        run(tmp_path, **args)
    assert not (tmp_path / "out").exists()


def test_unwritable_destination_fails_cleanly(tmp_path):
    (tmp_path / "out").write_text("a file, not a directory")
    with pytest.raises(AnsibleActionFail, match="not a directory"):
        run(tmp_path)


def test_an_existing_private_dest_keeps_its_mode_unless_dir_mode_is_given(tmp_path):
    """Issue 10 item 17: the report's default directory mode is for a directory it creates."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    os.chmod(str(private), 0o700)
    assert ensure_dir(str(private), None, check_mode=False) is False
    assert oct(os.stat(str(private)).st_mode & 0o777) == "0o700"
    made = tmp_path / "made"
    assert ensure_dir(str(made), None, check_mode=False) is True
    assert oct(os.stat(str(made)).st_mode & 0o777) == "0o755"
    assert ensure_dir(str(private), 0o750, check_mode=False) is True
    assert oct(os.stat(str(private)).st_mode & 0o777) == "0o750"


def test_the_action_leaves_an_existing_private_dest_private(tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    os.chmod(str(dest), 0o700)
    result = run(tmp_path)
    assert not result.get("failed"), result
    assert oct(os.stat(str(dest)).st_mode & 0o777) == "0o700"


def test_sandboxes_in_every_file_and_in_the_message(tmp_path):
    """The sandboxes option (registered sandbox_info results) reaches report.json, report.md and report.html;
    hostile host strings in it stay text."""
    result = run(tmp_path, results=hostile.RESULTS, hosts=hostile.HOSTS, active=hostile.HOSTS,
                 sandboxes=hostile.SANDBOX_RESULTS)
    out = tmp_path / "out"
    data = json.loads((out / "report.json").read_text())
    assert data == pidns_fleet(hostile.RESULTS, hosts=hostile.HOSTS, active=hostile.HOSTS,
                               generated=result["generated"], sandboxes=hostile.SANDBOX_RESULTS)
    assert data["hosts"][0]["sandboxes"][0]["problems"][0] == hostile.evil("problem")  # exact data
    assert result["totals"]["sandboxes"] == 2 and result["totals"]["sandboxes_broken"] == 1
    assert result["msg"].startswith("PID-namespace report of 3 hosts (1 ok, 1 unreachable, 1 failed; "
                                    "2 sandboxes, 1 broken): ")
    hostile.check_markdown((out / "report.md").read_text(), sandboxes=len(hostile.SANDBOXES))
    hostile.check_html((out / "report.html").read_text())


def test_sandboxes_must_be_a_mapping(tmp_path):
    with pytest.raises(AnsibleActionFail, match="sandboxes"):
        run(tmp_path, sandboxes="web")
    assert not (tmp_path / "out").exists()
