#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests of sync/store/postgres.
#
# Sourced by .ci/run:   . .ci/postgres.sh; hs_pg_start; trap hs_pg_stop EXIT
# By hand:              eval "$(.ci/postgres.sh start)"   ...   .ci/postgres.sh stop "$HS_PG_DIR"
#
# hs_pg_start installs PostgreSQL from the package manager when it is missing,
# runs initdb into a new temporary directory (as the unprivileged user
# "nobody" when run as root, since initdb refuses root), starts the server on
# a free 127.0.0.1 port with fsync on and a random password (SCRAM), creates
# the database healthsync_test and exports HEALTHSYNC_TEST_POSTGRES_URL and
# HS_PG_DIR. hs_pg_stop stops the server and removes the directory.

hs_pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && echo "$d"
  done | sort -V | tail -n 1
}

# hs_pg_as runs a command as the cluster's owner.
hs_pg_as() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

# hs_pg_free_port prints a loopback TCP port nothing listens on.
hs_pg_free_port() {
  local p i
  for i in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

hs_pg_start() {
  local bin dir port pw tries
  bin=$(hs_pg_bindir)
  if [ -z "$bin" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(hs_pg_bindir)
  fi
  if [ -z "$bin" ]; then
    echo "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)" >&2
    return 1
  fi
  dir=$(mktemp -d /tmp/hs-pg.XXXXXX)
  chmod 755 "$dir"
  pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  printf '%s\n' "$pw" >"$dir/pwfile"
  mkdir "$dir/data" "$dir/run"
  if [ "$(id -u)" = 0 ]; then chown -R nobody "$dir"; fi
  # A linguistic default collation (ICU en-US, where 'a' < 'B'), so a list
  # the store must keep in byte order shows a missing COLLATE "C". Without
  # ICU (PostgreSQL before 15, or built without it) the C locale.
  if ! hs_pg_as "$bin/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 --pwfile="$dir/pwfile" \
    --encoding=UTF8 --locale=C.UTF-8 --locale-provider=icu --icu-locale=en-US >"$dir/initdb.log" 2>&1; then
    hs_pg_as rm -rf "$dir/data"
    hs_pg_as mkdir "$dir/data"
    hs_pg_as "$bin/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 --pwfile="$dir/pwfile" \
      --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  fi
  rm -f "$dir/pwfile"
  for tries in 1 2 3; do
    port=$(hs_pg_free_port) || return 1
    if hs_pg_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir/run -c fsync=on -c max_connections=200" >/dev/null; then
      break
    fi
    port=""
  done
  if [ -z "$port" ]; then
    cat "$dir/server.log" >&2
    return 1
  fi
  PGPASSWORD=$pw "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c 'CREATE DATABASE healthsync_test' >/dev/null || return 1
  export HS_PG_DIR=$dir HS_PG_BIN=$bin
  export HEALTHSYNC_TEST_POSTGRES_URL="postgres://postgres:$pw@127.0.0.1:$port/healthsync_test?sslmode=disable"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir); HEALTHSYNC_TEST_POSTGRES_URL exported"
}

hs_pg_stop() {
  local dir=${1:-${HS_PG_DIR:-}} bin=${HS_PG_BIN:-$(hs_pg_bindir)}
  [ -n "$dir" ] && [ -d "$dir/data" ] || return 0
  hs_pg_as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
  start)
    hs_pg_start >&2
    echo "export HEALTHSYNC_TEST_POSTGRES_URL='$HEALTHSYNC_TEST_POSTGRES_URL' HS_PG_DIR='$HS_PG_DIR'"
    ;;
  stop) hs_pg_stop "${2:-}" ;;
  *)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
  esac
fi
