#!/usr/bin/env bash
# Publish throughput of Spool's HTTP API on loopback with wrk (apt-get install wrk).
# Builds the service jar, starts it on a scratch data directory, and runs the two wrk scripts
# beside this file: one message per request, then batches of 100. Prints wrk's summaries.
#   http/src/test/resources/wrk/run.sh [duration, default 30s] [connections, default 64] [warm-up, default 60s]
# The warm-up matters: on 2 cores the JIT needs about a minute of load to finish compiling the
# hot paths (after 30 s single publishes ran at 10-16k requests/s, after 60 s at 29k).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../../.." && pwd)"
duration="${1:-30s}"
connections="${2:-64}"
warmup="${3:-60s}"
port="${SPOOL_BENCH_PORT:-18080}"
data="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT

(cd "$root" && mvn -B -o -q package -pl app -am -DskipTests)
SPOOL_DATA_DIR="$data" SPOOL_HTTP_PORT="$port" java -Xmx2g -jar "$root/app/target/spool.jar" > "$data/spool.out" 2>&1 &
pid=$!
for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:$port/health/ready" > /dev/null && break
  sleep 0.5
done
export SPOOL_TOKEN="$(cat "$data/admin-token")"
base="http://127.0.0.1:$port"
# Bounded queues, so that memory stays flat however long the run: the oldest are dropped.
for q in bench-one bench-batch; do
  curl -fs -X PUT -H "Authorization: Bearer $SPOOL_TOKEN" -H "Content-Type: application/json" \
    -d '{"maxLength":200000,"overflow":"drop-oldest"}' "$base/api/v1/queues/$q" > /dev/null
done
# A warm-up for the JIT, then the measured runs.
SPOOL_QUEUE=bench-one wrk -t2 -c"$connections" -d"$warmup" -s "$here/publish-one.lua" "$base" > /dev/null
echo "== single message per request"
SPOOL_QUEUE=bench-one wrk -t2 -c"$connections" -d"$duration" --latency -s "$here/publish-one.lua" "$base"
SPOOL_QUEUE=bench-batch wrk -t2 -c"$connections" -d"$warmup" -s "$here/publish-batch.lua" "$base" > /dev/null
echo "== batches of 100 messages per request"
SPOOL_QUEUE=bench-batch wrk -t2 -c"$connections" -d"$duration" --latency -s "$here/publish-batch.lua" "$base"
