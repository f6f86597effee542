# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only aggregate callback: wall time per task (start to last result) and per playbook.

For profiling playbooks (ansible.posix.profile_tasks is not installed here). Enable with
ANSIBLE_CALLBACKS_ENABLED=task_times and ANSIBLE_CALLBACK_PLUGINS=tests/callback_plugins; the
figures go as JSON to the file named by PIDNS_TASK_TIMES (default: stderr).
"""

from __future__ import annotations

DOCUMENTATION = """
name: task_times
type: aggregate
short_description: record wall time per task and per playbook as JSON (tests only)
description:
  - "Writes total and per-task start, first result and end times (seconds from the playbook start) as
    JSON to the file in the PIDNS_TASK_TIMES environment variable, or to stderr."
requirements:
  - enable in ansible.cfg or with ANSIBLE_CALLBACKS_ENABLED=task_times
"""

import json
import os
import sys
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._origin = time.perf_counter()
        self._tasks = []

    def _now(self):
        return round(time.perf_counter() - self._origin, 4)

    def _start(self, task):
        self._tasks.append({"name": task.get_name(), "action": task.action, "start": self._now(),
                            "first_result": None, "end": None})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task)

    def _result(self, *args, **kwargs):
        if self._tasks:
            now = self._now()
            if self._tasks[-1]["first_result"] is None:
                self._tasks[-1]["first_result"] = now
            self._tasks[-1]["end"] = now

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = v2_runner_on_unreachable = _result

    def v2_playbook_on_stats(self, stats):
        document = json.dumps({"total": self._now(), "tasks": self._tasks})
        target = os.environ.get("PIDNS_TASK_TIMES")
        if target:
            with open(target, "w", encoding="utf-8") as handle:
                handle.write(document + "\n")
        else:
            sys.stderr.write(document + "\n")
