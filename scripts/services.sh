#!/usr/bin/env bash
# Makes sure the local services the tests talk to are up: installs what is missing
# (Debian packages) and starts what is installed but not running. Idempotent; used by
# `make services` (a prerequisite of `make test`) and so by .ci/run.
#
#   scripts/services.sh [redis postgres mysql ...]     default: every service below
set -euo pipefail

log() { echo "services: $*" >&2; }

apt_install() {
    command -v apt-get >/dev/null || { log "cannot install $*: no apt-get here"; return 1; }
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@") >/dev/null
}

wait_for() { # name, command...
    local name=$1; shift
    for _ in $(seq 1 600); do  # up to a minute: a cold database server on a busy machine
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    log "$name did not come up"; return 1
}

redis() {
    command -v redis-server >/dev/null || { log "installing redis-server"; apt_install redis-server redis-tools; }
    if redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then return 0; fi
    log "starting redis-server on 127.0.0.1:6379"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for redis sh -c 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG'
}

# PostgreSQL on 127.0.0.1:5432 with a database `test` that the local users postgres and
# root reach without a password (trust on loopback), as the data-layer tests expect.
postgres() {
    if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then ensure_postgres_db; return 0; fi
    if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
        log "installing postgresql"; apt_install postgresql postgresql-client
    fi
    local bin; bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    local data=/var/lib/postgresql/cello-ci
    if [ ! -s "$data/PG_VERSION" ]; then
        if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q .; then
            log "starting the installed PostgreSQL cluster"
            pg_ctlcluster "$(pg_lsclusters -h | awk 'NR==1{print $1}')" "$(pg_lsclusters -h | awk 'NR==1{print $2}')" start || true
            if wait_for postgres pg_isready -h 127.0.0.1 -p 5432 -q; then ensure_postgres_db; return 0; fi
        fi
        log "initialising a PostgreSQL cluster in $data"
        mkdir -p "$data" && chown postgres:postgres "$data"
        su postgres -c "$bin/initdb -D $data -A trust -U postgres" >/dev/null
    fi
    log "starting PostgreSQL on 127.0.0.1:5432"
    mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql
    su postgres -c "$bin/pg_ctl -D $data -l $data/server.log -o '-c listen_addresses=127.0.0.1 -p 5432' -w start" >/dev/null
    wait_for postgres pg_isready -h 127.0.0.1 -p 5432 -q
    ensure_postgres_db
}

ensure_postgres_db() {
    local psql=(psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -tAq)
    "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'root'" | grep -q 1 \
        || "${psql[@]}" -c "CREATE ROLE root SUPERUSER LOGIN" >/dev/null
    "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
        || "${psql[@]}" -c "CREATE DATABASE test" >/dev/null
}

# MariaDB (or MySQL) on 127.0.0.1:3306: user root without a password, database `test`.
mysql() {
    if mysqladmin -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1; then ensure_mysql_db; return 0; fi
    if ! command -v mysqld >/dev/null && ! command -v mariadbd >/dev/null; then
        log "installing mariadb-server"; apt_install mariadb-server mariadb-client
    fi
    log "starting MariaDB on 127.0.0.1:3306"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    if [ ! -d /var/lib/mysql/mysql ]; then
        mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null 2>&1 \
            || mysql_install_db --user=mysql --datadir=/var/lib/mysql >/dev/null
    fi
    (mysqld_safe --bind-address=127.0.0.1 --port=3306 >/dev/null 2>&1 &)
    wait_for mysql mysqladmin -h 127.0.0.1 -P 3306 -uroot ping
    ensure_mysql_db
}

ensure_mysql_db() {
    command mysql -h 127.0.0.1 -P 3306 -uroot -e "CREATE DATABASE IF NOT EXISTS test" >/dev/null
}

# RabbitMQ on 127.0.0.1:5672, user guest/guest (the messaging tests; rabbitmqctl too).
rabbitmq() {
    command -v rabbitmq-server >/dev/null || { log "installing rabbitmq-server"; apt_install rabbitmq-server; }
    if (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then return 0; fi
    log "starting RabbitMQ on 127.0.0.1:5672"
    rabbitmq-server -detached
    wait_for rabbitmq sh -c 'rabbitmqctl -q await_startup && (exec 3<>/dev/tcp/127.0.0.1/5672)'
}

# An SQS-compatible server on 127.0.0.1:4566 (moto, pip package moto[server], installed
# into .venv by `make venv`), for cello-protocols' SQS tests.
sqs() {
    if curl -s -o /dev/null http://127.0.0.1:4566/ 2>/dev/null; then return 0; fi
    local moto=.venv/bin/moto_server
    [ -x "$moto" ] || { .venv/bin/pip install -q "moto[server]" >/dev/null; }
    log "starting moto (SQS) on 127.0.0.1:4566"
    mkdir -p .venv/log
    (nohup "$moto" -H 127.0.0.1 -p 4566 >.venv/log/moto.log 2>&1 &)
    wait_for sqs curl -s -o /dev/null http://127.0.0.1:4566/
}

# A Kafka-protocol broker on 127.0.0.1:9092 (the port KafkaConfig defaults to): tansu from
# crates.io with its memory storage. Built once into ~/.cache/cello-tools (about 15
# minutes on two cores, docs/install.md), then reused by every run on this machine.
TANSU_VERSION=0.6.0
kafka() {
    if (exec 3<>/dev/tcp/127.0.0.1/9092) 2>/dev/null; then return 0; fi
    local root=${CELLO_TOOLS:-$HOME/.cache/cello-tools}/tansu-$TANSU_VERSION
    local tansu=$root/bin/tansu
    if [ ! -x "$tansu" ]; then
        log "building tansu $TANSU_VERSION (a Kafka-protocol broker) into $root, once"
        CARGO_TARGET_DIR=$root.target cargo install -q --locked "tansu@$TANSU_VERSION" \
            --features dynostore --root "$root"
        rm -rf "$root.target"
    fi
    log "starting tansu (Kafka) on 127.0.0.1:9092"
    mkdir -p .venv/log
    (nohup "$tansu" broker --listener-url tcp://127.0.0.1:9092 \
        --advertised-listener-url tcp://127.0.0.1:9092 --storage-engine memory://tansu/ \
        >.venv/log/tansu.log 2>&1 &)
    wait_for kafka bash -c '(exec 3<>/dev/tcp/127.0.0.1/9092)'
}

services=("$@")
((${#services[@]})) || services=(redis postgres mysql rabbitmq sqs kafka)
for service in "${services[@]}"; do
    "$service"
done
