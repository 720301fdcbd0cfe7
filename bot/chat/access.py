"""Who may change things: ``access.operators`` (user ids and user-group ids).

Reading is open to the workspace; pause, resume, create, edit, delete, mute and unmute are for
operators only, checked on every command, button and modal submission. An empty list means
nobody may change anything. What a refused user is told, naming the operators, is rendered in
:mod:`bot.slack.render.problems`. User-group membership is read with ``usergroups.users.list`` and
cached for a few minutes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Protocol

log = logging.getLogger(__name__)

GROUP_TTL = 300.0


class GroupReader(Protocol):
    async def members(self, group_id: str) -> list[str]: ...


class Access:
    def __init__(self, operators: Sequence[str], groups: GroupReader | None = None) -> None:
        self.users = {o for o in operators if not o.startswith("S")}
        self.groups = [o for o in operators if o.startswith("S")]
        self.reader = groups
        self._members: dict[str, tuple[float, set[str]]] = {}

    @property
    def everyone_refused(self) -> bool:
        return not self.users and not self.groups

    async def is_operator(self, user_id: str) -> bool:
        if user_id in self.users:
            return True
        for group in self.groups:
            if user_id in await self._group_members(group):
                return True
        return False

    async def _group_members(self, group: str) -> set[str]:
        cached = self._members.get(group)
        if cached and time.monotonic() - cached[0] < GROUP_TTL:
            return cached[1]
        if self.reader is None:
            return set()
        try:
            members = set(await self.reader.members(group))
        except Exception as error:  # Slack unreachable: fail closed, keep the old answer if any
            log.warning("could not read members of user group %s: %s", group, error)
            return cached[1] if cached else set()
        self._members[group] = (time.monotonic(), members)
        return members
