"""Djinn CI as its real server answers (djinn-ci/djinn at 13949bde; providers.md §6).

Token scopes answered with 404 (``server/server.go:506-511``, ``cron/http/api.go:47-50``), the
HTML redirect a request that does not ask for JSON gets (``server/server.go:329-340, 487-495``),
PATCH and ``daily`` (``cron/http/form.go:47-49``), manifests (``manifest/manifest.go``) and
when schedules fire (``cron/cron.go:45-60``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from providers.base import JobKind, JobSpec, RunResult
from providers.config import BuildContext
from providers.djinn.client import Djinn, DjinnAccount
from providers.djinn.sim import DjinnSim
from providers.djinn.wire import djinn_error, manifest_problems
from providers.errors import (
    AuthRejected,
    InvalidInput,
    MissingScope,
    NotFound,
    ProviderUnavailable,
    Unsupported,
)
from providers.http import RetryPolicy
from providers.schedule import Schedule
from providers.sim.base import SIM_KEY
from providers.sim.serve import LoopbackServer

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
MANIFEST = "driver:\n  type: qemu\n  image: centos/7"
READER = "djinn-reader-token"  # may read crons, not their builds; may not write or delete
NO_RETRY = RetryPolicy(attempts=1)


def make_client(
    sim: DjinnSim | None = None, *, token: str = SIM_KEY, base_url: str | None = None
) -> Djinn:
    transport = httpx.ASGITransport(app=sim.app) if sim is not None else None
    account = DjinnAccount(name="ci", provider="djinn", token=token, base_url=base_url)
    return Djinn.from_config(
        account, BuildContext(transport_for=lambda _: transport, retry=NO_RETRY)
    )


@pytest.fixture
def sim() -> DjinnSim:
    return DjinnSim(jobs=0, clock=lambda: NOW, tokens={READER: {"cron:read"}})


@pytest.fixture
async def reader(sim: DjinnSim) -> AsyncIterator[Djinn]:
    client = make_client(sim, token=READER)
    yield client
    await client.aclose()


def add_cron(sim: DjinnSim, name: str = "nightly", schedule: str = "daily") -> str:
    cron_id = str(sim._new_cron(name, schedule, MANIFEST, None).id)
    sim.run(cron_id, ok=False, at=NOW)
    return cron_id


def spec(**fields: object) -> JobSpec:
    values: dict[str, object] = {"kind": JobKind.CRON, "name": "nightly", "manifest": MANIFEST}
    return JobSpec.model_validate(values | fields)


async def call(
    sim: DjinnSim, method: str, path: str, token: str, **kwargs: object
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://djinn.test") as http:
        return await http.request(method, path, headers=headers, **kwargs)


# -- scopes -----------------------------------------------------------------------------------
async def test_the_sim_answers_a_missing_scope_with_the_404_of_a_missing_cron(
    sim: DjinnSim,
) -> None:
    cron_id = add_cron(sim)
    body = {"name": "other", "manifest": MANIFEST}

    allowed = [await call(sim, "GET", p, READER) for p in ("/cron", f"/cron/{cron_id}")]
    refused = [
        await call(sim, "GET", f"/cron/{cron_id}/builds", READER),
        await call(sim, "POST", "/cron", READER, json=body),
        await call(sim, "PATCH", f"/cron/{cron_id}", READER, json={"name": "renamed"}),
        await call(sim, "DELETE", f"/cron/{cron_id}", READER),
    ]
    everything = await call(sim, "GET", f"/cron/{cron_id}/builds", SIM_KEY)

    assert [r.status_code for r in allowed] == [200, 200]
    assert [(r.status_code, r.json()) for r in refused] == [(404, {"message": "Not Found"})] * 4
    assert everything.status_code == 200
    assert sim.crons[int(cron_id)].name == "nightly"
    assert len(sim.crons) == 1


async def test_builds_unreadable_for_the_token_name_the_missing_scope(
    sim: DjinnSim, reader: Djinn
) -> None:
    cron_id = add_cron(sim)

    with pytest.raises(MissingScope) as missing:
        await reader.history(cron_id)
    with pytest.raises(MissingScope):
        await reader.executions_since(cron_id, None)
    with pytest.raises(NotFound):  # a cron that is not there is still not there
        await reader.history("999")

    assert missing.value.scope == "build:read"
    assert isinstance(missing.value, AuthRejected)
    assert missing.value.user_message.startswith(
        "Djinn CI account `ci`: the token lacks the build:read scope"
    )


async def test_check_reads_one_cron_s_builds_and_reports_the_missing_scope(
    sim: DjinnSim, reader: Djinn
) -> None:
    add_cron(sim)

    with pytest.raises(MissingScope, match="build:read"):
        await reader.check()


async def test_a_cron_shows_without_its_builds_when_the_token_cannot_read_them(
    sim: DjinnSim, reader: Djinn
) -> None:
    cron_id = add_cron(sim)

    job = await reader.get_job(cron_id)

    assert job.last_result is RunResult.UNKNOWN
    assert ("Builds", "not readable: the token lacks the build:read scope") in job.details


@pytest.mark.parametrize(("action", "scope"), [("update", "cron:write"), ("delete", "cron:delete")])
async def test_a_change_refused_for_scope_says_so_for_a_cron_that_exists(
    sim: DjinnSim, reader: Djinn, action: str, scope: str
) -> None:
    cron_id = add_cron(sim)
    args = (cron_id, spec(name="renamed")) if action == "update" else (cron_id,)

    with pytest.raises(MissingScope) as missing:
        await getattr(reader, action)(*args)
    with pytest.raises(NotFound):
        await getattr(reader, action)("999", *args[1:])

    assert missing.value.scope == scope
    assert sim.crons[int(cron_id)].name == "nightly"


async def test_a_create_refused_for_scope_says_so(sim: DjinnSim, reader: Djinn) -> None:
    with pytest.raises(MissingScope) as missing:
        await reader.create(spec())

    assert missing.value.scope == "cron:write"
    assert not sim.crons


# -- JSON or a redirect -----------------------------------------------------------------------
@pytest.fixture
async def elsewhere(sim: DjinnSim) -> AsyncIterator[str]:
    """The sim on loopback at 127.0.0.1, its configured API URL naming localhost."""
    async with LoopbackServer(sim.app) as server:
        sim.api_url = f"http://localhost:{server.port}"
        yield server.url


async def test_a_bad_token_reads_as_rejected_on_a_host_other_than_the_configured_one(
    sim: DjinnSim, elsewhere: str
) -> None:
    add_cron(sim)
    client = make_client(token="not-the-token", base_url=elsewhere)
    good = make_client(base_url=elsewhere)

    with pytest.raises(AuthRejected, match="rejects a missing or wrong token"):
        await client.list_jobs()
    jobs = await good.list_jobs()
    await client.aclose()
    await good.aclose()

    assert [job.name for job in jobs] == ["nightly"]
    assert jobs[0].link == f"{sim.api_url}/cron/{jobs[0].id}"  # the configured URL, as Djinn


async def test_the_sim_redirects_a_request_not_asking_for_json_to_the_login(
    sim: DjinnSim, elsewhere: str
) -> None:
    cron_id = add_cron(sim)
    async with httpx.AsyncClient(base_url=elsewhere) as http:
        bad = await http.get("/cron", headers={"Authorization": "Bearer nope"})
        json = await http.get("/cron", headers={"Authorization": "Bearer nope",
                                                "Accept": "application/json"})  # fmt: skip
        scope = await http.get(
            f"/cron/{cron_id}/builds", headers={"Authorization": f"Bearer {READER}"}
        )
    async with httpx.AsyncClient(base_url=sim.api_url or "") as configured:
        same_host = await configured.get("/cron", headers={"Authorization": "Bearer nope"})

    assert (bad.status_code, bad.headers["location"]) == (303, "/login")
    assert (json.status_code, json.json()) == (404, {"message": "Not Found"})
    assert scope.status_code == 404
    assert scope.headers["content-type"].startswith("text/html")
    assert (same_host.status_code, same_host.json()) == (404, {"message": "Not Found"})


# -- PATCH and "daily" ------------------------------------------------------------------------
async def test_the_sim_takes_daily_as_no_change_and_never_moves_next_run(sim: DjinnSim) -> None:
    cron_id = add_cron(sim, schedule="weekly")
    next_run = sim.crons[int(cron_id)].next_run

    daily = await call(sim, "PATCH", f"/cron/{cron_id}", SIM_KEY, json={"schedule": "daily"})
    monthly = await call(sim, "PATCH", f"/cron/{cron_id}", SIM_KEY, json={"schedule": "monthly"})

    assert (daily.status_code, daily.json()["schedule"]) == (200, "weekly")
    assert monthly.json()["schedule"] == "monthly"
    assert sim.crons[int(cron_id)].next_run == next_run  # PATCH never recomputes it


async def test_switching_a_cron_to_daily_is_refused_before_anything_changes(sim: DjinnSim) -> None:
    cron_id = add_cron(sim, schedule="weekly")
    client = make_client(sim)

    with pytest.raises(Unsupported) as refused:
        await client.update(cron_id, spec(name="renamed", schedule=Schedule.of_period("daily")))
    await client.aclose()

    assert refused.value.user_message == (
        "Djinn CI cannot switch a cron to daily through its API: it reads `daily` as"
        ' "no change" and would keep this cron weekly. Delete the cron and create it again as'
        " daily (it gets a new id)."
    )
    assert (sim.crons[int(cron_id)].name, sim.crons[int(cron_id)].schedule) == ("nightly", "weekly")
    assert sim.requests[f"PATCH /cron/{cron_id}"] == 0


async def test_an_update_whose_schedule_did_not_take_says_what_happened() -> None:
    def raced(request: httpx.Request) -> httpx.Response:
        schedule = "weekly" if request.method == "PATCH" else "daily"  # changed in between
        cron = {"id": 7, "name": "renamed", "schedule": schedule, "manifest": MANIFEST}
        link = '</cron/7/builds?page=1>; rel="prev", </cron/7/builds?page=1>; rel="next"'
        if request.url.path.endswith("/builds"):
            return httpx.Response(200, json=[], headers={"Link": link})
        return httpx.Response(200, json=cron)

    account = DjinnAccount(name="ci", provider="djinn", token=SIM_KEY)
    transport = httpx.MockTransport(raced)
    client = Djinn.from_config(account, BuildContext(transport_for=lambda _: transport))

    with pytest.raises(Unsupported, match="saved the other changes but the schedule is weekly"):
        await client.update("7", spec(name="renamed", schedule=Schedule.of_period("daily")))
    await client.aclose()


# -- manifests --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        (f"{MANIFEST}\njob:\n- commands: [make]", "`job` is not a manifest key, so Djinn CI would"
         " drop it; did you mean `jobs`?"),
        (f"{MANIFEST}\njobs:\n- command: [make]", "job 1: `command` is not a job key, so Djinn CI"
         " would drop it; did you mean `commands`?"),
        ("driver:\n  type: qemu\n  imgae: centos/7", "driver qemu requires image"),
        ("driver:\n  type: qemu\n  image: centos/7\n  imgae: x", "driver: `imgae` is not a qemu"
         " driver key, so Djinn CI would ignore it; did you mean `image`?"),
    ],
)  # fmt: skip
async def test_a_typo_d_manifest_key_is_refused_before_sending(
    sim: DjinnSim, manifest: str, problem: str
) -> None:
    client = make_client(sim)

    with pytest.raises(InvalidInput) as refused:
        await client.create(spec(manifest=manifest))
    await client.aclose()

    assert problem in refused.value.fields["manifest"]
    assert sim.total_requests == 0


def test_every_key_djinn_reads_is_taken() -> None:
    manifest = (
        "namespace: infra\ndriver:\n  type: ssh\n  address: 10.0.0.5\n  addr: 10.0.0.5:22\n"
        "env: [A=1]\nobjects: [data.tar]\nsources: [https://example.com/r.git]\n"
        "stages: [test]\nallow_failures: [test]\n"
        "jobs:\n- stage: test\n  name: unit\n  commands: [make]\n  artifacts: [out.log]"
    )
    assert manifest_problems(manifest) == []


GO_CHAIN = re.compile(r"\(\*Handler\)\.(Store|Update) - \S+/cron/http/handler\.go:\d+: yaml: ")


async def test_the_sim_answers_a_manifest_go_cannot_read_with_a_500_go_error_chain(
    sim: DjinnSim,
) -> None:
    body = {"name": "x", "manifest": "driver:\n  type: os\njobs: hello"}

    response = await call(sim, "POST", "/cron", SIM_KEY, json=body)

    message = response.json()["message"]
    assert response.status_code == 500
    assert GO_CHAIN.search(message)
    assert message.endswith(
        "yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `hello` into []manifest.Job"
    )
    assert not sim.crons


async def test_the_sim_stores_manifests_as_djinn_re_serializes_them(sim: DjinnSim) -> None:
    manifest = (
        "# nightly\njobs:\n- commands:\n  - make test\n  stage: test\n  timeout: 5\n"
        "stages: [test]\njob: typo\ndriver:\n  image: centos/7\n  type: qemu\n"
    )

    response = await call(sim, "POST", "/cron", SIM_KEY, json={"name": "x", "manifest": manifest})

    assert response.json()["manifest"] == (
        "driver:\n  arch: x86_64\n  image: centos/7\n  type: qemu\nstages:\n- test\n"
        "jobs:\n- stage: test\n  commands:\n  - make test"
    )


async def test_a_manifest_djinn_cannot_read_is_refused_never_try_again_later(
    sim: DjinnSim,
) -> None:
    client = make_client(sim)
    cron_id = add_cron(sim)
    unreadable = f"{MANIFEST}\njobs: hello"

    with pytest.raises(InvalidInput) as created:
        await client.create(spec(name="other", manifest=unreadable))
    with pytest.raises(InvalidInput) as updated:
        await client.update(cron_id, spec(manifest=unreadable))
    await client.aclose()

    for refused in (created.value, updated.value):
        assert refused.permanent
        assert refused.user_message == (
            "Djinn CI account `ci`: the provider refused the input (Djinn CI refused the"
            " manifest: line 4: text (`hello`) where Djinn CI expects a list of jobs)"
        )
    assert sim.requests["POST /cron"] == 1


def test_a_server_error_never_shows_a_go_error_chain() -> None:
    chain = (
        "djinn-ci.com/cron.Store.Create - /home/djinn/src/cron/cron.go:230: "
        "djinn-ci.com/database.(*Store).Create - /home/djinn/src/database/store.go:88: "
        "pq: connection refused"
    )
    error = djinn_error(httpx.Response(500, json={"message": chain}))

    assert isinstance(error, ProviderUnavailable)
    assert error.user_message == (
        "The provider is unreachable or failing; try again later (HTTP 500: pq: connection refused)"
    )


# -- when schedules fire ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("schedule", "now", "next_run", "words"),
    [
        ("weekly", NOW, "2026-03-08T00:00:00Z", "Weekly, next Sunday 00:00 UTC"),
        ("monthly", datetime(2026, 1, 31, 9, tzinfo=UTC), "2026-03-03T00:00:00Z",
         "Monthly on day 3, 00:00 UTC"),
        ("daily", NOW, "2026-03-05T00:00:00Z", "Daily, at the start of each UTC day"),
    ],
)  # fmt: skip
async def test_next_run_is_the_server_s_and_the_words_read_from_it(
    schedule: str, now: datetime, next_run: str, words: str
) -> None:
    sim = DjinnSim(jobs=0, clock=lambda: now)
    client = make_client(sim)
    body = {"name": "x", "schedule": schedule, "manifest": MANIFEST}

    created = await call(sim, "POST", "/cron", SIM_KEY, json=body)
    job = await client.get_job(str(created.json()["id"]))
    await client.aclose()

    assert created.json()["next_run"] == next_run
    assert job.schedule is not None
    assert job.schedule.describe() == words
