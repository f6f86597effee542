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
#   molecule     molecule test for each molecule/*/molecule.yml (delegated driver, no Docker), then the
#                README's recipe for a role of one's own (tests/recipes)
#   matrix       every ansible-core minor meta/runtime.yml claims (2.16 ... 2.21), each in its own venv
#                (.build/matrix/, made by bootstrap.sh), running only what differs per version
#                (tests/matrix.txt): the plugins' unit tests on its controller Python, the integration subset
#                with the modules on one target Python chosen pairwise (the oldest, 3.8, and the newest,
#                3.13, each run; 2.19 is the integration step's; the oldest and the newest version run
#                more: ends-test), and ansible-test sanity on the oldest and newest version without the
#                style checks; PIDNS_MATRIX_JOBS jobs at a time (default 3), one summary line per version
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

ALL_STEPS=(unit integration packaging sanity lint docs molecule matrix)
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

run_pytest() {  # dir [pytest options...]
    local dir="$1" rc=0
    shift
    if ! has_tests "$dir"; then
        echo "no test files under $dir yet: skipped"
        return 200
    fi
    python -m pytest -ra "$@" "$dir" || rc=$?
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
    # In parallel: the tests use unique names and free ports, and clean up by name or PID. One module's
    # tests stay on one worker (--dist loadscope), so module-scoped fixtures (the SSH test hosts) are
    # made once. They wait on subprocesses much of the time: 3 workers keep 2 cores busy.
    run_pytest tests/integration -n "${PIDNS_INTEGRATION_WORKERS:-3}" --dist loadscope --durations 25
}

step_packaging() { run_pytest tests/packaging; }

copy_checkout() {  # dest: this checkout's files (tracked and untracked, not ignored), in a repository of its own
    local dest="$1"
    mkdir -p "$dest"
    git -C "$REPO" ls-files -z -co --exclude-standard \
        | while IFS= read -r -d '' f; do
              if [ -e "$REPO/$f" ] || [ -L "$REPO/$f" ]; then printf '%s\0' "$f"; fi
          done \
        | (cd "$REPO" && xargs -0 -r cp -P --parents -t "$dest")
    git -C "$dest" init -q
}

sanity_at() {  # dest venv-bin: ansible-test sanity --local on a copy of this checkout at dest
    local dest="$1" bin="$2"
    copy_checkout "$dest"
    (
        cd "$dest"
        unset ANSIBLE_COLLECTIONS_PATH
        # .build/pybin: real python3.8 ... python3.13 (see bootstrap.sh) for compile/import.
        PATH="$REPO/.build/pybin:$bin:$PATH" ansible-test sanity --local --requirements --color no "${SANITY_ARGS[@]}" 2>&1 \
            | grep --line-buffered -v -E "$PIP_NOISE"
        exit "${PIPESTATUS[0]}"
    )
}

step_sanity() {
    # ansible-test wants the collection at .../ansible_collections/<ns>/<name>. It lists files with git
    # when it finds a .git at or above that directory, so without its own repository the copy would
    # be seen through this checkout's .git (where .build/ is ignored) as empty: hence `git init`.
    rm -rf "$REPO/.build/sanity"
    sanity_at "$REPO/.build/sanity/ansible_collections/linuxns/pidns" "$REPO/.venv/bin"
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
# Undefined labels of this collection (ansible_collections.linuxns.pidns.*) still fail the step. Ansible's
# own environment variables (the connection_pipelining fragment's ANSIBLE_PIPELINING) are in its docs too.
DOCS_OFFLINE_WARNINGS="undefined label: '(?!ansible_collections\.linuxns\.pidns\.)|'envvar' reference target not found: ANSIBLE_"

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
    echo "--- the README's recipe for your own role (tests/recipes)"
    run_pytest tests/recipes || rc=1
    return "$rc"
}

