#!/usr/bin/env bash
# Profile one Cello worker under wrk load and draw a flame graph.
#
#   benches/flamegraph.sh SCENARIO [SECONDS]
#
# SCENARIO is a wrk scenario from benches/scenarios/ (json, plaintext, echo_1k, ...).
# Environment:
#   CELLO_PYTHON  interpreter with the Cello wheel installed   (default: python3)
#   PROFILER      perf | py-spy | auto                         (default: auto = perf, then py-spy)
#   CONNECTIONS   wrk connections                              (default: 100)
#   APP           app to profile, a file in benches/apps/      (default: cello_app.py)
#   OUT_DIR       where the SVG goes                           (default: benches/.cache/flamegraphs)
#   SAMPLE_RATE   samples per second                           (default: perf 999, py-spy 250)
#   CALL_GRAPH    perf --call-graph mode: fp or dwarf          (default: fp; dwarf unwinds
#                 through code built without frame pointers, at a much larger perf.data)
#
# perf: `perf record -g` over the whole server tree, folded and drawn by inferno
# (`cargo install inferno` if inferno-flamegraph is missing). On Python >= 3.12 the server
# runs with PYTHONPERFSUPPORT=1, so Python functions show up by name next to the Rust ones
# (only under perf: the trampoline breaks py-spy's native unwinding).
# Build the wheel with the `profiling` cargo profile (debug symbols) for readable Rust frames.
# py-spy: `py-spy record --native` samples Python and native frames together; it is pip
# installed into the harness cache when missing. It needs ptrace rights (root, or
# kernel.yama.ptrace_scope=0).
set -euo pipefail

scenario=${1:?usage: benches/flamegraph.sh SCENARIO [SECONDS]}
seconds=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
python=${CELLO_PYTHON:-python3}
profiler=${PROFILER:-auto}
connections=${CONNECTIONS:-100}
app=${APP:-cello_app.py}
out_dir=${OUT_DIR:-$here/.cache/flamegraphs}
cache=${CELLO_BENCH_CACHE:-$HOME/.cache/cello-bench}
stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p "$out_dir"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
"$python" -c "import cello" 2>/dev/null || {
    echo "'import cello' fails under $python: install the wheel or set CELLO_PYTHON" >&2
    exit 2
}

read -r script path < <(python3 "$here/run.py" --emit-wrk "$scenario")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

have_inferno() {
    command -v inferno-flamegraph >/dev/null && return 0
    [ -x "$HOME/.cargo/bin/inferno-flamegraph" ] && export PATH="$HOME/.cargo/bin:$PATH" && return 0
    command -v cargo >/dev/null || return 1
    echo "[flamegraph] cargo install inferno (once; a few minutes)"
    cargo install --quiet inferno && export PATH="$HOME/.cargo/bin:$PATH"
}

have_py_spy() {
    command -v py-spy >/dev/null && return 0
    local venv="$cache/venvs/py-spy"
    if [ ! -x "$venv/bin/py-spy" ]; then
        echo "[flamegraph] pip install py-spy into $venv"
        python3 -m venv "$venv" && "$venv/bin/pip" install --quiet py-spy || return 1
    fi
    export PATH="$venv/bin:$PATH"
}

if [ "$profiler" = auto ]; then
    if command -v perf >/dev/null && perf record -q -o /dev/null -- true 2>/dev/null && have_inferno; then
        profiler=perf
    elif have_py_spy; then
        profiler=py-spy
    else
        echo "neither perf+inferno nor py-spy could be set up" >&2
        exit 2
    fi
elif [ "$profiler" = perf ]; then
    command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf" >&2; exit 2; }
    have_inferno || { echo "inferno could not be installed: try PROFILER=py-spy" >&2; exit 2; }
elif [ "$profiler" = py-spy ]; then
    have_py_spy || { echo "py-spy could not be installed: try PROFILER=perf" >&2; exit 2; }
else
    echo "PROFILER must be perf, py-spy or auto" >&2
    exit 2
fi

log="$out_dir/$stamp-$scenario-server.log"
echo "[flamegraph] starting $app on port $port (log: $log)"
# The perf trampoline names Python frames for perf but confuses py-spy's unwinder.
perf_support=0
[ "$profiler" = perf ] && perf_support=1
PYTHONPERFSUPPORT=$perf_support setsid "$python" "$here/apps/$app" --port "$port" --workers 1 >"$log" 2>&1 &
server=$!
cleanup() { kill -TERM -- "-$server" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

ready=0
for _ in $(seq 300); do
    if python3 - "$port" <<'PY' 2>/dev/null
import http.client, sys
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=1)
connection.request("GET", "/plaintext")
connection.getresponse()
PY
    then ready=1; break; fi
    sleep 0.1
done
[ "$ready" = 1 ] || { echo "server did not answer within 30 s; see $log" >&2; exit 1; }

url="http://127.0.0.1:$port$path"
echo "[flamegraph] wrk -c$connections for $((seconds + 2)) s on $url, profiling $seconds s with $profiler"
wrk -t1 "-c$connections" "-d$((seconds + 2))s" -s "$script" "$url" >"$out_dir/$stamp-$scenario-wrk.txt" &
load=$!
sleep 1
pids=$(pgrep -s "$server" | paste -sd, -)
svg="$out_dir/$stamp-$scenario-$profiler.svg"

if [ "$profiler" = perf ]; then
    data="$out_dir/$stamp-$scenario.perf.data"
    perf record -q -F "${SAMPLE_RATE:-999}" --call-graph "${CALL_GRAPH:-fp}" -p "$pids" \
        -o "$data" -- sleep "$seconds"
    wait "$load" || true
    perf script -i "$data" 2>/dev/null | inferno-collapse-perf | inferno-flamegraph \
        --title "Cello $scenario ($connections connections)" >"$svg"
    for pid in ${pids//,/ }; do rm -f "/tmp/perf-$pid.map"; done  # PYTHONPERFSUPPORT's symbol maps
else
    py-spy record --native --subprocesses -r "${SAMPLE_RATE:-250}" -d "$seconds" \
        -p "$server" -o "$svg" --format flamegraph
    wait "$load" || true
fi
echo "[flamegraph] $svg"
grep -E "Requests/sec|Latency" "$out_dir/$stamp-$scenario-wrk.txt" || true
