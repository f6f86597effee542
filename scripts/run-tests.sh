#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The whole test suite (`make test`). Steps, in order:
#   unit         pytest tests/unit   (no root needed)
#   integration  pytest tests/integration   (real namespaces, ansible runs, SSH test hosts: needs root)
#   packaging    pytest tests/packaging     (ansible-galaxy build + install + ansible-doc)
#   sanity       ansible-test sanity --local on a copy at .build/sanity/ansible_collections/linuxns/pidns
#   lint         ansible-lint roles/ playbooks/
#   docs         antsibull-docs lint-collection-docs, then the docsite (plugin docs + docs/docsite/)
#                built with Sphinx into .build/docsite/build/html, offline
#   molecule     molecule test for each molecule/*/molecule.yml (delegated driver, no Docker)
# Every step runs even if an earlier one failed; the exit status is non-zero if any failed.
# Run a subset by naming steps:  scripts/run-tests.sh unit sanity
# Extra pytest options: PYTEST_ADDOPTS='-x -k name' scripts/run-tests.sh unit
# PIDNS_SKIP_BOOTSTRAP=1 skips scripts/bootstrap.sh (which reinstalls .venv when requirements-test.txt
# changes); PIDNS_SANITY_ARGS passes extra arguments to ansible-test sanity.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$(pwd)"

if [ "${PIDNS_SKIP_BOOTSTRAP:-0}" != 1 ]; then
    scripts/bootstrap.sh
fi
# shellcheck source=scripts/env.sh
. scripts/env.sh

ALL_STEPS=(unit integration packaging sanity lint docs molecule)
if [ "$#" -gt 0 ]; then STEPS=("$@"); else STEPS=("${ALL_STEPS[@]}"); fi

# Plain output in CI logs.
if [ ! -t 1 ]; then export NO_COLOR=1 ANSIBLE_NOCOLOR=1 PY_COLORS=0; fi

declare -a SUMMARY=()
FAILED=0

banner() { printf '\n==================== %s ====================\n' "$*"; }

# Noise from this machine's pip configuration (file:// extra indexes without every project).
PIP_NOISE="^WARNING: Location 'file://.*' is ignored: it is neither a file nor a directory\.\$"

has_tests() {
    [ -d "$1" ] && [ -n "$(find "$1" \( -name '__pycache__' -prune \) -o -type f \( -name 'test_*.py' -o -name '*_test.py' \) -print -quit)" ]
}

run_pytest() {  # dir
    local dir="$1" rc=0
    if ! has_tests "$dir"; then
        echo "no test files under $dir yet: skipped"
        return 200
    fi
    python -m pytest -ra "$dir" || rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "pytest collected no tests from $dir although it has test files: FAILED"
    fi
    return "$rc"
}

step_unit() { run_pytest tests/unit; }

step_integration() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "WARNING: not root: integration tests that create namespaces will skip themselves"
    fi
    run_pytest tests/integration
}

step_packaging() { run_pytest tests/packaging; }

step_sanity() {
    local dest="$REPO/.build/sanity/ansible_collections/linuxns/pidns" rc=0
    # ansible-test wants the collection at .../ansible_collections/<ns>/<name>. It lists files with git
    # when it finds a .git at or above that directory, so without its own repository the copy would
    # be seen through this checkout's .git (where .build/ is ignored) as empty: hence `git init`.
    rm -rf "$REPO/.build/sanity"
    mkdir -p "$dest"
    git ls-files -z -co --exclude-standard \
        | while IFS= read -r -d '' f; do
              if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
          done \
        | xargs -0 -r cp -P --parents -t "$dest"
    git -C "$dest" init -q
    (
        cd "$dest"
        unset ANSIBLE_COLLECTIONS_PATH
        # .build/pybin: real python3.8 ... python3.13 (see bootstrap.sh) for compile/import.
        export PATH="$REPO/.build/pybin:$PATH"
        ansible-test sanity --local --requirements --color no "${SANITY_ARGS[@]}" 2>&1 \
            | grep --line-buffered -v -E "$PIP_NOISE"
        exit "${PIPESTATUS[0]}"
    ) || rc=$?
    return "$rc"
}
SANITY_ARGS=()
if [ -n "${PIDNS_SANITY_ARGS:-}" ]; then read -r -a SANITY_ARGS <<<"$PIDNS_SANITY_ARGS"; fi

