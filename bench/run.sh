#!/usr/bin/env bash
# Runs the Syncline benchmarks: for each scenario a fresh server (own port, own temporary data
# folder) is started, the load generator runs against it on 127.0.0.1, the server is stopped.
#
#   bench/run.sh [--build] [SCENARIO...]
#   bench/run.sh compare REF [SCENARIO...]
#
# compare builds the server jar of git commit REF (once; kept in /tmp/syncline-bench-jars), then
# runs each scenario ROUNDS times (default 3) against that jar and against this tree's, alternating,
# with the same generator, and prints each side's median headline figure and their ratio: a change
# is judged against its parent on the same machine in the same hour, not against old numbers.
#
# Scenarios: writes-1 writes-100 writes-100-steady writes-50x1 redis-50x1 writes-updates writes-updates-400db fanout-100 fanout-100-steady fanout-1000 fanout-1000-steady catchup idle, and the replication ones
# replication-lag-5000 replication-lag-20000 replication-catchup quorum, which start their own
# servers, and java-client (the Java SDK) (default: all, in that order), or generator arguments in one quoted word, e.g.
# "fanout --subscribers 1000 --rate 100". redis-50x1 is not Syncline: Redis (if installed) with
# appendfsync always under redis-benchmark's default load, the same machine's reference for writes-50x1.
# Settings (environment):
#   SERVER_JAVA       the server's java command       (default: java; e.g. another JDK's bin/java)
#   SERVER_JAVA_OPTS  JVM options of the server       (default: -Xmx1g)
#   BENCH_JAVA_OPTS   JVM options of the generator    (default: -Xmx2g)
#   DURABILITY        sync or async                   (default: sync)
#   BASE_PORT         first port; scenario i uses BASE_PORT+i (default: 18090)
#   SCENARIO_TIMEOUT  seconds one scenario may take   (default: 600)
#   WAIT_QUIET        seconds to wait, before each scenario, for other processes to go quiet
#                     (below QUIET_PERCENT of all cores, default 10) (default: 120; 0 = don't wait)
#   RETRIES           times a scenario is run again when its result says NOISY (other processes
#                     took over 5% of the machine during the measurement) (default: 2)
#   SERVER_JAR, BENCH_JAR  jars to run (default: the ones `mvn install` builds)
#   OUT               folder for results.jsonl and logs (default: a new /tmp/syncline-bench-*)
# Exit status: 0 when every scenario ran to completion (targets met or not), 1 otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVER_JAR=${SERVER_JAR:-$ROOT/server/target/syncline-server.jar}
BENCH_JAR=${BENCH_JAR:-$ROOT/bench/target/syncline-bench.jar}
SERVER_JAVA=${SERVER_JAVA:-java}
SERVER_JAVA_OPTS=${SERVER_JAVA_OPTS:--Xmx1g}
BENCH_JAVA_OPTS=${BENCH_JAVA_OPTS:--Xmx2g}
DURABILITY=${DURABILITY:-sync}
BASE_PORT=${BASE_PORT:-18090}
SCENARIO_TIMEOUT=${SCENARIO_TIMEOUT:-600}
WAIT_QUIET=${WAIT_QUIET:-120}
QUIET_PERCENT=${QUIET_PERCENT:-10}
RETRIES=${RETRIES:-2}
OUT=${OUT:-$(mktemp -d /tmp/syncline-bench-XXXXXX)}
# the admin of each scenario's fresh server; the generator signs in with it for server.stats
export SYNCLINE_ADMIN_PASSWORD=${SYNCLINE_ADMIN_PASSWORD:-bench-admin-password}
ADMIN_PASSWORD=$SYNCLINE_ADMIN_PASSWORD
mkdir -p "$OUT"
ALL=(writes-1 writes-100 writes-100-steady writes-50x1 redis-50x1 writes-updates writes-updates-400db fanout-100 fanout-100-steady fanout-1000 fanout-1000-steady catchup idle replication-lag-5000 replication-lag-20000 replication-catchup quorum java-client)

