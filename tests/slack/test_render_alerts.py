"""Alert messages: every block goes through slack_sdk's ``to_dict()`` (Slack's limits)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.slack.render.alerts import (
    AlertMessage,
    IncidentView,
    Route,
    account_back,
    account_down,
    alert_open,
    alert_resolved,
    alert_update,
    already_subscribed_text,
    first_start_summary,
    muted_text,
    not_muted_text,
    not_subscribed_text,
    resolved_reply,
    rollup,
    subscribed_text,
    subscriptions_list,
    unmuted_text,
    unsubscribed_text,
)
from bot.slack.render.ids import ActionId, IncidentValue

NOW = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
OPENED = NOW - timedelta(hours=2, minutes=14)


def cronjob_org(**changes: Any) -> IncidentView:
    view = IncidentView(
        id=7,
        ref="prod:4242",
        account="prod",
        provider_label="cron-job.org",
        job_name="nightly-backup",
        opened_at=OPENED,
        last_seen_at=NOW - timedelta(minutes=3),
        failures=1,
        http_status=500,
        status_text="Failed (HTTP error)",
        duration_ms=1234,
        url="https://console.cron-job.org/jobs/4242",
    )
    return replace(view, **changes)


def djinn() -> IncidentView:
    return IncidentView(
        id=8,
        ref="ci:2",
        account="ci",
        provider_label="Djinn CI",
        job_name="nightly build",
        opened_at=OPENED,
        last_seen_at=OPENED,
        failures=1,
        http_status=None,
        status_text="failed",
        duration_ms=None,
        url="https://djinn-ci.com/b/ana/31",
        can_pause=False,
    )


def cronhub_monitor() -> IncidentView:
    return IncidentView(
        id=9,
        ref="hub:monitor/b5e5e820-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
        account="hub",
        provider_label="Cronhub",
        job_name="invoice run",
        opened_at=OPENED.replace(tzinfo=None),  # SQLite hands back naive UTC
        last_seen_at=OPENED.replace(tzinfo=None),
        failures=1,
        http_status=None,
        status_text="alert",
        duration_ms=None,
        url=None,
    )


def nasty() -> IncidentView:
    return cronjob_org(
        id=10,
        job_name="<script>&alert",
        status_text="<b>&oops</b>",
        url="https://x.test/a?b=1&c=<2>|d",
    )


VIEWS = [cronjob_org(), djinn(), cronhub_monitor(), nasty()]


def dump(message: AlertMessage) -> str:
    """Every text of the message, one per line; to_dict() raises on any Block Kit limit."""
    return "\n".join(texts(message.payload()["blocks"]))


def texts(node: Any) -> list[str]:
    """The ``text`` strings inside Slack's JSON, in order."""
    if isinstance(node, list):
        return [t for item in node for t in texts(item)]
    if not isinstance(node, dict):
        return []
    own = [node["text"]] if isinstance(node.get("text"), str) else []
    return own + [
        t for key, value in node.items() if key != "text" or not own for t in texts(value)
    ]


def buttons(message: AlertMessage) -> dict[str, dict[str, Any]]:
    """action_id -> button, across the message's actions blocks."""
    found: dict[str, dict[str, Any]] = {}
    for block in message.payload()["blocks"]:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            found[element["action_id"]] = element
    return found


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.ref)
def test_every_builder_renders_valid_blocks_for_every_provider(view: IncidentView) -> None:
    resolved = replace(view, resolved_at=NOW, acked_by="U1", acked_at=NOW)
    for message in [
        alert_open(view, now=NOW),
        alert_update(replace(view, failures=4, acked_by="U1", acked_at=NOW), now=NOW),
        alert_update(replace(view, muted=True), now=NOW),
        alert_resolved(resolved, now=NOW),
        resolved_reply(resolved, now=NOW),
        rollup(view.account, view.provider_label, [view], now=NOW),
    ]:
        assert message.text
        assert dump(message)


