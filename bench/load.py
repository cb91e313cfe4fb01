"""Load against `ragline serve` on loopback: one client's latency, then many clients for a fixed time.

    python -m bench.load --clients 50 --seconds 60        (make bench-load)

Ingests the demo corpus into a fresh data folder, starts `ragline serve` as its own process on a free
loopback port, and measures:

1. one client, sequentially: /search and /query p50 and p99 over the demo questions (after a warm-up);
2. N clients (asyncio, one connection each) for T seconds, alternating /search and /query: accepted
   requests per second per route, p50/p99 of accepted requests, the deliberate 503s (busy) and every
   other error. A client that gets a 503 waits its Retry-After, as a well-behaved client does;
3. four 200 MiB bodies at once: the answers, how much of each the server took, its peak RSS.

The load generator shares the machine with the server (2 cores here): the numbers are for this
setup, not the server alone. Results: bench/RESULTS.md (server limits and load), raw rows in bench/out.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common import REPO_ROOT, machine, percentile, write_result

DEMO = REPO_ROOT / "demo"
RAGLINE = Path(sys.executable).with_name("ragline")
ROUTES = ("/search", "/query")
READY_SECONDS = 120.0


def questions() -> list[str]:
    base = [line.strip() for line in (DEMO / "questions.txt").read_text().splitlines() if line.strip()]
    # A few more of the same kind, so the load is not three cached answers.
    return [
        *base,
        "Who publishes the Riverbend water operations runbook?",
        "What did Northwind Cycles report as revenue?",
        "When should seedlings be planted in an urban garden?",
        "Which bird sings fee-bee?",
        "What happens when a pump station alarm is raised?",
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM"):
                return round(int(line.split()[1]) / 1024, 1)
        return float("nan")


def start_server(data_dir: Path, env_extra: dict[str, str]) -> Server:
    env = {**os.environ, "RAGLINE_DATA_DIR": str(data_dir), **env_extra}
    subprocess.run([str(RAGLINE), "ingest", str(DEMO / "corpus")], env=env, check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    process = subprocess.Popen(
        [str(RAGLINE), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:  # a benchmark may poll: it waits for a process it does not control
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return Server(url, process)
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"ragline serve did not answer /health on {url} within {READY_SECONDS} s")


def one_client(url: str, rounds: int, warmup: int) -> dict[str, dict[str, float]]:
    asked = questions()
    results: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=url, timeout=60) as client:
        for route in ROUTES:
            for question in asked[:warmup]:
                client.post(route, json={"question": question}).raise_for_status()
            times = []
            for i in range(rounds):
                started = time.perf_counter()
                client.post(route, json={"question": asked[i % len(asked)]}).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            results[route] = {"p50_ms": round(percentile(times, 50), 1), "p99_ms": round(percentile(times, 99), 1)}
    return results


@dataclass
class Tally:
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: {route: [] for route in ROUTES})
    busy: Counter = field(default_factory=Counter)  # deliberate 503 with Retry-After
    errors: Counter = field(default_factory=Counter)  # anything else that is not a 200


async def client_loop(url: str, number: int, until: float, tally: Tally, honour_retry_after: bool) -> None:
    asked = questions()
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        i = number
        while time.monotonic() < until:
            route = ROUTES[i % len(ROUTES)]
            question = asked[i % len(asked)]
            i += 1
            started = time.perf_counter()
            try:
                response = await client.post(route, json={"question": question})
            except httpx.HTTPError as error:
                tally.errors[f"{route} {type(error).__name__}"] += 1
                continue
            elapsed_ms = (time.perf_counter() - started) * 1000
            if response.status_code == 200:
                tally.latencies_ms[route].append(elapsed_ms)
            elif response.status_code == 503 and "retry-after" in response.headers:
                tally.busy[route] += 1
                if honour_retry_after:
                    await asyncio.sleep(float(response.headers["retry-after"]))
            else:
                tally.errors[f"{route} {response.status_code}"] += 1


async def many_clients(url: str, clients: int, seconds: float, honour_retry_after: bool) -> dict[str, object]:
    tally = Tally()
    until = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(*(client_loop(url, n, until, tally, honour_retry_after) for n in range(clients)))
    elapsed = time.monotonic() - started
    accepted = [value for values in tally.latencies_ms.values() for value in values]
    per_route = {
        route: {
            "accepted": len(values),
            "per_second": round(len(values) / elapsed, 1),
            "p50_ms": round(percentile(values, 50), 1),
            "p99_ms": round(percentile(values, 99), 1),
            "busy_503": tally.busy[route],
        }
        for route, values in tally.latencies_ms.items()
    }
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "accepted_per_second": round(len(accepted) / elapsed, 1),
        "accepted_p50_ms": round(percentile(accepted, 50), 1),
        "accepted_p99_ms": round(percentile(accepted, 99), 1),
        "busy_503": sum(tally.busy.values()),
        "other_errors": dict(tally.errors),
        "routes": per_route,
    }


def oversized(url: str, clients: int, megabytes: int) -> dict[str, object]:
    """`clients` bodies of `megabytes` MiB each at once, sent as fast as the server takes them."""
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"POST /query HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {megabytes << 20}\r\n\r\n"
    ).encode()
    piece = b" " * (1 << 20)

    def send_one() -> tuple[str, int]:
        sent = 0
        with socket.create_connection((host, int(port)), timeout=60) as conn:
            conn.sendall(head)
            try:
                while sent < megabytes << 20:
                    conn.sendall(piece)
                    sent += len(piece)
            except OSError:  # the server answered and closed: the rest is never read
                pass
            try:
                status = conn.recv(256).split(b"\r\n", 1)[0].decode()
            except OSError as error:
                status = f"no answer ({type(error).__name__})"
        return status, sent >> 20

    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(lambda _: send_one(), range(clients)))
    return {"statuses": dict(Counter(status for status, _ in answers)), "mib_sent": [mib for _, mib in answers]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="Concurrent clients; 0 skips the load phase.")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=100, help="Sequential requests per route, one client.")
    parser.add_argument("--warmup", type=int, default=8)
    parser.add_argument("--max-in-flight", type=int, default=None, help="RAGLINE_SERVER__MAX_IN_FLIGHT (default 4).")
    parser.add_argument("--ignore-retry-after", action="store_true", help="Retry a 503 at once.")
    parser.add_argument("--oversized", type=int, default=4, help="Bodies of 200 MiB sent at once; 0 skips.")
    args = parser.parse_args(argv)
    env = {} if args.max_in_flight is None else {"RAGLINE_SERVER__MAX_IN_FLIGHT": str(args.max_in_flight)}
    row: dict[str, object] = {"machine": machine(), "argv": sys.argv[1:]}
    with tempfile.TemporaryDirectory(prefix="ragline-load-") as data_dir:
        server = start_server(Path(data_dir), env)
        try:
            row["one_client"] = one_client(server.url, args.rounds, args.warmup)
            print("one client:", row["one_client"], flush=True)
            search, query = (row["one_client"][route]["p50_ms"] for route in ROUTES)  # type: ignore[index]
            print(f"/query p50 / /search p50 = {query / search:.2f} (target <= 1.5)", flush=True)
            if args.clients:
                run = asyncio.run(many_clients(server.url, args.clients, args.seconds, not args.ignore_retry_after))
                row["load"] = run
                print("load:", run, flush=True)
            if args.oversized:
                before = server.peak_rss_mib()
                row["oversized"] = {**oversized(server.url, args.oversized, 200), "peak_rss_mib_before": before}
                print("oversized bodies:", row["oversized"], flush=True)
            row["server_peak_rss_mib"] = server.peak_rss_mib()
            print("server peak RSS MiB:", row["server_peak_rss_mib"])
        finally:
            server.process.terminate()
            server.process.wait(30)
    row["load_average_after"] = [round(value, 2) for value in os.getloadavg()]
    print("results:", write_result("load", row))


if __name__ == "__main__":
    main()
