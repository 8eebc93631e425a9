#!/usr/bin/env bash
# CI step after `npm test`: builds both single executables and smoke-tests them (x64
# natively, arm64 under qemu-user). Needs the Debian packages g++-aarch64-linux-gnu and
# qemu-user-static. About 10 s of build with a warm cache (~/.cache/floxgate-package),
# about 95 s cold (two native SQLite builds side by side).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/package.sh
FLOXGATE_REQUIRE_EXECUTABLES=1 npx vitest run test/package
