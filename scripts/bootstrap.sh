#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Prepare this checkout; idempotent, and quick once done.
#   scripts/bootstrap.sh demo   what `make demo` needs: util-linux and procps, .venv with requirements.txt
#   scripts/bootstrap.sh        what `make test` needs, all of:
#   - Debian packages the tests need (installed only when missing; apt-get update only then);
#     (the shellcheck package: ansible-test sanity's shellcheck test is skipped, with a warning, without it)
#   - an entry linuxns-pidns in /etc/subuid and /etc/subgid (userns: auto), where there is none
#   - .venv (python3 -m venv) with uv (requirements-bootstrap.txt), which installs the rest:
#     requirements-test.txt (which includes requirements.txt)
#   - one venv per other ansible-core version of the test matrix (tests/matrix.txt), at
#     .build/matrix/ansible-X.Y, with requirements-matrix.txt and ansible-core==X.Y.*, made with that
#     line's controller Python from pyenv (or /usr/local/bin, /usr/bin); in parallel, each with a stamp
#   - ansible-test's pip bootstrap script in its cache (for every ansible-core version: each wants its
#     own pip version), so `ansible-test sanity` works offline
#   - .build/pybin: python3.X links for every Python ansible-test checks modules with
#   - the .build/collections link (scripts/env.sh)
# A stamp (.venv/.bootstrap-stamp) holds a hash of the inputs; when it matches, pip is skipped. The demo
# has a stamp of its own (.venv/.bootstrap-demo-stamp); a full set-up serves the demo too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$(pwd)"
MODE="${1:-test}"
case "$MODE" in demo|test) ;; *) echo "usage: $0 [demo|test]" >&2; exit 2 ;; esac

log() { printf 'bootstrap: %s\n' "$*" >&2; }

# ---- Debian packages -------------------------------------------------------------------------
if [ "$MODE" = demo ]; then
    DEBS=(util-linux procps)
else
    DEBS=(util-linux procps openssh-server sudo catatonit chromium git shellcheck busybox-static uidmap iproute2 nftables iptables)
fi
missing=()
for p in "${DEBS[@]}"; do
    if ! dpkg -s "$p" >/dev/null 2>&1 || ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$p")
    fi
done
as_root() {  # command...: run it as root (through sudo when this is not root)
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        command -v sudo >/dev/null || { log "need root (or sudo) for: $*"; exit 1; }
        sudo "$@"
    fi
}
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- subordinate ids for userns: auto (tests make such sandboxes; README "A user namespace") -------
SUBID_ENTRY="linuxns-pidns:1879048192:65536000"  # _userns.EXAMPLE_ENTRY
if [ "$MODE" = test ]; then
    for f in /etc/subuid /etc/subgid; do
        if ! grep -q '^linuxns-pidns:' "$f" 2>/dev/null; then
            log "adding $SUBID_ENTRY to $f (userns: auto)"
            echo "$SUBID_ENTRY" | as_root tee -a "$f" >/dev/null
        fi
    done
fi

# ---- .venv and the installer ------------------------------------------------------------------
# Packages go in with uv (from PyPI, into .venv; requirements-bootstrap.txt): it downloads in parallel and
# compiles on every core, ~8 s for requirements-test.txt where pip took ~32 s on this 2-core machine.
# It compiles what it installs (--compile-bytecode): where PYTHONDONTWRITEBYTECODE is set nothing else
# would, and every ansible process would compile ansible-core again.
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
    log "creating .venv with $PY"
    rm -rf .venv
    "$PY" -m venv .venv
fi
UV=.venv/bin/uv
if ! "$UV" --version >/dev/null 2>&1; then
    log "installing uv into .venv (requirements-bootstrap.txt)"
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-bootstrap.txt
fi
install_into() {  # venv requirement-args...: install into that venv
    local venv="$1"
    shift
    "$UV" pip install -q --compile-bytecode --python "$venv/bin/python" "$@"
}

# ---- ansible-core test matrix: one venv per version (tests/matrix.txt) ---------------------------
# Made in the background while .venv is installed; waited for below.
find_python() {  # X.Y -> path of a working pythonX.Y with venv + ensurepip, or nothing
    local v="$1" cand
    for cand in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v" "/usr/local/bin/python$v" "/usr/bin/python$v"; do
        if [ -x "$cand" ] && "$cand" -c 'import venv, ensurepip' >/dev/null 2>&1; then
            echo "$cand"
            return 0
        fi
    done
    return 1
}
matrix_venv() {  # version controller-python: make or refresh .build/matrix/ansible-<version>
    local version="$1" pyver="$2" dir=".build/matrix/ansible-$1" py want
    py="$(find_python "$pyver")" || { log "ansible-core $version: no python$pyver with venv+ensurepip (pyenv install $pyver)"; return 1; }
    want="$({ "$py" -c 'import sys; print(sys.version)'; echo "ansible-core==$version.*"; cat requirements-matrix.txt; } | sha256sum | cut -d' ' -f1)"
    if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.bootstrap-stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    log "creating $dir (ansible-core $version.*, $py)"
    rm -rf "$dir"
    # --seed: pip in it, as python -m venv gives (ansible-test runs pip in the venv it is started from)
    { "$UV" venv -q --seed --python "$py" "$dir" && install_into "$dir" -r requirements-matrix.txt "ansible-core==$version.*"; } \
        >"$dir.log" 2>&1 || { log "ansible-core $version: install failed:"; cat "$dir.log" >&2; return 1; }
    echo "$want" >"$dir/.bootstrap-stamp"
}
MATRIX_VENVS=(.venv)
pids=()
if [ "$MODE" = test ]; then
    mkdir -p .build/matrix
    while read -r kind version pyver _; do
        if [ "$kind" != version ] || [ "$pyver" = main ]; then continue; fi
        MATRIX_VENVS+=(".build/matrix/ansible-$version")
        matrix_venv "$version" "$pyver" &
        pids+=($!)
    done <tests/matrix.txt
