#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs dependencies, starts PostgreSQL and Redis when
# they are down, type-checks the tree, then runs every test (unit, integration, end to end) on the
# machine's Node and again on the Node.js LTS the Docker image is built on (scripts/lts-node.sh
# fetches it from the npm registry), so the code is known to run on both (the LTS pass leaves out
# the three files that drive Chromium, see below). PUSHCAST_TEST_LTS=0 runs
# the machine's Node only (a quicker local run); arguments are passed to vitest (e.g. one file).
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

# The two passes run side by side (each file has its own database, Redis prefix and ports), which
# keeps the whole run within CI's 15 minutes on 2 cores: run one after the other, vitest on one
# worker each (its default there), they took 931-1197 s. The LTS pass's output is kept in a file and
# printed after the machine's.
lts_pid=""
lts_log=""
if [ "${PUSHCAST_TEST_LTS:-1}" != 0 ]; then
  lts_bin="$(bash scripts/lts-node.sh)"
  if [ "$("$lts_bin/node" --version)" != "$(node --version)" ]; then
    lts_log="$(mktemp -t pushcast-tests-lts.XXXXXX)"
    echo "== tests on the image's Node $("$lts_bin/node" --version), alongside (output below when done)"
    # npx's own shebang finds `node` on PATH, so vitest and its workers run on the LTS. The files
    # that drive Chromium are left to the machine's pass: what they add is the browser's side, the
    # same on either Node, while the server code they call runs on the LTS in the other files. On
    # the slower 2-core host the whole run took 14.3 min with them (2026-12-07), against CI's 15;
    # they are ~50 s of this pass, and Chromium's own CPU beside it.
    # Node 22+ keeps compiled code on disk (NODE_COMPILE_CACHE): the ~45 child processes a pass
    # starts compile the same dependencies. 12 files took 4-5 % less CPU with it (measured with a
    # fork per file, before vitest.config.ts's isolate: false).
    PATH="$lts_bin:$PATH" NODE_COMPILE_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/pushcast/node-compile-cache" npx vitest run --passWithNoTests --exclude test/console.test.ts --exclude test/browser-sdk.test.ts --exclude test/beams-web-sdk.test.ts "$@" >"$lts_log" 2>&1 &
    lts_pid=$!
  fi
fi

echo "== tests on the machine's Node $(node --version)"
status=0
npx vitest run "$@" || status=$?

if [ -n "$lts_pid" ]; then
  lts_status=0
  wait "$lts_pid" || lts_status=$?
  echo "== tests on the image's Node $("$lts_bin/node" --version) (exit $lts_status)"
  cat "$lts_log"
  rm -f "$lts_log"
  if [ "$status" = 0 ]; then status=$lts_status; fi
fi
exit "$status"