def test_open_alert_says_what_failed_where_and_when() -> None:
    message = alert_open(cronjob_org(), now=NOW)
    body = dump(message)
    assert "🔴 *nightly-backup* is failing" in body
    assert "`prod:4242` · `prod` (cron-job.org)" in body
    assert "HTTP 500 · Failed (HTTP error) · 1.2 s" in body
    assert "<https://console.cron-job.org/jobs/4242|Open in cron-job.org>" in body
    assert f"<!date^{int(OPENED.timestamp())}^" in body
    assert "1 failed run" in body
    assert "failed runs" not in body
    assert message.text == "cronops alert: nightly-backup (prod:4242) is failing"


def test_open_alert_has_four_buttons_carrying_the_incident() -> None:
    found = buttons(alert_open(cronjob_org(), now=NOW))
    assert list(found) == [
        ActionId.ALERT_ACK,
        ActionId.ALERT_PAUSE,
        ActionId.ALERT_MUTE,
        ActionId.ALERT_HISTORY,
    ]
    assert found[ActionId.ALERT_ACK]["style"] == "primary"
    assert found[ActionId.ALERT_MUTE]["text"]["text"] == "Mute 1h"
    for button in found.values():
        assert IncidentValue.load(button["value"]) == IncidentValue(incident_id=7, ref="prod:4242")


def test_pause_asks_first_and_says_the_provider_stops_running_the_job() -> None:
    message = alert_open(cronjob_org(), now=NOW)
    confirm = buttons(message)[ActionId.ALERT_PAUSE]["confirm"]
    assert "Pause stops cron-job.org from running the job" in confirm["text"]["text"]
    assert "Mute" in confirm["text"]["text"]
    assert "Mute 1h* stops alerts for 1 h; the job keeps running" in dump(message)


def test_no_pause_button_when_the_provider_cannot_pause() -> None:
    message = alert_open(djinn(), now=NOW)
    assert ActionId.ALERT_PAUSE not in buttons(message)
    assert "Pause" not in dump(message)
    assert "<https://djinn-ci.com/b/ana/31|Open in Djinn CI>" in dump(message)


def test_monitor_alert_without_http_status_shows_the_providers_words() -> None:
    body = dump(alert_open(cronhub_monitor(), now=NOW))
    assert "HTTP" not in body
    assert "\nalert\n" in body


def test_update_says_how_long_how_often_and_last_seen() -> None:
    body = dump(alert_update(cronjob_org(failures=4), now=NOW))
    assert "is still failing" in body
    seen = int((NOW - timedelta(minutes=3)).timestamp())
    assert f"failing for 2 h 14 min · 4 failed runs · last seen <!date^{seen}^" in body


def test_naive_store_times_are_read_as_utc() -> None:
    body = dump(alert_update(cronhub_monitor(), now=NOW))
    assert "failing for 2 h 14 min" in body


def test_acknowledge_disappears_once_acknowledged() -> None:
    acked = cronjob_org(acked_by="U1", acked_at=NOW - timedelta(minutes=5))
    message = alert_update(acked, now=NOW)
    assert list(buttons(message)) == [
        ActionId.ALERT_PAUSE,
        ActionId.ALERT_MUTE,
        ActionId.ALERT_HISTORY,
    ]
    stamp = int((NOW - timedelta(minutes=5)).timestamp())
    assert f"👀 Acknowledged by <@U1> <!date^{stamp}^" in dump(message)


def test_a_muted_alert_has_no_mute_button_and_says_the_job_keeps_running() -> None:
    message = alert_update(cronjob_org(muted=True), now=NOW)
    assert ActionId.ALERT_MUTE not in buttons(message)
    assert "🔕 Muted: the job keeps running" in dump(message)


