#!/usr/bin/env bash
# Redis for the batch queue test (test/batch/queue.test.ts): Debian's redis-server, on loopback only, port 6390,
# daemonised, no persistence. The test finds it there (or at ABE_REDIS_URL); under CI=true it fails without it.
set -euo pipefail
PORT=6390
if ! command -v redis-server >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends redis-server >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends redis-server >/dev/null; }
fi
if redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null | grep -q PONG; then
  echo "redis already answering on 127.0.0.1:$PORT"
  exit 0
fi
redis-server --port "$PORT" --bind 127.0.0.1 --protected-mode yes --daemonize yes --save '' --appendonly no \
  --pidfile /tmp/abe-clip-ci-redis.pid --logfile /tmp/abe-clip-ci-redis.log
for _ in $(seq 1 50); do
  if redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null | grep -q PONG; then echo "redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$PORT"; exit 0; fi
  sleep 0.1
done
echo "redis-server did not start on 127.0.0.1:$PORT (see /tmp/abe-clip-ci-redis.log)" >&2
exit 1
