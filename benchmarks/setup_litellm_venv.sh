#!/usr/bin/env bash
# A separate virtualenv with LiteLLM's proxy, used only by benchmarks/bench_proxy_latency.py
# (LiteLLM is never a dependency of aco).
set -euo pipefail
VENV="${LITELLM_VENV:-/tmp/litellm-venv}"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet 'litellm[proxy]'
"$VENV/bin/litellm" --version || true
echo "LiteLLM proxy installed in $VENV"
