"""`/cron` text -> Command: what users type, what the bot understands, what it says back."""

from dataclasses import FrozenInstanceError
from datetime import timedelta

import pytest

from bot.chat.grammar import (
    HELP_TEXT,
    USAGE,
    AddonCreate,
    Command,
    Create,
    Delete,
    Edit,
    Help,
    History,
    ListJobs,
    Mute,
    ParseError,
    Pause,
    Resume,
    Show,
    Status,
    Subscribe,
    Subscriptions,
    Unmute,
    Unsubscribe,
    parse,
    target_kind,
)

ACCOUNTS = ("prod", "hub", "ci", "apps")
H = timedelta(hours=1)


PARSES: list[tuple[str, Command]] = [
    # help
    ("", Help(None)),
    ("   ", Help(None)),
    ("help", Help(None)),
    ("help pause", Help("pause")),
    ("HELP Pause", Help("pause")),
    ("help addon create", Help("addon")),
    ("pause --help", Help("pause")),
    # list
    ("list", ListJobs()),
    ("LIST", ListJobs()),
    ("list prod", ListJobs(account="prod")),
    ("list PROD failing", ListJobs(account="prod", status="failing")),
    ("list prod failing backup", ListJobs(account="prod", status="failing", text="backup")),
    ("list paused hub", ListJobs(account="hub", status="paused")),
    ("list nightly backup", ListJobs(text="nightly backup")),
    ("list backup Active", ListJobs(status="active", text="backup")),
    ("list staging", ListJobs(text="staging")),  # not a known account: a text filter
    ('list "prod"', ListJobs(text="prod")),  # quoted: always text
    ('list "failing"', ListJobs(text="failing")),
    # show / refs
    ("show prod:4242", Show("prod:4242")),
    ("show PROD:4242", Show("prod:4242")),
    ("show hub:monitor/b5e5e820", Show("hub:monitor/b5e5e820")),
    ("show apps:APP/CRONJOB", Show("apps:APP/CRONJOB")),
    ("Show nightly", Show("nightly")),
    ('show "nightly backup"', Show("nightly backup")),
    ("show 'nightly backup'", Show("nightly backup")),
    ("show “nightly backup”", Show("nightly backup")),
    ("show ‘nightly backup’", Show("nightly backup")),
    ("show nightly backup", Show("nightly backup")),  # forgot the quotes
    ("show bob's backup", Show("bob's backup")),  # an apostrophe is not a quote
    ("show bob’s backup", Show("bob's backup")),
    ("show R&amp;D sync", Show("R&D sync")),  # Slack escapes &, < and >
    ("show staging:12", Show("staging:12")),
    # history
    ("history prod:4242", History("prod:4242")),
    ("history prod:4242 20", History("prod:4242", 20)),
    ("history prod:4242 1", History("prod:4242", 1)),
    ("history prod:4242 50", History("prod:4242", 50)),
    ("history nightly backup 5", History("nightly backup", 5)),
    ('history "backup 2023"', History("backup 2023")),
    ("history 42", History("42")),  # the only word is the job
    # pause / resume
    ("pause prod:4242", Pause("prod:4242")),
    ("pause prod:4242 2h", Pause("prod:4242", 2 * H)),
    ("pause prod:4242 1d", Pause("prod:4242", 24 * H)),
    ("pause prod:4242 1h30m", Pause("prod:4242", 1.5 * H)),
    ("pause prod:4242 1h 30m", Pause("prod:4242", 1.5 * H)),
    ("pause prod:4242 1m", Pause("prod:4242", timedelta(minutes=1))),
    ("PAUSE prod:4242 2H", Pause("prod:4242", 2 * H)),
    ("pause nightly backup 2h", Pause("nightly backup", 2 * H)),
    ("pause “nightly backup” 2h", Pause("nightly backup", 2 * H)),
    ("pause 2h", Pause("2h")),  # the only word is the job, even if it looks like a duration
    ('pause nightly "2h"', Pause("nightly 2h")),  # quoted: part of the name
    ("resume prod:4242", Resume("prod:4242")),
    ("resume nightly backup", Resume("nightly backup")),
    # create / edit / delete / addon
    ("create", Create(None)),
    ("create prod", Create("prod")),
    ("create PROD", Create("prod")),
    ("edit prod:4242", Edit("prod:4242")),
    ('edit "nightly backup"', Edit("nightly backup")),
    ("delete prod:4242", Delete("prod:4242")),
    ("addon create apps", AddonCreate("apps")),
    ("Addon Create APPS", AddonCreate("apps")),
    # status / subscriptions / mute
    ("status", Status()),
    ("subscribe", Subscribe(None)),
    ("subscribe PROD", Subscribe("prod")),
    ("subscribe prod:4242", Subscribe("prod:4242")),
    ("subscribe nightly backup", Subscribe("nightly backup")),
    ("unsubscribe", Unsubscribe(None)),
    ("unsubscribe hub", Unsubscribe("hub")),
    ("subscribe prod --except staging", Subscribe("prod", "staging")),
    ('subscribe PROD --except "eu staging"', Subscribe("prod", "eu staging")),
    ("subscribe prod --except eu staging", Subscribe("prod", "eu staging")),
    ("subscribe prod --except=staging", Subscribe("prod", "staging")),
    ("subscribe --except staging", Subscribe(None, "staging")),  # every job, less some
    ("subscribe nightly backup --EXCEPT test", Subscribe("nightly backup", "test")),
    ("subscribe “db” --except “test”", Subscribe("db", "test")),  # smart quotes
    ('subscribe "nightly" --except "nightly-test"', Subscribe("nightly", "nightly-test")),
    ('subscribe "--except"', Subscribe("--except")),  # quoted: a text, not the flag
    ("unsubscribe prod --except staging", Unsubscribe("prod", "staging")),
    ("unsubscribe PROD:4242", Unsubscribe("prod:4242")),
    ("subscriptions", Subscriptions()),
    ("mute prod:4242", Mute("prod:4242")),
    ("mute prod:4242 1h", Mute("prod:4242", H)),
    ("mute nightly backup 1d", Mute("nightly backup", 24 * H)),
    ("unmute prod:4242", Unmute("prod:4242")),
]


