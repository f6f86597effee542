#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Prepare this checkout for `make demo` / `make test`; idempotent, and quick once done:
#   - Debian packages the tests need (installed only when missing; apt-get update only then);
#     (the shellcheck package: ansible-test sanity's shellcheck test is skipped, with a warning, without it)
#   - .venv (python3 -m venv) with requirements-test.txt
#   - ansible-test's pip bootstrap script in its cache, so `ansible-test sanity` works offline
#   - .build/pybin: python3.X links for every Python ansible-test checks modules with
#   - the .build/collections link (scripts/env.sh)
# A stamp (.venv/.bootstrap-stamp) holds a hash of the inputs; when it matches, pip is skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$(pwd)"

log() { printf 'bootstrap: %s\n' "$*" >&2; }

# ---- Debian packages -------------------------------------------------------------------------
DEBS=(util-linux openssh-server sudo catatonit chromium git shellcheck)
missing=()
for p in "${DEBS[@]}"; do
    if ! dpkg -s "$p" >/dev/null 2>&1 || ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { log "need root (or sudo) to install: ${missing[*]}"; exit 1; }
        SUDO=(sudo)
    fi
    log "installing Debian packages: ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- virtualenv ------------------------------------------------------------------------------
PY="${PYTHON:-python3}"
stamp_of() {
    { "$PY" -c 'import sys; print(sys.version)'; cat requirements-test.txt scripts/bootstrap.sh; } | sha256sum | cut -d' ' -f1
}
STAMP=.venv/.bootstrap-stamp
want="$(stamp_of)"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
    log "creating .venv with $PY"
    rm -rf .venv
    "$PY" -m venv .venv
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    log "installing requirements-test.txt into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-test.txt
    echo "$want" > "$STAMP"
fi

# ---- ansible-test offline: pip bootstrap script + interpreters --------------------------------
# ansible-test bootstraps pip in its sanity virtualenvs with get-pip-<ver>.py from
# ci-files.testing.ansible.com, unless ~/.ansible/test/cache/get_pip_<ver_with_underscores>.py exists.
# The version is ansible-test's default_packages['pip'] (24.2 for ansible-core 2.19).
read -r PIP_VERSION PY_VERSIONS < <(.venv/bin/python - <<'PYEOF'
import pathlib, re
import ansible_test
root = pathlib.Path(ansible_test.__file__).parent
src = (root / "_internal" / "python_requirements.py").read_text()
pip = re.search(r"default_packages\s*=\s*dict\(\s*pip\s*=\s*'([^']+)'", src).group(1)
ns = {}
exec((root / "_util" / "target" / "common" / "constants.py").read_text(), ns)
print(pip, ",".join(ns["REMOTE_ONLY_PYTHON_VERSIONS"] + ns["CONTROLLER_PYTHON_VERSIONS"]))
PYEOF
)
GET_PIP="$HOME/.ansible/test/cache/get_pip_${PIP_VERSION//./_}.py"
if ! cmp -s scripts/get_pip_offline.py "$GET_PIP"; then
    log "writing $GET_PIP"
    mkdir -p "$(dirname "$GET_PIP")"
    cp scripts/get_pip_offline.py "$GET_PIP"
fi

# ansible-test sanity --local runs compile/import on every python3.X it finds on PATH. pyenv shims
# for versions that are installed but not selected exist and fail (exit 127), which is fatal; so
# the sanity step puts .build/pybin first on PATH, with links to real interpreters only.
mkdir -p .build/pybin
IFS=, read -r -a versions <<<"$PY_VERSIONS"
for v in "${versions[@]}"; do
    link=".build/pybin/python$v"
    [ -x "$link" ] && "$link" -c 'import venv, ensurepip' >/dev/null 2>&1 && continue
    rm -f "$link"
    found=""
    for cand in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v" "/usr/local/bin/python$v" "/usr/bin/python$v"; do
        if [ -x "$cand" ] && "$cand" -c 'import venv, ensurepip' >/dev/null 2>&1; then
            found="$cand"
            break
        fi
    done
    if [ -n "$found" ]; then
        ln -s "$found" "$link"
    else
        log "note: no python$v with venv+ensurepip; ansible-test sanity will skip it"
    fi
done

# ---- collection link ---------------------------------------------------------------------------
# shellcheck source=scripts/env.sh
. scripts/env.sh
log "ready ($REPO)"