# ---- matrix: every ansible-core version meta/runtime.yml claims x the target Pythons it supports ----------
# tests/matrix.txt lists the versions (with controller and target Pythons), the integration subset and
# the versions that also get sanity. Jobs: per version the unit tests (controller Python), the subset once
# per target Python (PIDNS_TARGET_PYTHON: tests/ansible_cli.py, tests/integration/fleet.py), and sanity;
# PIDNS_MATRIX_JOBS at a time (default 3 on the 2-core CI machine: each job waits on ansible, sshd and
# Chromium subprocesses about half of its time). Logs: .build/matrix/logs/.
MATRIX_DIR="$REPO/.build/matrix"

matrix_venv_of() {  # version -> its venv
    if [ "$2" = main ]; then echo "$REPO/.venv"; else echo "$MATRIX_DIR/ansible-$1"; fi
}

# pytest's junit XML -> "<passed> <failed> <errors> <skipped>"
junit_counts() {
    python - "$1" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("0 0 1 0")
    sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tests, failures, errors, skipped = (sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped"))
print(tests - failures - errors - skipped, failures, errors, skipped)
PYEOF
}

matrix_unit_paths() {  # version -> the unit test paths its job runs
    local entry python first="" seen
    seen=" main $("$REPO/.venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') "
    for entry in "${MATRIX_CONTROLLER_PYTHON[@]}"; do
        python="${entry#*=}"
        # the first version with a controller Python not seen before runs the standard-library tests on it
        if [[ "$seen" != *" $python "* ]]; then
            seen+="$python "
            [ "${entry%%=*}" = "$1" ] && first=1
        fi
    done
    printf '%s\n' "${MATRIX_UNIT[@]}"
    [ -n "$first" ] && printf '%s\n' "${MATRIX_PYTHON_UNIT[@]}"
    return 0
}

matrix_job() {  # kind version venv [target]: one job; writes logs/<id>.log and logs/<id>.result
    local kind="$1" version="$2" venv="$3" target="${4:-}" id rc=0 counts tmp
    id="$version-$kind"
    [ "$kind" = integration ] && id+="${target:+-py$target}"
    local log="$MATRIX_DIR/logs/$id.log" result="$MATRIX_DIR/logs/$id.result" xml="$MATRIX_DIR/logs/$id.xml"
    local t0=$SECONDS
    rm -f "$xml"
    tmp="$(mktemp -d "/tmp/pidns-matrix-$id-XXXXXX")"
    case "$kind" in
        unit)
            # the plugins' unit tests; the standard-library-only ones too where this controller Python
            # is not already covered (matrix_unit_paths)
            # shellcheck disable=SC2046  # one path per word
            "$venv/bin/python" -m pytest -p no:cacheprovider -ra --basetemp "$tmp/pytest" --junitxml "$xml" \
                $(matrix_unit_paths "$version") >"$log" 2>&1 || rc=$?
            ;;
        integration)
            local python="$REPO/.build/pybin/python$target" seen
            # the override must reach the modules: ask a module which Python it runs on
            seen="$(PIDNS_TARGET_PYTHON="$python" "$venv/bin/python" -c '
import json, subprocess, sys
sys.path.insert(0, "tests")
from ansible_cli import ansible_env
proc = subprocess.run([sys.executable.rsplit("/", 1)[0] + "/ansible", "localhost", "-c", "local", "-i", "localhost,",
                       "-m", "ansible.builtin.setup", "-a", "filter=ansible_python_version"],
                      env=ansible_env(), capture_output=True, text=True, check=False)
