#!/usr/bin/env bash
# Builds .venv-bench: infofusion plus BMI (benchmark-mi) for benchmarks/mi_benchmark.py.
# BMI pins numpy < 2 and pandas < 2 (the `test` extra wants pandas >= 2), so the reference
# implementation lives in a venv of its own; infofusion is installed there without its deps.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-bench
.venv-bench/bin/pip install -q torch==2.13.0 "numpy<2" scipy scikit-learn rich typer \
  benchmark-mi "jax==0.4.30" "jaxlib==0.4.30" "numba>=0.60"
.venv-bench/bin/pip install -q --no-deps -e .
echo "ready: .venv-bench/bin/python benchmarks/mi_benchmark.py"
