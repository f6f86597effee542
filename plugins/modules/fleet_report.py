#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Documentation only: the work is done by the action plugin plugins/action/fleet_report.py, on the
# controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: fleet_report
short_description: Write the PID-namespace fleet report (JSON, Markdown, HTML) on the controller
version_added: 0.1.0
description:
  - Turns the registered results of M(linuxns.pidns.pidns_facts) on many hosts into one fleet
    report (the data of the P(linuxns.pidns.pidns_fleet#filter) filter, report schema 1) and writes
    C(report.json), C(report.md) and C(report.html) into O(dest) on the controller, in one task.
  - With O(sandboxes), the registered results of M(linuxns.pidns.sandbox_info), each host also gets its
    sandboxes (health and problems, init, limits, memory, PIDs and OOM kills, network and published ports,
    workloads with their state and restart count), shown in a table per host in C(report.md) and
    C(report.html), with the data in C(report.json) and sandbox counts in the totals.
  - This is an action plugin that runs entirely on the controller, in the worker process of the task.
    It runs no module, opens no connection to the host and copies nothing anywhere, so it needs neither
    C(delegate_to) nor C(become). Use it with C(run_once) (the C(linuxns.pidns.pidns_report) role does).
  - All files of one run carry the same C(generated) time (UTC, to the second).
  - The files are rewritten on every run (a report is output, not managed state) and never make the
    task report a change; only making O(dest), or setting its mode, does. So a second run reports no
    change.
  - Each file is replaced atomically (written to a temporary file in O(dest), then renamed).
  - C(report.md) and C(report.html) are written by the collection itself, without the Jinja templar,
    so host data (command lines, owner names, messages) is only ever text. Control characters in it are
    shown as escapes such as C(\n) and C(\x1b), Markdown table cells and headings are escaped, code
    blocks are fenced with more backticks than the text holds, and HTML is escaped.
    C(report.json) keeps the hosts' strings exactly (JSON escapes every control character).
  - O(md_template) and O(html_template) replace a file with a Jinja template of your own, rendered
    like M(ansible.builtin.template) does (C(trim_blocks)) with every variable of the task plus
    C(pidns_report_data) (the report), C(pidns_report_title) (O(title)) and C(pidns_report_processes)
    (O(processes)). Host data in C(pidns_report_data) is never evaluated as a template (it is marked
    unsafe on ansible-core before 2.19); escaping it for the output format is up to your template.
author:
  - linuxns.pidns contributors (@linuxns)
options:
  results:
    description:
      - Mapping of host name to the registered result of M(linuxns.pidns.pidns_facts), to its
        C(ansible_facts), or to C(ansible_facts.pidns) itself (the input of the
        P(linuxns.pidns.pidns_fleet#filter) filter). Register the facts task with
        C(ignore_unreachable) and C(ignore_errors) so that unreachable and failed hosts are listed
        with the reason.
    type: dict
    required: true
  hosts:
    description:
      - Every host of the play, in the order of the report, usually C(ansible_play_hosts_all).
      - Defaults to the keys of O(results).
    type: list
    elements: str
  active:
    description:
      - Hosts still in the play, usually C(ansible_play_hosts). A host of O(hosts) without a result
        that is not in this list is reported as C(dropped).
    type: list
    elements: str
  sandboxes:
    description:
      - Mapping of host name to the registered result of M(linuxns.pidns.sandbox_info) (or to its
        C(sandboxes) list). Register that task with C(ignore_unreachable) and C(ignore_errors) too; a
        host whose result failed, was skipped or is missing is shown with its sandboxes as not available,
        and the reason.
      - Of each sandbox only the fields the report shows are kept, with lists and strings cut to a bound.
      - When not given, the report has no sandbox part (and none of its keys).
    type: dict
  dest:
    description:
      - Directory on the controller for the files; made (with parents) if missing.
      - Give the report a directory of its own; see O(dir_mode) for its mode.
    type: path
    required: true
  formats:
    description: Which of C(report.json), C(report.md) and C(report.html) to write.
    type: list
    elements: str
    choices: [json, md, html]
    default: [json, md, html]
  title:
    description: Title of C(report.md) and C(report.html).
    type: str
    default: PID namespaces
  processes:
    description:
      - List every process in the trees of C(report.md) (use it when the facts were gathered with
        C(processes=true)).
    type: bool
    default: false
  mode:
    description:
      - Mode of the report files, in octal, for example V('0640') (init command lines can carry
        secrets). Quote it, or YAML reads V(0640) as a number (which is taken as that octal mode too).
    type: raw
    default: "0640"
  dir_mode:
    description:
      - Mode of O(dest), in octal.
      - When not given, a O(dest) that the task creates gets V(0755), and an existing one keeps its
        mode.
    type: raw
  md_template:
    description:
      - Jinja template of your own for C(report.md), found like O(ansible.builtin.template#module:src)
        (the role's or the playbook's C(templates/) directory, or a path).
      - By default the collection writes C(report.md) itself (no template).
    type: path
  html_template:
    description:
      - Jinja template of your own for C(report.html), found like O(ansible.builtin.template#module:src).
      - By default the collection writes C(report.html) itself (no template).
    type: path
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
  async:
    description: Supports being used with the C(async) keyword.
    support: none
  bypass_host_loop:
    description: Forces a 'global' task that does not execute per host.
    support: none
    details:
      - Use C(run_once) to write the report once per play.
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
    support: full
    details:
      - Writes nothing; C(changed) says whether O(dest) would be made or its mode set.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    platforms: posix
    support: N/A
    details:
      - The files are written on the controller, whatever the host.
seealso:
  - module: linuxns.pidns.pidns_facts
  - plugin: linuxns.pidns.pidns_fleet
    plugin_type: filter
  - plugin: linuxns.pidns.pidns_tree
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Gather PID-namespace facts, keep going on unreachable hosts
  linuxns.pidns.pidns_facts:
  register: gathered
  ignore_unreachable: true
  ignore_errors: true

- name: Write report.json, report.md and report.html on the controller
  linuxns.pidns.fleet_report:
    results: >-
      {{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars)
              | map(attribute='gathered', default=none))) }}
    hosts: "{{ ansible_play_hosts_all }}"
    active: "{{ ansible_play_hosts }}"
    dest: /srv/reports/pidns
  run_once: true
  register: written

- name: List the sandboxes too
  linuxns.pidns.sandbox_info:
  register: found
  become: true
  ignore_unreachable: true
  ignore_errors: true

- name: The report with a sandboxes table per host
  linuxns.pidns.fleet_report:
    results: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'gathered'))) }}"
    sandboxes: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'found'))) }}"
    dest: /srv/reports/pidns
  run_once: true