out = proc.stdout
print(json.loads(out[out.index("{"):])["ansible_facts"]["ansible_python_version"] if "{" in out else "?")
' 2>>"$log")" || true
            if [ "${seen%.*}" != "$target" ]; then
                echo "modules ran on Python $seen, not $target ($python)" >>"$log"
                rc=1
            else
                local tests=("${MATRIX_TESTS[@]}")
                [[ " $MATRIX_ENDS " == *" $version "* ]] && tests+=("${MATRIX_ENDS_TESTS[@]}")
                PIDNS_TARGET_PYTHON="$python" "$venv/bin/python" -m pytest -p no:cacheprovider -ra --basetemp "$tmp/pytest" \
                    --junitxml "$xml" "${MATRIX_DESELECT[@]}" "${tests[@]}" >>"$log" 2>&1 || rc=$?
            fi
            ;;
        sanity)
            SANITY_ARGS+=("${MATRIX_SANITY_SKIP[@]}")
            # compile and import on the version's target Python only: what differs per version is
            # ansible-core's rules (the sanity step checks every Python with 2.19's ansible-test)
            [ -n "$target" ] && SANITY_ARGS+=(--python "$target")
            sanity_at "$tmp/ansible_collections/linuxns/pidns" "$venv/bin" >"$log" 2>&1 || rc=$?
            ;;
    esac
    rm -rf "$tmp"
    if [ "$kind" = sanity ]; then
        local ran failed total
        ran="$(grep -c -E "^Running sanity test [\"']" "$log" || true)"
        read -r failed total < <(sed -n -E 's/^(ERROR|FATAL): The ([0-9]+) sanity test\(s\) listed below \(out of ([0-9]+)\) failed.*/\2 \3/p' "$log" | tail -n1) || true
        if [ -z "${failed:-}" ]; then
            failed=$([ "$rc" -eq 0 ] && echo 0 || echo 1)
            total="$ran"
        fi
        counts="$((total - failed)) $failed 0 0"
    elif [ -f "$xml" ]; then
        counts="$(junit_counts "$xml")"
    else
        counts="0 0 1 0"
    fi
    # a skipped test proves nothing about this version: it fails the job
    read -r _ f e s <<<"$counts"
    if [ "$rc" -eq 0 ] && { [ "$s" != 0 ] || [ "$f" != 0 ] || [ "$e" != 0 ]; }; then rc=1; fi
    echo "$rc $((SECONDS - t0)) $counts" >"$result"
}

