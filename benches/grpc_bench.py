#!/usr/bin/env python3
"""gRPC benchmark: unary and server-streaming calls/s, Cello against grpcio.

The interop TestService (tests/grpc/protos) with the same servicer code on Cello (sync
and async servicers), on grpcio's asyncio server and on grpcio's thread-pool server,
one process each, driven by ``h2load`` (Debian's nghttp2-client) with framed gRPC
requests over HTTP/2 cleartext. Every server is checked with grpcio's client first (the
answer must decode and its status be OK), since h2load only sees HTTP statuses.
The original framework is not a row: its ``enable_grpc`` opens no port.

    python3 benches/grpc_bench.py [--duration 10] [--rounds 3] [--connections 10] [--streams 10]

Results go to ``benches/results/<date>-grpc.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from harness.machine import describe_machine
from processes import free_port, start, stop

SERVERS = ["cello", "cello-async", "grpcio-aio", "grpcio-sync"]
METHODS = {
    "unary": "/grpc.testing.TestService/UnaryCall",
    "stream10": "/grpc.testing.TestService/StreamingOutputCall",
}


def requests(messages: object) -> dict[str, bytes]:
    unary = messages.SimpleRequest(response_size=64, payload=messages.Payload(body=b"x" * 64))  # type: ignore[attr-defined]
    stream = messages.StreamingOutputCallRequest(response_parameters=[messages.ResponseParameters(size=64) for _ in range(10)])  # type: ignore[attr-defined]
    return {"unary": unary.SerializeToString(), "stream10": stream.SerializeToString()}


def check(port: int, test_pb2_grpc: object, messages: object) -> None:
    import grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = test_pb2_grpc.TestServiceStub(channel)  # type: ignore[attr-defined]
        bodies = requests(messages)
        answer = stub.UnaryCall(messages.SimpleRequest.FromString(bodies["unary"]), timeout=5)  # type: ignore[attr-defined]
        assert len(answer.payload.body) == 64
        streamed = list(stub.StreamingOutputCall(messages.StreamingOutputCallRequest.FromString(bodies["stream10"]), timeout=5))  # type: ignore[attr-defined]
        assert len(streamed) == 10


def h2load(port: int, path: str, body: Path, duration: int, connections: int, streams: int) -> dict[str, float]:
    command = [
        "h2load", "-D", str(duration), "--warm-up-time", "1", "-c", str(connections), "-m", str(streams), "-t", "1",
        "-d", str(body), "-H", "content-type: application/grpc", "-H", "te: trailers",
        f"http://127.0.0.1:{port}{path}",
    ]
    output = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    rate = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", output)
    status = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", output)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", output)
    latency = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", output)
    if not (rate and status and done):
        raise RuntimeError(f"h2load output not understood:\n{output}")
    return {
        "calls_per_s": float(rate.group(1)),
        "succeeded": float(done.group(2)),
        "failed": float(done.group(3)) + float(done.group(4)),
        "non_2xx": float(status.group(2)) + float(status.group(3)) + float(status.group(4)),
        "mean_latency": latency.group(2) if latency else "",  # type: ignore[dict-item]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--streams", type=int, default=10, help="concurrent streams per connection (h2load -m)")
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--python", default=sys.executable, help="interpreter with Cello, grpcio and grpcio-tools")
    parser.add_argument("--output-dir", type=Path, default=HERE / "results")
    args = parser.parse_args()
    if shutil.which("h2load") is None:
        raise SystemExit("h2load is missing: apt-get install nghttp2-client")

    from grpc_interop import generate

    generated = Path(tempfile.mkdtemp(prefix="cello-grpc-bench-"))
    test_pb2_grpc, messages, _ = generate(generated)
    bodies = {}
    for name, raw in requests(messages).items():
        path = generated / f"{name}.bin"
        path.write_bytes(struct.pack(">BI", 0, len(raw)) + raw)
        bodies[name] = path

    servers = args.servers.split(",")
    results: dict[str, dict[str, list[dict[str, float]]]] = {s: {m: [] for m in METHODS} for s in servers}
    for round_number in range(args.rounds):
        for server in servers:
            port = free_port()
            process = start([args.python, str(HERE / "grpc" / "servers.py"), server, str(port), str(generated)], port, ROOT)
            try:
                check(port, test_pb2_grpc, messages)
                for method, path in METHODS.items():
                    figures = h2load(port, path, bodies[method], args.duration, args.connections, args.streams)
                    results[server][method].append(figures)
                    print(f"round {round_number + 1} {server:12} {method:9} {figures['calls_per_s']:>10.0f} calls/s  failed {figures['failed']:.0f}", flush=True)
            finally:
                stop(process)

    medians = {s: {m: statistics.median(r["calls_per_s"] for r in runs) for m, runs in by.items()} for s, by in results.items()}
    date = datetime.date.today().isoformat()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# gRPC: calls/s, Cello against grpcio ({date})",
        "",
        f"`python3 benches/grpc_bench.py --duration {args.duration} --rounds {args.rounds} --connections {args.connections} --streams {args.streams}`;",
        "one server process each, h2load over HTTP/2 cleartext; medians of the rounds.",
        "`unary`: UnaryCall, 64-byte payload each way. `stream10`: StreamingOutputCall, ten 64-byte responses per call.",
        "",
        "| server | " + " | ".join(METHODS) + " | unary vs grpcio-aio |",
        "|---|" + "---:|" * (len(METHODS) + 1),
    ]
    base = medians.get("grpcio-aio", {}).get("unary")
    for server, by in medians.items():
        ratio = f"{by['unary'] / base:.1f}×" if base else ""
        lines.append(f"| {server} | " + " | ".join(f"{by[m]:,.0f}" for m in METHODS) + f" | {ratio} |")
    failed = sum(r["failed"] + r["non_2xx"] for by in results.values() for runs in by.values() for r in runs)
    lines += ["", f"Failed or non-2xx calls across all runs: {failed:.0f}.", "", f"Machine: {describe_machine().one_line()}. Load from the same machine (h2load, one thread), so the client takes a share of the two cores."]
    (args.output_dir / f"{date}-grpc.md").write_text("\n".join(lines) + "\n")
    (args.output_dir / f"{date}-grpc.json").write_text(json.dumps({"medians": medians, "runs": results}, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
