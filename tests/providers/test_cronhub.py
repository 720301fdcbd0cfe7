"""Cronhub: schedulers and monitors against the simulator, plus the quirks of providers.md §3."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from providers.base import Capability, JobKind, JobSpec, RunResult
from providers.config import BuildContext
from providers.cronhub.client import NO_MONITOR_RESUME, Cronhub, CronhubAccount
from providers.cronhub.sim import CronhubSim
from providers.cronhub.wire import cronhub_error, parse_time
from providers.errors import (
    AuthRejected,
    BadResponse,
    InvalidInput,
    NotFound,
    ProviderUnavailable,
    Unsupported,
)
from providers.http import RetryPolicy
from providers.schedule import Schedule
from providers.sim.base import SIM_KEY

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PING = datetime(2018, 8, 12, 21, 1, 8, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"


def clock() -> datetime:
    return NOW


def client_for(sim: CronhubSim, key: str = SIM_KEY) -> Cronhub:
    account = CronhubAccount(name="hub", provider="cronhub", api_key=SecretStr(key))
    ctx = BuildContext(
        transport_for=lambda a: httpx.ASGITransport(app=sim.app),
        retry=RetryPolicy(attempts=2, initial_wait=0, max_wait=0),
        clock=clock,
    )
    return Cronhub.from_config(account, ctx)


@pytest.fixture
def sim() -> CronhubSim:
    return CronhubSim(clock=clock, seed=1, jobs=20)


@pytest.fixture
async def hub(sim: CronhubSim) -> AsyncIterator[Cronhub]:
    client = client_for(sim)
    yield client
    await client.aclose()


def scheduler_spec(**changes: Any) -> JobSpec:
    fields: dict[str, Any] = {
        "kind": JobKind.SCHEDULER,
        "name": "rebuild search index",
        "schedule": Schedule.from_cron("0 3 * * *"),
        "url": "https://example.com/hooks/reindex",
        "http_method": "GET",
    }
    return JobSpec(**{**fields, **changes})


def monitor_spec(**changes: Any) -> JobSpec:
    fields: dict[str, Any] = {
        "kind": JobKind.MONITOR,
        "name": "nightly export heartbeat",
        "schedule": Schedule.from_cron("30 2 * * *", "Europe/Berlin"),
        "grace_period": 15,
    }
    return JobSpec(**{**fields, **changes})


def first_monitor(sim: CronhubSim, status: str | None = "up") -> str:
    return next(code for code, m in sim.monitors.items() if m.status == status)


# -- listing --------------------------------------------------------------------------------
async def test_list_returns_both_kinds_with_their_ids_and_states(
    sim: CronhubSim, hub: Cronhub
) -> None:
    jobs = {job.id: job for job in await hub.list_jobs()}

    assert set(jobs) == set(sim.job_ids())
    for sid, record in sim.schedulers.items():
        job = jobs[f"scheduler/{sid}"]
        assert (job.kind, job.name, job.paused) == (
            JobKind.SCHEDULER,
            record["name"],
            record["status"] == "paused",
        )
        assert job.last_result is RunResult.UNKNOWN
        assert job.http_method == record["http_method"].upper()
        assert job.link == f"https://cronhub.io/schedulers/{sid}"
    expected = {"up": RunResult.OK, "alert": RunResult.FAILED, "new": RunResult.NONE}
    for code, monitor in sim.monitors.items():
        job = jobs[f"monitor/{code}"]
        assert job.paused == (monitor.status == "paused")
        assert job.last_run == monitor.last_ping
        if monitor.status in expected:
            assert job.last_result is expected[monitor.status]
    assert any(j.last_result is RunResult.FAILED for j in jobs.values())


async def test_listing_sends_one_request_per_kind(sim: CronhubSim, hub: Cronhub) -> None:
    await hub.list_jobs()

    assert dict(sim.requests) == {"GET /schedulers": 1, "GET /monitors": 1}


async def test_a_monitor_that_never_pinged_has_no_last_run(sim: CronhubSim, hub: Cronhub) -> None:
    job = await hub.get_job(f"monitor/{first_monitor(sim, 'new')}")

    assert (job.last_run, job.last_result, job.last_status) == (None, RunResult.NONE, "new")


async def test_capabilities_promise_no_history_and_no_monitor_resume(hub: Cronhub) -> None:
    assert not hub.caps(JobKind.SCHEDULER) & {Capability.HISTORY}
    assert Capability.RESUME in hub.caps(JobKind.SCHEDULER)
    assert not hub.caps(JobKind.MONITOR) & {Capability.HISTORY, Capability.RESUME}
    assert Capability.PAUSE in hub.caps(JobKind.MONITOR)


# -- timestamps and statuses ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2018-08-12T21:01:08+00:00", PING),
        ("2018-08-12T23:01:08+02:00", PING),
        ({"date": "2018-08-12 21:01:08.000000", "timezone_type": 3, "timezone": "UTC"}, PING),
        ({"date": "2018-08-12 23:01:08.000000", "timezone_type": 3,
          "timezone": "Europe/Berlin"}, PING),
        ({"date": "2018-08-12 19:01:08.000000", "timezone_type": 1, "timezone": "-02:00"}, PING),
        (int(PING.timestamp()), PING),
        (None, None),
    ],
)  # fmt: skip
def test_both_timestamp_shapes_parse_to_the_same_moment(value: Any, expected: Any) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize("shape", ["iso", "php", "mixed"])
async def test_monitors_read_the_same_whatever_timestamp_shape_the_api_sends(shape: str) -> None:
    sim = CronhubSim(clock=clock, seed=4, jobs=15, timestamp_shape=shape)  # type: ignore[arg-type]
    client = client_for(sim)
    monitors = [j for j in await client.list_jobs() if j.kind is JobKind.MONITOR]
    await client.aclose()

    pings = {m.code: m.last_ping for m in sim.monitors.values()}
    assert {j.id.removeprefix("monitor/"): j.last_run for j in monitors} == pings
    assert all(dict(j.details).get("Created") for j in monitors)


@pytest.mark.parametrize(
    ("status", "result", "paused"),
    [
        ("ALERT", RunResult.FAILED, False),
        ("Up", RunResult.OK, False),
        ("RUNNING", RunResult.RUNNING, False),
        ("NEW", RunResult.NONE, False),
        (None, RunResult.NONE, False),
        ("PAUSED", RunResult.UNKNOWN, True),
    ],
)
async def test_monitor_status_is_read_case_insensitively(
    sim: CronhubSim, hub: Cronhub, status: str | None, result: RunResult, paused: bool
) -> None:
    code = first_monitor(sim)
    sim.monitors[code].status = status

    job = await hub.get_job(f"monitor/{code}")

    assert (job.last_result, job.paused) == (result, paused)
    assert job.last_status == (status.lower() if status else None)


# -- creating and editing ---------------------------------------------------------------------
async def test_a_scheduler_is_created_form_encoded_at_schedulers_create(
    sim: CronhubSim, hub: Cronhub
) -> None:
    job = await hub.create(scheduler_spec(http_method="POST", http_body='{"full": true}'))

    assert sim.requests["POST /schedulers/create"] == 1
    assert sim.last_content_type == FORM
    assert sim.last_form == {
        "name": "rebuild search index",
        "url": "https://example.com/hooks/reindex",
        "http_method": "post",
        "http_body": '{"full": true}',
        "type": "cron",
        "schedule": "0 3 * * *",
        "timezone": "UTC",
    }
    assert (job.name, job.http_method, job.paused) == ("rebuild search index", "POST", False)
    assert job.schedule == Schedule.from_cron("0 3 * * *")
    assert job.upcoming(hub.clock())[0] == datetime(2026, 3, 3, 3, 0, tzinfo=UTC)


async def test_an_interval_round_trips_despite_the_request_and_response_names_differing(
    sim: CronhubSim, hub: Cronhub
) -> None:
    every_12h = Schedule.interval(12, "hours")

    created = await hub.create(scheduler_spec(schedule=every_12h))

    assert (sim.last_form["interval_value"], sim.last_form["interval_rate"]) == ("12", "hours")
    record = sim.schedulers[int(created.id.removeprefix("scheduler/"))]
    assert (record["interval_schedule_value"], record["interval_schedule_rate"]) == (12, "hours")
    assert created.schedule == every_12h
    assert (await hub.get_job(created.id)).schedule == every_12h


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"schedule": Schedule.from_cron("0 3 * * *", "Europe/Berlin")}, "timezone"),
        ({"url": None}, "url"),
        ({"url": "ftp://example.com/file"}, "url"),
        ({"http_method": "FETCH"}, "http_method"),
        ({"http_body": "x=1"}, "http_body"),
        ({"schedule": None}, "schedule"),
        ({"schedule": Schedule.of_period("daily")}, "schedule"),
        ({"schedule": Schedule.interval(1, "days", at="03:00")}, "schedule"),
    ],
)
async def test_a_scheduler_cronhub_would_refuse_is_refused_before_any_request(
    sim: CronhubSim, hub: Cronhub, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await hub.create(scheduler_spec(**changes))

    assert field in refused.value.fields
    assert "Cronhub" in refused.value.user_message
    assert sim.total_requests == 0


@pytest.mark.parametrize("grace", [0, 61, None])
async def test_a_monitor_grace_period_outside_1_to_60_is_refused_locally(
    sim: CronhubSim, hub: Cronhub, grace: int | None
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await hub.create(monitor_spec(grace_period=grace))

    assert "1 to 60" in refused.value.fields["grace_period"][0]
    assert sim.total_requests == 0


@pytest.mark.parametrize("grace", ["0", "61"])
async def test_the_simulator_also_refuses_grace_periods_outside_1_to_60(
    hub: Cronhub, grace: str
) -> None:
    form = {"name": "x", "schedule": "* * * * *", "timezone": "UTC", "grace_period": grace}

    with pytest.raises(InvalidInput) as refused:
        await hub.http.request("POST", "monitors", op="create", data=form)

    assert list(refused.value.fields) == ["grace_period"]


async def test_the_simulator_reads_form_bodies_only(sim: CronhubSim) -> None:
    form = {"name": "x", "schedule": "* * * * *", "timezone": "UTC", "grace_period": "5"}
    headers = {"X-Api-Key": SIM_KEY}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app)) as raw:
        url = "http://sim/api/v1/monitors"
        as_json = await raw.post(url, json=form, headers=headers)
        as_form = await raw.post(url, data=form, headers=headers)

    assert as_json.status_code == 422
    assert as_json.json()["success"] is False
    assert as_form.status_code == 200
    assert as_form.json()["response"]["status"] is None


async def test_a_new_monitor_starts_without_status_and_can_start_paused(
    sim: CronhubSim, hub: Cronhub
) -> None:
    created = await hub.create(monitor_spec())
    paused = await hub.create(monitor_spec(enabled=False))

    assert sim.last_content_type == FORM
    assert created.id.startswith("monitor/")
    assert (created.last_status, created.last_result, created.grace_period) == (
        None,
        RunResult.NONE,
        15,
    )
    assert created.schedule == Schedule.from_cron("30 2 * * *", "Europe/Berlin")
    assert paused.paused
    assert sim.monitors[paused.id.removeprefix("monitor/")].status == "paused"


async def test_updating_a_scheduler_puts_every_field_and_keeps_its_body(
    sim: CronhubSim, hub: Cronhub
) -> None:
    created = await hub.create(scheduler_spec(http_method="POST", http_body="a=1"))
    spec = created.to_spec().model_copy(update={"name": "reindex hourly"})

    updated = await hub.update(
        created.id, spec.model_copy(update={"schedule": Schedule.from_cron("0 * * * *")})
    )

    assert sim.requests[f"PUT /schedulers/{created.id.removeprefix('scheduler/')}"] == 1
    assert sim.last_content_type == FORM
    assert sim.last_form["http_body"] == "a=1"
    assert set(sim.last_form) >= {"name", "type", "url", "http_method", "schedule", "timezone"}
    assert (updated.name, updated.schedule) == ("reindex hourly", Schedule.from_cron("0 * * * *"))


async def test_updating_a_monitor_keeps_its_running_time_limit(
    sim: CronhubSim, hub: Cronhub
) -> None:
    code = first_monitor(sim)
    sim.monitors[code].running_time, sim.monitors[code].running_time_unit = 7, "minutes"
    job = await hub.get_job(f"monitor/{code}")

    updated = await hub.update(job.id, job.to_spec().model_copy(update={"grace_period": 30}))

    assert (updated.grace_period, updated.last_status) == (30, "new")
    assert (sim.monitors[code].running_time, sim.monitors[code].running_time_unit) == (7, "minutes")
    assert ("Running time limit", "7 minutes") in updated.details


async def test_a_scheduler_cannot_be_updated_into_a_monitor(sim: CronhubSim, hub: Cronhub) -> None:
    with pytest.raises(InvalidInput) as refused:
        await hub.update(sim.job_ids()[0], monitor_spec())

    assert "kind" in refused.value.fields
    assert sim.total_requests == 0


async def test_an_invalid_edit_is_refused_before_any_request(sim: CronhubSim, hub: Cronhub) -> None:
    berlin = Schedule.from_cron("0 3 * * *", "Europe/Berlin")

    with pytest.raises(InvalidInput) as refused:
        await hub.update(sim.job_ids()[0], scheduler_spec(schedule=berlin))

    assert list(refused.value.fields) == ["timezone"]
    assert sim.total_requests == 0


async def test_deleting_removes_a_scheduler_and_a_monitor(sim: CronhubSim, hub: Cronhub) -> None:
    scheduler, monitor = f"scheduler/{next(iter(sim.schedulers))}", f"monitor/{first_monitor(sim)}"

    await hub.delete(scheduler)
    await hub.delete(monitor)

    assert not {scheduler, monitor} & set(sim.job_ids())
    with pytest.raises(NotFound):
        await hub.get_job(monitor)


# -- pause, resume, history -------------------------------------------------------------------
async def test_pausing_and_resuming_a_scheduler_shows_in_the_list(
    sim: CronhubSim, hub: Cronhub
) -> None:
    sid = next(i for i, r in sim.schedulers.items() if r["status"] == "active")
    job_id = f"scheduler/{sid}"

    assert (await hub.pause(job_id)).paused
    assert {j.id: j.paused for j in await hub.list_jobs()}[job_id]
    assert not (await hub.resume(job_id)).paused
    assert not {j.id: j.paused for j in await hub.list_jobs()}[job_id]
    assert sim.schedulers[sid]["status"] == "active"


async def test_pausing_a_monitor_works(sim: CronhubSim, hub: Cronhub) -> None:
    code = first_monitor(sim)

    paused = await hub.pause(f"monitor/{code}")

    assert paused.paused
    assert paused.upcoming(hub.clock()) == ()
    assert sim.monitors[code].status == "paused"


async def test_resuming_a_monitor_is_unsupported_and_says_so_naming_cronhub(
    sim: CronhubSim, hub: Cronhub
) -> None:
    code = first_monitor(sim)
    await hub.pause(f"monitor/{code}")

    with pytest.raises(Unsupported) as refused:
        await hub.resume(f"monitor/{code}")

    assert refused.value.user_message == NO_MONITOR_RESUME
    assert sim.requests[f"PUT /monitors/{code}/resume"] == 1  # tried, answered 404
    assert sim.monitors[code].status == "paused"


async def test_resuming_a_missing_monitor_is_not_found(hub: Cronhub) -> None:
    with pytest.raises(NotFound):
        await hub.resume("monitor/00000000-0000-0000-0000-000000000000")


async def test_resuming_a_monitor_works_where_the_api_has_the_route() -> None:
    sim = CronhubSim(clock=clock, jobs=10, monitor_resume=True)
    client = client_for(sim)
    code = first_monitor(sim)
    await client.pause(f"monitor/{code}")

    resumed = await client.resume(f"monitor/{code}")
    await client.aclose()

    assert not resumed.paused
    assert sim.monitors[code].status == "new"


@pytest.mark.parametrize("kind", ["scheduler", "monitor"])
async def test_history_is_unsupported_for_both_kinds(
    sim: CronhubSim, hub: Cronhub, kind: str
) -> None:
    job_id = next(i for i in sim.job_ids() if i.startswith(kind))

    with pytest.raises(Unsupported) as refused:
        await hub.history(job_id)

    assert refused.value.user_message.startswith("Cronhub has no execution history API")
    assert sim.total_requests == 0


# -- runs -------------------------------------------------------------------------------------
async def test_a_failed_run_makes_a_monitor_failed_and_a_good_one_ok(
    sim: CronhubSim, hub: Cronhub
) -> None:
    code = first_monitor(sim, "new")
    at = NOW - timedelta(minutes=3)

    sim.run(f"monitor/{code}", ok=False)
    failed = await hub.get_job(f"monitor/{code}")
    sim.run(f"monitor/{code}", ok=True, at=at)
    recovered = await hub.get_job(f"monitor/{code}")

    assert (failed.last_result, failed.last_status, failed.last_run) == (
        RunResult.FAILED,
        "alert",
        None,
    )
    assert (recovered.last_result, recovered.last_run) == (RunResult.OK, at)


async def test_a_scheduler_run_records_nothing_visible(sim: CronhubSim, hub: Cronhub) -> None:
    job_id = sim.job_ids()[0]
    before = await hub.get_job(job_id)

    sim.run(job_id, ok=False)

    assert await hub.get_job(job_id) == before


# -- errors -----------------------------------------------------------------------------------
async def test_a_wrong_key_is_auth_rejected(sim: CronhubSim) -> None:
    client = client_for(sim, key="ch_wrong.000000")

    with pytest.raises(AuthRejected) as refused:
        await client.list_jobs()
    await client.aclose()

    assert "Cronhub account `hub`" in refused.value.user_message
    assert "ch_wrong" not in refused.value.user_message


@pytest.mark.parametrize(
    "job_id", ["scheduler/987654", "monitor/00000000-0000-0000-0000-000000000000"]
)
async def test_an_unknown_job_is_not_found(hub: Cronhub, job_id: str) -> None:
    with pytest.raises(NotFound):
        await hub.get_job(job_id)


@pytest.mark.parametrize("job_id", ["cron/17", "scheduler/abc", "monitor/../schedulers", "17"])
async def test_a_malformed_job_id_is_not_found_without_a_request(
    sim: CronhubSim, hub: Cronhub, job_id: str
) -> None:
    with pytest.raises(NotFound, match="scheduler/NUMBER or monitor/UUID"):
        await hub.get_job(job_id)

    assert sim.total_requests == 0


async def test_a_server_error_is_provider_unavailable(sim: CronhubSim, hub: Cronhub) -> None:
    sim.fault = 500

    with pytest.raises(ProviderUnavailable):
        await hub.list_jobs()
    assert sim.requests["GET /schedulers"] == 2  # a GET is retried


async def test_malformed_json_is_a_bad_response(sim: CronhubSim, hub: Cronhub) -> None:
    sim.malformed = True

    with pytest.raises(BadResponse):
        await hub.get_job(sim.job_ids()[0])


async def test_an_unexpected_envelope_is_a_bad_response() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"success": True, "data": []})

    account = CronhubAccount(name="hub", provider="cronhub", api_key=SecretStr(SIM_KEY))
    client = Cronhub.from_config(
        account, BuildContext(transport_for=lambda a: httpx.MockTransport(answer))
    )

    with pytest.raises(BadResponse, match="unexpected"):
        await client.list_jobs()
    await client.aclose()


@pytest.mark.parametrize(
    ("status", "body", "fields", "detail"),
    [
        (422, {"success": False, "errors": {"grace_period": ["between 1 and 60"]}},
         {"grace_period": ["between 1 and 60"]}, "grace_period: between 1 and 60"),
        (422, {"message": "The given data was invalid."}, {}, "The given data was invalid."),
        (400, {"errors": ["bad name", "bad url"]}, {}, "bad name; bad url"),
        (422, "<html>oops</html>", {}, "HTTP 422"),
    ],
)  # fmt: skip
def test_validation_errors_become_invalid_input_with_their_fields(
    status: int, body: Any, fields: dict[str, list[str]], detail: str
) -> None:
    content = body.encode() if isinstance(body, str) else None
    response = httpx.Response(status, json=None if content else body, content=content)

    error = cronhub_error(response)

    assert isinstance(error, InvalidInput)
    assert (error.fields, error.detail) == (fields, detail)


@pytest.mark.parametrize(("status", "mapped"), [(405, NotFound), (401, None), (503, None)])
def test_other_statuses_fall_back_to_the_default_mapping(status: int, mapped: Any) -> None:
    error = cronhub_error(httpx.Response(status))

    assert type(error) is mapped if mapped else error is None


# -- secrets and seeding ----------------------------------------------------------------------
async def test_the_api_key_never_appears_in_models_or_debug_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    canary = "ch_canary5b73b46baf0c00.55022502"
    caplog.set_level(logging.DEBUG)
    sim = CronhubSim(api_key=canary, clock=clock, jobs=10)
    client = client_for(sim, key=canary)

    jobs = await client.list_jobs()
    jobs.append(await client.create(scheduler_spec(url="https://u:pw@example.com/x?token=abc")))
    monitor = next(j for j in jobs if j.kind is JobKind.MONITOR)
    jobs.append(await client.pause(monitor.id))
    with pytest.raises(Unsupported) as refused:
        await client.resume(monitor.id)
    await client.aclose()

    assert caplog.records
    assert canary not in caplog.text
    assert canary not in refused.value.user_message
    assert all(canary not in job.model_dump_json() for job in jobs)
    assert jobs[-2].url is not None
    assert "pw" not in jobs[-2].url
    assert "abc" not in jobs[-2].url


def test_seeding_ten_thousand_jobs_is_realistic_and_deterministic() -> None:
    sim = CronhubSim(clock=clock, seed=9, jobs=10_000)

    statuses = [m.status for m in sim.monitors.values()]
    assert (len(sim.schedulers), len(sim.monitors)) == (4000, 6000)
    assert statuses.count("alert") == 600
    assert {"up", "new", "running", "paused"} <= set(statuses)
    assert any(r["status"] == "paused" for r in sim.schedulers.values())
    assert any(r["type"] == "interval" for r in sim.schedulers.values())
    assert CronhubSim(seed=9, jobs=50).job_ids() == CronhubSim(seed=9, jobs=50).job_ids()
