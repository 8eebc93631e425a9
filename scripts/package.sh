#!/usr/bin/env bash
# Builds the single executables dist/floxgate-linux-x64 and dist/floxgate-linux-arm64:
# Node's own Single Executable Applications with Node $NODE_VERSION as the runtime, the
# CLI bundled to CommonJS by esbuild, the better-sqlite3 addon (compiled against that
# Node's headers, cross-compiled for arm64) and the device profiles embedded as assets.
# Works offline once the cache is warm; see docs/packaging.md.
#
# Environment:
#   FLOXGATE_PACKAGE_ARCHES  targets to build (default "x64 arm64")
#   FLOXGATE_PACKAGE_CACHE   cache for Node packages and addons (default ~/.cache/floxgate-package)
#   FLOXGATE_PACKAGE_ENTRY   bundle entry (default build/cli/main.js, after `npm run build`)
# Needs: g++, make, python3, strip; for arm64 g++-aarch64-linux-gnu (aarch64-linux-gnu-strip).
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=24.21.0
ARCHES=${FLOXGATE_PACKAGE_ARCHES:-x64 arm64}
CACHE=${FLOXGATE_PACKAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/floxgate-package}
WORK=dist/.work
SQLITE_VERSION=$(node -p "require('./node_modules/better-sqlite3/package.json').version")
# npm's own node-gyp: `npx node-gyp` may resolve another copy, and npm's config points
# node-gyp at the host Node's headers, so --nodedir is always passed explicitly.
NODE_GYP="$(dirname "$(realpath "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
started=$(date +%s)

log() { printf '[package %3ss] %s\n' "$(($(date +%s) - started))" "$*" >&2; }
die() { printf 'package: %s\n' "$*" >&2; exit 1; }

host_arch() {
  case "$(uname -m)" in
    x86_64) echo x64 ;;
    aarch64) echo arm64 ;;
    *) die "unsupported build machine $(uname -m): build on x64 or arm64 Linux" ;;
  esac
}

tool_prefix() {
  if [ "$1" = "$(host_arch)" ]; then echo ""; else
    case "$1" in
      arm64) echo aarch64-linux-gnu- ;;
      x64) echo x86_64-linux-gnu- ;;
    esac
  fi
}

# Unpacks node-linux-<arch>@NODE_VERSION from npm (binary and headers). `npm pack`, not
# `npm install`: installing a foreign-arch package fails with EBADPLATFORM.
fetch_node() {
  local arch=$1 dir="$CACHE/node-v$NODE_VERSION-linux-$1"
  if [ ! -f "$dir/.complete" ]; then
    log "fetching node-linux-$arch@$NODE_VERSION"
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null)
    tar xzf "$dir/node-linux-$arch-$NODE_VERSION.tgz" -C "$dir" --strip-components=1
    rm "$dir/node-linux-$arch-$NODE_VERSION.tgz"
    touch "$dir/.complete"
  fi
  echo "$dir"
}

