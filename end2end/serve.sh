#!/usr/bin/env bash
# Starts the release build on a fresh database for one browser-test run.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf .kiln && mkdir -p .kiln
exec ../target/release/kiln serve \
  --addr "127.0.0.1:${KILN_E2E_PORT:-3100}" \
  --database-url "sqlite://$PWD/.kiln/e2e.db" \
  --site-root ../target/site \
  --log "${KILN_LOG:-warn}"
