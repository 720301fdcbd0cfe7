"""The daily digest as people read it: one line on a quiet day, what matters on a bad one."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.slack.render.digest import (
    DigestBudget,
    DigestIncident,
    DigestJob,
    DigestMute,
    DigestView,
    digest,
)
from tests.slack.blockkit import assert_pings_nobody, assert_valid_message

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CODE = "b5e5e820-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
QUIET = DigestView(
    since=NOW - timedelta(days=1), until=NOW, opened=[], resolved=[], failing=[], paused=[],
    muted=[], budgets=[DigestBudget("prod", "cron-job.org", 100, 12, 3)],
)  # fmt: skip


def _body(view: DigestView) -> str:
    message = digest(view, now=NOW)
    payload = message.payload()
    assert_valid_message(payload)
    assert_pings_nobody([payload])
    return "\n".join(b["text"]["text"] for b in payload["blocks"] if b["type"] == "section")


def test_a_quiet_day_is_one_line() -> None:
    message = digest(QUIET, now=NOW)
    (block,) = message.blocks
    line = block.to_dict()["text"]["text"]
    assert "\n" not in line
    assert line.startswith("🗓️ *Daily digest*: all quiet since <!date^")
    assert "no incidents, nothing failing, paused or muted" in line
    assert message.text == "cronops daily digest: all quiet"


def test_a_budget_nearly_spent_is_not_quiet() -> None:
    busy = replace(QUIET, budgets=[DigestBudget("prod", "cron-job.org", 100, 85, 3)])
    assert not busy.quiet
    body = _body(busy)
    assert "• `prod` (cron-job.org): 85 of 100 requests yesterday (UTC), 3 so far today ⚠️" in body


def test_a_bad_day_tells_incidents_downtime_failing_paused_muted_and_budgets() -> None:
    short = DigestIncident("prod:1", "sitemap", NOW - timedelta(hours=5), NOW - timedelta(hours=4))
    long = DigestIncident("prod:2", "backup", NOW - timedelta(hours=9), NOW - timedelta(hours=1))
    open_ = DigestIncident("prod:3", "<!channel> mail", NOW - timedelta(hours=2), acked_by="U9")
    older = DigestIncident(f"hub:monitor/{CODE}", "ping", NOW - timedelta(days=3), flapping=True)
    view = replace(
        QUIET,
        opened=[short, open_],
        resolved=[short, long],
        failing=[older, open_],
        paused=[DigestJob("ci:7", "deploy docs")],
        muted=[DigestMute("prod:4", "noisy", None, "U1"), DigestMute("prod:5", None, NOW, "U2")],
    )
    body = _body(view)
    assert "*2 opened · 2 resolved* · longest downtime 8 h: `prod:2` *backup*" in body
    assert "• `prod:1` *sitemap* — opened <!date^" in body
    assert "recovered after 1 h" in body
    assert "• `prod:3` *&lt;!channel&gt; mail* — opened <!date^" in body
    assert "still failing" in body
    assert "*🔴 Still failing (2)*" in body
    assert "• `hub:monitor/b5e5e820…` *ping* — failing for 3 d · flapping" in body
    assert "failing for 2 h · acknowledged by <@U9>" in body
    assert "*⏸️ Paused (1)*\n• `ci:7` *deploy docs*" in body
    assert "• `prod:4` *noisy* — until it recovers, by <@U1>" in body
    assert "• `prod:5` — until <!date^" in body
    assert "12 of 100 requests yesterday (UTC), 3 so far today" in body
    assert CODE not in json.dumps(digest(view, now=NOW).payload())
    assert digest(view, now=NOW).text == (
        "cronops daily digest: 2 opened, 2 resolved, 2 failing, 1 paused, 2 muted"
    )


def test_long_lists_stop_at_twenty_lines_each() -> None:
    paused = [DigestJob(f"prod:{n}", f"job {n}") for n in range(45)]
    body = _body(replace(QUIET, paused=paused))
    assert "*⏸️ Paused (45)*" in body
    assert "…and 25 more" in body
    assert "`prod:19`" in body
    assert "`prod:20`" not in body


def test_accounts_whose_paused_jobs_are_unknown_are_named() -> None:
    view = replace(QUIET, unknown=[("ci", "Djinn CI did not answer")], paused_as_of=NOW)
    assert not view.quiet
    notes = json.dumps(digest(view, now=NOW).payload()["blocks"][-1])
    assert "Paused jobs of `ci` not known: Djinn CI did not answer" in notes
    assert "Paused jobs as of <!date^" in notes
