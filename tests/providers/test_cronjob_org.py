"""cron-job.org: the client against its simulator, and the simulator against providers.md."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from providers.base import Capability, JobKind, JobSpec, RunResult
from providers.budget import MemoryLedger
from providers.config import BuildContext
from providers.cronjob_org.client import CronJobOrg, CronJobOrgAccount
from providers.cronjob_org.schedule import arrays_to_cron, cron_to_arrays
from providers.cronjob_org.sim import (
    SIM_HEADER_SECRET,
    SIM_JOB_PASSWORD,
    SIM_URL_PASSWORD,
    CronJobOrgSim,
)
from providers.errors import (
    AuthRejected,
    BudgetExhausted,
    InvalidInput,
    NotFound,
    PartialListing,
    ProviderUnavailable,
    RateLimited,
)
from providers.http import RetryPolicy
from providers.schedule import Schedule
from providers.sim.serve import LoopbackServer

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday; Berlin is UTC+1 until 29 March
KEY = "canary-cjo-key-5f3a9e"  # the API key, also a canary for the secret checks
FAST = RetryPolicy(attempts=2, initial_wait=0, max_wait=0)
EVERY = [-1]
ANY_TIME = dict.fromkeys(("minutes", "hours", "mdays", "months", "wdays"), EVERY)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> CronJobOrgSim:
    return CronJobOrgSim(api_key=KEY, clock=clock, rate_limits=False)


def build(sim: CronJobOrgSim, *, key: str = KEY, **account: Any) -> CronJobOrg:
    ledger = account.pop("ledger", None) or MemoryLedger()
    poll_share = account.pop("poll_share", None)  # all of a budget for commands: 0
    transport = account.pop("transport", None)
    if transport is None and "base_url" not in account:  # else: over loopback to base_url
        transport = httpx.ASGITransport(app=sim.app)
    return CronJobOrg.from_config(
        CronJobOrgAccount(name="prod", provider="cronjob-org", api_key=key, **account),
        BuildContext(
            ledger=ledger, transport_for=lambda _: transport, retry=FAST,
            budget_poll_share=poll_share,
        ),
    )  # fmt: skip


@pytest.fixture
async def client(sim: CronJobOrgSim) -> AsyncIterator[CronJobOrg]:
    client = build(sim)
    yield client
    await client.aclose()


def raw(sim: CronJobOrgSim, auth: str | None = f"Bearer {KEY}") -> httpx.AsyncClient:
    """Plain HTTP straight to the simulator, for what the client never sends."""
    headers = {"Authorization": auth} if auth else {}
    transport = httpx.ASGITransport(app=sim.app)
    return httpx.AsyncClient(transport=transport, base_url="http://sim.test", headers=headers)


def seeded(sim: CronJobOrgSim, **match: Any) -> dict[str, Any]:
    return next(job for job in sim.jobs.values() if all(job[k] == v for k, v in match.items()))


def spec(cron: str = "*/20 2-4 * * 1-5", timezone: str = "Europe/Berlin", **fields: Any) -> JobSpec:
    fields.setdefault("name", " Nightly export ")
    fields.setdefault("url", " https://ops.example.com/export ")
    return JobSpec(kind=JobKind.JOB, schedule=Schedule.from_cron(cron, timezone), **fields)


# -- reading ------------------------------------------------------------------------------------
async def test_list_maps_paused_failing_schedule_words_timezone_and_next_run(
    client: CronJobOrg, sim: CronJobOrgSim
) -> None:
    weekday = seeded(sim, enabled=True)
    weekday["schedule"].update(timezone="Europe/Berlin", minutes=[0, 15, 30, 45], hours=[9, 10, 11])
    weekday["schedule"].update(wdays=[1, 2, 3, 4, 5], mdays=EVERY, months=EVERY)

    jobs = {job.id: job for job in await client.list_jobs()}

    assert set(jobs) == set(sim.job_ids())
    for job_id, stored in sim.jobs.items():
        job = jobs[str(job_id)]
        assert job.paused is not stored["enabled"]
        assert (job.last_result is RunResult.FAILED) == (2 <= stored["lastStatus"] <= 9)
        assert job.link == f"https://console.cron-job.org/jobs/{job_id}"
        if job.paused:
            assert job.next_runs == ()
    card = jobs[str(weekday["jobId"])]
    assert card.schedule is not None
    assert (card.schedule.cron, card.schedule.timezone) == ("*/15 9-11 * * 1-5", "Europe/Berlin")
    assert card.schedule.describe().startswith("Every 15 minutes, between 09:00 and 11:59")
    assert card.next_runs == (datetime(2026, 3, 3, 8, 0, tzinfo=UTC),)  # 09:00 Berlin
    failing = jobs["4243"]  # the seed always fails its second job
    assert failing.last_result is RunResult.FAILED
    assert failing.last_status is not None
    assert failing.last_status.startswith("Failed (")


async def test_get_job_maps_one_job_with_method_duration_and_a_clean_url(
    client: CronJobOrg, sim: CronJobOrgSim
) -> None:
    stored = seeded(sim, title="Deploy preview cleanup")

    job = await client.get_job(str(stored["jobId"]))

    assert job.name == "Deploy preview cleanup"
    assert job.url is not None
    assert job.url.startswith("https://hooks.")
    assert SIM_URL_PASSWORD not in job.url
    assert job.http_method == "POST"
    assert job.last_run == datetime.fromtimestamp(stored["lastExecution"], UTC)
    assert job.last_duration_ms == stored["lastDuration"]
    assert job.can(Capability.PAUSE)
    assert job.can(Capability.DELETE)


# -- creating -----------------------------------------------------------------------------------
async def test_create_sends_the_full_schedule_and_enabled_explicitly(
    client: CronJobOrg, sim: CronJobOrgSim
) -> None:
    job = await client.create(spec(http_method="post", enabled=True))

    stored = sim.jobs[int(job.id)]
    assert stored["enabled"] is True  # the server's default is off
    assert stored["title"] == "Nightly export"
    assert stored["url"] == "https://ops.example.com/export"
    assert stored["requestMethod"] == 1
    assert stored["schedule"] == {
        "timezone": "Europe/Berlin",
        "expiresAt": 0,
        "minutes": [0, 20, 40],
        "hours": [2, 3, 4],
        "mdays": EVERY,
        "months": EVERY,
        "wdays": [1, 2, 3, 4, 5],
    }
    assert job.schedule is not None
    assert job.schedule.cron == "*/20 2-4 * * 1-5"
    assert not job.paused
    # read back once: the server may keep another timezone than the one sent
    assert dict(sim.requests) == {"PUT /jobs": 1, f"GET /jobs/{job.id}": 1}


async def test_the_simulator_answers_500_and_creates_nothing_when_a_schedule_array_is_missing(
    sim: CronJobOrgSim,
) -> None:
    schedule = {"timezone": "UTC", "minutes": [0], "hours": [3], "mdays": EVERY, "months": EVERY}
    before = len(sim.jobs)
    async with raw(sim) as http:
        answer = await http.put(
            "/jobs", json={"job": {"url": "https://x.test/", "schedule": schedule}}
        )
    assert (answer.status_code, answer.content) == (500, b"")
    assert len(sim.jobs) == before


async def test_the_simulator_prints_php_warnings_before_the_json_when_create_keys_are_missing(
    sim: CronJobOrgSim,
) -> None:
    job = {"url": "https://x.test/", "enabled": True, "requestMethod": 0, "schedule": ANY_TIME,
           "notification": {"onFailure": True}}  # fmt: skip
    async with raw(sim) as http:
        answer = await http.put("/jobs", json={"job": job})
    text = answer.text
    warnings, _, body = text.rpartition("\n")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert text.startswith(
        "\nWarning: Undefined property: stdClass::$saveResponses in "
        "/var/www/html/resources/Job.php on line 209\n"
    )
    assert 'Warning: Attempt to read property "enable" on null in' in warnings
    assert "Undefined property: stdClass::$onSuccess" in warnings  # the group is there, not it
    assert "onFailure" not in warnings
    assert json.loads(body) == {"jobId": max(sim.jobs)}
    assert sim.jobs[max(sim.jobs)]["notification"]["onFailure"] is True


async def test_create_sends_every_key_the_server_reads_and_makes_exactly_one_job(
    sim: CronJobOrgSim,
) -> None:
    before = len(sim.jobs)
    async with LoopbackServer(sim.app) as server:
        client = build(sim, transport=None, base_url=server.url)
        job = await client.create(spec(http_body="ping"))
        await client.aclose()

    stored = sim.jobs[int(job.id)]
    assert len(sim.jobs) == before + 1
    assert sim.php_warnings == 0
    assert job.name == "Nightly export"
    assert stored["extendedData"] == {"headers": {}, "body": "ping"}
    assert stored["auth"] == {"enable": False, "user": "", "password": ""}


async def test_a_created_job_reads_as_created_even_after_php_warnings(sim: CronJobOrgSim) -> None:
    def warned(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            warning = "\nWarning: Undefined property: stdClass::$x in /a/Job.php on line 1\n"
            return httpx.Response(200, content=f'{warning}{{"jobId":77}}'.encode())
        return httpx.Response(200, json={"jobDetails": {"jobId": 77, "title": "t", "url": "u"}})

    client = build(sim, transport=httpx.MockTransport(warned))
    job = await client.create(spec())
    await client.aclose()

    assert job.id == "77"


@pytest.mark.parametrize(
    ("cron", "minutes", "hours", "mdays", "months", "wdays"),
    [
        ("*/15 * * * *", [0, 15, 30, 45], EVERY, EVERY, EVERY, EVERY),
        ("0-30/10 3 * * 1-5", [0, 10, 20, 30], [3], EVERY, EVERY, [1, 2, 3, 4, 5]),
        ("5 4 1,15 jan-mar *", [5], [4], [1, 15], [1, 2, 3], EVERY),
        ("0 22 * * 5-7", [0], [22], EVERY, EVERY, [0, 5, 6]),
        ("10-12,40 */8 * * SUN", [10, 11, 12, 40], [0, 8, 16], EVERY, EVERY, [0]),
        ("0-59 0-23 1-31 * 0-6", EVERY, EVERY, EVERY, EVERY, EVERY),
    ],
)
def test_cron_expressions_become_explicit_arrays(
    cron: str, minutes: list[int], hours: list[int], mdays: list[int], months: list[int],
    wdays: list[int],
) -> None:  # fmt: skip
    expected = {"minutes": minutes, "hours": hours, "mdays": mdays, "months": months}
    assert cron_to_arrays(cron) == {**expected, "wdays": wdays}


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (list(range(0, 60, 5)), "*/5"),
        ([0, 10, 20, 30], "0-30/10"),
        ([5, 20, 35, 50], "5-50/15"),
        ([1, 2, 3, 7, 9, 10, 11], "1-3,7,9-11"),
        ([30, 0], "0,30"),
        (list(range(60)), "*"),
        ([-1], "*"),
    ],
)
def test_arrays_read_back_as_compact_cron(minutes: list[int], expected: str) -> None:
    arrays = {"minutes": minutes, "hours": EVERY, "mdays": EVERY, "months": EVERY, "wdays": EVERY}
    assert arrays_to_cron(arrays) == f"{expected} * * * *"


def test_an_empty_array_reads_as_a_job_that_never_runs() -> None:
    assert arrays_to_cron({"minutes": [], "hours": EVERY, "mdays": EVERY, "months": EVERY}) is None


@pytest.mark.parametrize(
    ("cron", "timezone", "says"),
    [
        ("0 0 L * *", "UTC", "cannot be expressed on cron-job.org"),
        ("0 0 * * 1#2", "UTC", "cannot be expressed on cron-job.org"),
        ("0 3 * * *", "Mars/Olympus_Mons", "is not a known timezone"),
        ("0 3 * * *", "Etc/GMT+5", "would run the job in UTC"),
    ],
)
async def test_what_cron_job_org_cannot_express_is_refused_before_any_request(
    client: CronJobOrg, sim: CronJobOrgSim, cron: str, timezone: str, says: str
) -> None:
    with pytest.raises(InvalidInput, match=says):
        await client.create(spec(cron, timezone))
    assert sim.total_requests == 0


def test_a_day_of_month_and_a_weekday_become_both_arrays() -> None:
    arrays = cron_to_arrays("0 8 1 * 1")
    assert (arrays["mdays"], arrays["wdays"]) == ([1], [1])


async def test_a_job_on_day_1_and_on_mondays_runs_when_either_matches(
    client: CronJobOrg, sim: CronJobOrgSim
) -> None:
    created = await client.create(spec("0 8 1 * 1", "UTC", enabled=True))

    listed = {job.id: job for job in await client.list_jobs()}[created.id]

    assert sim.jobs[int(created.id)]["schedule"]["mdays"] == [1]
    assert sim.jobs[int(created.id)]["schedule"]["wdays"] == [1]
    assert listed.schedule is not None
    assert listed.schedule.describe() == "At 08:00, on day 1 of the month and on Monday"
    assert not any(label == "Days" for label, _ in listed.details)
    # The server predicts the next Monday (9 March), not the next Monday the 1st (1 June).
    assert listed.next_runs == (datetime(2026, 3, 9, 8, 0, tzinfo=UTC),)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [("Asia/Calcutta", "Asia/Kolkata"), ("Europe/Kiev", "Europe/Kyiv"),
     ("US/Eastern", "America/New_York"), ("Etc/UTC", "UTC"), ("GMT", "UTC")],
)  # fmt: skip
async def test_a_timezone_alias_is_sent_as_its_canonical_name(
    client: CronJobOrg, sim: CronJobOrgSim, given: str, canonical: str
) -> None:
    job = await client.create(spec("0 9 * * *", given))

    assert sim.jobs[int(job.id)]["schedule"]["timezone"] == canonical
    assert job.schedule is not None
    assert job.schedule.timezone == canonical


async def test_the_simulator_stores_a_timezone_outside_phps_list_as_utc(sim: CronJobOrgSim) -> None:
    def timezone(name: str) -> dict[str, Any]:
        return {"job": {"url": "https://x.test/", "schedule": {**ANY_TIME, "timezone": name}}}

    async with raw(sim) as http:
        answer = await http.put("/jobs", json=timezone("Asia/Calcutta"))
        job_id = max(sim.jobs)  # the answer is PHP warnings, then the JSON: keys were left out
        created = sim.jobs[job_id]["schedule"]["timezone"]
        await http.patch(f"/jobs/{job_id}", json=timezone("Asia/Kolkata"))
        kept = sim.jobs[job_id]["schedule"]["timezone"]
        await http.patch(f"/jobs/{job_id}", json=timezone("Europe/Kiev"))
    assert (answer.status_code, created, kept) == (200, "UTC", "Asia/Kolkata")
    assert sim.jobs[job_id]["schedule"]["timezone"] == "Asia/Kolkata"  # PATCH ignores it


async def test_a_job_shows_the_timezone_the_server_stored_not_the_one_sent(clock: Clock) -> None:
    stale = CronJobOrgSim(
        api_key=KEY,
        clock=clock,
        rate_limits=False,
        jobs=0,
        timezones=["UTC", "Europe/Berlin", "Europe/Kiev"],
    )  # before 2022b
    client = build(stale)

    job = await client.create(spec("0 9 * * *", "Europe/Kiev"))
    await client.aclose()

    assert stale.jobs[int(job.id)]["schedule"]["timezone"] == "UTC"
    assert job.schedule is not None
    assert job.schedule.timezone == "UTC"
    assert ("Timezone", "cron-job.org kept UTC: it does not know Europe/Kyiv") in job.details


# -- changing -----------------------------------------------------------------------------------
async def test_update_sends_the_editable_keys_and_leaves_pausing_alone(
    client: CronJobOrg, sim: CronJobOrgSim
) -> None:
    paused = seeded(sim, enabled=False)
    paused["schedule"]["timezone"] = "Asia/Tokyo"
    job_id = str(paused["jobId"])
    await client.list_jobs()

    job = await client.update(job_id, spec("0 6 * * *", "Asia/Tokyo", name="Renamed", enabled=True))

    stored = sim.jobs[int(job_id)]
    assert (stored["title"], stored["url"], stored["enabled"]) == (
        "Renamed",
        "https://ops.example.com/export",
        False,
    )
    assert stored["schedule"]["timezone"] == "Asia/Tokyo"
    assert (stored["schedule"]["minutes"], stored["schedule"]["hours"]) == ([0], [6])
    assert (job.name, job.paused) == ("Renamed", True)
    assert job.schedule == Schedule.from_cron("0 6 * * *", "Asia/Tokyo")
    assert sim.requests[f"GET /jobs/{job_id}"] == 0  # rebuilt from the list, not fetched


async def test_an_update_to_another_timezone_reads_back_what_the_server_kept(
    client: CronJobOrg, sim: CronJobOrgSim
) -> None:
    stored = seeded(sim, enabled=True)
    stored["schedule"]["timezone"] = "Europe/Berlin"
    job_id = str(stored["jobId"])
    await client.list_jobs()
    sim.timezones = sim.timezones - {"Asia/Kolkata"}  # a server whose PHP lacks the name

    job = await client.update(job_id, spec("0 6 * * *", "Asia/Calcutta"))

    assert sim.jobs[int(job_id)]["schedule"]["timezone"] == "Europe/Berlin"
    assert job.schedule is not None
    assert job.schedule.timezone == "Europe/Berlin"
    assert ("Timezone", "cron-job.org kept Europe/Berlin: it does not know Asia/Kolkata") in (
        job.details
    )
    assert sim.requests[f"GET /jobs/{job_id}"] == 1


async def test_update_of_a_job_never_read_fetches_it_once(
    client: CronJobOrg, sim: CronJobOrgSim
) -> None:
    job_id = sim.job_ids()[0]
    job = await client.update(job_id, spec(name="Fresh"))
    assert job.name == "Fresh"
    assert dict(sim.requests) == {f"PATCH /jobs/{job_id}": 1, f"GET /jobs/{job_id}": 1}


async def test_delete_removes_the_job(client: CronJobOrg, sim: CronJobOrgSim) -> None:
    job_id = str(seeded(sim, type=0)["jobId"])
    await client.delete(job_id)
    assert int(job_id) not in sim.jobs
    with pytest.raises(NotFound):
        await client.get_job(job_id)


async def test_deleting_a_monitoring_job_is_refused_with_a_clear_reason(
    client: CronJobOrg, sim: CronJobOrgSim
) -> None:
    monitor = str(seeded(sim, type=1)["jobId"])

    with pytest.raises(InvalidInput, match="monitoring job used by a status page"):
        await client.delete(monitor)  # never read: the server's 400 says it
    listed = {job.id: job for job in await client.list_jobs()}
    with pytest.raises(InvalidInput, match="monitoring job used by a status page"):
        await client.delete(monitor)  # read: refused without a request

    assert int(monitor) in sim.jobs
    assert sim.requests[f"DELETE /jobs/{monitor}"] == 1
    assert not listed[monitor].can(Capability.DELETE)


async def test_pause_and_resume_change_what_the_list_returns(
    client: CronJobOrg, sim: CronJobOrgSim
) -> None:
    job_id = str(seeded(sim, enabled=True, type=0)["jobId"])
    await client.list_jobs()

    paused = await client.pause(job_id)
    listed = {job.id: job for job in await client.list_jobs()}
    assert paused.paused
    assert paused.next_runs == ()
    assert listed[job_id].paused
    assert sim.jobs[int(job_id)]["enabled"] is False

    resumed = await client.resume(job_id)
    listed = {job.id: job for job in await client.list_jobs()}
    assert not resumed.paused
    assert not listed[job_id].paused
    assert sim.requests[f"PATCH /jobs/{job_id}"] == 2
    assert sim.requests[f"GET /jobs/{job_id}"] == 0


# -- a node that holds jobs is down -------------------------------------------------------------
async def test_the_simulator_answers_like_a_server_with_a_node_down(sim: CronJobOrgSim) -> None:
    down, up = sim.job_ids()[:2], sim.job_ids()[2]
    sim.down(down)
    async with raw(sim) as http:
        listed = (await http.get("/jobs")).json()
        answers = [
            await http.get(f"/jobs/{down[0]}"),
            await http.get(f"/jobs/{down[0]}/history"),
            await http.patch(f"/jobs/{down[0]}", json={"job": {"enabled": False}}),
            await http.delete(f"/jobs/{down[1]}"),
        ]
        fine = await http.get(f"/jobs/{up}")
        sim.up()
        after = (await http.get("/jobs")).json()
    assert listed["someFailed"] is True
    assert {str(job["jobId"]) for job in listed["jobs"]} == set(sim.job_ids()) - set(down)
    assert [(a.status_code, a.content) for a in answers] == [(404, b"")] * 4
    assert fine.status_code == 200
    assert (after["someFailed"], len(after["jobs"])) == (False, len(sim.jobs))


async def test_a_node_goes_down_and_up_through_the_control_endpoints(sim: CronJobOrgSim) -> None:
    job_id = sim.job_ids()[0]
    async with raw(sim) as http:
        downed = await http.post("/_sim/down", json={"jobs": [job_id]})
        missing = await http.get(f"/jobs/{job_id}")
        upped = await http.post("/_sim/up")
        back = await http.get(f"/jobs/{job_id}")
    assert downed.json() == {"down": [job_id]}
    assert (missing.status_code, upped.json(), back.status_code) == (404, {"down": []}, 200)


async def test_a_partial_list_is_never_taken_as_complete(
    client: CronJobOrg, sim: CronJobOrgSim
) -> None:
    down = sim.job_ids()[:3]
    sim.down(down)

    with pytest.raises(PartialListing) as listing:
        await client.list_jobs()
    with pytest.raises(PartialListing) as polling:
        await client.list_for_poll()
    with pytest.raises(PartialListing):
        await client.check()

    listed = {job.id for job in listing.value.jobs}
    assert listed == set(sim.job_ids()) - set(down)
    assert {job.id for job in polling.value.jobs} == listed
    assert listing.value.user_message == (
        "cron-job.org account `prod`: some jobs could not be read (one of its servers is down);"
        " try again later"
    )
    assert isinstance(listing.value, ProviderUnavailable)
    assert not listing.value.permanent


async def test_while_a_node_is_down_its_jobs_read_as_unreadable_not_gone(
    client: CronJobOrg, sim: CronJobOrgSim
) -> None:
    down, listed = seeded(sim, type=0, enabled=True), sim.job_ids()[0]
    job_id = str(down["jobId"])
    sim.down([job_id])
    with pytest.raises(PartialListing):
        await client.list_jobs()

    for call in (client.get_job, client.history, client.pause, client.delete):
        with pytest.raises(ProviderUnavailable, match="could not be read") as caught:
            await call(job_id)
        assert not isinstance(caught.value, NotFound)
    assert int(job_id) in sim.jobs
    sim.up()
    await client.list_jobs()
    del sim.jobs[int(listed)]
    with pytest.raises(NotFound):  # the last list was complete: a 404 is a job that is gone
        await client.get_job(listed)


# -- history ------------------------------------------------------------------------------------
async def test_history_maps_items_newest_first_and_predictions_feed_next_runs(
    client: CronJobOrg, sim: CronJobOrgSim
) -> None:
    stored = seeded(sim, enabled=True, type=0)
    job_id = str(stored["jobId"])
    sim.run(job_id, ok=True, at=NOW - timedelta(minutes=30))
    sim.run(job_id, ok=False, at=NOW - timedelta(minutes=5))

    runs = await client.history(job_id, limit=2)

    assert [run.result for run in runs] == [RunResult.FAILED, RunResult.OK]
    assert runs[0].time == NOW - timedelta(minutes=5)
    assert (runs[0].http_status, runs[0].status_text) == (500, "Internal Server Error")
    assert runs[0].id.startswith(f"{job_id}-2-3-")
    assert len(runs[0].id.split("-")) == 4
    assert runs[0].duration_ms == stored["lastDuration"]
    assert len((await client.get_job(job_id)).next_runs) == 3


async def test_history_accepts_headers_and_body_as_false_null_or_text(sim: CronJobOrgSim) -> None:
    def item(n: int, headers: Any, body: Any) -> dict[str, Any]:
        return {"jobLogId": n, "jobId": 7, "identifier": f"7-2-3-{n}", "date": 1772448000 + n,
                "datePlanned": 1772448000, "duration": 120, "status": 9, "statusText": "",
                "httpStatus": 0, "headers": headers, "body": body}  # fmt: skip

    page = {"history": [item(1, False, False), item(2, None, None), item(3, "X: 1", "hi")]}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=page))
    client = build(sim, transport=transport)

    runs = await client.history("7")
    await client.aclose()

    assert [run.id for run in runs] == ["7-2-3-3", "7-2-3-2", "7-2-3-1"]
    assert {run.status_text for run in runs} == {"Failed (other)"}
    assert all(run.http_status is None and run.result is RunResult.FAILED for run in runs)


# -- the wire -----------------------------------------------------------------------------------
async def test_the_simulator_reads_a_body_only_with_an_exact_json_content_type(
    sim: CronJobOrgSim,
) -> None:
    body = json.dumps({"job": {"url": "https://x.test/", "schedule": ANY_TIME}})
    answers = {}
    async with raw(sim) as http:
        for ctype in ("application/json; charset=utf-8", "application/json", "text/json"):
            answer = await http.put("/jobs", content=body, headers={"Content-Type": ctype})
            answers[ctype] = answer.status_code
    assert answers == {"application/json; charset=utf-8": 400, "application/json": 200,
                       "text/json": 200}  # fmt: skip
    assert httpx.Request("PUT", "http://x", json={}).headers["Content-Type"] == "application/json"


async def test_a_wrong_key_is_auth_rejected_and_the_scheme_is_case_insensitive(
    sim: CronJobOrgSim,
) -> None:
    client = build(sim, key="not-the-key")
    with pytest.raises(AuthRejected):
        await client.list_jobs()
    await client.aclose()
    async with raw(sim, f"bearer {KEY}") as lower, raw(sim, None) as anonymous:
        assert (await lower.get("/jobs")).status_code == 200
        missing = await anonymous.get("/jobs")
    assert (missing.status_code, missing.content) == (401, b"")


async def test_unknown_routes_and_methods_are_404_before_auth(
    client: CronJobOrg, sim: CronJobOrgSim
) -> None:
    async with raw(sim, None) as http:
        statuses = [(await http.request(m, p)).status_code for m, p in
                    [("GET", "/nope"), ("POST", "/jobs"), ("GET", "/jobs/abc")]]  # fmt: skip
    assert statuses == [404, 404, 404]
    with pytest.raises(NotFound):
        await client.get_job("999999")
    with pytest.raises(NotFound, match=r"not a cron-job\.org job id"):
        await client.get_job("abc")
    assert sim.total_requests == 4  # the last one never left


async def test_history_identifiers_need_four_numeric_parts(sim: CronJobOrgSim) -> None:
    job_id = sim.job_ids()[0]
    sim.run(job_id, ok=True)
    identifier = sim.history[int(job_id)][0]["identifier"]
    async with raw(sim) as http:
        base = f"/jobs/{job_id}/history"
        found = await http.get(f"{base}/{identifier}")
        statuses = [(await http.get(f"{base}/{i}")).status_code for i in ("1-2-3", "a-b-c-d")]
        missing = await http.get(f"{base}/{job_id}-1-1-1")
    assert found.json()["jobHistoryDetails"]["identifier"] == identifier
    assert statuses == [400, 400]
    assert missing.status_code == 404


async def test_the_per_method_rate_limit_answers_429_and_the_client_raises_rate_limited(
    clock: Clock,
) -> None:
    sim = CronJobOrgSim(api_key=KEY, clock=clock)  # the clock stands still: one window
    async with raw(sim) as http:
        lists = [(await http.get("/jobs")).status_code for _ in range(6)]
        other = await http.get(f"/jobs/{sim.job_ids()[0]}")
        client = build(sim)
        with pytest.raises(RateLimited, match="daily request quota") as caught:
            await client.list_jobs()
        await client.aclose()
    assert lists == [200] * 5 + [429]
    assert other.status_code == 200  # another method, another window
    assert caught.value.retry_after is None
    assert sim.requests_today() == 6  # refused calls do not count against the quota


async def test_creating_is_limited_to_one_per_second_and_five_per_minute(clock: Clock) -> None:
    sim = CronJobOrgSim(api_key=KEY, clock=clock, jobs=0)
    statuses = []
    async with raw(sim) as http:
        for second in (0, 0, 1, 2, 3, 4, 5):
            clock.now = NOW + timedelta(seconds=second)
            job = {"url": "https://x.test/", "schedule": ANY_TIME}
            statuses.append((await http.put("/jobs", json={"job": job})).status_code)
    assert statuses == [200, 429, 200, 200, 200, 200, 429]
    assert len(sim.jobs) == 5


async def test_the_simulator_enforces_the_daily_quota_per_utc_day(clock: Clock) -> None:
    sim = CronJobOrgSim(api_key=KEY, clock=clock, rate_limits=False, daily_quota=3)
    async with raw(sim) as http:
        today = [(await http.get("/jobs")).status_code for _ in range(4)]
        clock.now = datetime(2026, 3, 3, 0, 0, 1, tzinfo=UTC)
        tomorrow = await http.get("/jobs")
    assert today == [200, 200, 200, 429]
    assert tomorrow.status_code == 200


async def test_the_daily_budget_survives_a_restart_and_refuses_the_fourth_request(
    sim: CronJobOrgSim,
) -> None:
    ledger = MemoryLedger()
    before = build(sim, ledger=ledger, daily_request_budget=3, poll_share=0)
    await before.list_jobs()
    await before.get_job(sim.job_ids()[0])
    await before.aclose()

    after = build(sim, ledger=ledger, daily_request_budget=3, poll_share=0)  # a restart
    await after.list_jobs()
    with pytest.raises(BudgetExhausted) as caught:
        await after.list_jobs()
    await after.aclose()

    assert "3 per day" in str(caught.value)
    assert "00:00 UTC" in str(caught.value)
    assert sim.total_requests == 3


async def test_no_secret_reaches_a_model_or_the_log(
    client: CronJobOrg, sim: CronJobOrgSim, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_ids = [
        str(job["jobId"])
        for job in sim.jobs.values()
        if job["auth"]["password"] or job["extendedData"]["headers"] or "@" in job["url"]
    ]
    models = [*await client.list_jobs()]
    models += [await client.get_job(job_id) for job_id in secret_ids[:4]]
    models += await client.history(secret_ids[0])
    models.append(await client.pause(secret_ids[1]))

    dumps = "\n".join(model.model_dump_json() for model in models) + caplog.text
    assert len(secret_ids) >= 4
    assert sim.requests["GET /jobs"] == 1
    for secret in (KEY, SIM_JOB_PASSWORD, SIM_HEADER_SECRET, SIM_URL_PASSWORD, "sim-query-token"):
        assert secret not in dumps


# -- the simulator's seed -----------------------------------------------------------------------
def test_a_big_seed_is_realistic() -> None:
    sim = CronJobOrgSim(jobs=10_000, seed=3)

    jobs = list(sim.jobs.values())
    failing = sum(2 <= job["lastStatus"] <= 9 for job in jobs)
    assert len(sim.job_ids()) == 10_000
    assert 500 < failing < 1500
    assert sum(job["type"] == 1 for job in jobs) == 1
    assert any(not job["enabled"] for job in jobs)
    assert any(job["auth"]["password"] == SIM_JOB_PASSWORD for job in jobs)
    assert all(len(sim.history[job["jobId"]]) <= 1 for job in jobs)


async def test_the_simulator_lists_in_server_order_without_private_keys(sim: CronJobOrgSim) -> None:
    async with raw(sim) as http:
        listed = (await http.get("/jobs")).json()
    keys = [(not job["enabled"], job["lastStatus"], job["url"]) for job in listed["jobs"]]
    assert keys == sorted(keys)
    assert listed["someFailed"] is False
    assert not any({"auth", "notification", "extendedData"} & set(job) for job in listed["jobs"])


async def test_the_simulator_patches_only_known_keys_that_are_not_null(sim: CronJobOrgSim) -> None:
    job_id = sim.job_ids()[0]
    title = sim.jobs[int(job_id)]["title"]
    change = {
        "title": None,
        "url": "  https://new.test/run ",
        "bogus": 1,
        "schedule": {"hours": [5]},
    }
    async with raw(sim) as http:
        answer = await http.patch(f"/jobs/{job_id}", json={"job": change})
    stored = sim.jobs[int(job_id)]
    assert answer.json() == {}
    assert (stored["title"], stored["url"], "bogus" in stored) == (
        title,
        "https://new.test/run",
        False,
    )
    assert stored["schedule"]["hours"] == [5]
    assert stored["schedule"]["minutes"] != []


async def test_jobs_deleted_elsewhere_are_forgotten_at_the_next_complete_list(
    sim: CronJobOrgSim, client: CronJobOrg
) -> None:
    await client.list_jobs()
    gone = next(iter(sim.jobs))
    await client.history(str(gone))  # remembers its predictions too
    del sim.jobs[gone]  # deleted in cron-job.org's console
    await client.list_jobs()
    remembered = client._seen.keys() | client._predictions.keys()  # what the client holds
    assert str(gone) not in remembered
    assert remembered <= {str(i) for i in sim.jobs}
