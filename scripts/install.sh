#!/usr/bin/env bash
# Installs floxgate as a systemd service: the executable, the unit, its system user and
# a config (from the example; an existing config is never overwritten), then enables
# and (re)starts the service. Safe to run again: an upgrade is the same command.
#
#   scripts/install.sh [--binary PATH] [--prefix DIR] [--no-start]
#   scripts/install.sh --uninstall [--purge]
#
# DESTDIR=/some/root installs into a staging root (image building, packaging, tests);
# systemctl and user creation are then skipped. See docs/operations.md.
set -euo pipefail

prog=install.sh
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

usage() {
  cat <<'USAGE'
Usage: install.sh [options]
  --binary PATH   the floxgate executable (default: dist/floxgate-linux-<arch>)
  --prefix DIR    install prefix (default /usr/local): the binary goes to DIR/bin
  --no-start      enable the service but do not (re)start it
  --uninstall     stop and remove the binary, unit and user entry; keep config and data
  --purge         with --uninstall: also delete the config, the database and the cache
  -h, --help      this text
Environment:
  DESTDIR         staging root; nothing outside it is touched and systemctl is not run
USAGE
}

binary=''
prefix=/usr/local
action=install
purge=0
start=1
while [ $# -gt 0 ]; do
  case "$1" in
  --binary) [ $# -ge 2 ] || die "--binary needs a path"; binary=$2; shift 2 ;;
  --binary=*) binary=${1#*=}; shift ;;
  --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
  --prefix=*) prefix=${1#*=}; shift ;;
  --no-start) start=0; shift ;;
  --uninstall) action=uninstall; shift ;;
  --purge) purge=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown option: $1" ;;
  esac
