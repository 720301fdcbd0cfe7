"""Packaging, checked without a Docker engine: Dockerfile, .dockerignore and compose.yml parsed,
the contributor docs' promises, and what setuptools puts in the wheel."""

from __future__ import annotations

import asyncio
import importlib.resources
import json
import re
import shlex
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from setuptools.discovery import PEP420PackageFinder
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.config.settings import EnvSettings
from bot.store.db import normalise_url
from providers.sim.serve import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
SECRET_NAME = re.compile(r"TOKEN|SECRET|KEY|PASSWORD", re.IGNORECASE)
#: A whole value that is one compose reference with no literal fallback: ${VAR}, ${VAR:-} (empty
#: when unset) or ${VAR:?message} (an error when unset) — ${VAR:-xoxb-…} would be a secret.
REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*|:?-)?\}")


@dataclass(frozen=True)
class Instruction:
    name: str
    args: str


def dockerfile_stages() -> list[list[Instruction]]:
    """The Dockerfile's stages, each a list of instructions, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages: list[list[Instruction]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, args = line.strip().partition(" ")
        if name.upper() == "FROM":
            stages.append([])
        stages[-1].append(Instruction(name.upper(), " ".join(args.split())))
    return stages


def final_stage() -> list[Instruction]:
    return dockerfile_stages()[-1]


def args_of(stage: list[Instruction], name: str) -> list[str]:
    return [i.args for i in stage if i.name == name]


def env_pairs(args: str) -> dict[str, str]:
    """``ENV``/``ARG`` arguments: ``A=1 B="x y"``, the legacy ``A 1``, or a bare ``ARG A``."""
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.partition("=")[::2] for word in words)


def dockerignored(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or a parent directory decides."""
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    ignored = False
    for rule in rules:
        negated = rule.startswith("!")
        regex = _glob(rule.lstrip("!").strip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            ignored = not negated
    return ignored


def _glob(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out += {"*": "[^/]*", "?": "[^/]"}.get(pattern[i], re.escape(pattern[i]))
            i += 1
    return re.compile(out)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yml").read_text())
    return loaded


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` substitution."""

    def replace(match: re.Match[str]) -> str:
        name, op, rest = match[1], match[2], match[3]
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {rest}")
        return rest if op == ":-" else ""

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-?])([^}]*))?\}", replace, value)


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def section(markdown: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = markdown.index(f"\n{heading}\n")
    rest = markdown[start + len(heading) + 2 :]
    end = re.search(rf"^#{{1,{len(level)}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


# -- Dockerfile -------------------------------------------------------------------------------


def test_the_image_is_built_in_stages_on_a_python_slim_pinned_by_digest() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    images = {stage[0].args.split()[0] for stage in stages}
    assert len(images) == 1, "every stage starts from the same pinned image"
    (image,) = images
    assert re.fullmatch(r"python:3\.11-slim-[a-z]+@sha256:[0-9a-f]{64}", image), image


def test_the_final_stage_runs_cronops_as_a_non_root_user() -> None:
    stage = final_stage()
    users = args_of(stage, "USER")
    assert users, "the final stage has no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert any(
        "useradd --system --uid 10001" in run and users[-1] in run for run in args_of(stage, "RUN")
    )
    assert [json.loads(a) for a in args_of(stage, "ENTRYPOINT")] == [["cronops"]]
    assert [json.loads(a) for a in args_of(stage, "CMD")] == [["run"]]


def test_the_runtime_stage_installs_only_the_wheels() -> None:
    runs = " ".join(args_of(final_stage(), "RUN"))
    assert "pip install --no-cache-dir --no-index" in runs
    assert not re.search(r"apt-get|gcc|build-essential|\[dev\]", runs)
    build_runs = " ".join(args_of(dockerfile_stages()[0], "RUN"))
    assert "pip wheel --no-deps --no-build-isolation --wheel-dir /wheels ." in build_runs


def test_the_image_installs_exactly_the_runtime_lock_with_hashes() -> None:
    build = dockerfile_stages()[0]
    copied = " ".join(args_of(build, "COPY"))
    assert "requirements/runtime.txt" in copied
    assert "requirements/build.txt" in copied
    build_runs = args_of(build, "RUN")
    assert any(
        "pip wheel --require-hashes --only-binary=:all:" in run
        and "-r requirements/runtime.txt" in run
        for run in build_runs
    )
    assert any(
        "pip install --require-hashes -r requirements/build.txt" in run for run in build_runs
    )
    (install,) = args_of(final_stage(), "RUN")[-1:]
    assert "--no-index --disable-pip-version-check --require-hashes" in install
    assert "-r /wheels/runtime.txt" in install
    assert "--no-deps /wheels/cronops-*.whl" in install
    for path in ("requirements/runtime.txt", "requirements/build.txt"):
        assert not dockerignored(path), path


ADMIN_PORT = EnvSettings.from_env({}).cronops_admin_port  # what the image runs with


def healthcheck_command() -> list[str]:
    (check,) = args_of(final_stage(), "HEALTHCHECK")
    command: list[str] = json.loads(check.partition(" CMD ")[2])
    return command


def test_the_image_exposes_the_slack_port_and_the_admin_port() -> None:
    exposed = " ".join(args_of(final_stage(), "EXPOSE")).split()
    assert {"3000", str(ADMIN_PORT)} <= set(exposed)
    assert ADMIN_PORT == 9100


def test_the_healthcheck_asks_healthz_on_the_admin_port() -> None:
    command = healthcheck_command()
    assert command[:2] == ["python", "-c"]
    assert f"http://127.0.0.1:{ADMIN_PORT}/healthz" in command[2]
    assert "127.0.0.1:3000" not in command[2]  # Slack's port serves no /healthz


@pytest.mark.parametrize(("status", "exit_code"), [(200, 0), (503, 1)])
async def test_the_healthcheck_passes_on_200_and_fails_on_503(status: int, exit_code: int) -> None:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok" if status == 200 else "unhealthy"}, status_code=status)

    code = healthcheck_command()[2]
    async with LoopbackServer(Starlette(routes=[Route("/healthz", healthz)])) as server:
        local = code.replace(f"127.0.0.1:{ADMIN_PORT}", f"127.0.0.1:{server.port}")
        assert local != code
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", local, stderr=asyncio.subprocess.DEVNULL
        )
        assert await asyncio.wait_for(process.wait(), 20) == exit_code


def test_no_secret_is_baked_into_the_image() -> None:
    for stage in dockerfile_stages():
        for instruction in stage:
            if instruction.name not in {"ENV", "ARG"}:
                continue
            for name, value in env_pairs(instruction.args).items():
                assert not (SECRET_NAME.search(name) and value), f"{instruction.name} {name}"


def test_the_image_keeps_its_database_in_the_data_volume() -> None:
    stage = final_stage()
    env: dict[str, str] = {}
    for args in args_of(stage, "ENV"):
        env |= env_pairs(args)
    assert env["PYTHONDONTWRITEBYTECODE"] == env["PYTHONUNBUFFERED"] == "1"
    assert env["CRONOPS_DATABASE_URL"] == "sqlite:////data/cronops.db"
    settings = EnvSettings.from_env(env)
    assert normalise_url(settings.cronops_database_url) == "sqlite+aiosqlite:////data/cronops.db"
    assert str(settings.cronops_config) == "/app/cronops.yml"
    assert [json.loads(a) for a in args_of(stage, "VOLUME")] == [["/data"]]
    assert args_of(stage, "WORKDIR")[-1] == "/app"


def test_the_build_copies_what_setuptools_needs_and_dockerignore_keeps_it() -> None:
    copied = {
        word for args in args_of(dockerfile_stages()[0], "COPY") for word in args.split()[:-1]
    }
    needed = {"pyproject.toml", pyproject()["project"]["readme"]}
    needed |= {
        p.rstrip("*") for p in pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert needed <= copied
    for path in [
        *needed,
        "bot/__main__.py",
        "providers/registry.py",
        "bot/store/migrations/env.py",
    ]:
        assert not dockerignored(path), path


@pytest.mark.parametrize(
    "path",
    [
        "cronops.yml",
        "deploy/cronops.yml",
        ".venv/bin/python",
        "cronops.db",
        "data/x.db",
        ".git/HEAD",
        ".env",
        "bot/__pycache__/app.cpython-311.pyc",
    ],
)
def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context(path: str) -> None:
    assert dockerignored(path)


# -- compose.yml ------------------------------------------------------------------------------


def test_compose_runs_the_bot_against_a_healthy_postgres() -> None:
    services = compose()["services"]
    assert {"bot", "db"} <= services.keys()
    bot, db = services["bot"], services["db"]
    assert bot["build"] == "."
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["restart"] == "unless-stopped"
    assert "3000:3000" in bot["ports"]
    assert "./cronops.yml:/app/cronops.yml:ro" in bot["volumes"]
    assert bot["healthcheck"]["test"] == ["CMD", *healthcheck_command()]
    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.split(":")[0] in compose()["volumes"] for v in db["volumes"])


def test_compose_gives_the_bot_valid_settings_pointing_at_the_db() -> None:
    services = compose()["services"]
    host = {"SLACK_BOT_TOKEN": "xoxb-test", "POSTGRES_PASSWORD": "pw123"}
    env = {k: interpolate(str(v), host) for k, v in services["bot"]["environment"].items()}
    settings = EnvSettings.from_env(env)
    assert settings.slack_app_token is None  # HTTP mode, the one the image's healthcheck checks
    url = urlsplit(settings.cronops_database_url)
    db_env = {k: interpolate(str(v), host) for k, v in services["db"]["environment"].items()}
    assert (url.hostname, url.port, url.password) == ("db", 5432, db_env["POSTGRES_PASSWORD"])
    assert (url.username, url.path) == (db_env["POSTGRES_USER"], f"/{db_env['POSTGRES_DB']}")
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        interpolate(services["bot"]["environment"]["CRONOPS_DATABASE_URL"], {})


def test_compose_publishes_the_admin_port_on_the_hosts_loopback_only() -> None:
    bot = compose()["services"]["bot"]
    host = {"SLACK_BOT_TOKEN": "xoxb-test", "POSTGRES_PASSWORD": "pw123"}
    env = {k: interpolate(str(v), host) for k, v in bot["environment"].items()}
    settings = EnvSettings.from_env(env)
    assert settings.cronops_admin_port == ADMIN_PORT  # what the healthcheck asks
    admin = [p for p in bot["ports"] if p.endswith(f":{settings.cronops_admin_port}")]
    assert admin == [f"127.0.0.1:{ADMIN_PORT}:{ADMIN_PORT}"]


def test_compose_holds_no_literal_secret() -> None:
    for service in compose()["services"].values():
        for name, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(name):
                assert value is None or REFERENCE.fullmatch(str(value)), name
            if "://" in str(value):
                password = urlsplit(re.sub(r"\$\{[^}]*\}", "REF", str(value))).password
                assert password in {None, "REF"}, name


# -- lock files -------------------------------------------------------------------------------


def locked(name: str) -> dict[str, list[tuple[Requirement, list[str]]]]:
    """requirements/NAME: each package's pins (one per marker), with their hashes."""
    text = re.sub(r"\\\n", " ", (ROOT / "requirements" / name).read_text())
    pins: dict[str, list[tuple[Requirement, list[str]]]] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        spec, *hashes = line.split("--hash=")
        requirement = Requirement(spec.strip())
        pins.setdefault(canonicalize_name(requirement.name), []).append(
            (requirement, [h.strip() for h in hashes])
        )
    return pins


@pytest.mark.parametrize("name", ["runtime.txt", "dev.txt", "build.txt"])
def test_every_locked_package_is_pinned_with_hashes(name: str) -> None:
    pins = locked(name)
    assert pins
    for package, entries in pins.items():
        for requirement, hashes in entries:
            (spec,) = requirement.specifier
            assert spec.operator == "==", package
            assert hashes, f"{package} has no hash"
            assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), package


def _dependencies(extra: str | None = None) -> list[Requirement]:
    project = pyproject()["project"]
    specs = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return [Requirement(spec) for spec in specs]


@pytest.mark.parametrize(
    ("lock", "extra"), [("runtime.txt", None), ("dev.txt", None), ("dev.txt", "dev")]
)
def test_the_locks_satisfy_pyproject(lock: str, extra: str | None) -> None:
    pins = locked(lock)
    for dependency in _dependencies(extra):
        entries = pins.get(canonicalize_name(dependency.name))
        assert entries, f"{dependency.name} is not in requirements/{lock}; run `make lock`"
        for requirement, _ in entries:
            (version,) = (spec.version for spec in requirement.specifier)
            assert dependency.specifier.contains(version, prereleases=True), (
                f"requirements/{lock} pins {dependency.name}=={version}, outside "
                f"{dependency.specifier}; run `make lock`"
            )


def test_ci_tests_the_versions_the_image_ships() -> None:
    runtime, dev = locked("runtime.txt"), locked("dev.txt")
    for package, entries in runtime.items():
        assert [str(r) for r, _ in dev[package]] == [str(r) for r, _ in entries], package


def test_the_build_lock_is_the_build_system() -> None:
    wanted = [Requirement(r) for r in pyproject()["build-system"]["requires"]]
    listed = [
        Requirement(line)
        for line in (ROOT / "requirements" / "build.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert [str(r) for r in listed] == [str(r) for r in wanted]
    for requirement in wanted:
        ((pinned, _),) = locked("build.txt")[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(next(iter(pinned.specifier)).version)


def test_make_installs_the_dev_lock_with_hashes_and_ci_uses_make() -> None:
    makefile = (ROOT / "Makefile").read_text()
    stamp = re.search(r"^\$\(STAMP\):(.*)\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert stamp is not None
    assert "requirements/dev.txt" in stamp[1]  # a new lock reinstalls
    assert "install --require-hashes -r requirements/dev.txt" in stamp[2]
    assert "install --no-deps --no-build-isolation -e ." in stamp[2]
    assert "upgrade" not in stamp[2]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    assert "pip install" not in ci


def test_pyproject_bounds_every_dependency_above() -> None:
    for dependency in [*_dependencies(), *_dependencies("dev")]:
        if dependency.name == "types-pyyaml":
            continue  # stubs: any version describes PyYAML 6
        if dependency.name == "tzdata":
            continue  # the IANA database, versioned by year: every release is the same format
        assert any(spec.operator == "<" for spec in dependency.specifier), dependency.name


# -- docs and pyproject -----------------------------------------------------------------------


def test_contributing_has_an_adding_a_provider_checklist_that_matches_the_code() -> None:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    checklist = section(text, "## Adding a provider")
    assert checklist.count("- [ ]") >= 8
    for path in ["providers/registry.py", "tests/providers/test_contract.py"]:
        assert path in checklist
    for name, path in {
        "PROVIDERS": "providers/registry.py",
        "SIMULATOR": "providers/cronjob_org/sim.py",
        "CREATE_SPECS": "tests/providers/test_contract.py",
        "MISSING_IDS": "tests/providers/test_contract.py",
        "DEMO_ACCOUNTS": "providers/sim/suite.py",
        "FIELDS": "bot/slack/render/job_fields.py",
        "PARSERS": "bot/slack/forms.py",
        "SENSITIVE_KEYS": "providers/redact.py",
    }.items():
        assert f"`{name}`" in checklist
        assert re.search(rf"^{name}\b[^=\n]*=", (ROOT / path).read_text(), re.MULTILINE), name
    for path in re.findall(r"`((?:bot|providers|tests)/[\w/.]+\.py)`", text):
        assert (ROOT / path).is_file(), path


def test_contributing_names_only_make_targets_that_exist() -> None:
    targets = set(re.findall(r"^([a-z]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    named = set(re.findall(r"\bmake ([a-z]+)", (ROOT / "CONTRIBUTING.md").read_text()))
    assert {"test", "lint", "typecheck", "check", "bench", "lock"} <= named
    assert named <= targets


def test_the_changelog_has_an_unreleased_section_with_entries() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog")
    assert re.search(r"^- ", section(text, "## [Unreleased]"), re.MULTILINE)


def test_pyproject_declares_the_cronops_console_script() -> None:
    project = pyproject()["project"]
    assert project["name"] == "cronops"
    assert project["scripts"] == {"cronops": "bot.__main__:main"}
    from bot.__main__ import main

    assert callable(main)


def test_the_wheel_includes_the_alembic_migrations() -> None:
    find = pyproject()["tool"]["setuptools"]["packages"]["find"]
    packages = PEP420PackageFinder.find(str(ROOT), include=find["include"])
    assert {"bot.store.migrations", "bot.store.migrations.versions"} <= set(packages)
    for package in ("bot.store.migrations", "bot.store.migrations.versions"):
        assert (ROOT / package.replace(".", "/") / "__init__.py").is_file()
    names = {p.name for p in importlib.resources.files("bot.store.migrations.versions").iterdir()}
    for revision in ("0001", "0002", "0003", "0004", "0005"):
        assert any(n.startswith(f"{revision}_") and n.endswith(".py") for n in names), revision
    assert "env.py" in {p.name for p in importlib.resources.files("bot.store.migrations").iterdir()}


# -- compose.replicas.yml ---------------------------------------------------------------------
def _replicas() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.replicas.yml").read_text())
    return loaded


def test_the_replicas_compose_runs_two_bots_on_one_database() -> None:
    services = _replicas()["services"]
    bots = {name: s for name, s in services.items() if name.startswith("bot")}
    assert len(bots) == 2
    urls = {s["environment"]["CRONOPS_DATABASE_URL"] for s in bots.values()}
    assert len(urls) == 1
    assert next(iter(urls)).startswith("postgresql://")
    admin = {p.split(":")[1] for s in bots.values() for p in s["ports"]}
    assert len(admin) == 2  # each replica's admin port on its own host port
    for bot in bots.values():
        assert "9100/healthz" in " ".join(bot["healthcheck"]["test"])
        assert bot["depends_on"]["db"]["condition"] == "service_healthy"
        assert all(port.startswith("127.0.0.1:") for port in bot["ports"])


def test_the_replicas_compose_holds_no_literal_secret() -> None:
    for service in _replicas()["services"].values():
        for name, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(name):
                assert value is None or REFERENCE.fullmatch(str(value)), name
