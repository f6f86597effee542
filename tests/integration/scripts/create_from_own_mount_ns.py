# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run by test_sandbox.py under `unshare --mount`: create and remove sandboxes through the module
code path from a mount namespace that is not the initial one, as the module does in a container
or over SSH into a sandboxed sshd. Prints one JSON line."""

import json
import os
import sys

sys.path.insert(0, sys.argv[1])
from ansible_collections.linuxns.pidns.plugins.module_utils._lifecycle import _sandbox, _statedir  # noqa: E402

root, count = sys.argv[2], int(sys.argv[3])
created, errors, affinities = [], [], []
try:
    for index in range(count):
        name = "order-%d" % index
        try:
            made = _sandbox.run({"name": name, "state": "present"}, state_dir=_statedir.StateDir(root))["sandbox"]
        except Exception as exc:  # pylint: disable=broad-except  # any failure is reported, not raised
            errors.append("%s: %r" % (name, exc))
            continue
        created.append(name)
        affinities.append(sorted(os.sched_getaffinity(made["supervisor"]["pid"])))
finally:
    # The handles live in this mount namespace only: remove what was made before it goes away.
    for name in created:
        _sandbox.run({"name": name, "state": "absent"}, state_dir=_statedir.StateDir(root))
print(json.dumps({"created": len(created), "errors": errors, "affinities": affinities,
                  "allowed": sorted(os.sched_getaffinity(0)), "left": sorted(os.listdir(root))}))