def test_resolved_alert_keeps_only_history() -> None:
    view = cronjob_org(failures=4, resolved_at=NOW, acked_by="U1", acked_at=OPENED)
    message = alert_resolved(view, now=NOW + timedelta(hours=1))
    assert list(buttons(message)) == [ActionId.ALERT_HISTORY]
    body = dump(message)
    assert "✅ *nightly-backup* recovered after failing for 2 h 14 min (4 failed runs)" in body
    assert "Acknowledged by <@U1>" in body
    assert "Pause stops" not in body
    assert "Mute" not in body
    assert message.text == "cronops: nightly-backup (prod:4242) recovered after 2 h 14 min"


def test_resolved_reply_names_the_ref_and_the_downtime() -> None:
    message = resolved_reply(cronjob_org(resolved_at=NOW), now=NOW)
    expected = f"✅ Recovered <!date^{int(NOW.timestamp())}^{{date_short_pretty}} {{time}}|"
    assert expected in dump(message)
    assert "`prod:4242` was failing for 2 h 14 min" in dump(message)


def test_provider_text_is_escaped_everywhere() -> None:
    view = nasty()
    for message in [
        alert_open(view, now=NOW),
        alert_resolved(replace(view, resolved_at=NOW), now=NOW),
        rollup("prod", "cron-job.org", [view, view], now=NOW),
        first_start_summary("prod", "cron-job.org", [(view.ref, view.job_name, "<x>")], now=NOW),
    ]:
        body = dump(message) + message.text
        assert "<script>" not in body
        assert "<b>" not in body
        assert "&lt;script&gt;&amp;alert" in body
        assert "&amp;amp;" not in body
    body = dump(alert_open(view, now=NOW))
    assert "&lt;b&gt;&amp;oops&lt;/b&gt;" in body
    assert "<https://x.test/a?b=1&amp;c=&lt;2&gt;%7Cd|Open in cron-job.org>" in body


def test_first_start_summary_lists_each_failing_job() -> None:
    failing = [("ci:2", "nightly build", "failed"), ("ci:3", "docs", None)]
    message = first_start_summary("ci", "Djinn CI", failing, now=NOW)
    body = dump(message)
    assert "Already failing when monitoring of `ci` (Djinn CI) started:" in body
    assert "• `ci:2` *nightly build* — failed" in body
    assert "• `ci:3` *docs*\n" in body  # no status, no dash
    assert "more" not in body
    assert message.text == "cronops: 2 jobs of ci already failing"


@pytest.mark.parametrize("count", [21, 200])
def test_summary_and_rollup_cap_their_lines(count: int) -> None:
    long = "x" * 5000
    failing = [(f"ci:{n}", f"job {n} {long}", long) for n in range(count)]
    summary = dump(first_start_summary("ci", "Djinn CI", failing, now=NOW))
    assert f"…and {count - 20} more" in summary
    assert "`ci:19`" in summary
    assert "`ci:20`" not in summary
    views = [cronjob_org(id=n, ref=f"prod:{n}", job_name=long) for n in range(count)]
    message = rollup("prod", "cron-job.org", views, now=NOW)
    body = dump(message)
    assert f"🔴 {count} jobs of `prod` (cron-job.org) started failing at once" in body
    assert f"…and {count - 20} more" in body
    assert f"Opened {count} incidents" in body
    assert len(message.blocks) <= 50


def test_rollup_lines_show_ref_name_and_what_failed() -> None:
    body = dump(rollup("prod", "cron-job.org", [cronjob_org()], now=NOW))
    assert "🔴 1 job of `prod`" in body
    assert "• `prod:4242` *nightly-backup* — HTTP 500 · Failed (HTTP error) · 1.2 s" in body
    assert "Opened 1 incident;" in body


def test_account_down_is_one_notice_that_marks_no_job_failed() -> None:
    message = account_down("prod", "cron-job.org", "401 <bad key>", now=NOW)
    body = dump(message)
    assert "⚠️ `prod` (cron-job.org) is unreachable: 401 &lt;bad key&gt;." in body
    assert "no job is marked failed" in body
    assert "paused" not in body  # pausing is what the provider does to a job
    assert "<!date^" in body


