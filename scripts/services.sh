#!/usr/bin/env bash
# Makes sure the local services the tests talk to are up: installs what is missing
# (Debian packages) and starts what is installed but not running. Idempotent; used by
# `make services` (a prerequisite of `make test`) and so by .ci/run.
#
#   scripts/services.sh [redis ...]     default: every service below
set -euo pipefail

log() { echo "services: $*" >&2; }

apt_install() {
    command -v apt-get >/dev/null || { log "cannot install $*: no apt-get here"; return 1; }
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@") >/dev/null
}

wait_for() { # name, command...
    local name=$1; shift
    for _ in $(seq 1 100); do
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

services=("$@")
((${#services[@]})) || services=(redis)
for service in "${services[@]}"; do
    "$service"
done
