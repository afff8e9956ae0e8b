"""The on-call board at N open tickets (default 100,000) beside a 200-ticket board, in the same run.

Measured on the board's own code (``monitor.board``), its web server on a local
port and, unless ``--no-kafka`` / ``--no-browser``, the local broker and
Debian's headless chromium:

1. memory: bytes per open ticket the board keeps (tracemalloc);
2. start-up: records applied per second while loading, and the one sort at the end;
   with Kafka, seconds from start to /health/ready reading N records from a topic;
3. API: GET /api/clocks (default limit 200), and filtered (a customer matching ~1/10),
   p50 / p99 over repeated requests, at N and at 200 tickets;
4. updates: µs per change applied while following (a ticket's record rewritten);
   cost of one server-sent push (the view computed and encoded);
5. page: in chromium, ms from navigation to the first rows drawn, and the time one
   redraw of the rows takes in the browser, at N and at 200 tickets.

    python bench/board_bench.py [--tickets N] [--requests N] [--no-kafka] [--no-browser]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import random
import shutil
import statistics
import threading
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from harness import BOOTSTRAP, create, produce

from monitor.board.board import Board, Filters
from monitor.board.feed import Feed
from monitor.board.settings import BoardSettings
from monitor.board.web import create_web

T0 = time.time()
CUSTOMERS = [f"customer-{i}" for i in range(10)]
SERVICES = ["mail", "crm", "vpn", "billing", "erp"]


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


def record(n: int, rng: random.Random, version: int = 0) -> tuple[bytes, bytes]:
    """A realistic sla.clock record of ticket n: response running or stopped, resolution running or paused."""
    priority = rng.choice(["P1", "P2", "P2", "P3", "P3", "P3"])
    acknowledged = rng.random() < 0.6
    paused = rng.random() < 0.1

    def clock(state: str, target: float) -> dict[str, Any]:
        used = rng.uniform(0, target * 1.1)
        return {"state": state, "deadline": _iso(T0 + target - used + version), "used_seconds": round(used, 3),
                "target_seconds": target, "level": "breach" if used >= target else "warning:0.5" if used > target / 2
                else "none", "next_due": None if state != "running" else _iso(T0 + 60)}

    body = {"type": "sla.clock", "id": f"INC-{n}:clock", "schema_version": 1, "ticket_id": f"INC-{n}",
            "priority": priority, "customer_id": CUSTOMERS[n % 10], "service_id": SERVICES[n % 5],
            "opened_at": _iso(T0 - 3600), "updated_at": _iso(T0),
            "clocks": {"response": clock("stopped" if acknowledged else "running", 1800.0),
                       "resolution": clock("paused" if paused else "running", 28800.0)}}
    return f"INC-{n}".encode(), json.dumps(body).encode()


class StaticFeed:
    """A feed that has read everything already (the web routes read ``board``, ``ready``, ``reason``)."""

    def __init__(self, board: Board) -> None:
        self.board, self.ready, self.reason = board, True, "ready"


def build(records: list[tuple[bytes, bytes]]) -> tuple[Board, float, float]:
    """A loaded board; records/s while loading and seconds of the final sort."""
    board = Board(max_tickets=len(records) + 1)
    began = time.perf_counter()
    for key, value in records:
        board.apply(key, value)
    loading = time.perf_counter() - began
    began = time.perf_counter()
    board.loaded()
    return board, len(records) / loading, time.perf_counter() - began


def memory_per_ticket(records: list[tuple[bytes, bytes]]) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    board, _, _ = build(records)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del board
    return (after - before) / len(records)


async def api_times(board: Board, paths: list[str], requests: int) -> dict[str, tuple[float, float, int]]:
    """p50, p99 (ms) and body bytes of GET path, over ``requests`` each, against a real local server."""
    runner = web.AppRunner(create_web(StaticFeed(board)))  # type: ignore[arg-type]
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    out = {}
    try:
        async with aiohttp.ClientSession() as session:
            for path in paths:
                times, size = [], 0
                for _ in range(requests):
                    began = time.perf_counter()
                    async with session.get(f"http://127.0.0.1:{port}{path}") as response:
                        body = await response.read()
                    times.append((time.perf_counter() - began) * 1000)
                    size = len(body)
                times.sort()
                out[path] = (statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))], size)
    finally:
        await runner.cleanup()
    return out


def update_cost(board: Board, count: int, rng: random.Random) -> tuple[float, float]:
    """µs per change applied while following, and ms per server-sent push (view + JSON)."""
    changes = [record(rng.randrange(len(board.tickets)), rng, version=i) for i in range(count)]
    began = time.perf_counter()
    for key, value in changes:
        board.apply(key, value)
    per_change = (time.perf_counter() - began) / count * 1e6
    began = time.perf_counter()
    pushes = 50
    for _ in range(pushes):
        json.dumps(board.view(Filters(), 200, round(time.time() * 1000)), separators=(",", ":"))
    return per_change, (time.perf_counter() - began) / pushes * 1000


async def kafka_ready(records: list[tuple[bytes, bytes]]) -> float:
    """Seconds from the feed's start to ready over a topic holding the records."""
    topic = f"bench-{uuid.uuid4().hex[:6]}.clocks"
    await create([topic], 4)
    await produce(topic, records)
    feed = Feed(BoardSettings(kafka_bootstrap=BOOTSTRAP, topic_clocks=topic), Board(len(records) + 1))
    began = time.perf_counter()
    task = asyncio.create_task(feed.run())
    while not feed.ready:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - began
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return elapsed