def test_account_back_says_how_long_it_was_down() -> None:
    back = dump(account_back("prod", "cron-job.org", NOW - timedelta(minutes=14), now=NOW))
    assert "✅ `prod` (cron-job.org) is reachable again after 14 min" in back
    unknown = dump(account_back("prod", "cron-job.org", None, now=NOW))
    assert "is reachable again;" in unknown


def test_subscriptions_list_names_each_target_its_filter_and_who_made_it() -> None:
    routes = [
        Route("prod", "account", "staging", "U1", NOW),
        Route("hub:<x>", "job", created_by="U2", created_at=NOW),
        Route("*", "all", created_by="U3"),
        Route("backup", "text", "test", "U4", NOW),
    ]
    body = "\n".join(texts([b.to_dict() for b in subscriptions_list("C123", routes)]))
    assert "<#C123>" in body
    assert "• account `prod`, except those whose names contain `staging` — by <@U1> <!date^" in body
    assert "• job `hub:&lt;x&gt;` — by <@U2> <!date^" in body
    assert "• every job — by <@U3>\n" in body
    assert "• jobs whose names contain `backup`, except those whose names contain `test`" in body
    empty = "\n".join(texts([b.to_dict() for b in subscriptions_list("C123", [])]))
    assert "/cron subscribe [ACCOUNT|REF|TEXT] [--except TEXT]" in empty
    many = subscriptions_list(
        "C123", [Route(f"t{n}-{'y' * 500}", "text", "x" * 200, "U1", NOW) for n in range(1000)]
    )
    assert 1 <= len(many) <= 50
    assert all(b.to_dict() for b in many)


def test_subscribe_and_unsubscribe_replies() -> None:
    prod, job = Route("prod", "account"), Route("prod:4242", "job")
    everything = Route("*", "all", "staging")
    assert (
        subscribed_text("U1", "C1", prod) == "<@U1> subscribed <#C1> to alerts for account `prod`"
    )
    assert (
        subscribed_text("U1", "C1", job) == "<@U1> subscribed <#C1> to alerts for job `prod:4242`"
    )
    assert subscribed_text("U1", "C1", everything) == (
        "<@U1> subscribed <#C1> to alerts for every job, except those whose names contain `staging`"
    )
    assert already_subscribed_text("C1", prod) == "<#C1> already gets alerts for account `prod`."
    assert unsubscribed_text("U1", "C1", prod) == (
        "<@U1> unsubscribed <#C1> from alerts for account `prod`"
    )
    missing = not_subscribed_text("C1", Route("a&b", "text"))
    assert "<#C1> does not get alerts for jobs whose names contain `a&amp;b`" in missing
    assert "/cron subscriptions" in missing
    near = not_subscribed_text("C1", prod, [Route("prod", "account", "eu staging")])
    assert '`/cron unsubscribe prod --except "eu staging"`' in near


def test_mute_replies_say_the_job_keeps_running() -> None:
    forever = muted_text("U1", "prod:4242", None)
    assert forever == (
        "<@U1> 🔕 Muted `prod:4242` until it recovers — the job keeps running;"
        " cronops just won't alert."
    )
    until = muted_text("U1", "prod:4242", NOW)
    assert f"until <!date^{int(NOW.timestamp())}^" in until
    assert "the job keeps running" in until
    assert (
        unmuted_text("U1", "prod:4242") == "<@U1> unmuted `prod:4242`: its alerts are posted again"
    )
    assert not_muted_text("prod:<x>") == "`prod:&lt;x&gt;` is not muted."


def test_messages_are_posted_without_unfurling() -> None:
    payload = alert_open(cronjob_org(), now=NOW).payload()
    assert payload["unfurl_links"] is False
    assert payload["unfurl_media"] is False
