"""Djinn CI lists crons without builds: `/cron list` shows what the poller last saw."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.cycle import Monitor
from bot.config.settings import AlertsConfig
from tests.conftest import Workspace, texts


def _monitor(workspace: Workspace) -> Monitor:
    workspace.built.deps.alerts = AlertsConfig(channel="CALERTS01")
    client = AsyncWebClient(token="xoxb-test", base_url=f"{workspace.fake.base_url}/api/")
    return workspace.built.monitor(client)


def _text(block: dict[str, Any]) -> str:
    return str((block.get("text") or {}).get("text", ""))


def _newest_status(sim: Any, cron_id: int) -> str | None:
    builds = sim.builds[cron_id]  # oldest first
    return builds[-1].status if builds else None


async def test_a_failing_djinn_cron_is_listed_as_failing_once_polled(
    workspace: Workspace,
) -> None:
    sim: Any = workspace.suite["djinn"]
    healthy = [c for c in sim.crons if _newest_status(sim, c) == "passed"]
    failing, passing = healthy[0], healthy[1]

    await workspace.command("list ci failing")
    (before,) = await workspace.fake.wait_for("response_url")
    assert f"ci:{failing}" not in texts(before)  # nothing known yet, nothing claimed

    monitor = _monitor(workspace)
    await monitor.poll("ci")  # the first poll remembers where every cron stands
    sim.run(str(failing), ok=False)
    await monitor.poll("ci")
    workspace.built.deps.rendered.clear()  # the same minute: the list is rendered anew

    await workspace.command("list ci failing")
    (_, after) = await workspace.fake.wait_for("response_url", 2)
    assert f"ci:{failing}`" in texts(after)
    assert f"ci:{passing}`" not in texts(after)


async def test_the_first_start_summary_gives_each_djinn_cron_its_build_status(
    workspace: Workspace,
) -> None:
    sim: Any = workspace.suite["djinn"]
    failed = [c for c in sim.crons if _newest_status(sim, c) in ("failed", "timed_out")]
    assert failed  # the seeded world has crons already failing

    await _monitor(workspace).poll("ci")
    (summary,) = await workspace.fake.wait_for(
        "chat.postMessage", where=lambda c: "already failing" in c.body.get("text", "")
    )
    lines = [line for block in summary.body["blocks"] for line in _text(block).splitlines()]
    for cron_id in failed:
        (line,) = [line for line in lines if f"ci:{cron_id}`" in line]
        assert str(_newest_status(sim, cron_id)) in line


async def test_many_asking_at_once_share_one_rendering(workspace: Workspace) -> None:
    store = workspace.built.deps.store
    reads, read = [], store.cursors.of

    async def counted(account: str) -> Any:
        reads.append(account)
        return await read(account)

    store.cursors.of = counted  # type: ignore[method-assign]
    await workspace.command("list ci")  # fills the listing cache: the asks below share it
    await workspace.fake.wait_for("response_url")
    workspace.built.deps.rendered.clear()
    reads.clear()

    await asyncio.gather(*(workspace.command("list ci") for _ in range(20)))
    answers = await workspace.fake.wait_for("response_url", 21)
    assert reads == ["ci"]  # one rendering, one read of what the poller saw
    assert len({texts(a) for a in answers[1:]}) == 1
