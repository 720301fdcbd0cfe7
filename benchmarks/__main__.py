"""``python -m benchmarks [ack poll alert budget]``: run benchmarks, print and write RESULTS.md."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.report import Section, document

NAMES = ("ack", "poll", "alert", "budget")
RESULTS = Path(__file__).with_name("RESULTS.md")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"of {', '.join(NAMES)}; default: all"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="default: %(default)s")
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
    text = document(sections, command, started, time.monotonic() - began)
    args.output.write_text(text)
    print(text)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