- name: Only report.json, of the hosts still in the play
  linuxns.pidns.fleet_report:
    results: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'gathered'))) }}"
    dest: "{{ playbook_dir }}/pidns-report"
    formats: [json]
  run_once: true
"""

RETURN = r"""
dest:
  description: O(dest).
  returned: always
  type: str
  sample: /srv/reports/pidns
files:
  description: The files written (in check mode, that would be written), in the order json, md, html.
  returned: always
  type: list
  elements: str
  sample: [/srv/reports/pidns/report.json, /srv/reports/pidns/report.md, /srv/reports/pidns/report.html]
written:
  description: Whether the files were written (V(false) in check mode).
  returned: always
  type: bool
generated:
  description: The report's C(generated) time, the same in every file.
  returned: always
  type: str
  sample: "2024-05-01T12:00:00Z"
totals:
  description:
    - The report's fleet totals (C(totals) of the P(linuxns.pidns.pidns_fleet#filter) filter).
    - With O(sandboxes) also C(sandboxes), C(sandboxes_broken), C(workloads), C(workloads_restarted),
      C(workloads_backing_off), C(sandbox_oom_kills) and C(sandboxes_unavailable_hosts).
  returned: always
  type: dict
  sample: {"hosts": 3, "ok": 2, "reachable": 2, "unreachable": 1, "failed": 0, "skipped": 0, "dropped": 0,
           "namespaces": 7, "nprocs": 240, "max_depth": 2, "deepest_hosts": ["web1"], "zombies": 3,
           "warnings": 2, "warning_codes": {"init_not_reaper": 1, "zombies": 1}, "partial_hosts": []}
msg:
  description: One line with the host counts and O(dest).
  returned: always
  type: str
  sample: "PID-namespace report of 3 hosts (2 ok, 1 unreachable, 0 failed; 4 sandboxes, 1 broken): /srv/reports/pidns"
"""
