"""The board in memory: urgency order, filters, counts, tombstones, bounds; its web routes over a fake feed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.board.board import MAX_RECORD_BYTES, BadRecord, Board, Filters
from monitor.board.settings import BoardSettings
from monitor.board.web import create_web, parse_view

T0 = 1_800_000_000_000  # ms; every instant below is relative to it


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def clock(state: str = "running", deadline: int = 60_000, used: float = 0.0, target: float = 600.0,
          level: str = "none") -> dict[str, Any]:
    """One clock of a record, its deadline in ms after T0."""
    return {"state": state, "deadline": _iso(T0 + deadline), "used_seconds": used, "target_seconds": target,
            "level": level, "next_due": None}


def record(ticket: str, priority: str = "P2", response: dict[str, Any] | None = None,
           resolution: dict[str, Any] | None = None, customer: str | None = "acme",
           service: str | None = "mail") -> bytes:
    """The sla.clock record of a ticket, as the worker publishes it."""
    body: dict[str, Any] = {"type": "sla.clock", "id": f"{ticket}:clock", "schema_version": 1, "ticket_id": ticket,
                            "priority": priority, "opened_at": _iso(T0), "updated_at": _iso(T0),
                            "clocks": {"response": response or clock(),
                                       "resolution": resolution or clock(deadline=3_600_000, target=7200.0)}}
    if customer:
        body["customer_id"] = customer
    if service:
        body["service_id"] = service
    return json.dumps(body).encode()


def loaded(*messages: tuple[str, bytes | None]) -> Board:
    """A board that has read ``messages`` at start-up and is now following."""
    board = Board()
    for key, value in messages:
        board.apply(key.encode(), value)
    board.loaded()
    return board


def order(board: Board, now_ms: int = T0, **query: str) -> list[tuple[str, str]]:
    """(ticket, metric) of the rows of a view, top first."""
    return [(r["ticket_id"], r["metric"]) for r in board.view(Filters.of(query), 200, now_ms)["rows"]]


def test_breached_first_longest_overdue_first_then_by_time_to_deadline_paused_last() -> None:
    """At T0+100 s: two breached (overdue 90 s before 40 s), then running by deadline, paused ones last."""
    stopped = clock(state="stopped")
    board = loaded(
        ("soon", record("soon", response=clock(deadline=200_000), resolution=clock(deadline=9_000_000))),
        ("over40", record("over40", response=stopped, resolution=clock(deadline=60_000, level="breach"))),
        ("over90", record("over90", response=stopped, resolution=clock(deadline=10_000, level="breach"))),
        ("paused", record("paused", response=stopped, resolution=clock(state="paused", used=100.0, target=600.0))),
        ("paused-close", record("paused-close", response=stopped,
                                resolution=clock(state="paused", used=550.0, target=600.0))),
    )
    assert order(board, T0 + 100_000) == [
        ("over90", "resolution"), ("over40", "resolution"), ("soon", "response"), ("soon", "resolution"),
        ("paused-close", "resolution"), ("paused", "resolution")]
    view = board.view(Filters(), 200, T0 + 100_000)
    assert (view["open_tickets"], view["open_clocks"], view["breached"]) == (5, 6, 2)
    assert view["counts"] == {"priority": {"P2": 6}, "metric": {"resolution": 5, "response": 1}}


def test_a_running_clock_counts_as_breached_once_its_deadline_passes() -> None:
    """Breached is decided at the time of the view: before the deadline no, at it yes."""
    board = loaded(("T", record("T", response=clock(deadline=5_000))))
    assert board.view(Filters(), 10, T0 + 4_999)["breached"] == 0
    view = board.view(Filters(), 10, T0 + 5_000)
    assert view["breached"] == 1
    assert view["rows"][0]["breached"] is True


def test_changes_after_loading_keep_the_order_and_a_tombstone_removes_the_ticket() -> None:
    """A new ticket takes its place, an update moves a row, a tombstone removes both rows and the counts."""
    board = loaded(("A", record("A", response=clock(deadline=50_000))),
                   ("B", record("B", response=clock(deadline=20_000))))
    board.apply(b"C", record("C", priority="P1", response=clock(deadline=30_000)))
    assert [t for t, m in order(board) if m == "response"] == ["B", "C", "A"]
    board.apply(b"A", record("A", response=clock(deadline=10_000)))
    assert [t for t, m in order(board) if m == "response"] == ["A", "B", "C"]
    before = board.version
    board.apply(b"B", None)
    assert board.version > before
    assert "B" not in {t for t, _ in order(board)}
    assert board.view(Filters(), 10, T0)["counts"]["priority"] == {"P1": 2, "P2": 2}


def test_stopped_clocks_have_no_row() -> None:
    """An acknowledged ticket shows only its resolution clock."""
    board = loaded(("T", record("T", response=clock(state="stopped"))))
    assert order(board) == [("T", "resolution")]


@pytest.mark.parametrize(("query", "expected"), [
    ({"priority": "P1"}, {"x"}),
    ({"priority": "P1,P3"}, {"x", "z"}),
    ({"customer": "globex"}, {"y"}),
    ({"service": "crm"}, {"z"}),
    ({"ticket": "y"}, {"y"}),
    ({"priority": "P2", "customer": "globex"}, {"y"}),
    ({"priority": "P2", "customer": "acme"}, set()),
])
def test_filters_pick_rows_and_counts_follow_the_view(query: dict[str, str], expected: set[str]) -> None:
    """Each filter (comma lists allowed) narrows the rows; counts and matching are those of the view."""
    board = loaded(("x", record("x", priority="P1")), ("y", record("y", customer="globex")),
                   ("z", record("z", priority="P3", service="crm")))
    view = board.view(Filters.of(query), 200, T0)
    assert {r["ticket_id"] for r in view["rows"]} == expected
    assert view["matching"] == 2 * len(expected)
    assert sum(view["counts"]["metric"].values()) == 2 * len(expected)


def test_the_metric_filter_and_the_limit() -> None:
    """metric=response shows only response rows; limit cuts the rows, not the counts."""
    board = loaded(*((f"T{i}", record(f"T{i}", response=clock(deadline=i * 1000))) for i in range(10)))
    view = board.view(Filters.of({"metric": "response"}), 3, T0)
    assert [r["ticket_id"] for r in view["rows"]] == ["T0", "T1", "T2"]
    assert view["matching"] == 10
    assert board.view(Filters(), 3, T0)["matching"] == 20


def test_the_board_keeps_at_most_max_tickets_and_counts_the_rest() -> None:
    """A third ticket on a board of two is skipped and counted; once one is resolved it fits."""
    board = Board(max_tickets=2)
    board.apply(b"A", record("A"))
    board.apply(b"B", record("B"))
    board.apply(b"C", record("C"))
    assert set(board.tickets) == {"A", "B"}
    assert board.skipped == 1
    board.apply(b"A", record("A", priority="P1"))  # updates of kept tickets still count
    board.apply(b"B", None)
    board.apply(b"C", record("C"))
    assert set(board.tickets) == {"A", "C"}


@pytest.mark.parametrize(("key", "value", "reason"), [
    (b"T", b"not json", "JSONDecodeError"),
    (b"T", b'{"type": "sla.warning"}', "not an sla.clock record"),
    (b"T", record("other"), "is not the key"),
    (b"T", b"x" * (MAX_RECORD_BYTES + 1), "the limit is"),
    (b"T", record("T").replace(b'"running"', b'"sideways"', 1), "state"),
    (b"T", record("T").replace(b"+00:00", b""), "no offset"),
    (None, record("T"), "no key"),
])
def test_bad_records_are_refused_and_counted_and_the_ticket_keeps_its_rows(
        key: bytes | None, value: bytes, reason: str) -> None:
    """A record that is not an sla.clock for its key raises BadRecord naming why; the board is unchanged."""
    board = loaded(("T", record("T")))
    with pytest.raises(BadRecord, match=reason):
        board.apply(key, value)
    assert board.bad == 1
    assert len(order(board)) == 2


@given(st.lists(st.tuples(st.sampled_from("ABCDEFGH"), st.none() | st.integers(0, 50)), max_size=60),
       st.integers(0, 60))
@settings(max_examples=150, deadline=None)
def test_following_changes_one_by_one_gives_the_order_of_sorting_at_once(
        changes: list[tuple[str, int | None]], split: int) -> None:
    """Whatever the changes, the board after loading some and following the rest equals one sort of the end state."""
    def value(deadline: int | None) -> bytes | None:
        if deadline is None:
            return None
        return record("?", response=clock(deadline=deadline * 1000), resolution=clock(state="paused", used=deadline))

    def apply(board: Board, ticket: str, deadline: int | None) -> None:
        body = value(deadline)
        board.apply(ticket.encode(), None if body is None else body.replace(b'"?"', f'"{ticket}"'.encode()))

    followed, sorted_once = Board(), Board()
    for i, (ticket, deadline) in enumerate(changes):
        if i == split:
            followed.loaded()
        apply(followed, ticket, deadline)
        apply(sorted_once, ticket, deadline)
    if followed.loading:
        followed.loaded()
    sorted_once.loaded()
    assert followed.ordered == sorted_once.ordered == sorted(sorted_once.rows.items())
    assert followed.view(Filters(), 200, T0) == sorted_once.view(Filters(), 200, T0)


@pytest.mark.parametrize(("query", "error"), [
    ({"limit": "0"}, "limit: '0' is not a whole number from 1 to 1000"),
    ({"limit": "1001"}, "from 1 to 1000"),
    ({"limit": "ten"}, "from 1 to 1000"),
    ({"metric": "uptime"}, "metric: uptime is not one of response, resolution"),
    ({"prio": "P1"}, "unknown parameter 'prio'"),
])
def test_unusable_view_parameters_get_a_clear_error(query: dict[str, str], error: str) -> None:
    """A bad limit, metric or parameter name is refused with what to use instead."""
    with pytest.raises(ValueError, match=error):
        parse_view(query)


def test_limit_defaults_to_200() -> None:
    """No limit: 200 rows at most."""
    assert parse_view({})[1] == 200


class FakeFeed:
    """What the web routes read of the feed."""

    def __init__(self, board: Board, ready: bool = True) -> None:
        self.board, self.ready = board, ready
        self.reason = "ready" if ready else "reading the topic up to its end"


def _serve(feed: Any, calls: Any) -> Any:
    async def go() -> Any:
        client = TestClient(TestServer(create_web(feed, push_s=0.05, now_ms=lambda: T0)))
        await client.start_server()
        try:
            return await calls(client)
        finally:
            await client.close()

    return asyncio.run(go())


def test_the_api_serves_the_view_and_health_says_ready_only_after_loading() -> None:
    """/api/clocks is the board's view as JSON; /health/ready is 503 until the feed is ready; bad input 400."""
    board = loaded(("T", record("T", priority="P1")))

    async def calls(client: TestClient) -> Any:
        api = await client.get("/api/clocks?priority=P1&limit=1")
        bad = await client.get("/api/clocks?limit=x")
        ready = await client.get("/health/ready")
        alive = await client.get("/health/live")
        post = await client.post("/api/clocks")
        page = await client.get("/")
        return (api.status, await api.json(), bad.status, await bad.json(), ready.status, alive.status, post.status,
                page.status, page.headers["Content-Security-Policy"], await page.text())

    api_status, body, bad_status, bad, ready, alive, post, page, csp, html = _serve(FakeFeed(board), calls)
    assert (api_status, [r["ticket_id"] for r in body["rows"]], body["matching"], body["ready"]) == (200, ["T"], 2, True)
    assert (bad_status, bad["error"]) == (400, "limit: 'x' is not a whole number from 1 to 1000")
    assert (ready, alive, post, page) == (200, 200, 405, 200)  # read-only: no POST anywhere
    assert "default-src 'none'" in csp
    assert "http" not in html.replace("http-equiv", "")  # nothing loaded from elsewhere
    not_ready = _serve(FakeFeed(Board(), ready=False), lambda c: c.get("/health/ready"))
    assert not_ready.status == 503


