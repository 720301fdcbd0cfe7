"""A build manifest as Djinn CI's server reads and stores it: for the simulator only.

The server decodes the YAML into ``manifest.Manifest`` with Go's yaml.v2 and stores it encoded
again (``manifest/manifest.go:131-179``), so what it keeps is not what was sent:

- keys it does not know are dropped, and comments with them (a typo'd ``job:`` vanishes);
- the top level and each job keep the Go structs' field order (:data:`MANIFEST_KEYS`,
  :data:`JOB_KEYS`), while a driver's keys, a Go map, come out sorted;
- a qemu driver gets ``arch: x86_64``; ``objects`` and ``artifacts`` become sorted
  ``src => dst`` lines, ``sources`` ``url [ref] => dir``;
- a value of the wrong kind is an error in yaml.v2's words, e.g.
  ``line 3: cannot unmarshal !!str `hello` into []manifest.Job``, which the API answers with a
  500 carrying a Go error chain (:func:`go_chain`).

:func:`server_problem` is ``Manifest.Validate``, in the server's own words (typo included).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from providers.djinn.wire import JOB_KEYS, MANIFEST_KEYS

#: Where a build of the server keeps ``cron/http/handler.go``, and the lines of the two calls
#: (``errors.Err`` after ``UnmarshalFormAndValidate``) whose error the API answers with.
HANDLER = "/home/djinn/src/djinn-ci.com/cron/http/handler.go"
HANDLER_LINES = {"Store": 86, "Update": 118}
_SHORT_TAGS = {"str", "int", "float", "bool", "null", "seq", "map", "binary", "timestamp"}


class GoYamlError(Exception):
    """What yaml.v2 says when it cannot decode the manifest."""


def go_chain(handler: str, error: str) -> str:
    """The ``message`` of the API's 500: the error wrapped by ``errors.Err`` in the handler."""
    line = HANDLER_LINES[handler]
    return f"djinn-ci.com/cron/http.(*Handler).{handler} - {HANDLER}:{line}: {error}"


@lru_cache(maxsize=256)  # seeds and demos store a few dozen distinct manifests many times
def stored(text: str) -> str:
    """The manifest as the server stores it (``Manifest.String``); GoYamlError if it cannot."""
    return encode(decode(text))


def decode(text: str) -> dict[str, Any]:
    """The manifest's fields, as yaml.v2 decodes them into ``manifest.Manifest``."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else 1
        raise GoYamlError(f"yaml: line {line}: {error.problem}") from None
    errors: list[str] = []
    manifest = _struct(root, _MANIFEST, "manifest.Manifest", errors) if root is not None else {}
    if errors:
        raise GoYamlError("yaml: unmarshal errors:\n  " + "\n  ".join(errors))
    driver = manifest.get("driver")
    if isinstance(driver, dict) and driver.get("type") == "qemu":  # "the default arch for now"
        manifest["driver"] = dict(sorted({**driver, "arch": "x86_64"}.items()))
    return manifest


def encode(manifest: dict[str, Any]) -> str:
    """yaml.v2's encoding of the fields, empty ones left out (``omitempty``), no final newline."""
    kept = {key: manifest[key] for key in MANIFEST_KEYS if manifest.get(key)}
    if not kept:
        return ""
    text = yaml.safe_dump(kept, sort_keys=False, default_flow_style=False, width=1 << 16)
    return text.rstrip("\n")


def server_problem(manifest: dict[str, Any]) -> str | None:
    """``Manifest.Validate``: what the server says of a driver it will not run."""
    driver = manifest.get("driver") or {}
    kind = driver.get("type", "")
    needs = {"docker": ("image", "workspace"), "qemu": ("image",), "ssh": ("address",), "os": ()}
    if kind not in needs:
        return f"invalid driver specified {kind}"
    for key in needs[kind]:
        if not driver.get(key):
            return "driver docker requies image" if (kind, key) == ("docker", "image") else (
                f"driver {kind} requires {key}"
            )  # fmt: skip
    return None


