"""Environment + ``cronops.yml`` -> typed, validated :class:`Settings`, once, at start-up.

Every problem is reported as ``key.path: what is wrong (what was expected)``, all of them at
once, never as a pydantic dump or a traceback, and never with a secret in it: values under
secret keys and values that came from the environment are described, not shown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.chat.durations import DurationError, is_duration, parse_duration, parse_interval
from bot.config.errors import ConfigError as ConfigError
from bot.config.errors import describe_errors
from bot.config.file import expand_env, format_path, learn_secrets, read_yaml
from providers.config import Account
from providers.redact import secrets
from providers.registry import AccountConfig
from providers.schedule import ScheduleError, validate_timezone

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MIN_POLL_INTERVAL = timedelta(seconds=10)
RETENTION = timedelta(days=90)


class EnvSettings(BaseSettings):
    """What the process environment says (variable names are the field names, upper-cased)."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    cronops_config: Path = Path("cronops.yml")
    cronops_database_url: str = "sqlite:///./cronops.db"
    cronops_log_level: str = "INFO"
    cronops_log_format: Literal["text", "json"] = "text"
    cronops_log_sql: bool = False
    cronops_admin_port: int = 9100
    cronops_admin_host: str | None = None

    def secret_values(self) -> list[str]:
        """Every secret the environment holds: tokens, signing secret, database password."""
        values = [
            secret.get_secret_value()
            for secret in (self.slack_bot_token, self.slack_app_token, self.slack_signing_secret)
            if secret is not None
        ]
        password = urlsplit(self.cronops_database_url).password
        if password:
            values += [password, unquote(password)]  # as typed, and as the driver receives it
        return values

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EnvSettings:
        """Read ``env`` only: every field is passed explicitly, so os.environ is not consulted."""
        lowered = {key.lower(): value for key, value in env.items()}
        values: dict[str, Any] = {
            name: lowered[name] if name in lowered else field.get_default()
            for name, field in cls.model_fields.items()
        }
        return cls(_env_file=None, **values)

    @field_validator(
        "slack_bot_token", "slack_app_token", "slack_signing_secret", "cronops_admin_host",
        mode="before",
    )  # fmt: skip
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("is not a URL; expected e.g. https://slack.com/api/")
        return value if value.endswith("/") else f"{value}/"

    @field_validator("cronops_database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not re.match(r"^(sqlite|postgres|postgresql)(\+\w+)?://", value):
            raise ValueError("is not a database URL; expected sqlite:///path or postgresql://…")
        return value

    @field_validator("cronops_log_level", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> str:
        level = str(value).strip().upper()
        level = "WARNING" if level == "WARN" else level
        if level not in LOG_LEVELS:
            raise ValueError(f"is not a log level; expected one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("cronops_log_sql", mode="before")
    @classmethod
    def _switch(cls, value: object) -> bool:
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("", "0", "false", "no", "off"):
            return False
        raise ValueError("is not a switch; expected 1 or 0 (true/false, yes/no, on/off)")

    @field_validator("cronops_admin_port", mode="before")
    @classmethod
    def _port(cls, value: object) -> int:
        text = str(value).strip()
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise ValueError("is not a port; expected a number from 1 to 65535")
        return int(text)

    @field_validator("cronops_admin_host", mode="after")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w.:-]+", value.strip()):
            raise ValueError("is not a host; expected an address like 127.0.0.1 or 0.0.0.0")
        return value.strip() if value is not None else None

    @field_validator("cronops_log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


def _channel_id(pattern: str) -> AfterValidator:
    def check(value: str) -> str:
        if not re.match(pattern, value):
            raise ValueError(
                "is not a channel id; expected an id like C0123456789 "
                "(channel details → About → Channel ID; a #name does not work)"
            )
        return value

    return AfterValidator(check)


def _operator_id(value: str) -> str:
    if not re.match(r"^[UWS][A-Z0-9]+$", value):
        raise ValueError(
            "is not a user or user-group id; expected ids like U0123ABCD (a person, "
            "from their profile → Copy member ID) or S0456EFGH (a user group)"
        )
    return value


def _poll_interval(value: object) -> timedelta:
    if isinstance(value, timedelta):
        seconds = value
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = timedelta(seconds=value)
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = timedelta(seconds=int(value))
    elif isinstance(value, str) and is_duration(value):
        try:
            seconds = parse_interval(value)
        except DurationError:
            raise ValueError("is too long; poll at least every 90 days") from None
    else:
        raise ValueError("is not a duration; expected seconds (60) or e.g. `60s`, `5m`")
    if seconds < MIN_POLL_INTERVAL:
        raise ValueError("is too short; the poller needs at least 10 s between polls")
    return seconds


def _renotify_after(value: object) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, str) and is_duration(value):
        try:
            return parse_duration(value, minimum=timedelta(minutes=10), maximum=timedelta(days=7))
        except DurationError as error:
            raise ValueError(str(error)) from None
    raise ValueError("is not a duration; expected e.g. `4h` (at least 10m, at most 7d)")


def _clock_time(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"(?:[01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError("is not a time of day; expected HH:MM on a 24-hour clock, e.g. `09:00`")
    return value


def _timezone(value: object) -> str:
    try:
        return validate_timezone(str(value))
    except ScheduleError:
        raise ValueError(
            "is not a timezone; expected an IANA name such as `Europe/Berlin` or `UTC`"
        ) from None


class FlappingConfig(BaseModel):
    """A job whose last ``runs`` runs change between failing and succeeding ``changes`` times
    or more is flapping: one incident, updated, until ``recover_after`` successes in a row."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    changes: int = Field(default=4, ge=2, le=29)
    runs: int = Field(default=10, ge=3, le=30)
    recover_after: int = Field(default=5, ge=1, le=30)

    @model_validator(mode="after")
    def _fits(self) -> FlappingConfig:
        if self.changes >= self.runs:
            raise ValueError(
                f"changes ({self.changes}) must be fewer than runs ({self.runs}): "
                f"{self.runs} runs change at most {self.runs - 1} times"
            )
        if self.recover_after > self.runs:
            raise ValueError(
                f"recover_after ({self.recover_after}) must be at most runs ({self.runs}): "
                "only that many runs are remembered"
            )
        return self


class DigestConfig(BaseModel):
    """A summary of the last 24 hours, posted once a day at ``at`` in ``timezone``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Annotated[str, _channel_id(r"^[CG][A-Z0-9]{8,}$")]
    at: Annotated[str, BeforeValidator(_clock_time)] = "09:00"
    timezone: Annotated[str, BeforeValidator(_timezone)] = "UTC"


class AlertsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Annotated[str, _channel_id(r"^[CG][A-Z0-9]{8,}$")] | None = None
    poll_interval: Annotated[timedelta, BeforeValidator(_poll_interval)] = timedelta(seconds=60)
    failures_before_alert: int = Field(default=1, ge=1)
    outage_after: int = Field(default=3, ge=1)  # failed polls in a row before "unreachable"
    # a reply in an open incident's thread every renotify_after (None: never)
    renotify_after: Annotated[timedelta | None, BeforeValidator(_renotify_after)] = None
    flapping: FlappingConfig = Field(default_factory=FlappingConfig)
    digest: DigestConfig | None = None


class AccessConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    operators: list[Annotated[str, AfterValidator(_operator_id)]] = Field(default_factory=list)
    audit_channel: Annotated[str, _channel_id(r"^[CG][A-Z0-9]+$")] | None = None


def _retention(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str) and is_duration(value):
        try:
            return parse_duration(value, minimum=timedelta(days=1), maximum=timedelta(days=3650))
        except DurationError as error:
            raise ValueError(
                f"{str(error).split(';')[0]}; keep at least 1 day, e.g. `90d`"
            ) from None
    raise ValueError("is not a duration; expected days such as `90d` (at least 1 day)")


class FileConfig(BaseModel):
    """``cronops.yml``: accounts are required (an empty list is allowed), the rest defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accounts: list[AccountConfig]
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    access: AccessConfig = Field(default_factory=AccessConfig)
    # how long sent messages, audit entries, resolved incidents and the like are kept
    retention: Annotated[timedelta, BeforeValidator(_retention)] = RETENTION

    @field_validator("accounts")
    @classmethod
    def _unique_names(cls, accounts: list[Account]) -> list[Account]:
        first: dict[str, int] = {}
        for index, account in enumerate(accounts):
            if account.name in first:
                raise ValueError(
                    f"`{account.name}` is the name of accounts[{first[account.name]}] and "
                    f"accounts[{index}]; account names must be unique (they start every ref)"
                )
            first[account.name] = index
        return accounts


@dataclass(frozen=True)
class Settings:
    env: EnvSettings
    config: FileConfig

    @property
    def accounts(self) -> list[Account]:
        return list(self.config.accounts)

    @property
    def database_url(self) -> str:
        return self.env.cronops_database_url

    @property
    def operators(self) -> list[str]:
        return list(self.config.access.operators)

    def account(self, name: str) -> Account:
        """The account called ``name`` (case-insensitive); KeyError if there is none."""
        for account in self.config.accounts:
            if account.name == name.lower():
                return account
        raise KeyError(name)


def load_settings(
    env: Mapping[str, str] | None = None, config_path: Path | None = None
) -> Settings:
    """Read the environment (default ``os.environ``) and the config file; ConfigError if bad."""
    environ = os.environ if env is None else env
    problems: list[str] = []
    env_settings: EnvSettings | None = None
    try:
        env_settings = EnvSettings.from_env(environ)
    except ValidationError as err:
        problems += describe_errors(
            err, lambda loc: str(loc[0]).upper(), root=EnvSettings, origins={}
        )
    if env_settings is not None:
        for value in env_settings.secret_values():  # masked in every log line from now on
            secrets.add(value)
    path = config_path or _config_path(env_settings, environ)
    config = _load_file(path, environ, problems)
    if problems or env_settings is None or config is None:
        raise ConfigError(problems)
    return Settings(env=env_settings, config=config)


def _config_path(env_settings: EnvSettings | None, environ: Mapping[str, str]) -> Path:
    if env_settings is not None:
        return env_settings.cronops_config
    given = {key.upper(): value for key, value in environ.items()}.get("CRONOPS_CONFIG")
    return Path(given or "cronops.yml")


def _load_file(path: Path, environ: Mapping[str, str], problems: list[str]) -> FileConfig | None:
    raw = read_yaml(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        problems.append(
            f"{path}: the top level is a {kind}; expected keys accounts, alerts, access"
        )
        return None
    data, origins, missing = expand_env(raw, environ)
    learn_secrets(data)
    problems += missing.values()
    try:
        return FileConfig.model_validate(data)
    except ValidationError as err:
        found = describe_errors(
            err, format_path, root=FileConfig, origins=origins, skip=set(missing)
        )
        problems += [secrets.scrub(problem) for problem in found]
        return None
