"""Operators: users and user groups; a group's members read from Slack, never trusted stale."""

from __future__ import annotations

import pytest

from bot.chat.access import GROUP_TTL, STALE_AFTER, Access, MembershipUnknown


class Groups:
    def __init__(self, members: dict[str, list[str]]) -> None:
        self.members_of = members
        self.down = False
        self.reads = 0

    async def members(self, group_id: str) -> list[str]:
        self.reads += 1
        if self.down:
            raise ConnectionError("Slack does not answer")
        return self.members_of.get(group_id, [])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_member_of_an_operator_group_is_an_operator() -> None:
    groups = Groups({"SOPS": ["UANA"]})
    access = Access(["UBOB", "SOPS"], groups)
    assert await access.is_operator("UANA")
    assert await access.is_operator("UBOB")
    assert not await access.is_operator("UEVE")


async def test_membership_is_read_again_after_a_few_minutes() -> None:
    groups, clock = Groups({"SOPS": ["UANA"]}), Clock()
    access = Access(["SOPS"], groups, clock=clock)
    await access.is_operator("UANA")
    await access.is_operator("UANA")
    assert groups.reads == 1
    clock.now += GROUP_TTL + 1
    groups.members_of["SOPS"] = []  # removed from the group
    assert not await access.is_operator("UANA")


async def test_while_slack_is_down_the_last_membership_stands_only_briefly() -> None:
    groups, clock = Groups({"SOPS": ["UANA"]}), Clock()
    access = Access(["SOPS"], groups, clock=clock)
    assert await access.is_operator("UANA")
    groups.down = True
    clock.now += GROUP_TTL + 1  # due for a read, Slack down: the recent answer stands
    assert await access.is_operator("UANA")
    clock.now += STALE_AFTER  # too old now: nothing is changed until Slack answers
    with pytest.raises(MembershipUnknown, match="cannot check the members"):
        await access.is_operator("UANA")
    groups.down = False
    assert await access.is_operator("UANA")


async def test_a_listed_user_needs_no_group_read() -> None:
    groups = Groups({})
    groups.down = True
    access = Access(["UBOB", "SOPS"], groups)
    assert await access.is_operator("UBOB")
    with pytest.raises(MembershipUnknown):
        await access.is_operator("UEVE")