step_matrix() {
    local jobs="${PIDNS_MATRIX_JOBS:-3}" kind a b c rc=0 v
    local -a versions=() sanity=() queue=()
    local -A controller=() tpy=()
    MATRIX_TESTS=()
    MATRIX_ENDS_TESTS=()
    MATRIX_DESELECT=()
    MATRIX_UNIT=()
    MATRIX_PYTHON_UNIT=()
    MATRIX_SANITY_SKIP=()
    while read -r kind a b c; do
        case "$kind" in
            # "-": no integration run here (the main version's runs in the integration step)
            version) versions+=("$a"); controller[$a]="$b"; tpy[$a]="${c/#-/}" ;;
            sanity) sanity+=("$a") ;;
            matrix-sanity-skip) MATRIX_SANITY_SKIP+=(--skip-test "$a") ;;
            unit) MATRIX_UNIT+=("$a") ;;
            python-unit) MATRIX_PYTHON_UNIT+=("$a") ;;
            test) MATRIX_TESTS+=("$a") ;;
            ends-test) MATRIX_ENDS_TESTS+=("$a") ;;
            deselect) MATRIX_DESELECT+=(--deselect "$a") ;;
            *) echo "tests/matrix.txt: unknown line kind '$kind'"; return 1 ;;
        esac
    done < <(grep -v -E '^\s*(#|$)' tests/matrix.txt)
    MATRIX_CONTROLLER_PYTHON=()
    local with_target=()
    for v in "${versions[@]}"; do
        MATRIX_CONTROLLER_PYTHON+=("$v=${controller[$v]}")
        [ -n "${tpy[$v]}" ] && with_target+=("$v")
    done
    # the oldest and the newest version with an integration run also get the ends-test lines
    MATRIX_ENDS=""
    [ "${#with_target[@]}" -eq 0 ] || MATRIX_ENDS="${with_target[0]} ${with_target[-1]}"
    rm -rf "$MATRIX_DIR/logs"
    mkdir -p "$MATRIX_DIR/logs"

    # the table must agree with what each ansible-core supports (ansible-test's constants)
    local venv t supported
    for v in "${versions[@]}"; do
        venv="$(matrix_venv_of "$v" "${controller[$v]}")"
        if ! "$venv/bin/python" -c "import ansible, sys; sys.exit(not ansible.__version__.startswith('$v.'))" 2>/dev/null; then
            echo "ansible-core $v: $venv is missing or has another version (run scripts/bootstrap.sh)"
            return 1
        fi
        supported="$(sed -n 2p "$venv/.ansible-test-info" | cut -d' ' -f2)"
        for t in ${tpy[$v]}; do
            if [[ ",$supported," != *",$t,"* ]]; then
                echo "tests/matrix.txt: ansible-core $v does not support target Python $t (it does: $supported)"
                return 1
            fi
            [ -x "$REPO/.build/pybin/python$t" ] || { echo "no .build/pybin/python$t (scripts/bootstrap.sh)"; return 1; }
        done
    done

    # longest first: sanity, then the integration runs, then the unit runs
    for v in "${sanity[@]}"; do queue+=("sanity $v $(matrix_venv_of "$v" "${controller[$v]}") ${tpy[$v]}"); done
    for v in "${versions[@]}"; do
        for t in ${tpy[$v]}; do queue+=("integration $v $(matrix_venv_of "$v" "${controller[$v]}") $t"); done
    done
    for v in "${versions[@]}"; do
        [ "${controller[$v]}" = main ] && continue  # the unit step runs them with .venv
        queue+=("unit $v $(matrix_venv_of "$v" "${controller[$v]}")")
    done
    echo "${#queue[@]} jobs, $jobs at a time; logs in $MATRIX_DIR/logs/"
    local job running=0
    for job in "${queue[@]}"; do
        if [ "$running" -ge "$jobs" ]; then
            wait -n || true  # a job's status is in its .result file
            running=$((running - 1))
        fi
        # shellcheck disable=SC2086  # job is "kind version venv [target]"
        matrix_job $job &
        running=$((running + 1))
    done
    wait

    # one line per version; the log's end for every failed job
    local id res jrc dt p f e s parts failed_ids=()
    for v in "${versions[@]}"; do
        venv="$(matrix_venv_of "$v" "${controller[$v]}")"
        parts=""
        for id in "$v-unit" $(for t in ${tpy[$v]}; do echo "$v-integration-py$t"; done) "$v-sanity"; do
            res="$MATRIX_DIR/logs/$id.result"
            if [ ! -f "$res" ]; then
                [ "$id" = "$v-unit" ] && [ "${controller[$v]}" = main ] && parts+="  unit: in the unit step;"
                continue
            fi
            read -r jrc dt p f e s <"$res"
            parts+="$(printf '  %s %s passed, %s failed' "${id#"$v"-}" "$p" "$f")"
            [ "$e" = 0 ] || parts+=", $e errors"
            [ "$s" = 0 ] || parts+=", $s skipped"
            parts+=" (${dt}s)$([ "$jrc" -eq 0 ] || echo ' FAILED');"
            [ "$jrc" -eq 0 ] || { failed_ids+=("$id"); rc=1; }
        done
        [ -z "${tpy[$v]}" ] && parts+="  integration: in the integration step;"
        printf 'ansible-core %s (controller Python %s) targets %s:%s\n' \
            "$("$venv/bin/python" -c 'import ansible; print(ansible.__version__)')" \
            "$("$venv/bin/python" -c 'import platform; print(platform.python_version())')" \
            "${tpy[$v]:-that of .venv}" "${parts%;}"
    done
    for id in "${failed_ids[@]}"; do
        printf '\n---- %s FAILED; the end of %s:\n' "$id" "$MATRIX_DIR/logs/$id.log"
        tail -n 60 "$MATRIX_DIR/logs/$id.log"
    done
    return "$rc"
}

# ---- running the steps ----------------------------------------------------------------------------
# The whole suite runs in two lanes at once (a fresh-clone run: integration 445 s then docs, lint,
# packaging and unit 135 s, beside sanity and molecule 373 s then the matrix 261 s), each step's output
# kept in .build/logs/<step>.log and printed whole when the step ends. The integration tests and the
# matrix barely overlap: run side by side they took 589 s and 502 s, and 72 CPU-s more (both start
# many processes at once). Named steps run one after the other, their output as it comes.
LOG_DIR="$REPO/.build/logs"
LANES=("integration docs lint packaging unit" "sanity molecule matrix")

