"""The board's web server (aiohttp): the page, its script, the JSON API, server-sent events and health.

Read-only: every route is a GET (aiohttp answers 405 to anything else) and
nothing changes state. The page loads nothing from elsewhere (a strict
Content-Security-Policy says so to the browser too).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from monitor.board.board import FILTERS, Filters
from monitor.board.feed import Feed
from monitor.board.page import PAGE_CSS, PAGE_HTML, PAGE_JS
from monitor.board.settings import MAX_LIMIT

DEFAULT_LIMIT = 200
MAX_STREAMS = 256  # open pages (server-sent event streams) served at once; more get 503
KEEPALIVE_S = 15.0
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
NowMs = Callable[[], int]


def wall_ms() -> int:
    """The real time in ms since the epoch."""
    return round(time.time() * 1000)


def parse_view(query: Mapping[str, str]) -> tuple[Filters, int]:
    """Filters and row limit of a request; ValueError with a readable reason when they are unusable."""
    unknown = sorted(set(query) - {*FILTERS, "limit", "kiosk"})
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r}; use {', '.join(FILTERS)} and limit")
    text = query.get("limit", "") or str(DEFAULT_LIMIT)
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise ValueError(f"limit: {text!r} is not a whole number from 1 to {MAX_LIMIT}")
    return Filters.of(query), int(text)


def create_web(feed: Feed, push_s: float = 0.5, now_ms: NowMs = wall_ms,
               max_streams: int = MAX_STREAMS) -> web.Application:
    """The board's aiohttp application over ``feed`` (time from ``now_ms``, at most ``max_streams`` pages open)."""
    streams = 0

    def view(query: Mapping[str, str]) -> dict[str, Any]:
        filters, limit = parse_view(query)
        out = feed.board.view(filters, limit, now_ms())
        out["ready"], out["status"] = feed.ready, feed.reason
        return out

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE_HTML, content_type="text/html", headers=HEADERS)

    async def script(request: web.Request) -> web.Response:
        return web.Response(text=PAGE_JS, content_type="text/javascript", headers=HEADERS)

    async def style(request: web.Request) -> web.Response:
        return web.Response(text=PAGE_CSS, content_type="text/css", headers=HEADERS)

    async def clocks(request: web.Request) -> web.Response:
        try:
            body = view(request.query)
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=400, headers=HEADERS)
        return web.json_response(body, headers=HEADERS, dumps=_dumps)

    async def stream(request: web.Request) -> web.StreamResponse:
        nonlocal streams
        try:
            view(request.query)
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=400, headers=HEADERS)
        if streams >= max_streams:
            return web.json_response({"error": f"{streams} pages are open, the most this board serves; use "
                                      "another replica or /api/clocks"}, status=503, headers=HEADERS)
        streams += 1
        try:
            return await _stream(request)
        finally:
            streams -= 1

    async def _stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={**HEADERS, "Content-Type": "text/event-stream",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        seen: tuple[int, bool] | None = None
        quiet_since = time.monotonic()
        try:
            while True:
                board = feed.board
                if seen != (board.version, feed.ready):
                    seen = board.version, feed.ready
                    await response.write(b"event: clocks\ndata: " + _dumps(view(request.query)).encode() + b"\n\n")
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > KEEPALIVE_S:
                    await response.write(b": keep-alive\n\n")
                    quiet_since = time.monotonic()
                await asyncio.sleep(push_s)
        except ConnectionError:  # the page went away
            return response

    async def live(request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def ready(request: web.Request) -> web.Response:
        if feed.ready:
            return web.json_response({"status": "ready", "tickets": len(feed.board.tickets)})
        return web.json_response({"status": "unavailable", "reason": feed.reason}, status=503)

    app = web.Application()
    app.add_routes([web.get("/", page), web.get("/board.js", script), web.get("/board.css", style),
                    web.get("/api/clocks", clocks), web.get("/api/stream", stream),
                    web.get("/health/live", live), web.get("/health/ready", ready)])
    return app


def _dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
