#!/bin/sh
# The primary's side of a read replica (docker-compose.yml, profile "replica"): lets the
# database owner (a superuser in the postgis image) stream WAL to a standby over the compose
# network, with its password. Run by the image's entrypoint when it creates the database
# (/docker-entrypoint-initdb.d); for a database created before, run it once in the db container
# and reload:
#   docker compose exec db sh /docker-entrypoint-initdb.d/allow-replication.sh
#   docker compose exec db psql -U nsp -d nsp -c 'SELECT pg_reload_conf()'
set -eu
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
line="host replication ${POSTGRES_USER:-nsp} all scram-sha-256"
grep -qxF "$line" "$PGDATA/pg_hba.conf" || echo "$line" >> "$PGDATA/pg_hba.conf"