async def _shutdown(runner: web.AppRunner) -> None:
    """Stop the server and end its handlers (streams of pages the browser closed) before the loop stops."""
    await runner.cleanup()
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def browser_times(board: Board) -> tuple[float, float, float]:
    """ms from navigation to the first rows drawn (about, to 5 ms), of one redraw of a push, and of one tick."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    async def serve() -> tuple[web.AppRunner, int]:
        runner = web.AppRunner(create_web(StaticFeed(board)), shutdown_timeout=1.0)  # type: ignore[arg-type]
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    loop = asyncio.new_event_loop()
    runner, port = loop.run_until_complete(serve())  # kept running until the browser is done
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1300,900"):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or "chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        loads = []
        for _ in range(5):
            driver.get(f"http://127.0.0.1:{port}/")
            while not driver.execute_script("return document.querySelectorAll('#rows tr').length"):
                time.sleep(0.005)
            loads.append(driver.execute_script("return performance.now()"))  # ms since navigation began
        # One push drawn: the page's own render() of the default view, then one second's tick.
        redraw, tick = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch('/api/clocks').then(r => r.json()).then(view => {
              let t = performance.now();
              for (let i = 0; i < 10; i++) window.slaBoard.render(view);
              const render = (performance.now() - t) / 10;
              t = performance.now();
              for (let i = 0; i < 10; i++) window.slaBoard.tick();
              done([render, (performance.now() - t) / 10]);
            });""")
        return statistics.median(loads), float(redraw), float(tick)
    finally:
        driver.quit()
        asyncio.run_coroutine_threadsafe(_shutdown(runner), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--no-kafka", action="store_true")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    rng = random.Random(7)
    big = [record(n, rng) for n in range(args.tickets)]
    small = big[:200]
    print(f"memory of a {args.tickets:,}-ticket board ...", flush=True)
    per_ticket = memory_per_ticket(big)
    rows: list[tuple[str, str, str]] = []
    boards = {}
    for label, records in ((f"{args.tickets:,}", big), ("200", small)):
        board, rate, sort_s = build(records)
        boards[label] = board
        rows.append((f"load: records applied per second ({label})", f"{rate:,.0f}", ""))
        rows.append((f"load: final sort ({label}, ms)", f"{sort_s * 1000:,.1f}", ""))
    n, base = f"{args.tickets:,}", "200"
    paths = ["/api/clocks", "/api/clocks?customer=customer-3", "/api/clocks?ticket=INC-150", "/"]
    print("API and page over HTTP ...", flush=True)
    timing = {label: asyncio.run(api_times(board, paths, args.requests)) for label, board in boards.items()}
    measures = []
    for path in paths:
        big_t, small_t = timing[n][path], timing[base][path]
        measures.append((f"GET {path} p50 ms", f"{big_t[0]:.2f}", f"{small_t[0]:.2f}"))
        measures.append((f"GET {path} p99 ms", f"{big_t[1]:.2f}", f"{small_t[1]:.2f}"))
        measures.append((f"GET {path} bytes", f"{big_t[2]:,}", f"{small_t[2]:,}"))
    print("updates and pushes ...", flush=True)
    big_update, big_push = update_cost(boards[n], 20_000, rng)
    small_update, small_push = update_cost(boards[base], 2_000, rng)
    measures.append(("update: µs per change while following", f"{big_update:.1f}", f"{small_update:.1f}"))
    measures.append(("push: ms per server-sent view (200 rows)", f"{big_push:.2f}", f"{small_push:.2f}"))
    if not args.no_browser and shutil.which("chromium"):
        print("chromium page load ...", flush=True)
        big_load, big_redraw, big_tick = browser_times(boards[n])
        small_load, small_redraw, small_tick = browser_times(boards[base])
        measures.append(("chromium: navigation to rows drawn, ms", f"{big_load:.0f}", f"{small_load:.0f}"))
        measures.append(("chromium: one push redrawn, ms", f"{big_redraw:.1f}", f"{small_redraw:.1f}"))
        measures.append(("chromium: one countdown tick, ms", f"{big_tick:.1f}", f"{small_tick:.1f}"))
    if not args.no_kafka:
        print(f"Kafka: reading {args.tickets:,} records from a topic to ready ...", flush=True)
        measures.append(("Kafka: start to /health/ready, s", f"{asyncio.run(kafka_ready(big)):.1f}",
                         f"{asyncio.run(kafka_ready(small)):.1f}"))
    print()
    print(f"{'measure':<52}{n + ' open':>16}{'200 open':>14}")
    print(f"{'memory: bytes per open ticket':<52}{per_ticket:>16,.0f}{'':>14}")
    for name, value, _ in rows:
        print(f"{name:<52}{value:>16}")
    for name, value, baseline in measures:
        print(f"{name:<52}{value:>16}{baseline:>14}")


if __name__ == "__main__":
    main()
