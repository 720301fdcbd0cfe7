"""What the bot says when something cannot be done: refusals, refs that lead nowhere or to
several jobs, typos in a command, provider errors, form errors, its own failures.

``chat/`` and ``providers/`` describe a problem in plain sentences (Slack-free); here they
become mrkdwn, escaped once, so what a user typed or a provider answered pings nobody. Each
function returns mrkdwn for both a message's ``text`` and :func:`bot.slack.render.messages.error`.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.chat.service import Ambiguous, NoMatch, RefError
from bot.slack.render.conceal import short_ref
from bot.slack.render.text import escape, fit, inline, job_name, ref_code, truncate
from providers.errors import ProviderError

PICKS = 8  # jobs listed when a name matches several
TYPED_LIMIT = 200  # characters of what was typed, quoted back
SENTENCE_LIMIT = 1000  # characters of a sentence from chat/ or a provider
OPERATORS_NAMED = 20
TEXT_LIMIT = 3000  # the whole answer: a message's text and its one section


def refusal(verb: str, users: Iterable[str], groups: Iterable[str]) -> str:
    """The answer to a non-operator: who may, with mentions that work. Nothing is changed."""
    names = [f"<@{escape(user)}>" for user in sorted(users)]
    names += [f"<!subteam^{escape(group)}>" for group in groups]
    if len(names) > OPERATORS_NAMED:
        names = [*names[:OPERATORS_NAMED], f"{len(names) - OPERATORS_NAMED} more"]
    if not names:
        return (
            f"Nobody can {verb} jobs through cronops yet: `access.operators` in cronops.yml "
            "is empty. Nothing was changed."
        )
    return f"Only operators can {verb} jobs; operators are {', '.join(names)}. Nothing was changed."


def membership_unknown(group: str) -> str:
    """The answer while an operator group's members cannot be read (for too long to trust
    what was known): nothing is changed until Slack answers again."""
    return (
        f"cronops cannot check the members of <!subteam^{escape(group)}> right now (Slack does "
        "not answer), so it changes nothing; try again in a few minutes. Nothing was changed."
    )


def ref_problem(error: RefError) -> str:
    """No job, or several jobs, match what was typed: the pick-list or the closest names."""
    if isinstance(error, Ambiguous):
        return fit(_ambiguous(error), TEXT_LIMIT)
    if isinstance(error, NoMatch):
        return fit(_no_match(error), TEXT_LIMIT)
    return _plain(error.message)


def parse_problem(message: str, usage: str) -> str:
    """A typo in a `/cron` command (it quotes what was typed) and how the command goes."""
    return f"{_plain(message)}\nUsage: {_plain(usage)}"


def provider_problem(error: ProviderError) -> str:
    return _plain(error.user_message)


def form_problem(errors: Iterable[str]) -> str:
    return _plain("; ".join(errors))


def plain_problem(text: str) -> str:
    """Any other sentence that may quote what a provider or a user wrote."""
    return _plain(text)


def _plain(text: str) -> str:
    return fit(escape(truncate(text, SENTENCE_LIMIT)), SENTENCE_LIMIT) if text.strip() else "…"


def internal_problem(incident: str) -> str:
    return (
        f"Something went wrong inside cronops (logged as `{escape(incident)}`). "
        "Nothing was changed that the message above does not say; try again in a moment."
    )


def _typed(text: str) -> str:
    """What was typed, quoted back as code; a monitor code typed in full is cut too."""
    return f"`{inline(short_ref(text), TYPED_LIMIT)}`"


def _ambiguous(error: Ambiguous) -> str:
    count = len(error.candidates)
    picks = [f"• {ref_code(job)} {job_name(job.name, 80)}" for job in error.candidates[:PICKS]]
    if count > PICKS:
        picks.append(f"…and {count - PICKS} more")
    return "\n".join([f"{count} jobs match {_typed(error.text)}; use a ref:", *picks])


def _no_match(error: NoMatch) -> str:
    closest = ", ".join(job_name(name, 80) for name in error.closest)
    hint = f" Closest: {closest}." if closest else ""
    look = f"/cron list {error.account}" if error.account else f"/cron list {error.text}"
    return f"No job matches {_typed(error.text)}.{hint} Try {_typed(look)}."