fi

# ---- .venv's packages --------------------------------------------------------------------------
stamp_of() {  # requirement files... -> hash of the interpreter, the files and this script
    { "$PY" -c 'import sys; print(sys.version)'; cat "$@" scripts/bootstrap.sh; } | sha256sum | cut -d' ' -f1
}
STAMP=.venv/.bootstrap-stamp
DEMO_STAMP=.venv/.bootstrap-demo-stamp
want="$(stamp_of requirements.txt requirements-test.txt)"
want_demo="$(stamp_of requirements.txt)"
if [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
    :  # the full set-up is there: it serves the demo too
elif [ "$MODE" = demo ]; then
    if [ "$(cat "$DEMO_STAMP" 2>/dev/null)" != "$want_demo" ]; then
        log "installing requirements.txt into .venv"
        install_into .venv -r requirements.txt
        echo "$want_demo" > "$DEMO_STAMP"
    fi
else
    log "installing requirements-test.txt into .venv"
    install_into .venv -r requirements-test.txt
    echo "$want" > "$STAMP"
fi
if [ "$MODE" = demo ]; then
    # shellcheck source=scripts/env.sh
    . scripts/env.sh
    log "ready for the demo ($REPO)"
    exit 0
fi

matrix_failed=0
for pid in "${pids[@]}"; do wait "$pid" || matrix_failed=1; done
[ "$matrix_failed" -eq 0 ] || { log "a matrix venv could not be made"; exit 1; }

# ---- ansible-test offline: pip bootstrap script + interpreters --------------------------------
# ansible-test bootstraps pip in its sanity virtualenvs with get-pip-<ver>.py from
# ci-files.testing.ansible.com, unless ~/.ansible/test/cache/get_pip_<ver_with_underscores>.py exists.
# The version is ansible-test's default_packages['pip'] (23.1.2 for ansible-core 2.16, 24.2 for 2.19,
# 25.2 for 2.21): one script per version of every venv.
# The interpreters: every Python the main ansible-test checks modules with, and every target Python of
# the matrix (tests/matrix.txt).
PY_VERSIONS=""
ansible_test_info() {  # venv -> "<pip version> <python versions>" of its ansible-test
    "$1/bin/python" - <<'PYEOF'
import pathlib, re
import ansible_test
root = pathlib.Path(ansible_test.__file__).parent
src = (root / "_internal" / "python_requirements.py").read_text()
pip = re.search(r"default_packages\s*=\s*dict\(\s*pip\s*=\s*'([^']+)'", src).group(1)
ns = {}
exec((root / "_util" / "target" / "common" / "constants.py").read_text(), ns)
print(pip, ",".join(ns["REMOTE_ONLY_PYTHON_VERSIONS"] + ns["CONTROLLER_PYTHON_VERSIONS"]))
PYEOF
}
for venv in "${MATRIX_VENVS[@]}"; do
    # cached beside the venv's stamp: reading it costs ~0.1 s per venv
    info="$venv/.ansible-test-info"
    if [ "$(head -n1 "$info" 2>/dev/null)" != "$(cat "$venv/.bootstrap-stamp")" ]; then
        { cat "$venv/.bootstrap-stamp"; ansible_test_info "$venv"; } >"$info.tmp" && mv "$info.tmp" "$info"
    fi
    read -r PIP_VERSION versions_of_venv < <(sed -n 2p "$info")
    if [ "$venv" = .venv ]; then PY_VERSIONS="$versions_of_venv"; fi
    GET_PIP="$HOME/.ansible/test/cache/get_pip_${PIP_VERSION//./_}.py"
    if ! cmp -s scripts/get_pip_offline.py "$GET_PIP"; then
        log "writing $GET_PIP"
        mkdir -p "$(dirname "$GET_PIP")"
        cp scripts/get_pip_offline.py "$GET_PIP"
    fi
done
PY_VERSIONS="$PY_VERSIONS,$(awk '$1 == "version" { for (i = 4; i <= NF; i++) if ($i != "-") print $i }' tests/matrix.txt | sort -u | paste -sd,)"

# ansible-test sanity --local runs compile/import on every python3.X it finds on PATH. pyenv shims
# for versions that are installed but not selected exist and fail (exit 127), which is fatal; so
# the sanity step puts .build/pybin first on PATH, with links to real interpreters only.
mkdir -p .build/pybin
IFS=, read -r -a versions <<<"$PY_VERSIONS"
declare -A seen_version=()
for v in "${versions[@]}"; do
    [ -n "${seen_version[$v]:-}" ] && continue
    seen_version[$v]=1
    link=".build/pybin/python$v"
    [ -x "$link" ] && "$link" -c 'import venv, ensurepip' >/dev/null 2>&1 && continue
    rm -f "$link"
    if found="$(find_python "$v")"; then
        ln -s "$found" "$link"
    else
        log "note: no python$v with venv+ensurepip; ansible-test sanity will skip it (and a matrix target python$v fails)"
    fi
done

# ---- collection link ---------------------------------------------------------------------------
# shellcheck source=scripts/env.sh
. scripts/env.sh
log "ready ($REPO)"
