"""The progress bar's rate and time left, with a fake clock (no timed tests)."""

from __future__ import annotations

import io
import re

import pytest

from sim.progress import (
    RunClock,
    RunProgress,
    format_rate,
    format_seconds,
    listening_to_years,
    progress_bar,
    year_closed,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_two_workers_four_replications_the_issue_case():
    """The issue's case: 4 replications on 2 workers, the first done after 41 s. tqdm's
    heartbeat-driven rate said 6 s left; two more rounds of ~41 s remain, one of them
    already under way: about 41 s."""
    t = FakeClock()
    c = RunClock(4, lanes=2, clock=t)
    t.now += 10
    assert c.seconds_left() is None and c.seconds_per_replication() is None
    t.now += 31
    c.finished()
    assert c.replication_seconds() == pytest.approx(41)
    assert c.seconds_left() == pytest.approx(41)  # 2 rounds x 41 s - 41 s elapsed
    assert c.seconds_per_replication() == pytest.approx(20.5)  # two at a time
    t.now += 4  # the second of the first round
    c.finished()
    assert c.seconds_left() == pytest.approx(2 * 45 - 45)
    t.now += 15  # heartbeats do not move the estimate: the time left counts down
    assert c.seconds_left() == pytest.approx(30)
    t.now += 40  # past the estimate: the wait so far bounds the duration from below
    assert c.replication_seconds() == pytest.approx(100 / 2)
    assert c.seconds_left() == pytest.approx(0)
    c.finished(2)
    assert c.seconds_left() == 0.0


def test_as_many_workers_as_replications_finish_together():
    t = FakeClock()
    c = RunClock(4, lanes=8, clock=t)  # lanes capped at the replications to run
    assert c.lanes == 4
    t.now += 10
    c.finished()
    assert c.seconds_left() == pytest.approx(0)  # the others run in the same round
    assert c.seconds_per_replication() == pytest.approx(2.5)


def test_one_worker_counts_the_years_of_the_running_replication():
    t = FakeClock()
    c = RunClock(2, lanes=1, clock=t)
    t.now += 3
    c.advance(3 / 10)  # 3 of 10 years after 3 s: 10 s per replication
    assert c.replication_seconds() == pytest.approx(10)
    assert c.seconds_left() == pytest.approx(20 - 3)
    t.now += 1  # between years the time left counts down
    assert c.seconds_left() == pytest.approx(16)
    t.now += 6
    c.advance(1.0)
    c.finished()
    assert c.partial == 0 and c.seconds_left() == pytest.approx(10)
    assert c.seconds_per_replication() == pytest.approx(10)


def test_several_workers_ignore_years():
    t = FakeClock()
    c = RunClock(4, lanes=2, clock=t)
    t.now += 5
    c.advance(0.5)  # worker processes do not report years; a stray report is ignored
    assert c.seconds_left() is None


def test_formats():
    assert format_seconds(None) == "?"
    assert format_seconds(41.4) == "00:41"
    assert format_seconds(3723) == "1:02:03"
    assert format_rate(None) == "? s/rep"
    assert format_rate(20.5) == "20.5 s/rep"
    assert format_rate(0.25) == "4.0 rep/s"


def test_status_line_of_a_resumed_serial_run():
    t = FakeClock()
    p = RunProgress(4, done=1, lanes=1, clock=t)  # one finished before: not in the rate
    assert p.status() == "1/4 rep [00:00<?, ? s/rep]"
    t.now += 4
    p.year_closed(2, 10)
    assert p.status() == "1/4 rep, year 2/10 [00:04<00:56, 20.0 s/rep]"
    t.now += 16
    p.year_closed(10, 10)
    p.finished()
    assert p.status() == "2/4 rep [00:20<00:40, 20.0 s/rep]"


def test_the_text_bar_shows_the_status_and_is_removed():
    stream = io.StringIO()
    progress = progress_bar(3, desc="tiny", enabled=True, delay=0, file=stream)
    progress.finished()
    progress.close()
    shown = stream.getvalue()
    assert re.search(r"tiny:  33%\|.*\| 1/3 rep \[00:00<00:00, [\d,.]+ rep/s\]", shown)
    assert shown.endswith("\r")  # the bar's line is cleared at the end (leave=False)


def test_year_reports_reach_only_a_listener():
    heard = []
    year_closed(1, 5)  # nobody listens: nothing happens
    with listening_to_years(lambda closed, of: heard.append((closed, of))):
        year_closed(2, 5)
        with listening_to_years(None):
            year_closed(3, 5)
        year_closed(4, 5)
    year_closed(5, 5)
    assert heard == [(2, 5), (4, 5)]
