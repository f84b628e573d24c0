#!/usr/bin/env bash
# Make sure the local PostgreSQL and Redis of the scaled-out lane answer; start them if they are
# down (with the commands this machine's services were started with). Exit 1, loudly, if either
# still cannot be reached.
set -uo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

wait_for() {  # wait_for CHECK NAME
  for _ in $(seq 1 30); do "$1" && return 0; sleep 1; done
  echo "ERROR: $2 is not reachable on 127.0.0.1 even after trying to start it." >&2
  return 1
}

status=0
if ! pg_up; then
  echo "PostgreSQL is down; starting it."
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  wait_for pg_up PostgreSQL || status=1
fi
if ! redis_up; then
  echo "Redis is down; starting it."
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_for redis_up Redis || status=1
fi
exit $status
