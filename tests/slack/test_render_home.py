"""The Home tab's view: what it says, in what order, and where it stops."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.slack.render.alerts import IncidentView
from bot.slack.render.home import (
    FAILING_SHOWN,
    AccountHealth,
    ChannelSubscription,
    HomeContent,
    MutedJob,
    PausedJob,
    TimedResume,
    home_view,
)
from bot.slack.render.ids import ActionId
from providers.base import Capability, Job, JobKind
from tests.slack.blockkit import assert_valid_view

NOW = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
UUID = "b5e5e820-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


def incident(n: int, **changes: Any) -> IncidentView:
    view = IncidentView(
        id=n, ref=f"prod:{n}", account="prod", provider_label="cron-job.org",
        job_name=f"job-{n}", opened_at=NOW - timedelta(hours=n), last_seen_at=NOW, failures=n,
        http_status=500, status_text=None, duration_ms=None, url=None,
    )  # fmt: skip
    return replace(view, **changes)


def account(name: str = "prod", **changes: Any) -> AccountHealth:
    health = AccountHealth(
        account=name, provider_label="cron-job.org", reachable=True, outage_since=None,
        error=None, failed_polls=0, used=34, limit=100, last_poll=NOW, every=timedelta(minutes=2),
        listed_at=NOW - timedelta(minutes=40),
    )  # fmt: skip
    return replace(health, **changes)


def rendered(content: HomeContent) -> dict[str, Any]:
    view: dict[str, Any] = home_view(content, now=NOW).to_dict()
    assert_valid_view(view)
    return view


def text(view: dict[str, Any]) -> str:
    return json.dumps(view, ensure_ascii=False)


def test_failing_jobs_come_unacknowledged_first_oldest_first() -> None:
    acked = incident(9, acked_by="U1", acked_at=NOW)
    view = rendered(HomeContent("U1", failing=[incident(1), acked, incident(3)]))
    shown = text(view)
    assert shown.index("job-3") < shown.index("job-1") < shown.index("job-9")
    assert "failing for 3 h" in shown
    assert "👀 Acknowledged by <@U1>" in shown
    assert shown.count("⚠️ Not acknowledged") == 2


def test_a_long_failing_list_stops_with_a_pointer_to_the_rest() -> None:
    view = rendered(HomeContent("U1", failing=[incident(n) for n in range(1, 41)]))
    assert f"…and {40 - FAILING_SHOWN} more failing" in text(view)
    assert "/cron list failing" in text(view)


def test_a_paused_job_says_when_cronops_resumes_it() -> None:
    job = Job(
        account="hub", provider="cronhub", kind=JobKind.SCHEDULER, id="scheduler/1",
        name="nightly", paused=True, capabilities=frozenset(Capability),
    )  # fmt: skip
    content = HomeContent(
        "U1",
        paused=[PausedJob(job, NOW + timedelta(hours=2), "U2")],
        resumes=[TimedResume(f"hub:monitor/{UUID}", NOW + timedelta(hours=1), "U3")],
        accounts=[account("hub", listed_at=None)],
    )
    shown = text(rendered(content))
    assert "cronops resumes it <!date^" in shown
    assert "(paused by <@U2>)" in shown
    assert "hub:monitor/b5e5e820…" in shown  # a monitor code is never shown whole
    assert UUID not in shown
    assert "not listed yet: `hub`" in shown
    assert "Paused (2)" in shown


def test_paused_jobs_say_how_old_their_lists_are() -> None:
    shown = text(rendered(HomeContent("U1", accounts=[account(), account("ci")])))
    assert "Job lists as of 40 min ago" in shown
    assert "No paused jobs" in shown


def test_muted_jobs_have_an_unmute_button_and_say_until_when() -> None:
    muted = [MutedJob("prod:1", "backup", None, "U1"), MutedJob("prod:2", None, NOW, "U2")]
    view = rendered(HomeContent("U1", muted=muted))
    shown = text(view)
    assert "until it recovers" in shown
    assert "until <!date^" in shown
    unmutes = [
        b["accessory"]["value"]
        for b in view["blocks"]
        if b.get("accessory", {}).get("action_id") == ActionId.HOME_UNMUTE
    ]
    assert unmutes == ['{"ref":"prod:1"}', '{"ref":"prod:2"}']


def test_subscriptions_are_grouped_by_channel_with_their_exceptions() -> None:
    subscriptions = [
        ChannelSubscription("C1", "prod"),
        ChannelSubscription("C1", "backup", "staging"),
        ChannelSubscription("C2", "*"),
    ]
    shown = text(rendered(HomeContent("U1", subscriptions=subscriptions, alerts_channel="C9")))
    assert "• <#C1>: `prod`, `backup` except `staging`" in shown
    assert "• <#C2>: every job" in shown
    assert "Subscriptions of your channels" in shown
    assert "Every alert goes to <#C9> too" in shown


def test_when_membership_is_unknown_the_home_says_every_channel_is_shown() -> None:
    content = HomeContent("U1", every_channel=True, membership_problem="missing_scope")
    shown = text(rendered(content))
    assert "Subscriptions of every channel" in shown
    assert "(Slack said `missing_scope`)" in shown


def test_accounts_show_reachability_and_budget() -> None:
    down = account("hub", reachable=False, outage_since=NOW, error="connection refused",
                   limit=None, used=None)  # fmt: skip
    shaky = account("ci", failed_polls=2, error="timeout")
    shown = text(rendered(HomeContent("U1", accounts=[account(), down, shaky])))
    assert "✅ *prod* (cron-job.org) reachable · 34 / 100 requests today" in shown
    assert "polling every 2 min" in shown
    assert "⚠️ *hub* (cron-job.org) unreachable since <!date^" in shown
    assert "connection refused" in shown
    assert "no daily request budget" in shown
    assert "🟡 *ci* (cron-job.org) reachable, last 2 failed polls: timeout" in shown


def test_a_notice_says_what_the_last_button_did() -> None:
    content = HomeContent("U1", notice="Only operators can pause jobs", notice_at=NOW)
    view = rendered(content)
    assert "ℹ️ Only operators can pause jobs — <!date^" in text(view)
    assert "ℹ️" not in text(rendered(HomeContent("U1")))


def test_an_empty_home_is_still_a_valid_view() -> None:
    view = rendered(HomeContent("U1"))
    assert view["type"] == "home"
    assert "Nothing is failing" in text(view)
    assert "No accounts are configured" in text(view)


def test_a_paused_job_cronops_cannot_resume_says_so() -> None:
    monitor = Job(
        account="hub", provider="cronhub", kind=JobKind.MONITOR, id=f"monitor/{UUID}",
        name="heartbeat", paused=True, capabilities=frozenset({Capability.DELETE}),
    )  # fmt: skip
    shown = text(rendered(HomeContent("U1", paused=[PausedJob(monitor)])))
    assert "paused; Cronhub has no API to resume monitors" in shown
    assert ActionId.JOB_RESUME not in shown
