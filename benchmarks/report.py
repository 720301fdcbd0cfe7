"""Figures, targets and the Markdown report every benchmark returns."""

from __future__ import annotations

import math
import os
import platform
import resource
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class Target:
    """One target: what it says, the figure measured, whether it was met."""

    text: str
    measured: str
    met: bool

    @property
    def verdict(self) -> str:
        return "PASS" if self.met else "MISS"


@dataclass
class Section:
    """One benchmark's results: tables of figures, targets, and notes."""

    name: str
    title: str
    setup: str
    tables: list[tuple[list[str], list[list[str]]]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    headlines: dict[str, str] = field(default_factory=dict)  # the history table's columns
    seconds: float = 0.0

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.tables.append((list(header), [[str(cell) for cell in row] for row in rows]))

    def target(self, text: str, measured: str, met: bool) -> None:
        self.targets.append(Target(text, measured, met))

    def headline(self, label: str, figure: str) -> None:
        """A figure for the history table (one column per label, across runs)."""
        self.headlines[label] = figure

    def markdown(self) -> str:
        lines = [f"## {self.title} (`{self.name}`)", "", self.setup, ""]
        for header, rows in self.tables:
            lines += [*_table(header, rows), ""]
        if self.targets:
            rows = [[t.text, t.measured, f"**{t.verdict}**"] for t in self.targets]
            lines += [*_table(["target", "measured", "result"], rows), ""]
        lines += [f"- {note}" for note in self.notes]
        lines += [f"- ran in {self.seconds:.0f} s", ""]
        return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), line(["---"] * len(header)), *(line(row) for row in rows)]


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 300 values is the 297th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def secs(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds:.2f} s"


def ratio(baseline: float, ours: float) -> str:
    """How many times the baseline's figure ours is better (baseline / ours)."""
    if ours <= 0 or math.isnan(ours) or math.isnan(baseline):
        return "n/a"
    return f"{baseline / ours:.1f}×"


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> list[str]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return [
        f"CPU: {model}, {os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), "
        f"shared and noisy: compare ratios, not absolute figures",
        f"Python {platform.python_version()} ({sys.implementation.name}) on "
        f"{platform.system()} {platform.release()}",
    ]


def history_entry(
    sections: Sequence[Section], command: str, commit: str, started: datetime
) -> dict[str, object]:
    """One line of ``history.jsonl``: when, on what commit, the headline figures, targets met."""
    targets = [t for s in sections for t in s.targets]
    return {
        "date": f"{started.astimezone(UTC):%Y-%m-%d %H:%M}",
        "commit": commit,
        "command": command,
        "figures": {f"{s.name}: {label}": v for s in sections for label, v in s.headlines.items()},
        "targets": f"{sum(t.met for t in targets)}/{len(targets)}",
    }


def history_table(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every recorded run, oldest first, one column per headline figure ever reported."""
    columns: dict[str, None] = {}
    for entry in entries:
        columns.update(dict.fromkeys(entry["figures"]))
    header = ["date (UTC)", "commit", *columns, "targets met"]
    rows = [
        [e["date"], f"`{e['commit']}`", *(e["figures"].get(c, "—") for c in columns), e["targets"]]
        for e in entries
    ]
    return _table(header, rows)


def document(
    sections: Sequence[Section],
    command: str,
    started: datetime,
    total: float,
    history: Sequence[Mapping[str, Any]] = (),
) -> str:
    head = [
        "# Benchmarks",
        "",
        "Written by `python -m benchmarks`; do not edit by hand. Every baseline is measured in "
        "the same run as the figure it is compared with.",
        "",
        f"- date: {started.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        f"- command: `{command}` ({total:.0f} s in all)",
        *(f"- {line}" for line in machine()),
        "",
    ]
    summary = [["benchmark", "target", "measured", "result"]]
    for section in sections:
        summary += [[section.name, t.text, t.measured, f"**{t.verdict}**"] for t in section.targets]
    body = [*_table(summary[0], summary[1:]), ""]
    past = [
        "## History",
        "",
        "One row per `make bench` run (`benchmarks/history.jsonl`), oldest first; a run of some "
        "benchmarks only leaves the others' columns empty (—).",
        "",
        *history_table(history),
        "",
    ]
    return "\n".join(head + body + [s.markdown() for s in sections] + (past if history else []))
