"""What Miget would refuse, checked before asking it: names, cron-job specs and add-on specs.

Each check answers per field (field -> messages) so a form can show the problem next to the
input; a clean spec answers an empty mapping.
"""

from __future__ import annotations

import re

from providers.base import JobSpec
from providers.miget.addons import ADDON_TYPES, VERSIONS, AddonSpec
from providers.miget.wire import schedule_payload
from providers.schedule import ScheduleError

_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def name_problem(name: str) -> str | None:
    if not name:
        return "a name is required"
    if not _NAME.fullmatch(name):
        return (
            f"`{name}` is not a valid Miget name: use lowercase letters, digits and dashes, "
            "e.g. `nightly-cleanup` (Miget appends a random suffix)"
        )
    return None


def cronjob_problems(spec: JobSpec) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The create body for a cron job, or what is wrong with the spec (field -> messages)."""
    problems: dict[str, list[str]] = {}
    name = spec.name.strip()
    if problem := name_problem(name):
        problems["name"] = [problem]
    payload: dict[str, str] = {"name": name, "label": name}
    try:
        payload |= schedule_payload(spec.schedule)
    except ScheduleError as error:
        problems["schedule"] = [str(error)]
    if command := (spec.command or "").strip():
        payload["command"] = command
    else:
        problems["command"] = ["a command is required, e.g. `rake db:cleanup`"]
    return payload, problems


def addon_problems(spec: AddonSpec) -> dict[str, list[str]]:
    """What Miget would refuse in an add-on spec, per field; empty when it is fine."""
    problems: dict[str, list[str]] = {}
    if spec.type not in ADDON_TYPES:
        problems["type"] = [
            f"`{spec.type}` is not an add-on type; choose postgres, mysql, valkey or storage "
            "(cron jobs are created with `/cron create`)"
        ]
    if problem := name_problem(spec.name.strip()):
        problems["name"] = [problem]
    if not (spec.label or "").strip():
        problems["label"] = ["a label is required; Miget refuses add-ons without one"]
    for field in ("ram_size", "disk_size", "cpu_size"):
        value = getattr(spec, field)
        if value is not None and value <= 0:
            problems[field] = [f"{field} must be a positive number"]
    if spec.public_access is not None and (
        spec.type != "postgres" or spec.public_access not in ("0", "1")
    ):
        problems["public_access"] = ['public_access is "0" or "1", for postgres add-ons only']
    return problems | _version_problems(spec) | _storage_problems(spec)


def _version_problems(spec: AddonSpec) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for kind, (field, allowed) in VERSIONS.items():
        value = getattr(spec, field)
        if kind != spec.type:
            if value is not None:
                problems[field] = [f"{field} applies only to {kind} add-ons"]
        elif not value:
            problems[field] = [f"{kind} add-ons need {field}: one of {', '.join(allowed)}"]
        elif value not in allowed:
            problems[field] = [f"Miget offers {kind} {', '.join(allowed)}, not `{value}`"]
    return problems


def _storage_problems(spec: AddonSpec) -> dict[str, list[str]]:
    given = {
        "mount_point": spec.mount_point,
        "storage_access": spec.storage_access,
        "service_id": spec.service_id,
    }
    if spec.type != "storage":
        return {f: [f"{f} applies only to storage add-ons"] for f, v in given.items() if v}
    problems: dict[str, list[str]] = {}
    if spec.storage_access is not None and spec.storage_access not in ("RWO", "RWX"):
        problems["storage_access"] = ["storage_access is RWO (one node) or RWX (many nodes)"]
    if spec.service_id is None:
        if not (spec.mount_point or "").startswith("/"):
            problems["mount_point"] = ["a storage add-on needs a mount point such as /data"]
        if not spec.storage_access:
            problems.setdefault("storage_access", ["a storage add-on needs RWO or RWX access"])
    return problems