# -- yaml.v2 decoding into the manifest's Go types ------------------------------------------
Decoder = Callable[[Node, list[str]], Any]


def _terror(node: Node, into: str, errors: list[str]) -> None:
    """yaml.v2's ``terror``: the line, the node's tag and (for scalars) its value, the type."""
    tag = node.tag.rsplit(":", 1)[-1]
    tag = f"!!{tag}" if tag in _SHORT_TAGS else node.tag
    value = ""
    if isinstance(node, ScalarNode):
        text = str(node.value)
        value = f" `{text[:7]}...`" if len(text) > 10 else f" `{text}`"
    errors.append(f"line {node.start_mark.line + 1}: cannot unmarshal {tag}{value} into {into}")


def _null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag.endswith(":null")


def _string(node: Node, errors: list[str]) -> str:
    if isinstance(node, ScalarNode):
        return "" if _null(node) else str(node.value)  # any scalar goes into a Go string
    _terror(node, "string", errors)
    return ""


def _strings(node: Node, errors: list[str], into: str = "[]string") -> list[str]:
    if _null(node):
        return []
    if not isinstance(node, SequenceNode):
        _terror(node, into, errors)
        return []
    return [_string(item, errors) for item in node.value]


def _driver(node: Node, errors: list[str]) -> dict[str, str]:
    if _null(node):
        return {}
    if not isinstance(node, MappingNode):
        _terror(node, "map[string]string", errors)
        return {}
    pairs = {_string(key, errors): _string(value, errors) for key, value in node.value}
    return dict(sorted(pairs.items()))  # a Go map: encoded in key order


def _passthrough(node: Node, errors: list[str]) -> list[str]:
    """``runner.Passthrough``: ``src => dst`` lines (dst defaults to src's base name), sorted."""
    pairs = {}
    for line in _strings(node, errors):
        src, _, dst = line.partition("=>")
        pairs[src.strip()] = dst.strip() if dst else posixpath.basename(src.strip())
    return sorted(f"{src} => {dst}" for src, dst in pairs.items())


def _sources(node: Node, errors: list[str]) -> list[str]:
    """``manifest.Source``: ``url [ref] [=> dir]``, dir defaulting to the URL's base name."""
    sources = []
    for text in _strings(node, errors, "[]manifest.Source"):
        url, _, rest = text.partition(" ")
        rest = rest.replace(" ", "")
        ref, _, into = rest.partition("=>")
        folder = into if "=>" in rest else posixpath.basename(url).removesuffix(".git")
        sources.append(" ".join(part for part in (url, ref) if part) + f" => {folder}")
    return sources


def _jobs(node: Node, errors: list[str]) -> list[dict[str, Any]]:
    if _null(node):
        return []
    if not isinstance(node, SequenceNode):
        _terror(node, "[]manifest.Job", errors)
        return []
    jobs = [_struct(item, _JOB, "manifest.Job", errors) for item in node.value]
    return [{key: job[key] for key in JOB_KEYS if job.get(key)} for job in jobs]


def _struct(node: Node, fields: dict[str, Decoder], into: str, errors: list[str]) -> dict[str, Any]:
    """A Go struct: known keys decoded by their field's type, unknown ones dropped."""
    if _null(node):
        return {}
    if not isinstance(node, MappingNode):
        _terror(node, into, errors)
        return {}
    found: dict[str, Any] = {}
    for key, value in node.value:
        name = _string(key, errors)
        if name in fields:
            found[name] = fields[name](value, errors)
    return found


_MANIFEST: dict[str, Decoder] = {
    "namespace": _string, "driver": _driver, "env": _strings, "objects": _passthrough,
    "sources": _sources, "stages": _strings, "allow_failures": _strings, "jobs": _jobs,
}  # fmt: skip
_JOB: dict[str, Decoder] = {
    "stage": _string, "name": _string, "commands": _strings, "artifacts": _passthrough,
}  # fmt: skip