for step in "${STEPS[@]}"; do
    if ! declare -F "step_$step" >/dev/null; then
        echo "unknown step: $step (known: ${ALL_STEPS[*]})" >&2
        exit 2
    fi
done

record() {  # step rc seconds [cpu-seconds]
    local cpu="${4:+$(printf '  (CPU %ds)' "$4")}"
    case "$2" in
        0)   SUMMARY+=("$(printf '%-12s passed   %4ds%s' "$1" "$3" "$cpu")") ;;
        200) SUMMARY+=("$(printf '%-12s skipped  %4ds  (nothing to run yet)' "$1" "$3")") ;;
        *)   SUMMARY+=("$(printf '%-12s FAILED   %4ds%s  (exit %s)' "$1" "$3" "$cpu" "$2")"); FAILED=$((FAILED + 1)) ;;
    esac
}

children_cpu() {  # `times` output on stdin -> CPU seconds (user + sys) of the waited-for children
    awk 'function sec(t) { split(t, p, "m"); return p[1] * 60 + p[2] }
         NR == 2 { printf "%d", sec($1) + sec($2) }'
}

run_logged() {  # step: run it with its output in its log; status, seconds and CPU seconds in <step>.result
    local step="$1" t0=$SECONDS rc=0 before after
    # `times` in this shell (a command substitution would be a new process with nothing counted yet)
    times >"$LOG_DIR/$step.times"
    before="$(children_cpu <"$LOG_DIR/$step.times")"
    ( "step_$step" ) >"$LOG_DIR/$step.log" 2>&1 </dev/null || rc=$?
    times >"$LOG_DIR/$step.times"
    after="$(children_cpu <"$LOG_DIR/$step.times")"
    echo "$rc $((SECONDS - t0)) $((after - before))" >"$LOG_DIR/$step.result"
}

START=$SECONDS
IN_LANES=0
if [ "$#" -eq 0 ] && [ "${PIDNS_LANES:-1}" = 1 ]; then
    IN_LANES=1
    rm -rf "$LOG_DIR"
    mkdir -p "$LOG_DIR"
    lane_pids=()
    for lane in "${LANES[@]}"; do
        # shellcheck disable=SC2086  # a lane is a list of steps
        ( for step in $lane; do run_logged "$step"; done ) &
        lane_pids+=($!)
        echo "lane started: $lane"
    done
    declare -A shown=()
    while :; do
        running=0
        for pid in "${lane_pids[@]}"; do kill -0 "$pid" 2>/dev/null && running=1; done
        for step in "${STEPS[@]}"; do
            if [ -z "${shown[$step]:-}" ] && [ -f "$LOG_DIR/$step.result" ]; then
                shown[$step]=1
                banner "$step"
                cat "$LOG_DIR/$step.log"
            fi
        done
        [ "$running" -eq 0 ] && break
        sleep 2
    done
    wait
    for step in "${STEPS[@]}"; do
        if [ -f "$LOG_DIR/$step.result" ]; then
            read -r rc dt cpu <"$LOG_DIR/$step.result"
        else
            rc=1 dt=0 cpu=""
            echo "step $step left no result"
        fi
        record "$step" "$rc" "$dt" "$cpu"
    done
else
    for step in "${STEPS[@]}"; do
        banner "$step"
        t0=$SECONDS
        rc=0
        "step_$step" || rc=$?
        record "$step" "$rc" "$((SECONDS - t0))"
    done
fi

banner "summary"
printf '%s\n' "${SUMMARY[@]}"
if [ "$IN_LANES" = 1 ]; then
    echo "(CPU: user + sys of each step's processes that were waited for; logs in $LOG_DIR)"
fi
if [ "$FAILED" -gt 0 ]; then
    echo "RESULT: $FAILED step(s) FAILED in $((SECONDS - START))s"
    exit 1
fi
echo "RESULT: all steps passed in $((SECONDS - START))s"
