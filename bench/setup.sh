#!/usr/bin/env bash
# Installs what the benchmark needs that npm does not bring: wrk, from Debian's packages.
set -euo pipefail
if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq wrk
fi
wrk --version 2>&1 | head -1 || true