step_lint() {
    local targets=() d
    for d in roles playbooks; do
        [ -d "$d" ] && [ -n "$(find "$d" -type f \( -name '*.yml' -o -name '*.yaml' \) -print -quit)" ] && targets+=("$d")
    done
    if [ "${#targets[@]}" -eq 0 ]; then
        echo "no roles/ or playbooks/ yet: skipped"
        return 200
    fi
    # ansible-lint --offline puts $ANSIBLE_HOME/collections (default ~/.ansible/collections) before the
    # configured path: a copy of this collection installed there once (for example by ansible-lint
    # without --offline) would shadow the checkout, and plugins added since would be "unknown".
    # A home of its own under .build/ keeps lint on this checkout (.build/collections links it).
    mkdir -p "$REPO/.build/lint-home"
    ANSIBLE_HOME="$REPO/.build/lint-home" ansible-lint --offline "${targets[@]}"
}

# Sphinx warnings the offline build cannot avoid: references into the Ansible docs (ansible.builtin
# plugins, common_return_values, ...) resolve only through intersphinx, which needs the network.
# Undefined labels of this collection (ansible_collections.linuxns.pidns.*) still fail the step.
DOCS_OFFLINE_WARNINGS="undefined label: '(?!ansible_collections\.linuxns\.pidns\.)"

step_docs() {
    local site="$REPO/.build/docsite" rc=0
    antsibull-docs lint-collection-docs --plugin-docs . || rc=$?
    rm -rf "$site"
    mkdir -p "$site"
    antsibull-docs sphinx-init --use-current --dest-dir "$site" linuxns.pidns >/dev/null || return 1
    # No intersphinx: its inventories are on the internet.
    echo "intersphinx_mapping = {}" >>"$site/conf.py"
    mkdir -p "$site/rst"
    chmod og-w "$site/rst"  # antsibull-docs wants that directory writable only by itself
    antsibull-docs --config-file "$site/antsibull-docs.cfg" collection --cleanup everything --use-current \
        --dest-dir "$site/rst" linuxns.pidns || return 1
    # antsibull-docs reports broken plugin docs as "ERROR:antsibull" but goes on; its
    # lint-collection-docs above fails on them. Sphinx: every warning fails, except the offline ones.
    sphinx-build -M html "$site/rst" "$site/build" -c "$site" -q -w "$site/warnings.log" || rc=$?
    if grep -v -P "$DOCS_OFFLINE_WARNINGS" "$site/warnings.log" | grep -q .; then
        echo "Sphinx warnings:"
        grep -v -P "$DOCS_OFFLINE_WARNINGS" "$site/warnings.log"
        rc=1
    fi
    [ -f "$site/build/html/collections/linuxns/pidns/index.html" ] || rc=1
    [ "$rc" -eq 0 ] && echo "docsite: $site/build/html/collections/linuxns/pidns/index.html"
    return "$rc"
}

step_molecule() {
    local scenarios=() f rc=0
    for f in molecule/*/molecule.yml; do
        [ -f "$f" ] && scenarios+=("$(basename "$(dirname "$f")")")
    done
    if [ "${#scenarios[@]}" -eq 0 ]; then
        echo "no molecule scenarios yet: skipped"
        return 200
    fi
    local s
    for s in "${scenarios[@]}"; do
        echo "--- molecule scenario: $s"
        molecule test -s "$s" || rc=1
    done
    return "$rc"
}

START=$SECONDS
for step in "${STEPS[@]}"; do
    if ! declare -F "step_$step" >/dev/null; then
        echo "unknown step: $step (known: ${ALL_STEPS[*]})" >&2
        exit 2
    fi
    banner "$step"
    t0=$SECONDS
    rc=0
    "step_$step" || rc=$?
    dt=$((SECONDS - t0))
    case "$rc" in
        0)   SUMMARY+=("$(printf '%-12s passed   %4ds' "$step" "$dt")") ;;
        200) SUMMARY+=("$(printf '%-12s skipped  %4ds  (nothing to run yet)' "$step" "$dt")") ;;
        *)   SUMMARY+=("$(printf '%-12s FAILED   %4ds  (exit %s)' "$step" "$dt" "$rc")"); FAILED=$((FAILED + 1)) ;;
    esac
done

banner "summary"
printf '%s\n' "${SUMMARY[@]}"
if [ "$FAILED" -gt 0 ]; then
    echo "RESULT: $FAILED step(s) FAILED in $((SECONDS - START))s"
    exit 1
fi
echo "RESULT: all steps passed in $((SECONDS - START))s"
