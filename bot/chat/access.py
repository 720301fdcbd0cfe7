"""Who may change things: ``access.operators`` (user ids and user-group ids).

Reading is open to the workspace; pause, resume, create, edit, delete, mute and unmute are for
operators only, checked on every command, button and modal submission. An empty list means
nobody may change anything. What a refused user is told, naming the operators, is rendered in
:mod:`bot.slack.render.problems`. User-group membership is read with ``usergroups.users.list`` and
cached for a few minutes. When it cannot be read, the last answer stands for at most
:data:`STALE_AFTER` (someone removed from the group keeps no power past that); then changes
are refused, saying why, until membership is known again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

log = logging.getLogger(__name__)

GROUP_TTL = 300.0  # seconds a membership read is reused
STALE_AFTER = 600.0  # seconds a membership read stands in while Slack cannot be asked


class MembershipUnknown(Exception):
    """A user group's members could not be read, and what was known is too old to trust."""

    def __init__(self, group: str) -> None:
        self.group = group  # Slack renders the sentence, with a mention of the group
        super().__init__(
            f"cronops cannot check the members of user group {group} right now (Slack does not "
            "answer), so it changes nothing; try again in a few minutes. Nothing was changed."
        )


class GroupReader(Protocol):
    async def members(self, group_id: str) -> list[str]: ...


class Access:
    def __init__(
        self,
        operators: Sequence[str],
        groups: GroupReader | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = {o for o in operators if not o.startswith("S")}
        self.groups = [o for o in operators if o.startswith("S")]
        self.reader = groups
        self.clock = clock
        self._members: dict[str, tuple[float, set[str]]] = {}

    @property
    def everyone_refused(self) -> bool:
        return not self.users and not self.groups

    async def is_operator(self, user_id: str) -> bool:
        """Whether ``user_id`` may change things; MembershipUnknown when that cannot be told
        (a group's members unreadable for too long, and the user in no other list)."""
        if user_id in self.users:
            return True
        unknown: MembershipUnknown | None = None
        for group in self.groups:
            try:
                if user_id in await self._group_members(group):
                    return True
            except MembershipUnknown as error:
                unknown = error
        if unknown is not None:
            raise unknown
        return False

    async def _group_members(self, group: str) -> set[str]:
        cached = self._members.get(group)
        if cached and self.clock() - cached[0] < GROUP_TTL:
            return cached[1]
        if self.reader is None:
            return set()
        try:
            members = set(await self.reader.members(group))
        except Exception as error:  # Slack unreachable: the last answer, while it is recent
            log.warning("could not read members of user group %s: %s", group, error)
            if cached and self.clock() - cached[0] < STALE_AFTER:
                return cached[1]
            raise MembershipUnknown(group) from None
        self._members[group] = (self.clock(), members)
        return members
