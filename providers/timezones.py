"""IANA timezone names: which are links (other names for a zone) and which name each country.

Read from the ``tzdata`` package, the IANA time zone database as the Python core developers
publish it with each IANA release (a declared dependency, so the names are the same wherever
cronops runs):

- ``tzdata.zi`` lists every link as ``L <target> <link>``, e.g. ``L Asia/Kolkata Asia/Calcutta``
  and ``L Europe/Kyiv Europe/Kiev`` (IANA's ``backward`` file among them);
- ``zone.tab`` names the zone of each country's regions. These are the names PHP lists in
  ``DateTimeZone::listIdentifiers()``: PHP's timezonedb marks every other name "backward
  compatible" and leaves it out of the list (providers.md §6, cron-job.org's ``Job.php``).

No clock and no I/O beyond reading those two files once.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

#: Zones that are UTC under another name; ``UTC`` is the one name every service knows.
UTC_ZONES = frozenset({"UTC", "Etc/UTC", "Etc/GMT"})


def _text(name: str) -> str:
    return files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def links() -> dict[str, str]:
    """Every link name and the name it links to, e.g. ``{"Asia/Calcutta": "Asia/Kolkata"}``."""
    found: dict[str, str] = {}
    for line in _text("tzdata.zi").splitlines():
        if line.startswith("L "):
            _, target, link = line.split()
            found[link] = target
    return found


@lru_cache(maxsize=1)
def country_zones() -> frozenset[str]:
    """The zone names of ``zone.tab``: one or more per country, e.g. ``Asia/Kolkata``."""
    rows = (line.split("\t") for line in _text("zone.tab").splitlines())
    return frozenset(row[2] for row in rows if len(row) >= 3 and not row[0].startswith("#"))


def canonical(name: str) -> str:
    """The zone a name stands for: its link target (followed to the end), ``UTC`` for UTC's
    other names, else the name itself."""
    seen = {name}
    while name in links():
        name = links()[name]
        if name in seen:  # a loop would be a broken database; stop rather than spin
            break
        seen.add(name)
    return "UTC" if name in UTC_ZONES else name
