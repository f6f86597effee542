# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The "whole Python process" side of bench_pidns_facts.py: print this host's pidns facts (the
module's defaults) as one line of JSON.

    python -I -S -c "import sys; sys.path[:0] = ['<repo>/.build/collections', '<repo>/benchmarks']
                     import pidns_scan_json; pidns_scan_json.main()"

The scan is imported from the collection; the JSON is written with the json C encoder without
importing the json package, which imports ``re`` (and enum with it): a few ms that a whole Python
process would otherwise spend for nothing.
"""

from __future__ import absolute_import, division, print_function

import sys


def dumps(obj):
    """json.dumps(obj) with the C encoder of the json package, without importing the package.

    Falls back to json.dumps where the _json accelerator is missing or differs.
    """
    try:
        import _json

        def default(value):
            raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)

        encoder = _json.make_encoder(None, default, _json.encode_basestring_ascii, None, ": ", ", ",
                                     False, False, True)
        return "".join(encoder(obj, 0))
    except (ImportError, AttributeError, TypeError):
        import json
        return json.dumps(obj)


def main(scan=None):
    """Print the facts of this host as one line of JSON (scan() with the module's defaults)."""
    if scan is None:
        from ansible_collections.linuxns.pidns.plugins.module_utils._facts._hierarchy import scan
    sys.stdout.write(dumps(scan()) + "\n")