done
[ "$purge" = 0 ] || [ "$action" = uninstall ] || die "--purge only goes with --uninstall"
case "$prefix" in
/*) ;;
*) die "--prefix must be an absolute path, not '$prefix'" ;;
esac
case "$prefix" in
*[[:space:]#]*) die "--prefix must not contain spaces or '#': '$prefix'" ;;
esac
prefix=${prefix%/}

destdir=${DESTDIR:-}
destdir=${destdir%/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The files ship beside this script in a repository checkout (scripts/, systemd/,
# config/, dist/) or all in one folder (a release archive): look in both.
find_source() {
  local name
  for name in "$@"; do
    if [ -f "$here/../$name" ]; then
      printf '%s\n' "$here/../$name"
      return 0
    fi
    if [ -f "$here/$(basename "$name")" ]; then
      printf '%s\n' "$here/$(basename "$name")"
      return 0
    fi
  done
  return 1
}

# systemctl only when we install into this very system and systemd runs it.
use_systemd=0
if [ -n "$destdir" ]; then
  say "DESTDIR is set: not creating the user and not running systemctl"
elif [ ! -d /run/systemd/system ]; then
  say "systemd is not running on this machine: not running systemctl; enable floxgate.service yourself once it boots with systemd"
elif ! command -v systemctl >/dev/null; then
  say "systemctl not found: not enabling the service"
else
  use_systemd=1
fi

bin_path=$prefix/bin/floxgate
unit_path=/etc/systemd/system/floxgate.service
sysusers_path=/etc/sysusers.d/floxgate.conf
config_path=/etc/floxgate/floxgate.yaml

# Copies to a temp name beside the target, then renames: a running binary or a reader
# never sees a half-written file.
place() {
  local src=$1 dst=$2 mode=$3
  mkdir -p "$(dirname "$dst")"
  install -m "$mode" "$src" "$dst.tmp.$$"
  mv -f "$dst.tmp.$$" "$dst"
}

do_install() {
  local arch
  if [ -z "$binary" ]; then
    case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "no floxgate executable for $(uname -m): floxgate ships x64 and arm64 (use a 64-bit OS on the Raspberry Pi), or pass --binary PATH" ;;
    esac
    binary=$(find_source "dist/floxgate-linux-$arch" "floxgate-linux-$arch" "floxgate") ||
      die "no executable found (looked for dist/floxgate-linux-$arch): build it with 'npm run package' or pass --binary PATH"
  fi
  [ -f "$binary" ] || die "--binary $binary: no such file"
  [ -x "$binary" ] || die "--binary $binary is not executable: chmod +x it"

  local unit_src sysusers_src example
  unit_src=$(find_source systemd/floxgate.service) || die "systemd/floxgate.service not found beside $here"
  sysusers_src=$(find_source systemd/floxgate.sysusers) || die "systemd/floxgate.sysusers not found beside $here"
  example=$(find_source config/floxgate.example.yaml) || die "config/floxgate.example.yaml not found beside $here"

  place "$binary" "$destdir$bin_path" 0755
  say "installed $destdir$bin_path"

  local unit_tmp
  unit_tmp=$(mktemp)
  # The unit names /usr/local/bin/floxgate; follow --prefix.
  sed "s#^ExecStart=/usr/local/bin/floxgate #ExecStart=$bin_path #" "$unit_src" >"$unit_tmp"
  place "$unit_tmp" "$destdir$unit_path" 0644
  rm -f "$unit_tmp"
  say "installed $destdir$unit_path"

  place "$sysusers_src" "$destdir$sysusers_path" 0644
  if [ -z "$destdir" ] && command -v systemd-sysusers >/dev/null; then
    systemd-sysusers "$sysusers_path"
  fi

  if [ -e "$destdir$config_path" ]; then
    say "kept the existing $destdir$config_path"
  else
    # 0640 root:floxgate: the config may hold uplink credentials. The example's dataDir
    # (../data, for a repository checkout) becomes the unit's StateDirectory=, so
    # `floxgate status` and `floxgate export` run from a shell (no $STATE_DIRECTORY)
    # open the database the service writes.
    local config_tmp
    config_tmp=$(mktemp)
    sed 's#^\(  dataDir:\) \.\./data\b.*#\1 /var/lib/floxgate \# the unit'"'"'s StateDirectory= (status and export read it here too)#' \
      "$example" >"$config_tmp"
    place "$config_tmp" "$destdir$config_path" 0640
    rm -f "$config_tmp"
    say "installed $destdir$config_path from the example: edit it, then 'systemctl reload floxgate'"
  fi
  if [ -z "$destdir" ] && getent group floxgate >/dev/null; then
    chgrp floxgate "$config_path"
  fi

  if [ "$use_systemd" = 1 ]; then
    systemctl daemon-reload
    systemctl enable floxgate.service
    if [ "$start" = 1 ]; then
      # restart, not start: a re-run after an upgrade must load the new binary.
      systemctl restart floxgate.service
      say "floxgate is running: 'systemctl status floxgate', 'journalctl -u floxgate -f'"
    else
      say "enabled, not started (--no-start): 'systemctl start floxgate'"
    fi
  fi
}

do_uninstall() {
  if [ "$use_systemd" = 1 ]; then
    systemctl disable --now floxgate.service 2>/dev/null || true
  fi
  local f
  for f in "$bin_path" "$unit_path" "$sysusers_path"; do
    if [ -e "$destdir$f" ]; then
      rm -f "$destdir$f"
      say "removed $destdir$f"
    fi
  done
  if [ "$use_systemd" = 1 ]; then
    systemctl daemon-reload
  fi
  if [ "$purge" = 1 ]; then
    local d
    for d in /etc/floxgate /var/lib/floxgate /var/cache/floxgate; do
      if [ -e "$destdir$d" ]; then
        rm -rf "$destdir$d"
        say "purged $destdir$d"
      fi
    done
    # The floxgate user stays: a freed uid could be reused and inherit stray files.
  else
    say "kept the config ($destdir/etc/floxgate) and the data ($destdir/var/lib/floxgate); --purge deletes them"
  fi
}

case "$action" in
install) do_install ;;
uninstall) do_uninstall ;;
esac