def test_the_stream_pushes_the_view_at_once_and_again_after_a_change() -> None:
    """/api/stream sends the filtered view on connect, then a new one when the board changes."""
    board = loaded(("A", record("A", priority="P1")))

    async def calls(client: TestClient) -> list[dict[str, Any]]:
        response = await client.get("/api/stream?priority=P1")
        assert response.headers["Content-Type"].startswith("text/event-stream")
        pushes: list[dict[str, Any]] = []
        while len(pushes) < 2:
            line = (await response.content.readline()).decode()
            if line.startswith("data: "):
                pushes.append(json.loads(line[6:]))
                board.apply(b"B", record("B", priority="P1"))
        response.close()
        return pushes

    first, second = _serve(FakeFeed(board), calls)
    assert {r["ticket_id"] for r in first["rows"]} == {"A"}
    assert {r["ticket_id"] for r in second["rows"]} == {"A", "B"}


def test_the_board_binds_to_this_machine_unless_told() -> None:
    """SLA_BOARD_HOST defaults to 127.0.0.1 and SLA_BOARD_PORT to 8080."""
    defaults = BoardSettings()
    assert (defaults.board_host, defaults.board_port) == ("127.0.0.1", 8080)


@given(st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["P1", "P2", "P3"]), st.sampled_from(["a", "b", None]),
                          st.sampled_from(["running", "paused", "stopped"]), st.integers(-20, 20),
                          st.sampled_from(["none", "breach", "warning:0.5"])), max_size=40),
       st.sampled_from([{}, {"priority": "P1"}, {"customer": "a"}, {"priority": "P2,P3", "metric": "resolution"},
                        {"service": "mail"}, {"ticket": "T1,T2"}, {"ticket": "T3", "priority": "P1"}]),
       st.integers(1, 5), st.integers(-10, 10))
