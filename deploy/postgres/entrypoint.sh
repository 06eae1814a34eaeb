#!/bin/sh
# First start: a cluster with the `graphwright` role and database. Password authentication with
# POSTGRES_PASSWORD (from the shell, never from a file in the repository) on the compose network.
set -eu
bin=/usr/lib/postgresql/15/bin
data=/var/lib/graphwright-pg/data
if [ ! -s "$data/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD (docker compose passes GRAPHWRIGHT_PG_PASSWORD)}"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  "$bin/initdb" -D "$data" -U graphwright --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 >/dev/null
  rm -f "$pwfile"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$data/pg_hba.conf"
  "$bin/pg_ctl" -D "$data" -w -o "-c listen_addresses=''" start >/dev/null
  "$bin/createdb" -h /run/postgresql -U graphwright graphwright
  "$bin/pg_ctl" -D "$data" -w stop >/dev/null
fi
exec "$bin/postgres" -D "$data" -c listen_addresses='*' -c max_connections=200
