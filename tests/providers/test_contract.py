"""One contract for every provider: what a client declares is what it does.

Each test runs against every provider's simulator, in-process (``httpx.ASGITransport``) and
over real loopback HTTP (uvicorn), so the wire — headers, bodies, status lines — is exercised.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from providers.base import Capability, Job, JobKind, JobSpec, Provider, RunResult
from providers.config import Account, BuildContext
from providers.errors import (
    AuthRejected,
    BadResponse,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    Unsupported,
)
from providers.http import RetryPolicy
from providers.registry import PROVIDERS, build_provider
from providers.schedule import Schedule
from providers.sim.base import Simulator
from providers.sim.serve import LoopbackServer
from providers.sim.suite import UNLIMITED, SimSuite

MANIFEST = (
    "driver:\n  type: docker\n  image: golang:1.22\n  workspace: /go/src\nstages:\n  - test\n"
)

CREATE_SPECS: dict[str, JobSpec] = {
    "cronjob-org": JobSpec(
        kind=JobKind.JOB,
        name="contract job",
        schedule=Schedule.from_cron("*/10 * * * *", "Europe/Berlin"),
        url="https://example.com/hook",
        http_method="GET",
    ),
    "cronhub": JobSpec(
        kind=JobKind.SCHEDULER,
        name="contract scheduler",
        schedule=Schedule.from_cron("0 * * * *", "UTC"),
        url="https://example.com/hook",
        http_method="POST",
    ),
    "djinn": JobSpec(
        kind=JobKind.CRON, name="contract-cron", schedule=Schedule.of_period("daily"),
        manifest=MANIFEST,
    ),
    "miget": JobSpec(
        kind=JobKind.CRONJOB, name="contract-job", schedule=Schedule.from_cron("0 3 * * *"),
        command="rake db:cleanup",
    ),
}  # fmt: skip
MISSING_IDS = {
    "cronjob-org": "987654",
    "cronhub": "scheduler/987654",
    "djinn": "987654",
    "miget": "{app}/00000000-0000-0000-0000-000000000000",
}
NO_RETRY = RetryPolicy(attempts=1)


@dataclass
class World:
    slug: str
    sim: Simulator
    account: Account
    transport: str
    suite: SimSuite
    root: str

    def client(self, *, key: str | None = None, timeout: float | None = None) -> Provider:
        account = self.account
        update: dict[str, object] = {}
        if key is not None:
            field = "token" if self.slug == "djinn" else "api_key"
            update[field] = type(getattr(account, field))(key)
        if timeout is not None:
            update["timeout"] = timeout
        if update:
            account = account.model_copy(update=update)
        transport = self.suite.transport_for if self.transport == "asgi" else None
        return build_provider(account, BuildContext(transport_for=transport, retry=NO_RETRY))


@pytest.fixture(params=sorted(PROVIDERS))
def slug(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["asgi", "loopback"])
async def world(request: pytest.FixtureRequest, slug: str) -> AsyncIterator[World]:
    suite = SimSuite(seed=3, jobs=12, options=UNLIMITED)
    if request.param == "asgi":
        yield _world(suite, slug, "asgi", "http://sim.invalid")
        return
    async with LoopbackServer(suite.app) as server:
        yield _world(suite, slug, "loopback", server.url)


def _world(suite: SimSuite, slug: str, transport: str, root: str) -> World:
    account = next(a for a in suite.accounts(root) if a.provider == slug)
    if slug == "miget":  # one app, so create needs no app choice
        first_app = suite[slug].job_ids()[0].split("/")[0]
        account = account.model_copy(update={"apps": [first_app]})
    return World(slug, suite[slug], account, transport, suite, root)


@pytest.fixture
async def client(world: World) -> AsyncIterator[Provider]:
    provider = world.client()
    yield provider
    await provider.aclose()


def _one_of_each_kind(jobs: list[Job]) -> dict[JobKind, Job]:
    kinds: dict[JobKind, Job] = {}
    for job in jobs:
        kinds.setdefault(job.kind, job)
    return kinds


async def test_list_returns_every_job_with_its_declared_capabilities(
    world: World, client: Provider
) -> None:
    jobs = await client.list_jobs()
    apps = getattr(world.account, "apps", [])  # Miget: only the configured apps' cron jobs
    expected = {i for i in world.sim.job_ids() if not apps or i.split("/")[0] in apps}
    assert {j.id for j in jobs} == expected
    for job in jobs:
        assert job.ref == f"{world.account.name}:{job.id}"
        assert job.capabilities <= client.caps(job.kind)  # a job may narrow its kind
        assert job.name


async def test_get_returns_the_job_the_list_shows(client: Provider) -> None:
    for job in _one_of_each_kind(await client.list_jobs()).values():
        fetched = await client.get_job(job.id)
        assert (fetched.id, fetched.name, fetched.kind) == (job.id, job.name, job.kind)


async def test_create_update_delete_round_trip(world: World, client: Provider) -> None:
    created = await client.create(CREATE_SPECS[world.slug])
    assert created.id in {j.id for j in await client.list_jobs()}
    renamed = created.to_spec().model_copy(update={"name": "renamed-by-contract"})
    updated = await client.update(created.id, renamed)
    assert updated.name == "renamed-by-contract"
    assert (await client.get_job(created.id)).name == "renamed-by-contract"
    await client.delete(created.id)
    with pytest.raises(NotFound):
        await client.get_job(created.id)


async def test_pause_and_resume_do_what_is_declared(client: Provider) -> None:
    for job in _one_of_each_kind(await client.list_jobs()).values():
        if job.can(Capability.PAUSE):
            paused = await client.pause(job.id)
            assert paused.paused
            assert (await client.get_job(job.id)).paused
        else:
            with pytest.raises(Unsupported) as refused:
                await client.pause(job.id)
            assert client.label in refused.value.user_message
            assert (await client.get_job(job.id)).paused == job.paused
        if job.can(Capability.RESUME):
            assert not (await client.resume(job.id)).paused
            assert not (await client.get_job(job.id)).paused
        else:
            with pytest.raises(Unsupported):
                await client.resume(job.id)


async def test_a_failed_run_shows_as_failed_and_a_good_run_recovers(
    world: World, client: Provider
) -> None:
    jobs = [j for j in await client.list_jobs() if j.last_result is not RunResult.UNKNOWN]
    jobs += [j for j in await client.list_jobs() if j.can(Capability.HISTORY)]
    job = jobs[0]
    for ok, result in ((False, RunResult.FAILED), (True, RunResult.OK)):
        world.sim.run(job.id, ok=ok)
        if job.can(Capability.HISTORY):
            assert (await client.history(job.id, limit=5))[0].result is result
        else:
            assert (await client.get_job(job.id)).last_result is result


async def test_history_is_declared_or_refused(client: Provider) -> None:
    for job in _one_of_each_kind(await client.list_jobs()).values():
        if job.can(Capability.HISTORY):
            history = await client.history(job.id, limit=3)
            assert len(history) <= 3
            assert all(a.time >= b.time for a, b in itertools.pairwise(history))
        else:
            with pytest.raises(Unsupported):
                await client.history(job.id)


async def test_an_unknown_job_is_not_found(world: World, client: Provider) -> None:
    app = world.sim.job_ids()[0].split("/")[0]
    with pytest.raises(NotFound):
        await client.get_job(MISSING_IDS[world.slug].format(app=app))


async def test_a_wrong_key_is_an_auth_error(world: World) -> None:
    client = world.client(key="wrong-key-0000")
    try:
        with pytest.raises(AuthRejected) as refused:
            await client.list_jobs()
        assert "wrong-key-0000" not in refused.value.user_message
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("fault", "error"), [(429, RateLimited), (500, ProviderUnavailable), (503, ProviderUnavailable)]
)
async def test_provider_faults_are_typed(
    world: World, client: Provider, fault: int, error: type[Exception]
) -> None:
    world.sim.fault = fault
    with pytest.raises(error):
        await client.list_jobs()


async def test_a_malformed_body_is_a_bad_response(world: World, client: Provider) -> None:
    world.sim.malformed = True
    with pytest.raises(BadResponse):
        await client.list_jobs()


async def test_a_slow_provider_times_out_as_unavailable(world: World) -> None:
    if world.transport != "loopback":
        pytest.skip("timeouts need a real socket; ASGITransport has none")
    world.sim.latency = 1.0
    client = world.client(timeout=0.2)
    try:
        with pytest.raises(ProviderUnavailable, match="no answer within"):
            await client.list_jobs()
    finally:
        await client.aclose()


async def test_the_simulator_counts_what_the_client_sends(world: World, client: Provider) -> None:
    before = world.sim.total_requests
    await client.list_jobs()
    assert world.sim.total_requests > before
    async with httpx.AsyncClient() as raw:
        if world.transport == "loopback":
            stats = (await raw.get(f"{world.root}/{world.slug}/_sim/stats")).json()
            assert stats["total"] == world.sim.total_requests


HOSTILE_IDS = [
    "../../admin", "1?x=1", "1#frag", "1/../2", "%2e%2e/x", "1 2", "", "a\nb",
    "../jobs/1", "apps/../x", "..", "APP/../../x", "scheduler/../1", "monitor/a?b", "x/y/z",
]  # fmt: skip


@pytest.mark.parametrize("job_id", HOSTILE_IDS)
async def test_an_id_that_is_not_the_providers_shape_never_reaches_a_request_path(
    world: World, job_id: str
) -> None:
    provider = world.client()
    if world.slug == "miget":  # every app allowed, so only the id's shape protects the path
        provider = build_provider(
            world.account.model_copy(update={"apps": []}),
            BuildContext(transport_for=world.suite.transport_for if world.transport == "asgi"
                         else None, retry=NO_RETRY),
        )  # fmt: skip
    spec = JobSpec(kind=next(iter(provider.capabilities)), name="x")
    before = world.sim.total_requests
    calls = [
        provider.get_job(job_id), provider.history(job_id), provider.executions_since(job_id, None),
        provider.update(job_id, spec), provider.delete(job_id), provider.pause(job_id),
        provider.resume(job_id),
    ]  # fmt: skip
    try:
        for call in calls:
            with pytest.raises(ProviderError):
                await call
    finally:
        for call in calls:
            call.close()
        await provider.aclose()
    assert world.sim.total_requests == before