@pytest.mark.parametrize(("text", "expected"), PARSES)
def test_it_understands(text: str, expected: Command) -> None:
    assert parse(text, ACCOUNTS) == expected


REJECTS: list[tuple[str, str]] = [
    # unknown commands
    ("lst", "did you mean `/cron list`?"),
    ("pase prod:4242", "did you mean `/cron pause`?"),
    ("frobnicate", "`frobnicate` is not a `/cron` command"),
    ("frobnicate", "`/cron help`"),
    ("prod:4242", "use `/cron show prod:4242`"),
    ("help frob", "there is no `/cron` command `frob`"),
    ("help paus", "did you mean `/cron help pause`?"),
    # quotes
    ('show "nightly backup', "a quote is opened but never closed"),
    ("show 'nightly backup", "a quote is opened but never closed"),
    ("show “nightly backup", "a quote is opened but never closed"),
    # missing jobs
    ("show", "`/cron show` needs a job: a ref like `prod:4242` or a job name"),
    ('show ""', "`/cron show` needs a job"),
    ("history", "`/cron history` needs a job"),
    ("pause", "`/cron pause` needs a job"),
    ("resume", "`/cron resume` needs a job"),
    ("edit", "`/cron edit` needs a job"),
    ("delete", "`/cron delete` needs a job"),
    ("mute", "`/cron mute` needs a job"),
    ("unmute", "`/cron unmute` needs a job"),
    # too many
    ("show prod:4242 extra", "takes one job, but `extra` follows it"),
    ('delete "nightly backup" now', "takes one job, but `now` follows it"),
    ("status prod", "`/cron status` takes nothing after it; got `prod`"),
    ("subscriptions all", "takes nothing after it"),
    # subscription filters
    ("subscribe prod --except", "`--except` needs the text to leave out"),
    ('subscribe prod --except ""', "`--except` needs the text to leave out"),
    ("unsubscribe prod --except", "`--except` needs the text to leave out"),
    ("subscribe prod --except a --except b", "one `--except` per subscription"),
    ("subscribe prod:4242 --except test", "`prod:4242` is one job, so `--except` has nothing"),
    ("subscribe backup --except back", "nothing would be left to alert on"),
    ("create prod hub", "takes at most one account"),
    # durations
    ("pause prod:4242 30s", "`30s` is too short; the shortest duration is 1 min"),
    ("pause prod:4242 2x", "`2x` is not a duration"),
    ("pause nightly backup 2x", "`2x` is not a duration"),
    ("pause prod:4242 10min", "`10min` is not a duration"),
    ("pause prod:4242 tomorrow", "`tomorrow` is not a duration"),
    ("pause prod:4242 100d", "`100d` is too long"),
    ("pause prod:4242 2h please", "expected one duration after the job"),
    ("mute prod:4242 10s", "`10s` is too short"),
    # history N
    ("history prod:4242 0", "history shows 1 to 50 executions, not 0"),
    ("history prod:4242 51", "history shows 1 to 50 executions, not 51"),
    ("history prod:4242 -3", "history shows 1 to 50 executions, not -3"),
    ("history prod:4242 many", "`many` is not a number of executions"),
    # list
    ("list prod hub", "not both `prod` and `hub`"),
    ("list failing paused", "choose one status, not both `failing` and `paused`"),
    # accounts
    ("create prd", "there is no account `prd`; did you mean `prod`?"),
    ("create staging", "accounts: `apps`, `ci`, `hub`, `prod`"),
    ("addon", "`/cron addon` only creates add-ons"),
    ("addon list", "`list` is not one"),
    ("addon create", "`/cron addon create` needs a Miget account"),
    ("addon create apps hub", "`/cron addon create` takes one account"),
    ("addon create nope", "there is no account `nope`"),
]


