# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only stdout callback: one JSON document per task result, exactly as the module returned it.

The built-in callbacks strip keys such as `diff` from what they print, and the json
callback left ansible-core for ansible.posix; the tests want the raw result.
"""

from __future__ import annotations

DOCUMENTATION = """
name: raw_results
type: stdout
short_description: print raw task results as JSON lines (tests only)
description: Prints {"host", "task", "status", "result"} as one JSON line per task result.
"""

import json

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "raw_results"

    def _emit(self, result, status):
        payload = {"host": result._host.get_name(), "task": result._task.get_name(), "status": status,
                   "result": result._result}
        self._display.display(json.dumps(payload, default=str, sort_keys=True))

    def v2_runner_on_ok(self, result):
        self._emit(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._emit(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._emit(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._emit(result, "unreachable")
