# -*- coding: utf-8 -*-
# Copyright (c) linuxns.pidns contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A program made of the collection's own module_utils: a zip of their sources and a __main__, run by a
machine's Python (3.8+, standard library only) without Ansible. The sandbox connection's joiner is one
(built on the controller); the boot program that brings marked sandboxes back is another (built by the
sandbox module on the machine)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import io
import os
import pkgutil
import zipfile

PACKAGE = "ansible_collections.linuxns.pidns.plugins.module_utils"
SUPERVISOR = PACKAGE + "._lifecycle._supervisor"


def build(main_source, not_shipped=(), package=PACKAGE):
    """The zip's bytes: the package's sources (where its loader can give them; the modules named in
    not_shipped left out) and __main__.py."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("ansible_collections", "ansible_collections.linuxns", "ansible_collections.linuxns.pidns",
                     "ansible_collections.linuxns.pidns.plugins", package):
            archive.writestr(_entry(name.replace(".", "/") + "/__init__.py"), "")
        _add_package(archive, package, package, not_shipped)
        archive.writestr(_entry("__main__.py"), main_source)
    return buffer.getvalue()


def _add_package(archive, package_name, top, not_shipped):
    """The sources of a module_utils package and its subpackages."""
    package = importlib.import_module(package_name)
    folder = package_name.replace(".", "/")
    if package_name != top:
        archive.writestr(_entry(folder + "/__init__.py"), _source(package, "__init__") or b"")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda module: module.name):
        dotted = package_name + "." + info.name
        if info.ispkg:
            _add_package(archive, dotted, top, not_shipped)
        elif info.name.startswith("_") and dotted not in not_shipped:
            archive.writestr(_entry(folder + "/%s.py" % info.name), _source(package, info.name))


def _source(package, name):
    """A module_utils file's source: through the package's loader where it serves data (Ansible's
    collection loader and AnsiballZ's zip do), else from the package's directory."""
    data = pkgutil.get_data(package.__name__, name + ".py")
    if data is None:
        for directory in package.__path__:
            path = os.path.join(directory, name + ".py")
            if os.path.isfile(path):
                with open(path, "rb") as handle:
                    data = handle.read()
                break
    return data


def _entry(name):
    # A fixed timestamp: the same sources give the same bytes, so the same hash and file name.
    return zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
