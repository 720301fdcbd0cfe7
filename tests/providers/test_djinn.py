"""Djinn CI: the client against its simulator, in-process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from providers.base import Capability, JobKind, JobSpec, RunResult
from providers.config import BuildContext
from providers.djinn.client import Djinn, DjinnAccount
from providers.djinn.sim import DjinnSim
from providers.djinn.wire import djinn_error, manifest_problems, next_page
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

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
MANIFEST = "driver:\n  type: qemu\n  image: centos/7"
CANARY = "djinn-canary-5f1c0d2e"


def make_client(transport: httpx.AsyncBaseTransport, token: str = SIM_KEY) -> Djinn:
    account = DjinnAccount(name="ci", provider="djinn", token=token)
    ctx = BuildContext(
        transport_for=lambda a: transport,
        retry=RetryPolicy(attempts=2, initial_wait=0, max_wait=0),
    )
    return Djinn.from_config(account, ctx)


@pytest.fixture
def sim() -> DjinnSim:
    return DjinnSim(jobs=0, clock=lambda: NOW)


@pytest.fixture
async def djinn(sim: DjinnSim) -> AsyncIterator[Djinn]:
    client = make_client(httpx.ASGITransport(app=sim.app))
    yield client
    await client.aclose()


def add_cron(sim: DjinnSim, name: str, schedule: str = "daily", manifest: str = MANIFEST) -> str:
    return str(sim._new_cron(name, schedule, manifest, None).id)


def add_builds(sim: DjinnSim, cron_id: str, statuses: list[str]) -> None:
    """Builds oldest first, an hour apart, the last one finishing at NOW."""
    for back, status in zip(range(len(statuses) - 1, -1, -1), statuses, strict=True):
        sim.run_status(cron_id, status, at=NOW - timedelta(hours=back))


def spec(**fields: object) -> JobSpec:
    values: dict[str, object] = {"kind": JobKind.CRON, "name": "nightly", "manifest": MANIFEST}
    return JobSpec.model_validate(values | fields)


# -- listing and paging -----------------------------------------------------------------------
async def test_it_lists_70_crons_over_3_pages_and_stops_although_link_always_has_next(
    sim: DjinnSim, djinn: Djinn
) -> None:
    sim.seed_jobs(70)

    jobs = await djinn.list_jobs()

    assert len(jobs) == 70
    assert len({job.id for job in jobs}) == 70
    assert [job.name for job in jobs] == sorted(job.name for job in jobs)
    assert sim.requests["GET /cron"] == 3


async def test_the_pager_stops_when_a_page_brings_nothing_new() -> None:
    calls: list[str] = []

    def same_page_forever(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        calls.append(str(page))
        link = f'</cron?page={page - 1 or 1}>; rel="prev", </cron?page={page + 1}>; rel="next"'
        cron = {"id": 1, "name": "only", "schedule": "daily", "manifest": MANIFEST}
        return httpx.Response(200, json=[cron], headers={"Link": link})

    client = make_client(httpx.MockTransport(same_page_forever))

    jobs = await client.list_jobs()

    assert [job.name for job in jobs] == ["only"]
    assert calls == ["1", "2"]


def test_next_page_reads_relative_and_absolute_links() -> None:
    relative = '</cron?search=a&page=1>; rel="prev", </cron?search=a&page=3>; rel="next"'
    absolute = (
        '<https://api.djinn-ci.com/cron?page=1>; rel="prev",\n'
        ' <https://api.djinn-ci.com/cron?page=2>; rel="next"'
    )

    assert next_page(relative) == 3
    assert next_page(absolute) == 2
    assert next_page('</cron?page=1>; rel="prev"') is None
    assert next_page(None) is None


async def test_it_works_under_a_path_prefix_like_a_self_hosted_instance(sim: DjinnSim) -> None:
    sim.seed_jobs(30)
    mounted = Starlette(routes=[Mount("/djinn", app=sim.app)])
    account = DjinnAccount(
        name="ci", provider="djinn", token=SIM_KEY, base_url="http://sim.invalid/djinn"
    )
    transport = httpx.ASGITransport(app=mounted)
    client = Djinn.from_config(account, BuildContext(transport_for=lambda a: transport))

    jobs = await client.list_jobs()
    job = await client.get_job(jobs[0].id)
    await client.aclose()

    assert len(jobs) == 30
    assert job.link == f"http://sim.invalid/djinn/cron/{job.id}"
    assert job.last_result is not RunResult.UNKNOWN


async def test_search_ignores_case(sim: DjinnSim, djinn: Djinn) -> None:
    for name in ("api-nightly-tests", "web-Nightly-build", "weekly-image-rebuild"):
        add_cron(sim, name)

    jobs = await djinn.list_jobs(search="NIGHTLY")

    assert [job.name for job in jobs] == ["api-nightly-tests", "web-Nightly-build"]


async def test_a_listed_cron_has_no_result_because_the_list_carries_no_builds(
    sim: DjinnSim, djinn: Djinn
) -> None:
    cron_id = add_cron(sim, "nightly")
    add_builds(sim, cron_id, ["failed"])

    [job] = await djinn.list_jobs()

    assert job.last_result is RunResult.UNKNOWN
    assert job.last_run is not None


# -- one cron ---------------------------------------------------------------------------------
async def test_get_job_maps_the_cron_and_its_latest_build(sim: DjinnSim, djinn: Djinn) -> None:
    cron_id = str(sim._new_cron("nightly", "weekly", f"namespace: infra\n{MANIFEST}", "infra").id)
    add_builds(sim, cron_id, ["passed", "timed_out"])

    job = await djinn.get_job(cron_id)

    assert (job.id, job.name, job.kind, job.ref) == (
        cron_id,
        "nightly",
        JobKind.CRON,
        f"ci:{cron_id}",
    )
    sunday = datetime(2026, 3, 8, tzinfo=UTC)  # Wednesday + (3 + 1) days: Djinn's "weekly"
    assert job.schedule == Schedule.of_period("weekly", sunday)
    assert job.next_runs == (sunday,)
    assert job.last_run is not None
    assert job.last_result is RunResult.FAILED
    assert job.last_status == "timed_out"
    assert job.manifest == f"namespace: infra\n{MANIFEST}"
    assert job.link == f"https://api.djinn-ci.com/cron/{cron_id}"
    assert dict(job.details) == {"Namespace": "infra", "Author": "ops"}
    assert job.can(Capability.DELETE)
    assert not job.can(Capability.PAUSE)


async def test_a_cron_that_never_ran_has_no_result(sim: DjinnSim, djinn: Djinn) -> None:
    job = await djinn.get_job(add_cron(sim, "fresh"))

    assert job.last_result is RunResult.NONE
    assert job.last_run is None


async def test_a_recorded_failure_shows_on_the_cron(sim: DjinnSim, djinn: Djinn) -> None:
    cron_id = add_cron(sim, "nightly")

    sim.run(cron_id, ok=False, at=NOW)

    job = await djinn.get_job(cron_id)
    assert job.last_result is RunResult.FAILED
    assert job.next_runs == (datetime(2026, 3, 5, tzinfo=UTC),)


async def test_an_unknown_cron_is_not_found(djinn: Djinn) -> None:
    with pytest.raises(NotFound):
        await djinn.get_job("999")


async def test_a_cron_id_that_is_not_a_number_is_refused_without_a_request(
    sim: DjinnSim, djinn: Djinn
) -> None:
    with pytest.raises(NotFound, match="whole numbers"):
        await djinn.get_job("../user")

    assert sim.total_requests == 0


# -- create, update, delete -------------------------------------------------------------------
async def test_create_posts_the_cron(sim: DjinnSim, djinn: Djinn) -> None:
    job = await djinn.create(spec(schedule=Schedule.of_period("monthly")))

    created = sim.crons[int(job.id)]
    stored = "driver:\n  arch: x86_64\n  image: centos/7\n  type: qemu"  # as Djinn re-encodes it
    assert (created.name, created.schedule, created.manifest) == ("nightly", "monthly", stored)
    assert job.last_result is RunResult.NONE
    assert sim.requests["POST /cron"] == 1


async def test_create_maps_a_duplicate_name_to_the_name_field(sim: DjinnSim, djinn: Djinn) -> None:
    add_cron(sim, "nightly")

    with pytest.raises(InvalidInput) as refused:
        await djinn.create(spec())

    assert refused.value.fields == {"name": ["Name already exists"]}
    assert len(sim.crons) == 1


async def test_create_refuses_a_cron_expression_before_any_request(
    sim: DjinnSim, djinn: Djinn
) -> None:
    with pytest.raises(InvalidInput, match="daily, weekly or monthly") as refused:
        await djinn.create(spec(schedule=Schedule.from_cron("0 3 * * *")))

    assert "schedule" in refused.value.fields
    assert sim.total_requests == 0


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        (None, "Manifest is required"),
        ("driver: [unclosed", "Manifest is not valid YAML"),
        ("stages: [test]", "Manifest needs a driver"),
        ("driver:\n  type: kubernetes", "driver type must be docker, qemu, ssh or os"),
        ("driver:\n  type: docker\n  image: golang", "driver docker requires workspace"),
        ("driver:\n  type: ssh", "driver ssh requires address"),
    ],
)
async def test_create_refuses_a_bad_manifest_before_any_request(
    sim: DjinnSim, djinn: Djinn, manifest: str | None, problem: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await djinn.create(spec(manifest=manifest))

    assert refused.value.fields["manifest"][0].startswith(problem)
    assert sim.total_requests == 0


def test_each_driver_type_takes_its_own_keys() -> None:
    assert manifest_problems("driver:\n  type: docker\n  image: golang\n  workspace: /go") == []
    assert manifest_problems("driver:\n  type: qemu\n  image: debian/oldstable") == []
    assert manifest_problems("driver:\n  type: ssh\n  address: 10.0.0.5") == []
    assert manifest_problems("driver:\n  type: os") == []
    assert manifest_problems("driver:\n  type: qemu") == ["driver qemu requires image"]


async def test_update_patches_and_keeps_a_blank_manifest(sim: DjinnSim, djinn: Djinn) -> None:
    cron_id = add_cron(sim, "nightly")
    add_builds(sim, cron_id, ["passed"])

    job = await djinn.update(
        cron_id, spec(name="nightly-tests", schedule=Schedule.of_period("weekly"), manifest="")
    )

    cron = sim.crons[int(cron_id)]
    assert (cron.name, cron.schedule, cron.manifest) == ("nightly-tests", "weekly", MANIFEST)
    assert job.name == "nightly-tests"
    assert job.schedule is not None
    assert job.schedule.period == "weekly"
    assert job.next_runs == (datetime(2026, 3, 5, tzinfo=UTC),)  # PATCH leaves next_run alone
    assert job.last_result is RunResult.OK
    assert sim.requests[f"PATCH /cron/{cron_id}"] == 1


async def test_delete_removes_the_cron(sim: DjinnSim, djinn: Djinn) -> None:
    cron_id = add_cron(sim, "nightly")

    await djinn.delete(cron_id)

    assert int(cron_id) not in sim.crons
    with pytest.raises(NotFound):
        await djinn.get_job(cron_id)


@pytest.mark.parametrize("action", ["pause", "resume"])
async def test_pause_and_resume_are_unsupported_and_say_so(
    sim: DjinnSim, djinn: Djinn, action: str
) -> None:
    cron_id = add_cron(sim, "nightly")

    with pytest.raises(Unsupported) as refused:
        await getattr(djinn, action)(cron_id)

    assert refused.value.user_message.startswith("Djinn CI has no pause for crons")
    assert sim.total_requests == 0


# -- history and polling ----------------------------------------------------------------------
async def test_history_maps_every_build_status(sim: DjinnSim, djinn: Djinn) -> None:
    cron_id = add_cron(sim, "nightly")
    statuses = ["passed", "passed_with_failures", "failed", "killed", "timed_out", "running"]
    add_builds(sim, cron_id, [*statuses, "queued"])

    history = await djinn.history(cron_id, limit=10)

    assert [e.status_text for e in history] == ["queued", *reversed(statuses)]
    assert [e.result for e in history] == [
        RunResult.RUNNING,
        RunResult.RUNNING,
        RunResult.FAILED,
        RunResult.FAILED,
        RunResult.FAILED,
        RunResult.WARNING,
        RunResult.OK,
    ]
    passed = history[-1]
    assert passed.time == NOW - timedelta(hours=6)
    assert (passed.duration_ms or 0) >= 40_000
    assert passed.url == f"https://api.djinn-ci.com/b/ops/{passed.id}"
    assert history[0].duration_ms is None


async def test_history_pages_only_as_far_as_the_limit(sim: DjinnSim, djinn: Djinn) -> None:
    cron_id = add_cron(sim, "nightly")
    add_builds(sim, cron_id, ["passed"] * 60)

    history = await djinn.history(cron_id, limit=30)

    assert len(history) == 30
    assert [int(e.id) for e in history] == sorted((int(e.id) for e in history), reverse=True)
    assert sim.requests[f"GET /cron/{cron_id}/builds"] == 2


async def test_builds_since_stops_paging_at_the_cursor(sim: DjinnSim, djinn: Djinn) -> None:
    cron_id = add_cron(sim, "nightly")
    add_builds(sim, cron_id, ["passed"] * 60)
    cursor = str(sim.builds[int(cron_id)][-6].id)

    newer = await djinn.builds_since(cron_id, cursor)

    assert [int(e.id) for e in newer] == [b.id for b in reversed(sim.builds[int(cron_id)][-5:])]
    assert sim.requests[f"GET /cron/{cron_id}/builds"] == 1


async def test_builds_since_without_a_cursor_reads_one_page(sim: DjinnSim, djinn: Djinn) -> None:
    cron_id = add_cron(sim, "nightly")
    add_builds(sim, cron_id, ["passed"] * 60)

    newest = await djinn.builds_since(cron_id, None)

    assert len(newest) == 25
    assert sim.requests[f"GET /cron/{cron_id}/builds"] == 1


async def test_status_passed_also_matches_passed_with_failures(sim: DjinnSim, djinn: Djinn) -> None:
    cron_id = add_cron(sim, "nightly")
    add_builds(sim, cron_id, ["passed", "failed", "passed_with_failures", "killed"])

    passed = await djinn.builds_since(cron_id, None, status="passed")
    failed = await djinn.builds_since(cron_id, None, status="failed")

    assert [e.status_text for e in passed] == ["passed_with_failures", "passed"]
    assert [e.status_text for e in failed] == ["failed"]


# -- errors -----------------------------------------------------------------------------------
async def test_a_wrong_token_is_a_404_that_reads_as_rejected_auth(sim: DjinnSim) -> None:
    client = make_client(httpx.ASGITransport(app=sim.app), token="not-the-token")
    add_cron(sim, "nightly")

    with pytest.raises(AuthRejected, match="answered 404 to the cron list"):
        await client.list_jobs()
    with pytest.raises(AuthRejected):
        await client.check()
    with pytest.raises(NotFound):
        await client.get_job("1")
    await client.aclose()


async def test_check_counts_the_crons(sim: DjinnSim, djinn: Djinn) -> None:
    sim.seed_jobs(3)

    check = await djinn.check()

    assert check.jobs == 3
    assert check.budget_limit is None


async def test_a_server_error_is_unavailable_and_retried_for_reads(
    sim: DjinnSim, djinn: Djinn
) -> None:
    sim.fault = 500

    with pytest.raises(ProviderUnavailable, match="HTTP 500: Internal Server Error"):
        await djinn.list_jobs()
    with pytest.raises(ProviderUnavailable):
        await djinn.create(spec())

    assert sim.requests["GET /cron"] == 2
    assert sim.requests["POST /cron"] == 1


async def test_a_body_that_is_not_json_is_a_bad_response(sim: DjinnSim, djinn: Djinn) -> None:
    sim.malformed = True

    with pytest.raises(BadResponse):
        await djinn.list_jobs()


async def test_a_cron_of_the_wrong_shape_is_a_bad_response() -> None:
    def shapeless(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"id": 1, "schedule": "daily"}])

    client = make_client(httpx.MockTransport(shapeless))

    with pytest.raises(BadResponse, match="unexpected cron"):
        await client.list_jobs()


@pytest.mark.parametrize(
    ("status", "body", "expected", "text"),
    [
        (400, {"name": ["Name already exists"]}, InvalidInput, "name: Name already exists"),
        (422, {"message": "cannot submit to namespace"}, InvalidInput, "cannot submit to"),
        (404, {"message": "Not Found"}, NotFound, "HTTP 404"),
        (500, {"message": "unknown schedule: hourly"}, ProviderUnavailable, "unknown schedule"),
    ],
)
def test_error_bodies_are_mapped(
    status: int, body: dict[str, object], expected: type[Exception], text: str
) -> None:
    error = djinn_error(httpx.Response(status, json=body))

    assert isinstance(error, expected)
    assert text in str(error)


async def test_the_token_never_reaches_models_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = DjinnSim(api_key=CANARY, jobs=3, clock=lambda: NOW)
    client = make_client(httpx.ASGITransport(app=sim.app), token=CANARY)
    caplog.set_level(logging.DEBUG)

    jobs = await client.list_jobs()
    job = await client.get_job(jobs[0].id)
    history = await client.history(job.id)
    with pytest.raises(InvalidInput) as refused:
        await client.create(spec(name=jobs[0].name))
    await client.aclose()

    dumped = [m.model_dump_json() for m in [*jobs, job, *history]]
    assert history
    assert caplog.records
    assert all(CANARY not in text for text in [*dumped, caplog.text, str(refused.value)])


# -- the simulator on its own -----------------------------------------------------------------
async def call(sim: DjinnSim, method: str, path: str, **kwargs: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {SIM_KEY}"}
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://djinn.test") as http:
        return await http.request(method, path, headers=headers, **kwargs)


async def test_the_sim_answers_a_wrong_method_with_405_json(sim: DjinnSim) -> None:
    response = await call(sim, "PUT", "/cron")

    assert response.status_code == 405
    assert response.json() == {"message": "Method Not Allowed"}


async def test_the_sim_answers_an_unknown_route_and_a_lowercase_bearer_with_404(
    sim: DjinnSim,
) -> None:
    unknown = await call(sim, "GET", "/crons")
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://djinn.test") as http:
        lowercase = await http.get("/cron", headers={"Authorization": f"bearer {SIM_KEY}"})

    assert unknown.status_code == lowercase.status_code == 404
    assert lowercase.json() == {"message": "Not Found"}


async def test_the_sim_links_relatively_keeping_the_search_and_clamping_the_ends(
    sim: DjinnSim,
) -> None:
    for n in range(30):
        add_cron(sim, f"nightly-{n:02}")

    first = await call(sim, "GET", "/cron", params={"search": "night"})
    last = await call(sim, "GET", "/cron", params={"search": "night", "page": 2})

    assert first.headers["Link"] == (
        '</cron?search=night&page=1>; rel="prev", </cron?search=night&page=2>; rel="next"'
    )
    assert last.headers["Link"].endswith('</cron?search=night&page=2>; rel="next"')
    assert len(first.json()) == 25
    assert len(last.json()) == 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"name": "x", "manifest": "driver: {type: os}", "schedule": "hourly"}', "unknown"),
        (b'{"name": ', "Failed to decode"),
    ],
)
async def test_the_sim_answers_500_to_unknown_schedules_and_malformed_json(
    sim: DjinnSim, content: bytes, message: str
) -> None:
    response = await call(sim, "POST", "/cron", content=content)

    assert response.status_code == 500
    assert message in response.json()["message"]
    assert not sim.crons


async def test_the_sim_treats_an_empty_patch_as_a_no_op(sim: DjinnSim) -> None:
    cron_id = add_cron(sim, "nightly", "weekly")

    response = await call(sim, "PATCH", f"/cron/{cron_id}")

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["schedule"]) == ("nightly", "weekly")


async def test_the_sim_creates_with_201_and_deletes_with_an_empty_204(sim: DjinnSim) -> None:
    created = await call(sim, "POST", "/cron", json={"name": "n", "manifest": MANIFEST})
    deleted = await call(sim, "DELETE", f"/cron/{created.json()['id']}")

    assert created.status_code == 201
    assert created.json()["schedule"] == "daily"
    assert created.json()["url"] == f"http://djinn.test/cron/{created.json()['id']}"
    assert (deleted.status_code, deleted.content) == (204, b"")


def test_seeding_is_deterministic_realistic_and_fast() -> None:
    started = datetime.now(UTC)
    big = DjinnSim(jobs=10_000, seed=3, clock=lambda: NOW)
    took = datetime.now(UTC) - started
    small, again = (DjinnSim(jobs=200, seed=5, clock=lambda: NOW) for _ in range(2))

    again.seed_jobs(200)

    latest = [builds[-1].status for builds in small.builds.values()]
    every = {b.status for builds in small.builds.values() for b in builds}
    assert took < timedelta(seconds=3)
    assert len(big.job_ids()) == 10_000
    assert all(1 <= len(builds) <= 2 for builds in big.builds.values())
    assert [c.name for c in small.crons.values()] == [c.name for c in again.crons.values()][:200]
    assert len({c.name for c in again.crons.values()}) == 400
    assert sum(s in ("failed", "killed", "timed_out") for s in latest) == 20
    assert {"passed", "passed_with_failures", "failed"} <= every
