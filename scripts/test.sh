#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs dependencies, starts PostgreSQL and Redis when
# they are down, type-checks the tree, then runs every test (unit, integration, end to end).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${CI:-}" = "true" ] || [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/ensure-services.sh
# The browser tests (test/browser-sdk.test.ts) drive Debian's Chromium; installed when missing.
# Without it they fail in CI and are skipped elsewhere.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo -n"; fi
  echo "installing chromium for the browser tests (apt-get)…"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium; } >/tmp/pushcast-chromium-install.log 2>&1; then
    echo "warning: chromium could not be installed (see /tmp/pushcast-chromium-install.log)" >&2
  fi
fi
npm run build
npx vitest run "$@"
