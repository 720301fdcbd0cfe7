"""Environment + cronops.yml -> Settings, and the messages an operator reads when it is wrong."""

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config.settings import (
    AlertsConfig,
    ConfigError,
    DigestConfig,
    EnvSettings,
    FileConfig,
    FlappingConfig,
    Settings,
    load_settings,
)
from providers.cronhub.client import CronhubAccount
from providers.cronjob_org.client import CronJobOrgAccount
from providers.djinn.client import DjinnAccount
from providers.miget.client import MigetAccount

SPEC_EXAMPLE = """\
accounts:                       # one entry per provider account; name is used in job refs
  - name: prod                  # [a-z0-9-]+, unique
    provider: cronjob-org       # cronjob-org | cronhub | djinn | miget
    api_key: ${CRONJOB_ORG_KEY}
    base_url: https://api.cron-job.org   # optional; every provider's base URL is overridable
    daily_request_budget: 100            # optional; cron-job.org's default quota
  - name: hub
    provider: cronhub
    api_key: ${CRONHUB_KEY}
  - name: ci
    provider: djinn
    token: ${DJINN_TOKEN}
    base_url: https://api.djinn-ci.com   # self-hosted instances differ
  - name: apps
    provider: miget
    api_key: ${MIGET_KEY}
    workspace_id: ${MIGET_WORKSPACE}    # optional, sent as X-Workspace-Id
    apps: [APP-UUID-1]                  # applications whose cron jobs are managed
alerts:
  channel: C0123456789          # default channel for failure alerts
  poll_interval: 60s            # the poller adapts per account to stay inside budgets
  failures_before_alert: 1      # consecutive failed executions before an alert opens
  outage_after: 3               # consecutive failed polls before an account is "unreachable"
  renotify_after: 4h            # optional: a thread reply while an incident stays open
  flapping: {changes: 4, runs: 10, recover_after: 5}   # fail<->ok changes in the last runs
  digest: {channel: C0123456789, at: "09:00", timezone: Europe/Berlin}   # optional daily summary
access:
  operators: [U0123, S0456]     # users / user groups who may pause, resume, create, edit, delete
  audit_channel: C0999          # optional; every change made through the bot is posted here
"""

CANARY = "Canary_Secret_0f9d8e7c"  # also not a valid account name, so it is reported
ENV = {
    "CRONJOB_ORG_KEY": CANARY,
    "CRONHUB_KEY": "hub-key-123456",
    "DJINN_TOKEN": "djinn-token-123456",
    "MIGET_KEY": "miget-key-123456",
    "MIGET_WORKSPACE": "ws-1",
}

