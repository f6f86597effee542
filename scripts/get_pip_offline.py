# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline stand-in for ansible-test's downloaded get-pip bootstrap script.

scripts/bootstrap.sh copies this file to ~/.ansible/test/cache/get_pip_<version>.py, where
ansible-test looks before downloading https://ci-files.testing.ansible.com/ansible-test/get-pip-<v>.py
(unreachable on these machines). ansible-test runs it as ``python get_pip_X.py <pip args>`` inside a
fresh virtualenv created ``--without-pip``: seed pip from the stdlib ``ensurepip`` wheel, then let that
pip install what ansible-test asked for (e.g. ``pip==24.2``) from the configured package index.
"""

import subprocess
import sys

DROP = ("--no-setuptools", "--no-wheel")


def main():
    args = [a for a in sys.argv[1:] if a not in DROP]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)