@pytest.mark.parametrize(("text", "message"), REJECTS)
def test_it_explains_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text, ACCOUNTS)
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("text", "usage"),
    [
        ("pause prod:4242 2x", "`/cron pause REF [DURATION]` — e.g. `/cron pause prod:4242 2h`"),
        ("show", "`/cron show REF`"),
        ("history prod:4242 99", "`/cron history REF [N]`"),
        ("addon list", "`/cron addon create ACCOUNT`"),
        ("lst", "`/cron help [COMMAND]`"),
        ('pause "nightly', "`/cron pause REF [DURATION]`"),
    ],
)
def test_an_error_carries_the_usage_of_its_command(text: str, usage: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text, ACCOUNTS)
    assert usage in caught.value.usage


def test_a_parse_error_is_a_value_error_whose_str_is_the_message() -> None:
    with pytest.raises(ParseError, match="needs a job") as caught:
        parse("show")
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == caught.value.message


def test_without_accounts_every_account_ref_is_a_ref_and_any_account_is_taken() -> None:
    assert parse("list prod failing") == ListJobs(status="failing", text="prod")
    assert parse("pause staging:12 2h") == Pause("staging:12", 2 * H)
    assert parse("create anything") == Create("anything")
    with pytest.raises(ParseError, match="takes one job"):
        parse("show staging:12 nightly")


def test_a_ref_to_an_unknown_account_is_read_as_part_of_a_name() -> None:
    assert parse("pause staging:12 nightly 2h", ACCOUNTS) == Pause("staging:12 nightly", 2 * H)


def test_every_command_has_a_usage_line_and_a_help_line_with_an_example() -> None:
    for name, usage in USAGE.items():
        assert usage.startswith("`/cron "), name
        assert "e.g. `/cron " in usage, name
    help_lines = HELP_TEXT.splitlines()
    assert len(help_lines) == len(USAGE) + 3  # then what REF is, subscriptions, the Home
    assert all("e.g. `/cron " in line for line in help_lines[:-3])


def test_every_usage_topic_parses_as_help() -> None:
    for name in USAGE:
        assert parse(f"help {name}") == Help(name)


def test_commands_are_frozen() -> None:
    command = parse("pause prod:4242 2h", ACCOUNTS)
    with pytest.raises(FrozenInstanceError):
        setattr(command, "ref", "other")  # noqa: B010 - the point is the runtime check


def test_a_subscription_target_longer_than_200_characters_is_refused() -> None:
    with pytest.raises(ParseError, match="at most 200 characters, not 201"):
        parse("subscribe " + "x" * 201, ["prod"])
    with pytest.raises(ParseError, match="at most 200 characters, not 201"):
        parse("subscribe prod --except " + "x" * 201, ["prod"])


def test_without_accounts_a_ref_shaped_target_still_takes_no_except() -> None:
    with pytest.raises(ParseError, match="is one job"):
        parse("subscribe staging:12 --except x")


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("*", "all"),
        ("prod", "account"),
        ("PROD", "account"),
        ("prod:42", "job"),
        ("Prod:42", "job"),
        ("hub:monitor/b5e5e820-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "job"),
        ("staging:42", "text"),  # no such account: text in names
        ("nightly backup", "text"),
        ("prod backup", "text"),
    ],
)
def test_a_subscription_target_names_every_job_an_account_a_job_or_text(
    target: str, kind: str
) -> None:
    assert target_kind(target, ACCOUNTS) == kind


def test_help_for_subscribe_shows_the_except_filter() -> None:
    assert "[--except TEXT]" in USAGE["subscribe"]
    assert "[--except TEXT]" in USAGE["unsubscribe"]
    assert "--except" in HELP_TEXT
