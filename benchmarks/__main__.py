"""``python -m benchmarks [NAME ...]``: run benchmarks; print, write RESULTS.md and history."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.report import Section, document, history_entry

NAMES = ("ack", "poll", "alert", "budget", "replicas")
RESULTS = Path(__file__).with_name("RESULTS.md")
HISTORY = Path(__file__).with_name("history.jsonl")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"of {', '.join(NAMES)}; default: all"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS,
        help="default: %(default)s (only a run written there joins the history)",
    )
    args = parser.parse_args(argv)
    if unknown := [name for name in args.names if name not in NAMES]:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    names = args.names or list(NAMES)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    started, began = datetime.now(UTC), time.monotonic()
    sections: list[Section] = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"benchmarks.bench_{name}")
        clock = time.monotonic()
        section: Section = module.run()
        section.seconds = time.monotonic() - clock
        sections.append(section)
        verdicts = ", ".join(t.verdict for t in section.targets)
        print(f"{name}: {section.seconds:.0f} s ({verdicts})", file=sys.stderr, flush=True)
    command = " ".join(["python -m benchmarks", *(args.names or [])])
    entries = [json.loads(line) for line in HISTORY.read_text(encoding="utf-8").splitlines()]
    if args.output == RESULTS:  # a trial run written elsewhere stays out of the history
        entries.append(history_entry(sections, command, _commit(), started))
        with HISTORY.open("a", encoding="utf-8") as history:
            history.write(json.dumps(entries[-1], ensure_ascii=False) + "\n")
    text = document(sections, command, started, time.monotonic() - began, entries)
    args.output.write_text(text)
    print(text)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _commit() -> str:
    """The commit measured, ``+dirty`` when the work tree has uncommitted changes."""

    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
        return run.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


if __name__ == "__main__":
    sys.exit(main())