ONE_ACCOUNT = """\
accounts:
  - name: hub
    provider: cronhub
    api_key: hub-key-123456
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cronops.yml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(ENV if env is None else env, write(tmp_path, text))
    return caught.value.problems


def with_alerts(alerts: str) -> str:
    return ONE_ACCOUNT + "alerts:\n" + textwrap.indent(textwrap.dedent(alerts), "  ")


def test_the_spec_example_parses(tmp_path: Path) -> None:
    settings = load_settings(ENV, write(tmp_path, SPEC_EXAMPLE))

    prod, hub, ci, apps = settings.accounts
    assert isinstance(prod, CronJobOrgAccount)
    assert prod.api_key.get_secret_value() == CANARY
    assert str(prod.base_url) == "https://api.cron-job.org/"
    assert prod.daily_request_budget == 100
    assert isinstance(hub, CronhubAccount)
    assert isinstance(ci, DjinnAccount)
    assert ci.token.get_secret_value() == "djinn-token-123456"
    assert isinstance(apps, MigetAccount)
    assert (apps.workspace_id, apps.apps) == ("ws-1", ["APP-UUID-1"])
    assert settings.config.alerts == AlertsConfig(
        channel="C0123456789", poll_interval=timedelta(seconds=60), failures_before_alert=1,
        outage_after=3, renotify_after=timedelta(hours=4),
        flapping=FlappingConfig(changes=4, runs=10, recover_after=5),
        digest=DigestConfig(channel="C0123456789", at="09:00", timezone="Europe/Berlin"),
    )  # fmt: skip
    assert settings.operators == ["U0123", "S0456"]
    assert settings.config.access.audit_channel == "C0999"
    assert settings.account("APPS") is apps
    assert settings.database_url == "sqlite:///./cronops.db"


def test_secrets_are_secret_strings_and_not_in_reprs(tmp_path: Path) -> None:
    settings = load_settings({**ENV, "SLACK_BOT_TOKEN": "xoxb-1"}, write(tmp_path, SPEC_EXAMPLE))
    assert isinstance(settings.accounts[0].api_key, SecretStr)  # type: ignore[union-attr]
    assert isinstance(settings.env.slack_bot_token, SecretStr)
    assert CANARY not in repr(settings)
    assert "xoxb-1" not in repr(settings)


def test_the_config_path_comes_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, ONE_ACCOUNT)
    settings = load_settings({"CRONOPS_CONFIG": str(path)})
    assert settings.env.cronops_config == path
    assert [a.name for a in settings.accounts] == ["hub"]


def test_defaults_apply_to_what_the_file_leaves_out(tmp_path: Path) -> None:
    settings = load_settings({}, write(tmp_path, ONE_ACCOUNT))
    assert settings.config.alerts == AlertsConfig()
    assert settings.config.alerts.poll_interval == timedelta(seconds=60)
    assert settings.operators == []
    assert settings.config.access.audit_channel is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("${CRONHUB_KEY}", "from-env"),
        ("${UNSET_KEY:-fallback}", "fallback"),
        ("${CRONHUB_KEY:-fallback}", "from-env"),
        ("${EMPTY_KEY:-fallback}", "fallback"),
        ("pre-${CRONHUB_KEY}-post", "pre-from-env-post"),
        ("$${CRONHUB_KEY}", "${CRONHUB_KEY}"),
    ],
)
def test_environment_variables_are_expanded(tmp_path: Path, value: str, expected: str) -> None:
    text = ONE_ACCOUNT.replace("hub-key-123456", f'"{value}"')
    settings = load_settings({"CRONHUB_KEY": "from-env", "EMPTY_KEY": ""}, write(tmp_path, text))
    assert settings.accounts[0].credential() == expected


def test_expansion_works_in_nested_values_and_lists(tmp_path: Path) -> None:
    text = SPEC_EXAMPLE.replace("[U0123, S0456]", '["${OPS_USER}", S0456]')
    settings = load_settings({**ENV, "OPS_USER": "U0777"}, write(tmp_path, text))
    assert settings.operators == ["U0777", "S0456"]


def test_a_missing_variable_is_named_with_its_key_path(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k not in ("CRONJOB_ORG_KEY", "MIGET_WORKSPACE")}
    assert problems(tmp_path, SPEC_EXAMPLE, env) == [
        "accounts[0].api_key: environment variable CRONJOB_ORG_KEY is not set",
        "accounts[3].workspace_id: environment variable MIGET_WORKSPACE is not set",
    ]


def test_an_empty_variable_without_a_default_is_a_problem(tmp_path: Path) -> None:
    found = problems(tmp_path, SPEC_EXAMPLE, {**ENV, "CRONHUB_KEY": ""})
    assert found == ["accounts[1].api_key: environment variable CRONHUB_KEY is empty"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            ONE_ACCOUNT + "acounts: []\n",
            "acounts: unknown key (the top level takes: accounts, alerts, access, retention); "
            "did you mean `accounts`?",
        ),
        (
            ONE_ACCOUNT + "    apps: [x]\n",
            "accounts[0].apps: unknown key (cronhub accounts take: name, provider, api_key, "
            "base_url, timeout, daily_request_budget)",
        ),
        (
            ONE_ACCOUNT.replace("cronhub", "cronhubb"),
            "accounts[0].provider: `cronhubb` is not a provider; expected one of "
            "cronjob-org, cronhub, djinn, miget",
        ),
        (
            ONE_ACCOUNT.replace("    provider: cronhub\n", ""),
            "accounts[0].provider: missing (expected one of cronjob-org, cronhub, djinn, miget)",
        ),
        (
            ONE_ACCOUNT.replace("    api_key: hub-key-123456\n", ""),
            "accounts[0].api_key: missing (a required key of cronhub accounts)",
        ),
        (
            ONE_ACCOUNT.replace("name: hub", "name: Hub Prod"),
            "accounts[0].name: `Hub Prod` is not valid (expected lower-case letters, digits "
            "and dashes, e.g. `prod`)",
        ),
        (
            ONE_ACCOUNT + "    timeout: 0\n",
            "accounts[0].timeout: `0` is not valid (expected a number greater than 0)",
        ),
        (
            ONE_ACCOUNT + "    base_url: api.example.com\n",
            "accounts[0].base_url: `api.example.com` is not valid (expected an http(s) URL",
        ),
        (
            ONE_ACCOUNT + ONE_ACCOUNT.removeprefix("accounts:\n"),
            "accounts: `hub` is the name of accounts[0] and accounts[1]; account names must "
            "be unique",
        ),
        ("accounts: {}\n", "accounts: a mapping is not valid (expected a list, e.g. [a, b])"),
        ("alerts: {}\n", "accounts: missing (a required key of the top level)"),
        ("", "accounts: missing (a required key of the top level)"),
        (
            with_alerts("channel: '#alerts'"),
            "alerts.channel: `#alerts` is not a channel id; expected an id like C0123456789",
        ),
        (with_alerts("channel: C123"), "alerts.channel: `C123` is not a channel id"),
        (
            with_alerts("poll_interval: soon"),
            "alerts.poll_interval: `soon` is not a duration; expected seconds (60) or e.g. `60s`",
        ),
        (
            with_alerts("poll_interval: 5s"),
            "alerts.poll_interval: `5s` is too short; the poller needs at least 10 s",
        ),
        (with_alerts("poll_interval: 1.5"), "alerts.poll_interval: `1.5` is not a duration"),
        (
            with_alerts("failures_before_alert: 0"),
            "alerts.failures_before_alert: `0` is not valid (expected at least 1)",
        ),
        (
            with_alerts("chanel: C0123456789"),
            "alerts.chanel: unknown key (alerts takes: channel, poll_interval, "
            "failures_before_alert, outage_after, renotify_after, flapping, digest); did you mean "
            "`channel`?",
        ),
        (
            ONE_ACCOUNT + "access:\n  operators: [U0123, '@ana']\n",
            "access.operators[1]: `@ana` is not a user or user-group id",
        ),
        (
            ONE_ACCOUNT + "access:\n  audit_channel: general\n",
            "access.audit_channel: `general` is not a channel id",
        ),
        ("- a\n- b\n", "the top level is a list; expected keys accounts, alerts, access"),
    ],
)
def test_a_bad_file_is_reported_by_key_path(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(tmp_path, text)
    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize(
    ("value", "expected"),
    [(90, timedelta(seconds=90)), ("90", timedelta(seconds=90)), ("5m", timedelta(minutes=5))],
)
def test_poll_interval_takes_seconds_or_a_duration(value: object, expected: timedelta) -> None:
    assert AlertsConfig.model_validate({"poll_interval": value}).poll_interval == expected


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = SPEC_EXAMPLE.replace("cronhub\n", "cronhubb\n").replace("60s", "soon")
    found = problems(tmp_path, text, {**ENV, "CRONOPS_LOG_LEVEL": "loud"})
    assert [problem.split(":")[0] for problem in found] == [
        "CRONOPS_LOG_LEVEL",
        "accounts[1].provider",
        "alerts.poll_interval",
    ]


def test_a_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    found = problems(tmp_path, "accounts:\n  - name: hub\n   provider: cronhub\n")
    assert len(found) == 1
    assert "line 3, column 4: YAML syntax error" in found[0]


def test_an_unquoted_variable_in_a_flow_list_gets_a_hint(tmp_path: Path) -> None:
    found = problems(tmp_path, ONE_ACCOUNT + "access:\n  operators: [${OPS}]\n")
    assert "line 6, column 16: YAML syntax error" in found[0]
    assert 'put ${VAR} in quotes: ["${VAR}"]' in found[0]


def test_a_key_given_twice_is_an_error_not_a_silent_override(tmp_path: Path) -> None:
    found = problems(tmp_path, ONE_ACCOUNT + "alerts: {}\nalerts: {}\n")
    assert "line 6" in found[0]
    assert "`alerts` is given twice (first on line 5)" in found[0]


def test_a_missing_file_says_where_it_looked_and_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({}, tmp_path / "nope.yml")
    assert caught.value.problems == [
        f"cronops.yml not found at {tmp_path / 'nope.yml'}; create one (see README) "
        "or set CRONOPS_CONFIG"
    ]


SECRET_LEAKS = [
    "    api_key: [CANARY]\n",  # wrong type for a secret
    "    api_key: CANARY\n    timeout: CANARY\n",  # a secret that also lands in a shown field
    "    api_key: ${LEAK}\n    name: ${LEAK}\n",  # a secret variable in the wrong key
    "    api_key: ${LEAK}\n    bogus: ${LEAK}\n",
]


@pytest.mark.parametrize("account_tail", SECRET_LEAKS)
def test_secret_values_never_appear_in_errors(tmp_path: Path, account_tail: str) -> None:
    text = "accounts:\n  - provider: cronhub\n" + account_tail.replace("CANARY", CANARY)
    with pytest.raises(ConfigError) as caught:
        load_settings({"LEAK": CANARY}, write(tmp_path, text))
    assert caught.value.problems
    assert CANARY not in str(caught.value)
    assert CANARY not in repr(caught.value.problems)


def test_a_bad_secret_type_says_what_is_expected_without_the_value(tmp_path: Path) -> None:
    found = problems(tmp_path, ONE_ACCOUNT.replace("hub-key-123456", "123456789"))
    assert found == [
        "accounts[0].api_key: a number (not shown) is not valid (expected text; put it in quotes)"
    ]


def test_a_bad_value_from_a_variable_is_named_by_the_variable(tmp_path: Path) -> None:
    found = problems(
        tmp_path, ONE_ACCOUNT.replace("name: hub", "name: ${NAME}"), {"NAME": "Not Valid"}
    )
    assert found == [
        "accounts[0].name: the value of NAME is not valid (expected lower-case letters, "
        "digits and dashes, e.g. `prod`)"
    ]


def test_env_settings_defaults() -> None:
    env = EnvSettings.from_env({})
    assert env.slack_bot_token is None
    assert env.slack_app_token is None
    assert env.slack_signing_secret is None
    assert env.slack_api_url == "https://slack.com/api/"
    assert env.cronops_config == Path("cronops.yml")
    assert env.cronops_database_url == "sqlite:///./cronops.db"
    assert env.cronops_log_level == "INFO"
    assert env.cronops_log_format == "text"
    assert env.cronops_admin_port == 9100
    assert env.cronops_admin_host is None  # the admin port listens where --host says


def test_env_settings_read_only_the_given_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRONOPS_LOG_LEVEL", "ERROR")
    assert EnvSettings.from_env({}).cronops_log_level == "INFO"
    assert EnvSettings(_env_file=None).cronops_log_level == "ERROR"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://slack.com/api", "https://slack.com/api/"),
        ("https://slack.com/api/", "https://slack.com/api/"),
        ("https://slack-gov.com/api", "https://slack-gov.com/api/"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123/"),
    ],
)
def test_slack_api_url_always_ends_with_a_slash(given: str, expected: str) -> None:
    assert EnvSettings.from_env({"SLACK_API_URL": given}).slack_api_url == expected


def test_env_names_are_case_insensitive_and_values_normalised() -> None:
    env = EnvSettings.from_env(
        {
            "slack_bot_token": "xoxb-1",
            "SLACK_APP_TOKEN": "",
            "CRONOPS_LOG_LEVEL": "debug",
            "CRONOPS_LOG_FORMAT": "JSON",
        }
    )
    assert env.slack_bot_token is not None
    assert env.slack_bot_token.get_secret_value() == "xoxb-1"
    assert env.slack_app_token is None  # empty means unset
    assert (env.cronops_log_level, env.cronops_log_format) == ("DEBUG", "json")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"CRONOPS_LOG_LEVEL": "loud"},
            "CRONOPS_LOG_LEVEL: `loud` is not a log level; expected one of DEBUG, INFO, "
            "WARNING, ERROR, CRITICAL",
        ),
        ({"CRONOPS_LOG_FORMAT": "xml"}, "CRONOPS_LOG_FORMAT: `xml` is not valid (expected"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL: `slack.com/api` is not a URL"),
        (
            {"CRONOPS_LOG_SQL": "maybe"},
            "CRONOPS_LOG_SQL: `maybe` is not a switch; expected 1 or 0 "
            "(true/false, yes/no, on/off)",
        ),
        (
            {"CRONOPS_DATABASE_URL": "mysql://root:hunter2@db/cron"},
            "CRONOPS_DATABASE_URL: the value (not shown) is not a database URL",
        ),
    ],
)
def test_bad_environment_values_are_named(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    found = problems(tmp_path, ONE_ACCOUNT, env)
    assert found == [expected] or any(expected in problem for problem in found), found
    assert "hunter2" not in "\n".join(found)


@pytest.mark.parametrize("value", ["abc", "0", "65536", "-1", "9100.5"])
def test_a_bad_admin_port_is_named_with_what_is_expected(tmp_path: Path, value: str) -> None:
    found = problems(tmp_path, ONE_ACCOUNT, {"CRONOPS_ADMIN_PORT": value})
    assert found == [
        f"CRONOPS_ADMIN_PORT: `{value}` is not a port; expected a number from 1 to 65535"
    ]


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("yes", True), ("0", False), ("", False)]
)
def test_sql_logging_is_off_unless_switched_on(value: str, expected: bool) -> None:
    assert EnvSettings.from_env({}).cronops_log_sql is False
    assert EnvSettings.from_env({"CRONOPS_LOG_SQL": value}).cronops_log_sql is expected


def test_the_admin_port_and_host_come_from_the_environment() -> None:
    env = EnvSettings.from_env({"CRONOPS_ADMIN_PORT": " 9200 ", "CRONOPS_ADMIN_HOST": "127.0.0.1"})
    assert (env.cronops_admin_port, env.cronops_admin_host) == (9200, "127.0.0.1")
    assert EnvSettings.from_env({"CRONOPS_ADMIN_HOST": " "}).cronops_admin_host is None


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings({}, write(tmp_path, ONE_ACCOUNT))
    assert isinstance(settings, Settings)
    assert isinstance(settings.config, FileConfig)
    with pytest.raises(AttributeError):
        settings.env = EnvSettings.from_env({})  # type: ignore[misc]
    with pytest.raises(KeyError):
        settings.account("nope")


@pytest.mark.parametrize(("given", "days"), [(None, 90), ("30d", 30), ("365d", 365)])
def test_retention_is_a_number_of_days(tmp_path: Path, given: str | None, days: int) -> None:
    text = ONE_ACCOUNT + (f"retention: {given}\n" if given else "")
    settings = load_settings(ENV, write(tmp_path, text))
    assert settings.config.retention == timedelta(days=days)


@pytest.mark.parametrize("given", ["12h", "soon", "-3d"])
def test_a_retention_under_a_day_or_not_a_duration_is_refused(tmp_path: Path, given: str) -> None:
    (problem,) = problems(tmp_path, ONE_ACCOUNT + f"retention: {given}\n")
    assert problem.startswith("retention: ")
    assert "day" in problem


@pytest.mark.parametrize(
    ("alerts", "expected"),
    [
        ("renotify_after: 5m", "alerts.renotify_after: `5m` is too short"),
        ("flapping: {changes: 10, runs: 10}", "changes (10) must be fewer than runs (10)"),
        ("digest: {channel: C0123456789, at: '9am'}", "alerts.digest.at: `9am` is not a time"),
        ("digest: {channel: C0123456789, timezone: Mars/Base}", "is not a timezone"),
    ],
)
def test_on_call_settings_are_checked(tmp_path: Path, alerts: str, expected: str) -> None:
    (problem,) = problems(tmp_path, with_alerts(alerts))
    assert expected in problem
