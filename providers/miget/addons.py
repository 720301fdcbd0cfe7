"""Miget add-ons as the bot sees them: the Addon it shows, the AddonSpec a person asks for.

Also the add-on types and database versions Miget offers, which both the spec and its checks
(:mod:`providers.miget.checks`) read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class Addon(BaseModel):
    """An app's add-on as the bot shows it. Miget's connection details are never copied."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uuid: str
    app: str
    name: str  # server-suffixed: the real identifier
    type: str
    label: str
    state: str | None = None
    ram_mib: int | None = None
    cpu: float | None = None
    created_at: datetime | None = None


class AddonSpec(BaseModel):
    """What a person asks for when creating an add-on (``POST /apps/{uuid}/addons``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str  # postgres | mysql | valkey | storage
    name: str
    label: str | None = None
    ram_size: float | None = None  # MiB
    disk_size: float | None = None  # GiB
    cpu_size: float | None = None  # cores
    postgres_version: str | None = None
    mysql_version: str | None = None
    valkey_version: str | None = None
    public_access: str | None = None  # "0" | "1", postgres only
    service_id: int | None = None  # attach a shared storage service instead of a new volume
    mount_point: str | None = None
    storage_access: str | None = None  # RWO | RWX

    @classmethod
    def make(cls, type: str, name: str, *, version: str | None = None, **fields: Any) -> Self:
        """A spec from a form's one ``version`` answer, put in the field the type takes."""
        if version is not None and type in VERSIONS:
            fields[VERSIONS[type][0]] = version
        return cls(type=type, name=name, **fields)


ADDON_TYPES = ("postgres", "mysql", "valkey", "storage")
VERSIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "postgres": ("postgres_version", ("18", "17", "16", "15", "14", "13")),
    "mysql": ("mysql_version", ("8.2", "8.0")),  # the vendor guide; the seed said 8.0, 8.4
    "valkey": ("valkey_version", ("7.2", "7")),
}
