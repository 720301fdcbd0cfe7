"""The house: `cronops run` loads only the product, and no module imports another in a circle."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs `cronops run` as main() does, with serving replaced by a look at what is loaded.
_RUN_AND_LOOK = """
import json, sys
from bot import runtime
async def look(app, built, slack, admin, app_token):
    print(json.dumps(sorted(sys.modules)))
runtime._serve = look
from bot.__main__ import main
sys.exit(main(["run", "--port", "0"]))
"""

CONFIG = """\
accounts:
  - {name: prod, provider: cronjob-org, api_key: k1, base_url: "http://127.0.0.1:9"}
  - {name: hub, provider: cronhub, api_key: k2, base_url: "http://127.0.0.1:9"}
  - {name: ci, provider: djinn, token: k3, base_url: "http://127.0.0.1:9"}
  - {name: apps, provider: miget, api_key: k4, base_url: "http://127.0.0.1:9"}
alerts: {channel: C0123456789}
"""


def _is_stand_in(module: str) -> bool:
    """A simulator, the demo (console, fake Slack) or a test helper."""
    parts = module.split(".")
    return (
        module.startswith(("providers.sim", "bot.demo", "tests"))
        or (parts[0] == "providers" and parts[-1] == "sim")
        or parts[0] == "starlette.testclient"
    )


def test_the_running_bot_loads_no_simulator_and_no_demo_module(tmp_path: Path) -> None:
    (tmp_path / "cronops.yml").write_text(CONFIG)
    env = {
        **os.environ, "SLACK_BOT_TOKEN": "xoxb-imports", "SLACK_SIGNING_SECRET": "s3cret",
        "SLACK_API_URL": "http://127.0.0.1:9/api/", "CRONOPS_CONFIG": str(tmp_path / "cronops.yml"),
        "CRONOPS_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db", "CRONOPS_LOG_LEVEL": "ERROR",
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LOOK], env=env, cwd=ROOT, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "bot.slack.app" in loaded  # it ran...
    assert "providers.cronjob_org.client" in loaded
    assert [m for m in loaded if _is_stand_in(m)] == []


def _imports(path: Path, name: str, modules: Collection[str]) -> set[str]:
    """The project modules ``path`` imports when it runs (at any depth, lazily too).

    ``from package import submodule`` imports the submodule, not the package's other parts;
    imports only for the type checker (``if TYPE_CHECKING:``) do not run.
    """
    tree = ast.parse(path.read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If)
        and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for inner in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{a.name}" for a in node.names} & set(modules)
            found |= submodules or {node.module}
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules} - {name}


def _modules() -> dict[str, Path]:
    modules = {}
    for top in ("bot", "providers"):
        for path in (ROOT / top).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def test_no_module_imports_another_in_a_circle() -> None:
    modules = _modules()
    graph = {name: _imports(path, name, modules) for name, path in modules.items()}
    cycles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        for target in sorted(graph[name]):
            if target in trail:
                cycles.append([*trail[trail.index(target) :], target])
            elif len(trail) < 12:
                visit(target, [*trail, target])

    for name in sorted(graph):
        visit(name, [name])
    assert cycles == []


def test_providers_never_import_the_bot() -> None:
    modules = _modules()
    for name, path in modules.items():
        if name.startswith("providers"):
            assert not {m for m in _imports(path, name, modules) if m.startswith("bot")}, name
