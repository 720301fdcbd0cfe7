"""pydantic ValidationError -> lines an operator can act on: ``key.path: what is wrong (expected)``.

Values are shown only when they are plain and not secret: anything under a secret key is
described by its kind ("the value (not shown)"), anything that came from ``${VAR}`` by the variable.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Callable, Collection, Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from providers.redact import SENSITIVE_KEYS
from providers.registry import ACCOUNT_MODELS

Loc = tuple[str | int, ...]


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list, e.g. [a, b]",
    "dict_type": "a mapping of `key: value` lines",
    "model_type": "a mapping of `key: value` lines",
    "model_attributes_type": "a mapping of `key: value` lines",
    "url_parsing": "an http(s) URL, e.g. https://api.example.com",
    "url_scheme": "an http(s) URL, e.g. https://api.example.com",
    "url_type": "an http(s) URL, e.g. https://api.example.com",
    "greater_than": "a number greater than {gt}",
    "greater_than_equal": "at least {ge}",
    "less_than": "less than {lt}",
    "less_than_equal": "at most {le}",
    "string_too_short": "at least {min_length} characters",
    "string_too_long": "at most {max_length} characters",
    "literal_error": "{expected}",
    "string_pattern_mismatch": "text matching {pattern}",
}


def describe_errors(
    error: ValidationError,
    path_of: Callable[[Loc], str],
    *,
    root: type[BaseModel],
    origins: Mapping[Loc, list[str]],
    skip: Collection[Loc] = (),
) -> list[str]:
    """One line per problem, in order, without duplicates or problems under ``skip`` paths."""
    lines: list[str] = []
    for detail in error.errors(include_url=False):
        loc = clean_loc(detail["loc"])
        if detail["type"].startswith("union_tag"):
            loc = (*loc, "provider")
        if any(loc[: len(prefix)] == prefix for prefix in skip):
            continue
        line = f"{path_of(loc)}: {_what(detail, loc, root, origins)}"
        if line not in lines:
            lines.append(line)
    return lines


def clean_loc(loc: tuple[str | int, ...]) -> Loc:
    """Drop the union's tag: ``accounts, 0, cronhub, apps`` -> ``accounts, 0, apps``."""
    return tuple(
        part
        for index, part in enumerate(loc)
        if not (index and isinstance(loc[index - 1], int) and part in ACCOUNT_MODELS)
    )


def _what(
    detail: ErrorDetails, loc: Loc, root: type[BaseModel], origins: Mapping[Loc, list[str]]
) -> str:
    kind = detail["type"]
    if kind == "union_tag_invalid":
        given = detail["input"].get("provider") if isinstance(detail["input"], dict) else None
        return _bad_provider(_subject(given, loc, origins))
    if kind == "union_tag_not_found":
        return f"missing (expected one of {', '.join(ACCOUNT_MODELS)})"
    if kind in ("extra_forbidden", "missing"):
        return _key_problem(kind, detail["loc"], root)
    subject = _subject(detail["input"], loc, origins)
    if kind in ("value_error", "assertion_error"):
        message = str(detail.get("ctx", {}).get("error", detail["msg"]))
        return f"{subject} {message}" if message.startswith("is ") else message
    return f"{subject} is not valid (expected {_expected(detail, loc)})"


def _bad_provider(subject: str) -> str:
    names = list(ACCOUNT_MODELS)
    text = f"{subject} is not a provider; expected one of {', '.join(names)}"
    close = difflib.get_close_matches(subject.strip("`"), names, n=1)
    return text + (f" (did you mean `{close[0]}`?)" if close else "")


def _key_problem(kind: str, raw_loc: tuple[str | int, ...], root: type[BaseModel]) -> str:
    model = _model_at(root, raw_loc[:-1])
    if model is None:
        return "unknown key" if kind == "extra_forbidden" else "missing"
    keys = allowed_keys(model)
    owner = _owner(model, root, raw_loc[:-1])
    if kind == "missing":
        return f"missing (a required key of {owner})"
    verb = "take" if owner.endswith("accounts") else "takes"
    text = f"unknown key ({owner} {verb}: {', '.join(keys)})"
    close = difflib.get_close_matches(str(raw_loc[-1]), keys, n=1)
    return text + (f"; did you mean `{close[0]}`?" if close else "")


def allowed_keys(model: type[BaseModel]) -> list[str]:
    """Keys in reading order: name and provider, then required keys, then optional ones."""
    fields = model.model_fields

    def rank(name: str) -> int:
        return {"name": 0, "provider": 1}.get(name, 2 if fields[name].is_required() else 3)

    return sorted(fields, key=rank)


def _owner(model: type[BaseModel], root: type[BaseModel], parent: tuple[str | int, ...]) -> str:
    if model is root:
        return "the top level"
    for tag, account_model in ACCOUNT_MODELS.items():
        if model is account_model:
            return f"{tag} accounts"
    return ".".join(str(part) for part in parent if not isinstance(part, int))


def _model_at(root: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model that holds the keys at ``loc`` (a pydantic loc, tag segments included)."""
    current: Any = root
    for part in loc:
        if isinstance(part, str) and part in ACCOUNT_MODELS and not _is_model(current):
            current = ACCOUNT_MODELS[part]
        elif isinstance(part, str) and _is_model(current) and part in current.model_fields:
            current = _unwrap(current.model_fields[part].annotation)
        elif isinstance(part, int) and get_args(current):
            current = _unwrap(get_args(current)[0])
        else:
            return None
    return current if _is_model(current) else None


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _unwrap(annotation: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` -> ``X``."""
    if get_origin(annotation) is Annotated:
        return _unwrap(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        options = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _unwrap(options[0]) if len(options) == 1 else annotation
    return annotation


def _subject(value: Any, loc: Loc, origins: Mapping[Loc, list[str]]) -> str:
    if loc in origins:
        return f"the value of {' and '.join(origins[loc])}"
    if any(str(part).lower() in SENSITIVE_KEYS for part in loc):
        return "the value (not shown)" if isinstance(value, str) else f"{_kind(value)} (not shown)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str | int | float):
        text = str(value).replace("`", "'")
        return f"`{text[:60]}…`" if len(text) > 60 else f"`{text}`"
    return _kind(value)


def _kind(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true/false"
    kinds = {str: "text", int: "a number", float: "a number", list: "a list", dict: "a mapping"}
    return kinds.get(type(value), "a value")


def _expected(detail: ErrorDetails, loc: Loc) -> str:
    kind, value = detail["type"], detail["input"]
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return "text; put it in quotes"
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "name":
        return "lower-case letters, digits and dashes, e.g. `prod`"
    template = _EXPECTED.get(kind)
    if template is None:
        return detail["msg"].removeprefix("Input should be ")
    ctx = {key: _number(value) for key, value in detail.get("ctx", {}).items()}
    return template.format(**ctx)


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value