# Strips the node binary once per version and arch (saves about 17 MB per executable).
stripped_node() {
  local arch=$1 nodedir=$2 out="$CACHE/node-v$NODE_VERSION-linux-$1/node.stripped"
  if [ ! -f "$out" ]; then
    "$(tool_prefix "$arch")strip" -o "$out.tmp" "$nodedir/bin/node"
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

# Node 24.19.0 made node::ObjectWrap's constructor and destructor add and remove an
# environment cleanup hook; the destructor CHECKs for an entered context, which a GC run
# from a platform task does not have, so better-sqlite3 <= 12 aborts (SIGABRT) when it
# finalizes a Statement (nodejs/node#65446, WiseLibs/better-sqlite3#1515). Addons built
# against <= 24.18 headers run cleanly on 24.19+, so build against a copy of the headers
# with those two calls removed (the hook is inline in the header, not part of the ABI).
patched_nodedir() {
  local arch=$1 nodedir=$2 out="$CACHE/nodedir-v$NODE_VERSION-linux-$1-objectwrap"
  if [ ! -f "$out/.complete" ]; then
    local header="$out/include/node/node_object_wrap.h"
    rm -rf "$out" && mkdir -p "$out"
    cp -r "$nodedir/include" "$out/"
    grep -q '^    AddCleanupHook();$' "$header" && grep -q '^    RemoveCleanupHook();$' "$header" ||
      die "node_object_wrap.h of Node $NODE_VERSION changed: review the ObjectWrap patch in $0"
    sed -i -e '/^    AddCleanupHook();$/d' -e '/^    RemoveCleanupHook();$/d' "$header"
    touch "$out/.complete"
  fi
  echo "$out"
}

# Compiles better-sqlite3 against Node NODE_VERSION's (patched) headers for <arch>, from
# the source npm installed in node_modules, in a scratch copy so node_modules stays
# untouched.
build_addon() {
  local arch=$1 nodedir
  local out="$CACHE/better-sqlite3-$SQLITE_VERSION-node-v$NODE_VERSION-linux-$arch-objectwrap.node"
  if [ ! -f "$out" ]; then
    nodedir=$(patched_nodedir "$arch" "$2")
    local src="$CACHE/build-better-sqlite3-$arch" prefix
    prefix=$(tool_prefix "$arch")
    command -v "${prefix}g++" >/dev/null || die "${prefix}g++ is missing: apt-get install g++-aarch64-linux-gnu"
    log "compiling better-sqlite3 $SQLITE_VERSION for $arch (about 80 s)"
    rm -rf "$src" && mkdir -p "$src"
    cp -r node_modules/better-sqlite3/{binding.gyp,package.json,src,deps} "$src/"
    (
      cd "$src"
      export CC="${prefix}gcc" CXX="${prefix}g++" AR="${prefix}ar" LINK="${prefix}g++"
      export CC_host=gcc CXX_host=g++
      node "$NODE_GYP" rebuild --release --nodedir="$nodedir" --arch="$arch" -j 2 \
        >"$src/build.log" 2>&1 || { tail -30 "$src/build.log" >&2; exit 1; }
    ) || die "better-sqlite3 build for $arch failed (log: $src/build.log)"
    "${prefix}strip" --strip-unneeded -o "$out.tmp" "$src/build/Release/better_sqlite3.node"
    mv "$out.tmp" "$out"
    # The patched headers are only needed to compile: 67 MB less in the cache.
    rm -rf "$src" "$nodedir"
  fi
  echo "$out"
}

# 1. The bundle (one for both targets: it is plain JavaScript).
entry=${FLOXGATE_PACKAGE_ENTRY:-}
if [ -z "$entry" ]; then
  log "npm run build"
  npm run --silent build
  entry=build/cli/main.js
fi
[ -f "$entry" ] || die "entry $entry not found: run \`npm run build\` first"
mkdir -p "$WORK" "$CACHE"
node scripts/package-bundle.mjs "$entry" "$WORK/floxgate.cjs"
log "bundled $entry ($(du -k "$WORK/floxgate.cjs" | cut -f1) kB)"

# 2. Per target: Node package, addon, SEA blob (made by Node 24 itself, so the blob format
#    matches the runtime), injected into a stripped copy of node.
host=$(host_arch)
host_nodedir=$(fetch_node "$host")
pids=()
for arch in $ARCHES; do
  nodedir=$(fetch_node "$arch")
  # The two native builds are single-threaded (one big sqlite3.c): run them side by side.
  build_addon "$arch" "$nodedir" >/dev/null &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || die "an addon build failed"; done

for arch in $ARCHES; do
  nodedir=$(fetch_node "$arch")
  addon=$(build_addon "$arch" "$nodedir")
  node_bin=$(stripped_node "$arch" "$nodedir")
  mkdir -p "$WORK/$arch"
  # The blob's code cache (V8 bytecode, about 25 % faster start) must come from the
  # target's own Node: the foreign arch runs under qemu when available, else goes without.
  code_cache=true
  sea_node=("$host_nodedir/bin/node")
  if [ "$arch" != "$host" ]; then
    if [ "$arch" = arm64 ] && command -v qemu-aarch64-static >/dev/null; then
      sea_node=(qemu-aarch64-static -L /usr/aarch64-linux-gnu "$nodedir/bin/node")
    else
      code_cache=false
    fi
  fi
  node scripts/package-sea-config.mjs "$WORK/$arch/sea-config.json" "$WORK/floxgate.cjs" \
    "$addon" devices "$WORK/$arch/sea.blob" "$code_cache" >/dev/null
  "${sea_node[@]}" --experimental-sea-config "$WORK/$arch/sea-config.json" \
    >"$WORK/$arch/sea.log" 2>&1 || { cat "$WORK/$arch/sea.log" >&2; die "SEA blob for $arch failed"; }
  exe="dist/floxgate-linux-$arch"
  cp "$node_bin" "$exe.tmp"
  # postject warns about section names of the stripped binary; harmless, so kept in a log.
  node_modules/.bin/postject "$exe.tmp" NODE_SEA_BLOB "$WORK/$arch/sea.blob" \
    --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 >"$WORK/$arch/postject.log" 2>&1 ||
    { cat "$WORK/$arch/postject.log" >&2; die "postject failed for $arch"; }
  chmod 755 "$exe.tmp"
  mv "$exe.tmp" "$exe"
  log "built $exe ($(du -m "$exe" | cut -f1) MB)"
done
log "done"
