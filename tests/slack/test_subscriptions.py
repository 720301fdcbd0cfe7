"""Precise subscriptions through signed requests: one job by its ref (whatever its name), an
account (its jobs alone), text in names, and `--except` to leave some out; each listed with
its filter, who made it and when; unsubscribed as it was made."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.cycle import Monitor
from bot.demo.fakeslack import Call
from tests.conftest import CHANNEL, READER, Workspace

AUDIT = "CAUDIT01"


def texts(call: Call | Any) -> str:
    """What a call (or an ack's JSON) says, as people read it."""
    return json.dumps(getattr(call, "body", call), ensure_ascii=False)


def _in(channel: str) -> Callable[[Call], bool]:
    return lambda call: call.body.get("channel") == channel


def _alerts(workspace: Workspace, channel: str = CHANNEL) -> list[Call]:
    """Alerts (not announcements) posted in ``channel``."""
    return [
        c for c in workspace.fake.of("chat.postMessage")
        if c.body.get("channel") == channel and "_failed" not in c.body
        and str((c.body.get("metadata") or {}).get("event_payload", {}).get("key", ""))
        .startswith("incident:")
    ]  # fmt: skip


async def _monitor(workspace: Workspace) -> Monitor:
    """The alert cycle, first polls done (alerts.channel unset: only subscriptions post)."""
    client = AsyncWebClient(token="xoxb-test", base_url=f"{workspace.fake.base_url}/api/")
    monitor = workspace.built.monitor(client)
    for account in ("prod", "hub"):
        await monitor.poll(account)
    return monitor


def _cronjob_org(workspace: Workspace) -> Any:
    return workspace.suite["cronjob-org"]


def _healthy(workspace: Workspace, count: int) -> list[str]:
    sim = _cronjob_org(workspace)
    return [
        str(i) for i, j in sim.jobs.items()
        if j["enabled"] and j.get("type", 0) == 0 and j["lastStatus"] in (0, 1)
    ][:count]  # fmt: skip


def _rename(workspace: Workspace, job_id: str, title: str) -> None:
    _cronjob_org(workspace).jobs[int(job_id)]["title"] = title


async def _fail(workspace: Workspace, monitor: Monitor, *job_ids: str) -> None:
    for job_id in job_ids:
        _cronjob_org(workspace).run(job_id, ok=False)
    await monitor.poll("prod")


async def _saved(workspace: Workspace) -> list[tuple[str, str, str]]:
    store = workspace.built.deps.store
    return [(s.target, s.except_text, s.created_by) for s in await store.subscriptions.all()]


async def test_an_account_less_some_names_is_listed_with_its_filter_and_author(
    workspace: Workspace,
) -> None:
    await workspace.command('subscribe prod --except "staging"', user=READER)
    (posted,) = await workspace.fake.wait_for("chat.postMessage", where=_in(CHANNEL))
    assert posted.body["text"] == (
        f"<@{READER}> subscribed <#{CHANNEL}> to alerts for account `prod`, except those whose"
        " names contain `staging`"
    )
    (audited,) = await workspace.fake.wait_for("chat.postMessage", where=_in(AUDIT))
    assert f"<@{READER}> subscribed `{CHANNEL} (except staging) to prod`" in audited.body["text"]
    assert await _saved(workspace) == [("prod", "staging", READER)]
    await workspace.command("subscribe PROD --except STAGING", user=READER)  # the same one
    (again,) = await workspace.fake.wait_for("response_url")
    assert "already gets alerts for account `prod`, except" in texts(again)
    await workspace.command("subscribe prod")  # no filter: another subscription
    await workspace.fake.wait_for("chat.postMessage", 2, where=_in(AUDIT))
    await workspace.command("subscriptions", user=READER)
    listed = (await workspace.fake.wait_for("response_url", 2))[-1]
    body = texts(listed)
    assert (
        "• account `prod`, except those whose names contain `staging` — by <@UREADER> <!date^"
    ) in body
    assert "• account `prod` — by <@UOPERATOR> <!date^" in body
    await workspace.command("unsubscribe prod --except nightly", user=READER)
    (missed,) = (await workspace.fake.wait_for("response_url", 3))[-1:]
    assert "does not get alerts for account `prod`, except those whose names contain" in texts(
        missed
    )
    assert '`/cron unsubscribe prod --except \\"staging\\"`' in texts(missed)
    assert "`/cron unsubscribe prod`" in texts(missed)
    await workspace.command("unsubscribe prod --except Staging", user=READER)
    await workspace.fake.wait_for("chat.postMessage", 3, where=_in(AUDIT))
    assert [(t, e) for t, e, _ in await _saved(workspace)] == [("prod", "")]


async def test_except_leaves_out_the_jobs_whose_names_contain_it(workspace: Workspace) -> None:
    monitor = await _monitor(workspace)
    kept, left_out = _healthy(workspace, 2)
    _rename(workspace, left_out, "Nightly STAGING refresh")
    await workspace.command("subscribe prod --except staging", user=READER)
    await workspace.fake.wait_for("chat.postMessage", where=_in(AUDIT))
    await _fail(workspace, monitor, kept, left_out)
    (alert,) = _alerts(workspace)
    assert f"prod:{kept}" in alert.body["text"]


async def test_a_ref_is_that_job_alone_whatever_it_is_named(workspace: Workspace) -> None:
    monitor = await _monitor(workspace)
    job, namesake = _healthy(workspace, 2)
    await workspace.command(f"subscribe prod:{job}", user=READER)
    (posted,) = await workspace.fake.wait_for("chat.postMessage", where=_in(CHANNEL))
    assert f"to alerts for job `prod:{job}`" in posted.body["text"]
    await workspace.fake.wait_for("chat.postMessage", where=_in(AUDIT))
    _rename(workspace, namesake, f"mirror of prod:{job} (read only)")  # names the ref
    _rename(workspace, job, "renamed since it was subscribed")
    await _fail(workspace, monitor, namesake)
    assert _alerts(workspace) == []  # a ref is not text: another job naming it is not it
    await _fail(workspace, monitor, job)
    (alert,) = _alerts(workspace)
    assert f"prod:{job}" in alert.body["text"]
    assert "renamed since it was subscribed" in alert.body["text"]


async def test_a_ref_that_is_no_job_is_not_subscribed(workspace: Workspace) -> None:
    job = _healthy(workspace, 1)[0]
    await workspace.command(f"subscribe prod:{job[:-1]}", user=READER)  # prod:424 of prod:4242
    (told,) = await workspace.fake.wait_for("response_url")
    assert f"No job matches `prod:{job[:-1]}`" in texts(told)
    assert await _saved(workspace) == []
    assert workspace.fake.of("chat.postMessage") == []


async def test_an_account_takes_its_own_jobs_not_names_that_mention_it(
    workspace: Workspace,
) -> None:
    monitor = await _monitor(workspace)
    (job,) = _healthy(workspace, 1)
    _rename(workspace, job, "hub sync")  # a prod job whose name contains another account's
    await workspace.command("subscribe hub", user=READER)
    await workspace.fake.wait_for("chat.postMessage", where=_in(AUDIT))
    await _fail(workspace, monitor, job)
    assert _alerts(workspace) == []


async def test_a_monitor_typed_as_the_prefix_lists_show_is_subscribed_in_full(
    workspace: Workspace,
) -> None:
    monitor = await _monitor(workspace)
    hub: Any = workspace.suite["cronhub"]
    code = next(c for c, m in hub.monitors.items() if m.status in ("up", "running"))
    await workspace.command(f"subscribe hub:monitor/{code[:8]}…", user=READER)
    await workspace.fake.wait_for("chat.postMessage", where=_in(AUDIT))
    assert await _saved(workspace) == [(f"hub:monitor/{code}", "", READER)]
    hub.run(f"monitor/{code}", ok=False)
    await monitor.poll("hub")
    (alert,) = _alerts(workspace)
    assert code not in str(alert.body)
    await workspace.command(f"unsubscribe hub:monitor/{code[:8]}", user=READER)
    await workspace.fake.wait_for("chat.postMessage", 2, where=_in(AUDIT))
    assert await _saved(workspace) == []


async def test_a_job_in_a_list_of_text_is_not_a_prefix_of_another(workspace: Workspace) -> None:
    store = workspace.built.deps.store
    job = _healthy(workspace, 1)[0]
    await store.subscriptions.add(CHANNEL, f"prod:{job}", READER, workspace.built.deps.clock())
    await workspace.command(f"unsubscribe prod:{job[:-1]}", user=READER)
    (told,) = await workspace.fake.wait_for("response_url")
    assert f"does not get alerts for job `prod:{job[:-1]}`" in texts(told)
    assert len(await _saved(workspace)) == 1


async def test_a_filter_that_cannot_filter_is_refused_with_a_reason(workspace: Workspace) -> None:
    job = _healthy(workspace, 1)[0]
    one_job = await workspace.command(f"subscribe prod:{job} --except test", user=READER)
    empty = await workspace.command("subscribe prod --except", user=READER)
    assert f"`prod:{job}` is one job, so `--except` has nothing to leave out" in texts(
        one_job.json()
    )
    assert "`--except` needs the text to leave out" in texts(empty.json())
    assert "/cron subscribe [ACCOUNT|REF|TEXT] [--except TEXT]" in texts(empty.json())
    assert await _saved(workspace) == []
    assert workspace.fake.of("chat.postMessage") == []


async def test_help_explains_subscriptions_and_their_filter(workspace: Workspace) -> None:
    topic = texts((await workspace.command("help subscribe", user=READER)).json())
    everything = texts((await workspace.command("help", user=READER)).json())
    assert "/cron subscribe [ACCOUNT|REF|TEXT] [--except TEXT]" in topic
    assert "/cron unsubscribe [ACCOUNT|REF|TEXT] [--except TEXT]" in everything
    assert "who made it" in everything
