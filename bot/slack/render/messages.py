"""Plain messages: notices, errors, help, and packing long text into sections.

``notice``/``error``/``help_blocks`` take mrkdwn written by the bot (it may hold `code`,
mentions and links); callers escape any user-typed part with :func:`bot.slack.render.text.escape`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from slack_sdk.models.blocks import Block, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.slack.render.text import fit, safe_cut, truncate

SECTION_LIMIT = 3000  # characters of text in one section block
MESSAGE_BLOCKS = 50  # blocks in one message


def mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def section(text: str) -> SectionBlock:
    return SectionBlock(text=mrkdwn(fit(text, SECTION_LIMIT)))


def chunk_lines(lines: Iterable[str], limit: int = SECTION_LIMIT) -> list[str]:
    """Join lines into as few texts of at most ``limit`` characters as possible.

    A single line longer than ``limit`` is cut into pieces, never inside a link, a mention, a
    date or an escaped character.
    """
    chunks: list[str] = []
    current = ""
    for line in lines:
        for piece in _pieces(line, limit):
            candidate = f"{current}\n{piece}" if current else piece
            if current and len(candidate) > limit:
                chunks.append(current)
                candidate = piece
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def _pieces(line: str, limit: int) -> list[str]:
    pieces = []
    while len(line) > limit:
        cut = safe_cut(line, limit) or limit  # a token longer than a section: cut it anyway
        pieces.append(line[:cut])
        line = line[cut:]
    return [*pieces, line]


def packed_sections(lines: Iterable[str], max_blocks: int) -> list[Block]:
    """Sections holding ``lines``; past ``max_blocks`` the rest is dropped with a note."""
    chunks = chunk_lines(lines)
    if len(chunks) > max_blocks:
        chunks = [*chunks[: max_blocks - 1], "… (cut here: too long for one Slack message)"]
    return [section(chunk) for chunk in chunks]


def notice(text: str) -> list[Block]:
    return [section(text)]


def error(text: str) -> list[Block]:
    return [section(f":warning: {text}")]


def help_blocks(lines: Sequence[str], title: str = "How to use /cron") -> list[Block]:
    """A header and the help lines, split into sections of at most 3000 characters."""
    header = HeaderBlock(text=truncate(title, 150))
    return [header, *packed_sections(lines, MESSAGE_BLOCKS - 1)]
