"""Miget: app cron jobs and add-ons, against the in-process simulator."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from providers.base import Capability, JobKind, JobSpec, RunResult
from providers.config import BuildContext
from providers.errors import (
    AuthRejected,
    BadResponse,
    InvalidInput,
    NotFound,
    ProviderUnavailable,
    Unsupported,
)
from providers.http import RetryPolicy
from providers.miget.addons import Addon, AddonSpec
from providers.miget.client import Miget, MigetAccount
from providers.miget.sim import DB_PASSWORD, MigetSim
from providers.miget.wire import miget_error, result_of
from providers.schedule import Schedule, ScheduleKind

NOW = datetime(2025, 5, 6, 12, 0, tzinfo=UTC)
KEY = "miget_live_canary_0123456789abcdef"
SIM_ROOT = "http://sim.invalid/api/v1"
FAILING = {"failed", "failing", "problem", "degraded", "crashloopbackoff"}

MakeClient = Callable[..., Miget]


@pytest.fixture
def sim() -> MigetSim:
    return MigetSim(api_key=KEY, clock=lambda: NOW, seed=11, jobs=30)


@pytest.fixture
async def make(sim: MigetSim) -> AsyncIterator[MakeClient]:
    clients: list[Miget] = []

    def build(
        apps: Sequence[str] | None = None,
        *,
        key: str = KEY,
        workspace_id: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Miget:
        account = MigetAccount(
            name="apps",
            provider="miget",
            api_key=key,  # type: ignore[arg-type]  # pydantic turns it into a SecretStr
            base_url=SIM_ROOT,  # type: ignore[arg-type]
            workspace_id=workspace_id or sim.workspace_id,
            apps=list(sim.apps) if apps is None else list(apps),
        )
        ctx = BuildContext(
            transport_for=lambda a: transport or httpx.ASGITransport(app=sim.app),
            retry=RetryPolicy(attempts=2, initial_wait=0, max_wait=0),
            clock=lambda: NOW,
        )
        client = Miget.from_config(account, ctx)
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
def client(make: MakeClient) -> Miget:
    return make()


@pytest.fixture
def one_app(sim: MigetSim, make: MakeClient) -> Miget:
    return make([next(iter(sim.apps))])


def spec(**changes: Any) -> JobSpec:
    base: dict[str, Any] = {
        "kind": JobKind.CRONJOB,
        "name": "nightly-cleanup",
        "schedule": Schedule.from_cron("0 3 * * *"),
        "command": "rake db:cleanup",
    }
    return JobSpec(**(base | changes))


def sent(sim: MigetSim, method: str) -> int:
    return sum(n for call, n in sim.requests.items() if call.startswith(f"{method} "))


def first_job(sim: MigetSim, **settings: str) -> tuple[str, dict[str, Any]]:
    for app, jobs in sim.cronjobs.items():
        for cid, job in jobs.items():
            if all(job["settings"].get(k) == v for k, v in settings.items()):
                return f"{app}/{cid}", job
    raise AssertionError(f"no seeded cron job with {settings}")


# -- listing and reading --------------------------------------------------------------------
async def test_it_lists_cron_jobs_of_every_app_as_app_slash_cronjob(
    sim: MigetSim, client: Miget
) -> None:
    jobs = await client.list_jobs()
    assert {j.id for j in jobs} == set(sim.job_ids())
    assert {j.id.split("/")[0] for j in jobs} == set(sim.apps)
    assert sent(sim, "GET") == len(sim.apps)  # one request per app
    for job in jobs:
        app, cid = job.id.split("/")
        state = sim.cronjobs[app][cid]["state"]
        assert job.last_status == state
        assert (job.last_result is RunResult.FAILED) == (state in FAILING)
        assert job.ref == f"apps:{app}/{cid}"


async def test_seeded_failures_show_as_failed(client: Miget) -> None:
    failed = [j for j in await client.list_jobs() if j.last_result is RunResult.FAILED]
    assert failed
    assert all(j.last_status in FAILING for j in failed)


async def test_it_discovers_apps_once_when_none_are_configured(
    sim: MigetSim, make: MakeClient
) -> None:
    client = make(apps=[])
    first = await client.list_jobs()
    second = await client.list_jobs()
    assert {j.id for j in first} == {j.id for j in second} == set(sim.job_ids())
    assert sim.requests["GET /apps"] == 1


async def test_only_configured_apps_are_listed(sim: MigetSim, one_app: Miget) -> None:
    app = next(iter(sim.apps))
    jobs = await one_app.list_jobs()
    assert jobs
    assert {j.id.split("/")[0] for j in jobs} == {app}


async def test_get_maps_a_cron_schedule_command_and_link(sim: MigetSim, client: Miget) -> None:
    job_id, raw = first_job(sim, cron="0 3 * * *")
    job = await client.get_job(job_id)
    app = job_id.split("/")[0]
    assert job.schedule == Schedule.from_cron("0 3 * * *", "UTC")
    assert job.upcoming(client.clock())[0] == datetime(2025, 5, 7, 3, 0, tzinfo=UTC)
    assert job.command == raw["settings"]["command"]
    assert job.name == raw["label"]
    assert ("Miget name", raw["name"]) in job.details
    assert job.link == f"https://app.miget.com/apps/{app}"
    assert job.capabilities == frozenset(
        {Capability.LIST, Capability.GET, Capability.CREATE, Capability.UPDATE, Capability.DELETE}
    )


async def test_get_maps_interval_schedules(sim: MigetSim, client: Miget) -> None:
    daily_id, _ = first_job(sim, interval_type="daily", daily_time="02:00")
    ten_id, _ = first_job(sim, interval_type="every_10_minutes")
    hourly_id, _ = first_job(sim, interval_type="hourly")
    assert (await client.get_job(daily_id)).schedule == Schedule.interval(1, "days", at="02:00")
    assert (await client.get_job(ten_id)).schedule == Schedule.interval(10, "minutes")
    assert (await client.get_job(hourly_id)).schedule == Schedule.interval(1, "hours")


async def test_a_run_moves_last_run_and_result(sim: MigetSim, client: Miget) -> None:
    job_id = sim.job_ids()[0]
    at = datetime(2025, 5, 6, 11, 30, tzinfo=UTC)
    sim.run(job_id, ok=False, at=at)
    failed = await client.get_job(job_id)
    assert (failed.last_result, failed.last_run) == (RunResult.FAILED, at)
    sim.run(job_id, ok=True)
    assert (await client.get_job(job_id)).last_result is RunResult.OK


@pytest.mark.parametrize(
    ("state", "result"),
    [
        ("crashloopbackoff", RunResult.FAILED),
        ("degradated", RunResult.FAILED),
        ("healthy", RunResult.OK),
        ("pending", RunResult.NONE),
        ("stopped", RunResult.UNKNOWN),
        (None, RunResult.UNKNOWN),
    ],
)
def test_states_read_as_results(state: str | None, result: RunResult) -> None:
    assert result_of(state) is result


async def test_an_unknown_cron_job_is_not_found(sim: MigetSim, client: Miget) -> None:
    app = next(iter(sim.apps))
    with pytest.raises(NotFound):
        await client.get_job(f"{app}/00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFound, match="APP/CRONJOB"):
        await client.get_job("not-an-id")


async def test_no_password_reaches_a_job(client: Miget) -> None:
    jobs = await client.list_jobs()
    assert all(DB_PASSWORD not in j.model_dump_json() for j in jobs)


# -- create ---------------------------------------------------------------------------------
async def test_create_returns_the_suffixed_name_and_never_the_password(
    sim: MigetSim, one_app: Miget, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    job = await one_app.create(spec())
    app, cid = job.id.split("/")
    server_name = sim.cronjobs[app][cid]["name"]
    assert server_name.startswith("nightly-cleanup-")
    assert len(server_name) == 21
    assert ("Miget name", server_name) in job.details
    assert job.schedule == Schedule.from_cron("0 3 * * *")
    assert job.command == "rake db:cleanup"
    assert DB_PASSWORD not in job.model_dump_json()
    logged = [r.getMessage() for r in caplog.records if r.name == "providers.miget.client"]
    assert any("create" in line and server_name in line for line in logged)
    assert DB_PASSWORD not in caplog.text


async def test_the_simulator_really_sends_connection_details_on_create(sim: MigetSim) -> None:
    app = next(iter(sim.apps))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url=SIM_ROOT
    ) as raw:
        body = {"name": "x", "schedule_type": "cron", "cron": "0 * * * *", "command": "ls"}
        response = await raw.post(
            f"/apps/{app}/cronjobs", json=body, headers={"Authorization": f"Bearer {KEY}"}
        )
    assert response.status_code == 201
    assert response.json()["connection_details"]["internal"]["password"] == DB_PASSWORD


async def test_create_sends_interval_schedules(sim: MigetSim, one_app: Miget) -> None:
    daily = Schedule.interval(1, "days", at="04:15")
    job = await one_app.create(spec(name="digest", schedule=daily))
    app, cid = job.id.split("/")
    settings = sim.cronjobs[app][cid]["settings"]
    assert settings["interval_type"] == "daily"
    assert settings["daily_time"] == "04:15"
    assert job.schedule == daily


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        (
            {"schedule": Schedule(kind=ScheduleKind.CRON, cron="61 * * * *")},
            "schedule",
            "cron expression",
        ),
        ({"schedule": Schedule.from_cron("0 3 * * *", "Europe/Berlin")}, "schedule", "UTC"),
        ({"schedule": Schedule.interval(5, "minutes")}, "schedule", "every 10 minutes"),
        ({"schedule": Schedule.interval(1, "days")}, "schedule", "HH:MM"),
        ({"schedule": Schedule.of_period("weekly")}, "schedule", "cron expression"),
        ({"schedule": None}, "schedule", "required"),
        ({"command": "  "}, "command", "required"),
        ({"name": "Nightly Cleanup"}, "name", "lowercase"),
    ],
)
async def test_create_refuses_bad_input_before_any_request(
    sim: MigetSim, one_app: Miget, changes: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await one_app.create(spec(**changes))
    assert words in " ".join(refused.value.fields[field])
    assert "Miget" in refused.value.user_message
    assert sim.total_requests == 0


async def test_create_needs_an_app_when_the_account_has_several(
    sim: MigetSim, client: Miget
) -> None:
    apps = list(sim.apps)
    with pytest.raises(InvalidInput) as refused:
        await client.create(spec())
    assert all(app in refused.value.user_message for app in apps)
    with pytest.raises(InvalidInput, match="not one of"):
        await client.create(spec(), app="no-such-app")
    assert sim.total_requests == 0
    job = await client.create(spec(), app=apps[1])
    assert job.id.startswith(f"{apps[1]}/")


async def test_other_job_kinds_cannot_be_created(client: Miget) -> None:
    with pytest.raises(Unsupported, match="Miget"):
        await client.create(spec(kind=JobKind.MONITOR))


# -- update and delete ----------------------------------------------------------------------
async def test_update_changes_label_and_command(sim: MigetSim, client: Miget) -> None:
    job = await client.get_job(sim.job_ids()[0])
    edit = job.to_spec().model_copy(update={"name": "Renamed", "command": "rake new:task"})
    updated = await client.update(job.id, edit)
    assert (updated.name, updated.command) == ("Renamed", "rake new:task")
    assert updated.schedule == job.schedule
    assert sent(sim, "PUT") == 1
    app, cid = job.id.split("/")
    assert sim.cronjobs[app][cid]["label"] == "Renamed"


async def test_update_with_a_new_schedule_is_refused_without_a_put(
    sim: MigetSim, client: Miget
) -> None:
    job_id, raw = first_job(sim, cron="0 3 * * *")
    edit = spec(name="same", schedule=Schedule.from_cron("0 4 * * *"))
    with pytest.raises(Unsupported) as refused:
        await client.update(job_id, edit)
    assert refused.value.user_message == (
        "Miget cannot change a cron job's schedule in place; "
        "delete it and create a new one with the new schedule."
    )
    assert sent(sim, "PUT") == 0
    assert sent(sim, "GET") == 1
    assert raw["settings"]["cron"] == "0 3 * * *"


async def test_delete_removes_the_cron_job(sim: MigetSim, client: Miget) -> None:
    job_id = sim.job_ids()[0]
    await client.delete(job_id)
    assert job_id not in sim.job_ids()
    with pytest.raises(NotFound):
        await client.get_job(job_id)


@pytest.mark.parametrize("action", ["pause", "resume", "history"])
async def test_pause_resume_and_history_are_refused_naming_miget(
    sim: MigetSim, client: Miget, action: str
) -> None:
    with pytest.raises(Unsupported) as refused:
        await getattr(client, action)(sim.job_ids()[0])
    assert refused.value.user_message.startswith("Miget ")
    assert sim.total_requests == 0


# -- errors ---------------------------------------------------------------------------------
def test_comma_joined_errors_become_one_message_each() -> None:
    body = {"errors": "Name can't be blank, Label is too long (maximum is 40 characters)"}
    error = miget_error(httpx.Response(422, json=body))
    assert isinstance(error, InvalidInput)
    assert error.fields == {
        "name": ["Name can't be blank"],
        "label": ["Label is too long (maximum is 40 characters)"],
    }
    odd = miget_error(httpx.Response(422, json={"errors": "a, b"}))
    assert isinstance(odd, InvalidInput)
    assert odd.fields == {"_": ["a", "b"]}


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, InvalidInput),
        (401, AuthRejected),
        (403, AuthRejected),
        (404, NotFound),
        (409, InvalidInput),
        (500, ProviderUnavailable),
        (502, ProviderUnavailable),
    ],
)
def test_statuses_map_to_the_error_tree(status: int, error: type[Exception]) -> None:
    mapped = miget_error(httpx.Response(status, json={"error": "Something happened"}))
    assert isinstance(mapped, error)
    assert "Something happened" in str(mapped)


async def test_a_wrong_workspace_is_refused_with_a_clear_message(make: MakeClient) -> None:
    client = make(workspace_id="11111111-2222-3333-4444-555555555555")
    with pytest.raises(AuthRejected) as refused:
        await client.list_jobs()
    message = refused.value.user_message
    assert "another workspace than X-Workspace-Id" in message
    assert "workspace_id" in message


async def test_a_wrong_key_is_refused(make: MakeClient) -> None:
    with pytest.raises(AuthRejected) as refused:
        await make(key="miget_live_wrong").list_jobs()
    assert "Unauthorized" in refused.value.user_message
    assert "miget_live_wrong" not in refused.value.user_message


async def test_a_server_error_is_unavailable_after_a_retry(sim: MigetSim, one_app: Miget) -> None:
    sim.fault = 500
    with pytest.raises(ProviderUnavailable):
        await one_app.list_jobs()
    assert sim.total_requests == 2


async def test_a_malformed_body_is_a_bad_response(sim: MigetSim, one_app: Miget) -> None:
    sim.malformed = True
    with pytest.raises(BadResponse):
        await one_app.list_jobs()


async def test_a_data_envelope_is_tolerated_and_other_types_skipped(make: MakeClient) -> None:
    entity = {"uuid": "c1", "name": "job-abcde", "type": "cronjob", "state": "failing"}
    entity |= {"settings": {"schedule_type": "cron", "cron": "*/5 * * * *", "command": "ls"}}
    addon = {"uuid": "a1", "name": "pg-abcde", "type": "postgres", "state": "healthy"}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [entity, addon]})

    client = make(["app1"], transport=httpx.MockTransport(handler))
    (job,) = await client.list_jobs()
    assert (job.id, job.name, job.last_result) == ("app1/c1", "job-abcde", RunResult.FAILED)


async def test_the_api_key_and_passwords_never_reach_the_log(
    sim: MigetSim, make: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make(apps=[])
    await client.list_jobs()
    await client.list_addons()
    await client.create(spec(), app=next(iter(sim.apps)))
    with pytest.raises(AuthRejected):
        await make(workspace_id="other").list_jobs()
    assert caplog.records
    assert KEY not in caplog.text
    assert DB_PASSWORD not in caplog.text


# -- add-ons --------------------------------------------------------------------------------
def pg(**changes: Any) -> AddonSpec:
    base = {"type": "postgres", "name": "orders-db", "label": "Orders", "postgres_version": "16"}
    return AddonSpec(**(base | changes))


async def test_list_addons_reads_quota_and_hides_connection_details(
    sim: MigetSim, client: Miget
) -> None:
    addons = await client.list_addons()
    assert {a.type for a in addons} == {"postgres", "valkey", "storage"}
    assert {a.app for a in addons} == set(sim.apps)
    assert all(a.ram_mib == 256 and a.cpu == 0.25 for a in addons)
    assert all(DB_PASSWORD not in a.model_dump_json() for a in addons)
    assert not {"connection_details", "var", "password"} & set(Addon.model_fields)


async def test_list_addons_of_one_app(sim: MigetSim, client: Miget) -> None:
    app = list(sim.apps)[1]
    addons = await client.list_addons(app)
    assert addons
    assert {a.app for a in addons} == {app}


async def test_create_addon_starts_pending_with_a_suffixed_name(
    sim: MigetSim, one_app: Miget
) -> None:
    addon = await one_app.create_addon(pg(ram_size=512))
    assert addon.state == "pending"
    assert addon.name.startswith("orders-db-")
    assert len(addon.name) == len("orders-db-") + 5
    assert addon.ram_mib == 512
    assert sim.addons[addon.app][addon.uuid]["label"] == "Orders"
    assert DB_PASSWORD not in addon.model_dump_json()


def test_an_addon_spec_takes_a_forms_single_version_answer() -> None:
    assert AddonSpec.make("mysql", "db", label="DB", version="8.2").mysql_version == "8.2"
    storage = AddonSpec.make("storage", "files", version=None, mount_point="/data")
    assert (storage.postgres_version, storage.mount_point) == (None, "/data")


async def test_create_storage_addon(one_app: Miget) -> None:
    spec = AddonSpec(
        type="storage", name="uploads", label="Uploads", mount_point="/data", storage_access="RWX"
    )
    assert (await one_app.create_addon(spec)).type == "storage"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"postgres_version": "12"}, "postgres_version"),
        ({"postgres_version": None}, "postgres_version"),
        ({"type": "cronjob"}, "type"),
        ({"label": None}, "label"),
        ({"mysql_version": "8.0"}, "mysql_version"),
        ({"type": "storage", "postgres_version": None}, "mount_point"),
        ({"public_access": "yes"}, "public_access"),
        ({"ram_size": 0}, "ram_size"),
    ],
)
async def test_create_addon_refuses_bad_specs_locally(
    sim: MigetSim, one_app: Miget, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await one_app.create_addon(pg(**changes))
    assert field in refused.value.fields
    assert sim.total_requests == 0


async def test_the_servers_422_for_a_missing_version_is_invalid_input(
    sim: MigetSim, one_app: Miget
) -> None:
    app = next(iter(sim.apps))
    body = {"type": "mysql", "name": "shop-db"}
    with pytest.raises(InvalidInput) as refused:
        await one_app.http.request("POST", f"/apps/{app}/addons", op="create_addon", json=body)
    assert refused.value.fields == {
        "label": ["Label can't be blank"],
        "mysql_version": ["Mysql version can't be blank"],
    }


# -- the simulator itself -------------------------------------------------------------------
async def sim_call(sim: MigetSim, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url=SIM_ROOT, headers=headers
    ) as raw:
        return await raw.request(method, path, **kwargs)


async def test_sim_stream_logs_are_404_until_the_job_ran(sim: MigetSim) -> None:
    app = next(iter(sim.apps))
    created = await sim_call(
        sim, "POST", f"/apps/{app}/cronjobs", json={"name": "t", "cron": "0 * * * *"}
    )
    path = f"/apps/{app}/cronjobs/{created.json()['uuid']}/stream_logs"
    assert (await sim_call(sim, "GET", path)).status_code == 404
    sim.run(f"{app}/{created.json()['uuid']}", ok=False)
    logs = await sim_call(sim, "GET", path)
    assert logs.headers["content-type"].startswith("text/event-stream")
    assert "data: " in logs.text
    assert "exited with status 1" in logs.text


async def test_sim_app_embeds_addons_and_cronjobs(sim: MigetSim) -> None:
    app = next(iter(sim.apps))
    body = (await sim_call(sim, "GET", f"/apps/{app}")).json()
    assert len(body["cronjobs"]) == len(sim.cronjobs[app])
    assert {a["type"] for a in body["addons"]} >= {"postgres", "valkey"}


async def test_sim_put_ignores_schedule_fields(sim: MigetSim) -> None:
    job_id, raw = first_job(sim, cron="0 3 * * *")
    app, cid = job_id.split("/")
    await sim_call(sim, "PUT", f"/apps/{app}/cronjobs/{cid}", json={"cron": "0 4 * * *"})
    assert raw["settings"]["cron"] == "0 3 * * *"


async def test_sim_refusals(sim: MigetSim) -> None:
    app = next(iter(sim.apps))
    missing = await sim_call(sim, "GET", f"/apps/{app}/cronjobs/nope")
    assert (missing.status_code, missing.json()) == (404, {"error": "Not found"})
    blank = await sim_call(sim, "POST", f"/apps/{app}/cronjobs", json={"cron": "0 * * * *"})
    assert (blank.status_code, blank.json()) == (422, {"errors": "Name can't be blank"})
    body = {"type": "postgres", "name": "db", "label": "DB", "postgres_version": "9"}
    old = await sim_call(sim, "POST", f"/apps/{app}/addons", json=body)
    assert old.status_code == 400
    assert "version" in old.json()["error"]
    cron = await sim_call(sim, "POST", f"/apps/{app}/addons", json=body | {"type": "cronjob"})
    assert cron.status_code == 400
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url=SIM_ROOT
    ) as anonymous:
        assert (await anonymous.get("/apps")).json() == {"error": "Unauthorized"}


def test_sim_seeds_ten_thousand_jobs_deterministically() -> None:
    big = MigetSim(clock=lambda: NOW, jobs=10_000)
    assert len(big.job_ids()) == 10_000
    assert len(big.apps) == 3
    again = MigetSim(clock=lambda: NOW, jobs=10_000)
    assert big.job_ids() == again.job_ids()
    states = [job["state"] for jobs in big.cronjobs.values() for job in jobs.values()]
    share = sum(s in FAILING for s in states) / len(states)
    assert 0.05 < share < 0.15
