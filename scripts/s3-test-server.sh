#!/usr/bin/env bash
# The S3-compatible test server (moto) on 127.0.0.1, for tests and benches.
#
#   scripts/s3-test-server.sh start   start it (or reuse a running one), create the test bucket,
#                                     and print `export …` lines for the tests: use it as
#                                     eval "$(scripts/s3-test-server.sh start)"
#   scripts/s3-test-server.sh stop    stop it
#
#   LAKEHOUSE_TEST_S3_PORT   port (default 9555)
#   LAKEHOUSE_VENV           the venv with moto (made by scripts/setup-venv.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${LAKEHOUSE_VENV:-/var/tmp/lakehouse-venv}
port=${LAKEHOUSE_TEST_S3_PORT:-9555}
bucket=${LAKEHOUSE_TEST_S3_BUCKET:-lakehouse-test}
state=${LAKEHOUSE_TEST_S3_STATE:-/var/tmp/lakehouse-s3-test-server-$port}
endpoint="http://127.0.0.1:$port"
mkdir -p "$state"

answers() { curl -s -o /dev/null --max-time 2 "$endpoint/" ; }

case "${1:-start}" in
  start)
    "$here/setup-venv.sh"
    if ! answers; then
      echo "s3-test-server: starting moto on $endpoint (log: $state/moto.log)" >&2
      setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$state/moto.log" 2>&1 < /dev/null &
      echo $! > "$state/pid"
      for _ in $(seq 1 100); do
        answers && break
        sleep 0.2
      done
      if ! answers; then
        echo "s3-test-server: moto did not answer on $endpoint within 20 s; its log:" >&2
        tail -n 20 "$state/moto.log" >&2 || true
        exit 1
      fi
    fi
    # Create the bucket (moto accepts the unsigned request; an existing bucket is fine).
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$endpoint/$bucket")
    case "$code" in
      200|409) ;;
      *) echo "s3-test-server: creating bucket '$bucket' answered HTTP $code" >&2; exit 1 ;;
    esac
    echo "export LAKEHOUSE_TEST_S3_ENDPOINT=$endpoint"
    echo "export LAKEHOUSE_TEST_S3_BUCKET=$bucket"
    ;;
  stop)
    if [ -f "$state/pid" ]; then
      kill "$(cat "$state/pid")" 2>/dev/null || true
      rm -f "$state/pid"
    fi
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
