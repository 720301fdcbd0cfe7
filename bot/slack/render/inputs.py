"""Modal input blocks, one helper per element type. Each input's action_id is its block_id."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    CheckboxesElement,
    ContextBlock,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.views import View

from bot.slack.forms import INPUT_MAX, Kept, prefillable
from bot.slack.render.ids import BlockId
from bot.slack.render.messages import mrkdwn, section
from bot.slack.render.text import fit, one_line, truncate

Choices = Sequence[tuple[str, str]]  # (value, label)


OPTIONS_MAX = 100  # options in a static select
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150
HINT_LIMIT = 2000


def option(value: str, label: str) -> Option:
    return Option(value=value, text=truncate(one_line(label), OPTION_TEXT_LIMIT) or value[:75])


def _initial(choices: Choices, value: str | None) -> Option | None:
    return next((option(v, label) for v, label in choices if v == value), None)


def text_input(
    block: BlockId,
    label: str,
    *,
    initial: str | None = None,
    placeholder: str | None = None,
    hint: str | None = None,
    multiline: bool = False,
    optional: bool = False,
    max_length: int | None = None,
) -> InputBlock:
    """A text input; a current value too long to fill in is left out, and the hint says that
    leaving the input empty keeps it (:func:`bot.slack.forms.left_to_keep`)."""
    if initial is not None and not prefillable(
        initial, max_length or INPUT_MAX, multiline=multiline
    ):
        if isinstance(initial, Kept):  # shown again after an error, the job's value unknown
            why = "could not be filled in"
        elif len(initial) > (max_length or INPUT_MAX):
            why = f"has {len(initial):,} characters, more than this field holds"
        else:
            why = "has line breaks, which this field cannot show"
        kept = f"The current value {why}: leave it empty to keep it."
        hint = truncate(f"{kept} {hint or ''}".strip(), HINT_LIMIT)
        initial, optional = None, True
    element = PlainTextInputElement(
        action_id=block.value,
        initial_value=initial or None,
        placeholder=placeholder,
        multiline=multiline or None,
        max_length=max_length,
    )
    return InputBlock(
        block_id=block.value, label=label, element=element, hint=hint, optional=optional or None
    )


def select_input(
    block: BlockId,
    label: str,
    choices: Choices,
    *,
    initial: str | None = None,
    hint: str | None = None,
    optional: bool = False,
) -> InputBlock:
    """A static select of at most 100 choices; a value too long for Slack is not offered."""
    offered = [(v, text) for v, text in choices if 0 < len(v) <= OPTION_VALUE_LIMIT][:OPTIONS_MAX]
    element = StaticSelectElement(
        action_id=block.value,
        placeholder="Choose…",
        options=[option(v, text) for v, text in offered],
        initial_option=_initial(offered, initial),
    )
    return InputBlock(
        block_id=block.value, label=label, element=element, hint=hint, optional=optional or None
    )


def radio_input(
    block: BlockId,
    label: str,
    choices: Choices,
    *,
    action_id: str,
    initial: str | None = None,
    dispatch: bool = False,
) -> InputBlock:
    element = RadioButtonsElement(
        action_id=action_id,
        options=[option(v, text) for v, text in choices],
        initial_option=_initial(choices, initial),
    )
    return InputBlock(
        block_id=block.value, label=label, element=element, dispatch_action=dispatch or None
    )


def number_input(
    block: BlockId,
    label: str,
    *,
    initial: float | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    decimal: bool = False,
    hint: str | None = None,
    optional: bool = False,
) -> InputBlock:
    if initial is not None and (
        (minimum is not None and initial < minimum) or (maximum is not None and initial > maximum)
    ):
        initial = None  # the provider's value is outside what the form allows: not filled in
    element = NumberInputElement(
        action_id=block.value,
        is_decimal_allowed=decimal,
        initial_value=initial,
        min_value=minimum,
        max_value=maximum,
    )
    return InputBlock(
        block_id=block.value, label=label, element=element, hint=hint, optional=optional or None
    )


def time_input(
    block: BlockId, label: str, *, initial: str | None = None, hint: str | None = None
) -> InputBlock:
    element = TimePickerElement(action_id=block.value, initial_time=initial, timezone="UTC")
    return InputBlock(block_id=block.value, label=label, element=element, hint=hint, optional=True)


def checkbox_input(
    block: BlockId, label: str, choice: tuple[str, str], checked: bool
) -> InputBlock:
    box = option(*choice)
    element = CheckboxesElement(
        action_id=block.value, options=[box], initial_options=[box] if checked else None
    )
    return InputBlock(block_id=block.value, label=label, element=element, optional=True)


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[mrkdwn(fit(text, 2000))])


def error_section(text: str) -> SectionBlock:
    return section(f":warning: *Not saved.* {text}")


def close_only(title: str, text: str, close: str = "Close") -> View:
    return View(type="modal", title=truncate(title, 24), close=close, blocks=[section(text)])
