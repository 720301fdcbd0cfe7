"""Reading ``cronops.yml``: YAML that refuses duplicate keys, ``${VAR}`` expansion, its secrets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.config.errors import ConfigError, Loc
from providers.redact import SENSITIVE_KEYS, secrets


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that reports a key given twice instead of silently keeping the last."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, str | int | float | bool) and key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"`{key}` is given twice (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"cronops.yml not found at {path.absolute()}; {_CREATE}"]) from None
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or "it is not UTF-8 text"
        raise ConfigError([f"{path}: cannot read the config file ({reason})"]) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader
    except yaml.MarkedYAMLError as err:
        raise ConfigError([f"{path}{_syntax_error(err, text)}"]) from None
    except yaml.YAMLError:
        raise ConfigError([f"{path}: YAML syntax error"]) from None


_CREATE = "create one (see README) or set CRONOPS_CONFIG"


def _syntax_error(err: yaml.MarkedYAMLError, text: str) -> str:
    where = err.problem_mark or err.context_mark
    at = f" line {where.line + 1}, column {where.column + 1}" if where else ""
    message = f"{at}: YAML syntax error: {err.problem or 'not valid YAML'}"
    message += f" ({err.context})" if err.context else ""
    line = text.splitlines()[where.line] if where and where.line < len(text.splitlines()) else ""
    if "${" in line:
        message += '; inside [ ] or { } put ${VAR} in quotes: ["${VAR}"]'
    return message


def format_path(loc: Loc) -> str:
    """``("accounts", 0, "api_key")`` -> ``accounts[0].api_key``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)(\}|$)")
_NAME_AND_DEFAULT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)


def expand_env(
    node: Any, environ: Mapping[str, str], loc: Loc = ()
) -> tuple[Any, dict[Loc, list[str]], dict[Loc, str]]:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string (``$${`` is a literal ``${``).

    Returns the data, which variables each expanded value came from, and a problem per
    value that could not be expanded.
    """
    origins: dict[Loc, list[str]] = {}
    problems: dict[Loc, str] = {}
    if isinstance(node, dict):
        items = [(key, value, (*loc, str(key))) for key, value in node.items()]
    elif isinstance(node, list):
        items = [(index, value, (*loc, index)) for index, value in enumerate(node)]
    elif isinstance(node, str):
        return _expand_string(node, environ, loc, origins, problems), origins, problems
    else:
        return node, origins, problems
    out: dict[Any, Any] = {}
    for key, value, path in items:
        out[key], found, bad = expand_env(value, environ, path)
        origins.update(found)
        problems.update(bad)
    return (out if isinstance(node, dict) else list(out.values())), origins, problems


def _expand_string(
    text: str,
    environ: Mapping[str, str],
    loc: Loc,
    origins: dict[Loc, list[str]],
    problems: dict[Loc, str],
) -> str:
    def replace(match: re.Match[str]) -> str:
        if match[0] == "$${":
            return "${"
        parsed = _NAME_AND_DEFAULT.match(match[1]) if match[2] else None
        if parsed is None:
            problems[loc] = (
                f"{format_path(loc)}: `{match[0][:30]}` is not a variable reference; "
                "expected ${NAME} or ${NAME:-default}"
            )
            return ""
        name, default = parsed[1], parsed[2]
        origins.setdefault(loc, []).append(name)
        value = environ.get(name)
        if value:
            return value
        if default is not None:
            return default
        state = "is empty" if value == "" else "is not set"
        problems[loc] = f"{format_path(loc)}: environment variable {name} {state}"
        return ""

    return _REFERENCE.sub(replace, text)


def learn_secrets(node: Any, secret: bool = False) -> None:
    """Register every value under a sensitive key with the one secret registry
    (:data:`providers.redact.secrets`): config errors, logs and messages never show it."""
    if isinstance(node, dict):
        for key, value in node.items():
            learn_secrets(value, secret or str(key).lower() in SENSITIVE_KEYS)
    elif isinstance(node, list):
        for item in node:
            learn_secrets(item, secret)
    elif secret and node is not None:
        secrets.add(str(node))