@settings(max_examples=200, deadline=None)
def test_the_indexed_view_equals_a_walk_over_every_row(
        tickets: list[tuple[int, str, str | None, str, int, str]], query: dict[str, str], limit: int,
        now_s: int) -> None:
    """Rows, counts, matching and breached from the ordered list and counters equal those of walking every row."""
    board = Board()
    for number, priority, customer, state, deadline_s, level in tickets:
        name = f"T{number}"
        board.apply(name.encode(), record(name, priority=priority, customer=customer,
                                          response=clock(state=state, deadline=deadline_s * 1000, level=level,
                                                         used=300.0 + deadline_s * 20)))
    board.loaded()
    filters, now = Filters.of(query), T0 + now_s * 1000
    walked = board._walked(filters, limit, now, board.in_order())
    assert board.view(filters, limit, now) == walked


def test_open_streams_are_bounded() -> None:
    """Beyond max_streams open pages, a new stream gets 503 with the reason; one closing makes room."""
    board = loaded(("A", record("A")))

    async def go() -> tuple[int, str, int]:
        client = TestClient(TestServer(create_web(FakeFeed(board), push_s=0.05, now_ms=lambda: T0, max_streams=1)))
        await client.start_server()
        try:
            first = await client.get("/api/stream")
            await first.content.readline()
            refused = await client.get("/api/stream")
            reason = (await refused.json())["error"]
            first.close()
            for _ in range(100):  # the server notices the closed page at its next write
                board.apply(b"B", record("B"))
                await asyncio.sleep(0.02)
                again = await client.get("/api/clocks")
                assert again.status == 200
                retry = await client.get("/api/stream")
                if retry.status == 200:
                    retry.close()
                    return refused.status, reason, 200
                retry.close()
            return refused.status, reason, retry.status
        finally:
            await client.close()

    status, reason, later = asyncio.run(go())
    assert status == 503
    assert "the most this board serves" in reason
    assert later == 200
