#!/usr/bin/env bash
# Prints the directory of a `node` binary of the Node.js major the Docker image is built on (the
# current LTS), fetched from the npm registry (package node-linux-<arch>, the binary the npm `node`
# package installs) and kept in a cache. CI runs the test suite with it as well as with the
# machine's Node, so that the code is known to run on both (scripts/test.sh).
#
# The major comes from the Dockerfile's NODE_IMAGE, so the image and CI cannot drift apart.
set -euo pipefail
cd "$(dirname "$0")/.."

major="$(sed -n 's/^ARG NODE_IMAGE=node:\([0-9][0-9]*\).*/\1/p' Dockerfile)"
if [ -z "$major" ]; then
  echo "lts-node: no 'ARG NODE_IMAGE=node:<major>…' in Dockerfile" >&2
  exit 1
fi
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "lts-node: no Node.js package for $(uname -m)" >&2; exit 1 ;;
esac

cache="${PUSHCAST_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pushcast/node}"
# The newest release of that major (npm lists a range's matches in no particular order).
version="$(npm view "node-linux-${arch}@${major}" version --json 2>/dev/null | node -e '
  const found = [].concat(JSON.parse(require("fs").readFileSync(0, "utf8") || "[]"));
  const key = (v) => v.split(".").map(Number);
  found.sort((a, b) => { const x = key(a), y = key(b); return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
  process.stdout.write(found.at(-1) ?? "");')"
if [ -z "$version" ]; then
  echo "lts-node: node-linux-${arch}@${major} not found in the npm registry" >&2
  exit 1
fi
dir="$cache/$version"
if [ ! -x "$dir/bin/node" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-${arch}@${version}" >/dev/null)
  mkdir -p "$dir"
  tar xzf "$tmp"/node-linux-*.tgz -C "$dir" --strip-components=1 package/bin
fi
"$dir/bin/node" --version >/dev/null
echo "$dir/bin"
