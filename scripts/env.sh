# shellcheck shell=bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Source this file: environment for running this checkout's collection with .venv's ansible.
#   . scripts/env.sh
# Ansible finds collections only at <path>/ansible_collections/<ns>/<name>; link the checkout there
# (tests/conftest.py makes the same link).

PIDNS_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PIDNS_REPO

_pidns_link="$PIDNS_REPO/.build/collections/ansible_collections/linuxns/pidns"
if [ "$(readlink "$_pidns_link" 2>/dev/null)" != "$PIDNS_REPO" ]; then
    mkdir -p "$(dirname "$_pidns_link")"
    rm -f "$_pidns_link"
    ln -s "$PIDNS_REPO" "$_pidns_link"
fi
unset _pidns_link

export ANSIBLE_COLLECTIONS_PATH="$PIDNS_REPO/.build/collections"
export PATH="$PIDNS_REPO/.venv/bin:$PATH"
export ANSIBLE_LOCALHOST_WARNING=False
export ANSIBLE_INVENTORY_UNPARSED_WARNING=False
