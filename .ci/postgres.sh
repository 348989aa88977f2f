#!/usr/bin/env bash
# Start a local PostgreSQL for the store tests and export CORDTRIAL_TEST_POSTGRES_URL.
# Idempotent: installs Debian's postgresql if missing, starts the default cluster on
# 127.0.0.1:5432, creates the role and database if absent. Meant to be sourced:
#   source .ci/postgres.sh && pytest tests/store
# (run as root, as in CI containers; the server itself runs as the postgres user).

_pg_main() {
    local role=cordtrial db=cordtrial_test password=cordtrial-ci port=5432
    if ! command -v pg_lsclusters >/dev/null 2>&1; then
        echo "postgres.sh: installing postgresql (Debian package)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 || return 1
    fi
    local line version cluster status
    line=$(pg_lsclusters --no-header 2>/dev/null | head -n1)
    if [ -z "$line" ]; then
        version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
        pg_createcluster "$version" main --port "$port" >&2 || return 1
        line=$(pg_lsclusters --no-header | head -n1)
    fi
    read -r version cluster port status _ <<<"$line"
    if [ "$status" != "online" ]; then
        # Debian's default configuration listens on localhost only.
        pg_ctlcluster "$version" "$cluster" start >&2 || return 1
    fi
    local i
    for i in $(seq 1 30); do
        runuser -u postgres -- pg_isready -q -h 127.0.0.1 -p "$port" && break
        sleep 1
    done
    # Administration over the Unix socket (peer authentication as postgres).
    local psql=(runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q -p "$port" -d postgres)
    if [ -z "$("${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname='$role'" 2>/dev/null)" ]; then
        "${psql[@]}" -c "CREATE ROLE $role LOGIN PASSWORD '$password' CREATEDB" >&2 || return 1
    fi
    if [ -z "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname='$db'")" ]; then
        "${psql[@]}" -c "CREATE DATABASE $db OWNER $role" >&2 || return 1
    fi
    export CORDTRIAL_TEST_POSTGRES_URL="postgresql+psycopg://$role:$password@127.0.0.1:$port/$db"
    echo "CORDTRIAL_TEST_POSTGRES_URL=$CORDTRIAL_TEST_POSTGRES_URL"
}

_pg_main
