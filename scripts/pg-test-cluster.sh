#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for ecert's tests: no system service, nothing outside DIR.
#
#   pg-test-cluster.sh start DIR     initdb (first time) and start on a free port, socket in DIR;
#                                    prints the admin URL (postgresql://…/postgres) on stdout
#   pg-test-cluster.sh stop DIR      fast shutdown (-m fast), or "immediate" with IMMEDIATE=1
#   pg-test-cluster.sh restart DIR   start again on the same port
#
# As root the server runs as the 'postgres' user (initdb refuses root); otherwise as the caller.
# Binaries: PG_BINDIR, else pg_config --bindir, else the newest /usr/lib/postgresql/*/bin.
set -euo pipefail
cmd=${1:?usage: pg-test-cluster.sh start|stop|restart DIR}
dir=${2:?usage: pg-test-cluster.sh start|stop|restart DIR}

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/initdb" ]; then bindir=$candidate; break; fi
  done
fi
if [ -z "$bindir" ] && command -v pg_config >/dev/null 2>&1; then bindir=$(pg_config --bindir); fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "pg-test-cluster: no PostgreSQL server binaries (install the Debian package postgresql)" >&2
  exit 3
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

data="$dir/data"
case "$cmd" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    if [ ! -f "$data/PG_VERSION" ]; then
      as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if [ ! -f "$dir/port" ]; then
      python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' >"$dir/port"
    fi
    port=$(cat "$dir/port")
    as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" >/dev/null \
      || { tail -20 "$dir/server.log" >&2; exit 1; }
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    mode=fast; [ "${IMMEDIATE:-0}" = 1 ] && mode=immediate
    as_owner "$bindir/pg_ctl" -D "$data" -m "$mode" -w stop >/dev/null
    ;;
  restart)
    port=$(cat "$dir/port")
    as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null
    ;;
  *)
    echo "usage: pg-test-cluster.sh start|stop|restart DIR" >&2; exit 2 ;;
esac
