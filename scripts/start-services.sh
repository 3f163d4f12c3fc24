#!/usr/bin/env bash
# Starts the services the test suite needs, on loopback only, in a temporary folder, and exports
# their addresses. Source it:  . scripts/start-services.sh   (then call stop_services when done).
# PostgreSQL: POSTERN_TEST_PG_URL; slapd + ppolicy: POSTERN_TEST_SLAPD_* (scripts/start-slapd.sh);
# Samba AD DC: POSTERN_TEST_AD_* (scripts/start-samba.sh).
set -euo pipefail

POSTERN_SERVICES_DIR=$(mktemp -d /tmp/postern-services.XXXXXX)
export POSTERN_SERVICES_DIR
chmod 755 "$POSTERN_SERVICES_DIR"

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else bash -c "$*"; fi
}

start_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "start-services: PostgreSQL is not installed (apt-get install postgresql)" >&2
    return 1
  fi
  local dir="$POSTERN_SERVICES_DIR/pg" port=55432
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_postgres "$bin/initdb -D $dir/data -A trust -U postgres" >/dev/null
  as_postgres "$bin/pg_ctl -D $dir/data -o '-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200' -l $dir/log -w start" >/dev/null
  export POSTERN_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  POSTERN_PG_BIN=$bin
  echo "start-services: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

POSTERN_SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=start-slapd.sh
. "$POSTERN_SCRIPTS_DIR/start-slapd.sh"
# shellcheck source=start-samba.sh
. "$POSTERN_SCRIPTS_DIR/start-samba.sh"

stop_services() {
  stop_samba || true
  stop_slapd || true
  if [ -n "${POSTERN_PG_BIN:-}" ]; then
    as_postgres "$POSTERN_PG_BIN/pg_ctl -D $POSTERN_SERVICES_DIR/pg/data -m immediate stop" >/dev/null 2>&1 || true
  fi
  rm -rf "$POSTERN_SERVICES_DIR"
}

start_postgres
start_slapd
start_samba
set +euo pipefail