# The figure a scenario is judged by, and whether more is better (up) or less (down).
headline() {
  case "$1" in
    writes-*|writes_*|"writes "*) echo "deltasPerSecond up" ;;
    fanout-*|fanout_*|"fanout "*|replication-lag-*) echo "p99Ms down" ;;
    catchup) echo "medianAttributesPerSecond up" ;;
    idle) echo "memoryKbPerConnection down" ;;
    replication-catchup) echo "registersPerSecond up" ;;
    redis-*) echo "setsPerSecond up" ;;
    quorum) echo "ratio up" ;;
    java-client) echo "editsPerSecond up" ;;
    *) echo "ok up" ;;
  esac
}

# The server jar of commit $1, built once in a temporary worktree.
ref_jar() {
  local sha cache dir
  sha=$(git -C "$ROOT" rev-parse --verify "$1^{commit}") || { echo "no commit $1" >&2; return 1; }
  cache=/tmp/syncline-bench-jars/$sha.jar
  if [ ! -f "$cache" ]; then
    dir=$(mktemp -d /tmp/syncline-bench-ref-XXXXXX)
    git -C "$ROOT" worktree add --detach "$dir" "$sha" > /dev/null 2>&1
    (cd "$dir" && mvn -q -B package -DskipTests -pl server -am) >&2
    mkdir -p /tmp/syncline-bench-jars
    cp "$dir/server/target/syncline-server.jar" "$cache"
    git -C "$ROOT" worktree remove --force "$dir"
  fi
  echo "$cache"
}

median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

