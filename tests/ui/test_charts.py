"""The server-drawn SVG charts and the metric series behind them (bucketing in SQL, percentiles in Python)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from mcphost.models import UsageEvent
from mcphost.servers import metrics_series
from mcphost.ui.charts import Series, bar_chart, line_chart, nice_ceiling, number
from tests.servers.hosting import deploy
from tests.support.accounts import sign_up
from tests.support.traces import invocation, record

NOW = datetime(2026, 3, 4, 12, 30, 20, tzinfo=UTC)
TIMES = [NOW + timedelta(minutes=i) for i in range(4)]


def test_the_scale_ends_on_a_round_number() -> None:
    assert [nice_ceiling(v) for v in (0, 0.7, 1, 3, 7, 12, 99, 240)] == [1, 1, 1, 5, 10, 20, 100, 250]
    assert [number(v) for v in (0, 0.0333, 2.5, 12.5, 1234.4)] == ["0", "0.0333", "2.5", "12.5", "1234"]


def test_a_line_chart_is_an_image_with_its_summary_and_breaks_where_values_are_missing() -> None:
    svg = str(
        line_chart(
            TIMES,
            [Series("p50", [1, 2, None, 4], "series-1"), Series("p99 <x>", [3, None, None, None], "series-2")],
            summary="Latency: <fast> & steady",
            step=timedelta(minutes=1),
            unit=" ms",
        )
    )
    assert svg.startswith('<svg class="chart" role="img" aria-label="Latency: &lt;fast&gt; &amp; steady"')
    assert "<title>Latency: &lt;fast&gt; &amp; steady</title>" in svg
    assert svg.count('<path class="series-1"') == 1
    first = re.search(r'<path class="series-1" d="([^"]*)"', svg)
    assert first is not None and first.group(1).count("M") == 2  # two segments: before and after the gap
    assert '<circle class="series-1"' in svg  # the lone value after the gap is a dot
    assert '<circle class="series-2"' in svg and "p99 &lt;x&gt;" in svg
    assert svg.count('class="grid"') == 4 and svg.count('class="axis"') == 2
    assert ">5 ms</text>" in svg and ">12:30</text>" in svg and ">12:33</text>" in svg


def test_a_bar_chart_draws_one_bar_per_value_that_is_not_zero() -> None:
    svg = str(
        bar_chart(
            TIMES,
            [Series("Restarts", [0, 2, 0, 1], "bar"), Series("Crashes", [1, 0, 0, 0], "bar-bad")],
            summary="Restarts: 3, crashes: 1",
            step=timedelta(hours=3),
        )
    )
    assert svg.count('<rect class="bar"') == 2 and svg.count('<rect class="bar-bad"') == 1
    assert "<title>Restarts: 2 at Wed 12:31</title>" in svg
    assert 'aria-label="Restarts: 3, crashes: 1"' in svg


def test_percentiles_and_buckets() -> None:
    assert metrics_series.percentile([], 0.5) is None
    values = [float(v) for v in range(1, 101)]
    assert (metrics_series.percentile(values, 0.5), metrics_series.percentile(values, 0.99)) == (50.0, 99.0)
    start, count, step = metrics_series.buckets("1h", NOW)
    assert (start, count, step) == (datetime(2026, 3, 4, 11, 31, tzinfo=UTC), 60, timedelta(minutes=1))
    assert start + count * step > NOW >= start + (count - 1) * step
    start, count, step = metrics_series.buckets("7d", NOW)
    assert (count, step, start.hour % 3) == (56, timedelta(hours=3), 0)


async def test_the_series_counts_calls_errors_and_restarts_per_bucket(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await sign_up(client, "charts@example.com")
    server = await deploy(client, owner)
    # Half way through a minute, so every call and event below falls in a known one-minute bucket.
    now = datetime.now(UTC).replace(second=30, microsecond=0) - timedelta(minutes=1)
    at = now.timestamp()
    await record(
        app,
        invocation(server, started_at=at - 1, duration=0.010),
        invocation(server, started_at=at - 1, duration=0.030),
        invocation(server, started_at=at - 1, duration=0.050, error={"code": -32602, "message": "bad"}, result=None),
        invocation(server, started_at=at - 600, duration=0.020),
        invocation(server, started_at=at - 7200, duration=0.020),  # outside the hour
    )
    server_id = uuid.UUID(server["id"])
    async with app.state.platform.db.session_scope() as session:
        session.add_all(
            [
                UsageEvent(server_id=server_id, kind="crash", ts=now - timedelta(seconds=2)),
                UsageEvent(server_id=server_id, kind="restart", ts=now - timedelta(seconds=2)),
                UsageEvent(server_id=server_id, kind="start", ts=now - timedelta(seconds=2)),
            ]
        )
    async with app.state.platform.db.session_scope() as session:
        hour = await metrics_series.series(session, server_id, "1h", now)
        week = await metrics_series.series(session, server_id, "7d", now)

    assert (hour.total_calls, hour.total_errors, len(hour.calls)) == (4, 1, 60)
    now_bucket = len(hour.starts) - 1
    assert hour.calls[now_bucket] == 3 and hour.errors[now_bucket] == 1
    assert hour.calls[now_bucket - 10] == 1
    assert hour.p50[now_bucket] == 30.0 and hour.p99[now_bucket] == 50.0
    assert hour.p50[now_bucket - 10] == 20.0 and hour.p50[0] is None
    assert (sum(hour.restarts), sum(hour.crashes)) == (1, 1)
    assert week.total_calls == 5 and week.total_errors == 1 and sum(week.restarts) == 1
    assert abs(hour.per_second[now_bucket] - 3 / 60) < 1e-9
