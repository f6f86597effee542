# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one way a module hands its parameters to its library and reports what came back.

Every library behind a module exposes ``run(params, check_mode=False)``: it returns the result
(``warnings`` and ``diff`` included, ``failed`` set when the task itself failed, as a command with
a non-zero exit does) and raises SandboxError for anything the user must fix.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.linuxns.pidns.plugins.module_utils._common import SandboxError


def run_module(module, run, subject=None, **extra):
    """Call run(module.params, check_mode=..., **extra) and exit the module with its result; never returns.

    subject: how to name what failed when a system call refuses in a way nobody foresaw
    (say "sandbox web"), so the user gets that and the error, not a traceback.
    """
    failure = None
    try:
        result = run(module.params, check_mode=module.check_mode, **extra)
    except SandboxError as exc:
        failure = str(exc)
    except OSError as exc:
        failure = "%s: %s" % (subject, exc) if subject else str(exc)
    if failure is not None:
        # Outside the handler: inside it, ansible-core 2.19 attaches the handled error as `exception`.
        module.fail_json(msg=failure)
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    if not module._diff:
        result.pop("diff", None)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)