if [ "${1:-}" = compare ]; then
  [ $# -ge 2 ] || { echo "usage: bench/run.sh compare REF [SCENARIO...]" >&2; exit 2; }
  ref=$2
  shift 2
  base_jar=$(ref_jar "$ref")
  this_jar=$SERVER_JAR
  [ $# -eq 0 ] && set -- writes-1 writes-100 fanout-100
  rounds=${ROUNDS:-3}
  echo "== compare $(git -C "$ROOT" rev-parse --short "$ref") (base) with this tree, $rounds rounds, $(nproc) cores"
  table=$OUT/compare.txt
  for scenario in "$@"; do
    read -r key better <<< "$(headline "$scenario")"
    for round in $(seq "$rounds"); do
      for side in base this; do
        jar=$base_jar
        [ "$side" = this ] && jar=$this_jar
        run_out=$OUT/$scenario-$side-$round
        SERVER_JAR=$jar OUT=$run_out "$0" "$scenario" > "$run_out.log" 2>&1 || echo "!! $scenario ($side, round $round) failed: $run_out.log" >&2
        tail -n 1 "$run_out/summary.txt" 2>/dev/null | sed "s/^/  $side $round: /"
        grep -o "\"$key\":[-0-9.eE]*" "$run_out/results.jsonl" 2>/dev/null | tail -n 1 | cut -d: -f2 >> "$OUT/$scenario-$side.values"
      done
    done
    b=$(median < "$OUT/$scenario-base.values")
    t=$(median < "$OUT/$scenario-this.values")
    ratio=$(awk -v b="$b" -v t="$t" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.3f", t / b }')
    printf '%-22s %-28s base %-12s this %-12s this/base %s (%s is better)\n' "$scenario" "$key" "$b" "$t" "$ratio" \
      "$([ "$better" = up ] && echo higher || echo lower)" | tee -a "$table"
  done
  echo "results: $OUT"
  exit 0
fi

build=0
scenarios=()
for arg in "$@"; do
  case "$arg" in
    --build) build=1 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) scenarios+=("$arg") ;;
  esac
done
[ ${#scenarios[@]} -eq 0 ] && scenarios=("${ALL[@]}")

SERVER_PID=""
BENCH_PID=""
DATA=""

# Ends the given process (one we started) and waits for it: TERM, then KILL after $2 seconds.
stop_pid() {
  local pid=$1 grace=$2
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq $((grace * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  stop_pid "$BENCH_PID" 5
  BENCH_PID=""
  stop_pid "$SERVER_PID" 30
  SERVER_PID=""
  if [ -n "$DATA" ]; then rm -rf "$DATA"; DATA=""; fi
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

if [ "$build" = 1 ]; then
  (cd "$ROOT" && mvn -q -B install -DskipTests)
fi
for jar in "$SERVER_JAR" "$BENCH_JAR"; do
  [ -f "$jar" ] || { echo "missing $jar: run with --build (or mvn -q -B install -DskipTests)" >&2; exit 1; }
done

# Busy share of all cores over one second, in percent (from /proc/stat).
busy_percent() {
  local a b c d e f g h t1 i1 t2 i2
  read -r _ a b c d e f g h _ < /proc/stat
  t1=$((a + b + c + d + e + f + g + h)); i1=$((d + e))
  sleep 1
  read -r _ a b c d e f g h _ < /proc/stat
  t2=$((a + b + c + d + e + f + g + h)); i2=$((d + e))
  echo $(( (100 * ((t2 - t1) - (i2 - i1))) / (t2 - t1 > 0 ? t2 - t1 : 1) ))
}

# Other builds on the machine skew every figure: wait (a bounded time) until it is nearly idle.
wait_quiet() {
  local waited=0 busy
  while :; do
    busy=$(busy_percent)
    if [ "$busy" -le "$QUIET_PERCENT" ]; then echo "machine idle (${busy}% busy) before start"; return 0; fi
    if [ "$waited" -ge "$WAIT_QUIET" ]; then echo "machine still ${busy}% busy after ${waited} s: results may be noisy"; return 0; fi
    waited=$((waited + 1))
  done
}

# Starts a fresh server on port $1 with an empty data folder; waits until /health answers.
start_server() {
  local port=$1 name=$2
  if ss -ltnH "sport = :$port" 2>/dev/null | grep -q .; then
    echo "port $port is in use; set BASE_PORT" >&2
    return 1
  fi
  DATA=$(mktemp -d /tmp/syncline-bench-data-XXXXXX)
  # "bench" is open to anonymous writers, as in an app with an $all policy; the generator funnels
  # many clients through few connections, so the per-connection message rate limit is off
  # plus $extra_dbs empty databases (t1, t2, ...), for the scenarios that measure a store holding many
  local others=""
  for n in $(seq "${extra_dbs:-0}"); do others="$others,\"t$n\""; done
  printf '{"databases":[{"name":"bench","policy":{"read":["$all"],"create":["$all"],"update":["$all"],"destroy":["$all"]}}%s],"durability":"%s","adminPassword":"%s","messagesPerSecond":0}\n' \
    "$others" "$DURABILITY" "$ADMIN_PASSWORD" > "$DATA/config.json"
  # shellcheck disable=SC2086 # options are words on purpose
  "$SERVER_JAVA" $SERVER_JAVA_OPTS $scenario_opts -jar "$SERVER_JAR" --port "$port" --data "$DATA/data" --config "$DATA/config.json" \
    > "$OUT/server-$name.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 300); do
    # bounded, so a server that accepts but never answers fails the start instead of hanging the run
    if curl -sf --max-time 2 "http://127.0.0.1:$port/health" > /dev/null 2>&1; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited; see $OUT/server-$name.log" >&2; return 1; }
    sleep 0.1
  done
  echo "server did not answer /health in 30 s" >&2
  return 1
}

# The reference users compare a durable write with: Redis with appendfsync always (every write on
# disk before its reply; writes of one event-loop turn share an fsync), loaded by redis-benchmark
# the way writes-50x1 loads Syncline: 50 connections, one SET in flight each, a new key each time.
# Appends {"scenario":"redis",...} to results.jsonl and a summary line to the log.
run_redis() {
  local name=$1 port=$2
  if ! command -v redis-server > /dev/null || ! command -v redis-benchmark > /dev/null; then
    echo "redis: not installed (apt-get install -y redis-server): skipped" > "$OUT/bench-$name.log"
    return 0
  fi
  DATA=$(mktemp -d /tmp/syncline-bench-data-XXXXXX)
  redis-server --port "$port" --bind 127.0.0.1 --dir "$DATA" --appendonly yes --appendfsync always --save "" \
    > "$OUT/server-$name.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    redis-cli -p "$port" ping > /dev/null 2>&1 && break
    sleep 0.1
  done
  local warm csv
  warm=$(redis-benchmark -p "$port" -t set -n 200000 -r 100000000 -d 20 -c 50 --csv 2>&1 | tail -n 1)
  local started ended
  started=$(date +%s.%N)
  csv=$(redis-benchmark -p "$port" -t set -n 300000 -r 100000000 -d 20 -c 50 --csv 2>&1 | tail -n 1)
  ended=$(date +%s.%N)
  local fsync
  fsync=$(redis-cli -p "$port" config get appendfsync | tail -n 1)
  # "SET","rps","avg","min","p50","p95","p99","max"
  IFS=, read -r _ rps _ _ p50 _ p99 max <<< "$(tr -d '"' <<< "$csv")"
  if [ -z "${rps:-}" ] || [ "$fsync" != always ]; then
    { echo "warm-up: $warm"; echo "run: $csv"; echo "appendfsync: $fsync"; echo "redis: no result"; } > "$OUT/bench-$name.log"
    return 1
  fi
  printf '{"scenario":"redis","connections":50,"inFlight":1,"total":300000,"appendfsync":"%s","seconds":%.2f,"setsPerSecond":%.0f,"p50Ms":%s,"p99Ms":%s,"maxMs":%s,"ok":true}\n' \
    "$fsync" "$(awk -v a="$started" -v b="$ended" 'BEGIN { print b - a }')" "$rps" "$p50" "$p99" "$max" >> "$OUT/results.jsonl"
  printf 'redis SET x 300000 new keys, 50 connections, 1 in flight each, appendfsync %s (%s): %.0f sets/s, p50 %s ms p99 %s ms max %s ms | reference for writes-50x1, not a Syncline figure\n' \
    "$fsync" "$(redis-server --version | grep -o 'v=[0-9.]*')" "$rps" "$p50" "$p99" "$max" > "$OUT/bench-$name.log"
}

# Runs the generator in the background (so a signal reaches the trap at once) and waits for it.
run_bench() {
  local name=$1; shift
  # shellcheck disable=SC2086
  timeout --kill-after=10 "$SCENARIO_TIMEOUT" java $BENCH_JAVA_OPTS -jar "$BENCH_JAR" "$@" \
    --json "$OUT/results.jsonl" --timeout $((SCENARIO_TIMEOUT - 20)) > "$OUT/bench-$name.log" 2>&1 &
  BENCH_PID=$!
  local rc=0
  wait "$BENCH_PID" || rc=$?
  BENCH_PID=""
  return $rc
}

failed=0
i=0
for name in "${scenarios[@]}"; do
  port=$((BASE_PORT + i))
  i=$((i + 1))
  scenario_opts=""
  extra_dbs=0
  case "$name" in
    *" "*)       read -r -a args <<< "$name"; name=$(printf '%s' "$name" | tr -s ' -' '_' | tr -cd 'A-Za-z0-9_') ;;
    # measured over seconds, not fractions of one: shorter runs varied by a quarter between rounds
    writes-1)    args=(writes --deltas-per-push 1 --total 200000 --in-flight 1000) ;;
    writes-100)  args=(writes --deltas-per-push 100 --total 1000000 --in-flight 1000) ;;
    # after 2 M deltas instead of 200,000: the writer's code compiled, as in a server that has been up a while
    writes-100-steady) args=(writes --deltas-per-push 100 --total 1000000 --in-flight 1000 --warmup 2000000) ;;
    # how apps write: many clients, each waiting for its ack; the load redis-50x1 puts on Redis
    writes-50x1) args=(writes --deltas-per-push 1 --connections 50 --in-flight 1 --total 200000) ;;
    redis-50x1)  args=(redis) ;;
    # apps editing what they wrote: each of 50 writers updates its own 200 documents, so the store
    # overwrites and its log is cleaned at its steady pace; the same beside 400 other databases
    # (2,000 more stores, whose roots the store's meta tree holds)
    writes-updates)       args=(writes --deltas-per-push 1 --connections 50 --in-flight 1 --total 200000 --warmup 100000 --documents 200) ;;
    writes-updates-400db) args=(writes --deltas-per-push 1 --connections 50 --in-flight 1 --total 200000 --warmup 100000 --documents 200); extra_dbs=400 ;;
    fanout-100)  args=(fanout --subscribers 100 --rate 500 --total 2000) ;;
    fanout-1000) args=(fanout --subscribers 1000 --rate 500 --total 2000) ;;
    # after 30 s at 500 pushes/s: JIT compiled, and the store's log cleaner at its steady pace
    fanout-100-steady) args=(fanout --subscribers 100 --rate 500 --total 2000 --warmup 15000) ;;
    # the same for 1000 subscribers: 20 s at 500 pushes/s (10 M deliveries) before the measured 4 s
    fanout-1000-steady) args=(fanout --subscribers 1000 --rate 500 --total 2000 --warmup 10000) ;;
    catchup)     args=(catchup --attributes 1000000) ;;
    # the server's whole heap committed and touched at its start: a connection's garbage landing on
    # heap pages G1 never used before, or G1 growing its heap, is not memory the connection holds
    # (bench/README.md); the live heap is measured apart
    idle)        args=(idle --connections 1000); xmx=$(grep -o -- '-Xmx[^ ]*' <<< "$SERVER_JAVA_OPTS" | tail -n 1 || true)
                 scenario_opts="-XX:+AlwaysPreTouch${xmx:+ -Xms${xmx#-Xmx}}" ;;
    replication-lag-5000)  args=(replication-lag --rate 5000) ;;
    replication-lag-20000) args=(replication-lag --rate 20000) ;;
    replication-catchup)   args=(replication-catchup --registers 1000000) ;;
    quorum)      args=(quorum) ;;
    java-client) args=(java-client --edits 100000 --registers 1000000) ;;
    *) echo "unknown scenario $name (known: ${ALL[*]})" >&2; failed=1; continue ;;
  esac
  echo "== $name (port $port, durability $DURABILITY, server $SERVER_JAVA_OPTS${scenario_opts:+ $scenario_opts})"
  for attempt in $(seq $((RETRIES + 1))); do
    wait_quiet
    rc=0
    case "${args[0]}" in
      redis)
        run_redis "$name" "$port" || rc=$? ;;
      replication-*|quorum)
        # these start their own servers, several of them, from the same jar
        run_bench "$name" "${args[@]}" --server-jar "$SERVER_JAR" --server-java "$SERVER_JAVA" --server-java-opts "$SERVER_JAVA_OPTS" \
          --durability "$DURABILITY" --base-port $((BASE_PORT + 100 + 4 * i)) || rc=$? ;;
      *)
        # no result to report, not the previous scenario's (nor an unset line under set -u)
        if ! start_server "$port" "$name"; then rc=1; line="$name: no result (the server did not start)"; cleanup; break; fi
        run_bench "$name" "${args[@]}" --port "$port" --server-pid "$SERVER_PID" || rc=$? ;;
    esac
    cleanup
    grep -v '^{' "$OUT/bench-$name.log" | tail -n 20 || true
    line=$(grep -E '^(writes|fanout|catchup|idle|replication-lag|replication-catchup|quorum|java-client|redis)[ :]' "$OUT/bench-$name.log" || echo "$name: no result")
    cp "$OUT/bench-$name.log" "$OUT/bench-$name.$attempt.log"
    case "$line" in
      *NOISY*) [ "$attempt" -le "$RETRIES" ] && { echo "-- noisy (another process was busy): running $name again"; continue; } ;;
    esac
    break
  done
  echo "$line" >> "$OUT/summary.txt"
  [ $rc -eq 0 ] || { echo "!! $name exited with status $rc" >&2; failed=1; }
done

echo
echo "== summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores)"
[ -f "$OUT/summary.txt" ] && cat "$OUT/summary.txt"
echo "results: $OUT/results.jsonl; logs: $OUT"
exit $failed
