#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs dependencies, starts PostgreSQL and Redis when
# they are down, type-checks the tree, then runs every test (unit, integration, end to end).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${CI:-}" = "true" ] || [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/ensure-services.sh
npm run build
npx vitest run "$@"
