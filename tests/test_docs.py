"""The documentation's tables are well formed (a row with a missing cell shifts every
number after it into the wrong column)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


def table_rows(text: str) -> list[tuple[int, list[int]]]:
    """(first line, cells per row) of every Markdown table outside code blocks."""
    tables: list[tuple[int, list[int]]] = []
    fenced = False
    current: list[int] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("|"):
            cells = len(re.split(r"(?<!\\)\|", line.strip())) - 2
            if current is None:
                current = []
                tables.append((number, current))
            current.append(cells)
        else:
            current = None
    return tables


def test_table_rows_counts_cells_and_skips_code_blocks():
    text = "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\n| x |\n```\n| c |\n| 3 \\| 4 |\n"
    assert table_rows(text) == [(1, [2, 2, 2]), (8, [1, 1])]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_table_row_has_as_many_cells_as_its_header(page):
    for first, cells in table_rows(page.read_text(encoding="utf-8")):
        assert all(n == cells[0] for n in cells), f"{page.name}: table at line {first} has rows of {cells} cells"


def _options(parser) -> set[str]:
    """The long options of a command, without --help and --verbose (said once, for every command)
    and without the diary's field flags (listed in `kneeemg diary --help` and docs/diary.md, not
    each in the README)."""
    fields = {a for g in parser._action_groups if g.title and " fields" in g.title for a in g._group_actions}
    return {o for a in parser._actions if a not in fields or "--date" in a.option_strings
            for o in a.option_strings if o.startswith("--") and o not in ("--help", "--verbose")}


def test_the_readme_usage_lines_name_every_option_of_each_command():
    from kneeemg.cli import build_parser

    rows = [re.split(r"(?<!\\)\|", line)[1] for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| `kneeemg ")]
    commands = build_parser()._subparsers._group_actions[0].choices
    for name, parser in commands.items():
        subs = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
        parsers = {f"{name} {k}": p for k, p in subs[0].choices.items()} if subs else {name: parser}
        for full, p in parsers.items():
            said = {o for row in rows for part in re.split(r"`\s*(?:/|,)\s*`", row)
                    if re.match(rf"`?kneeemg {full}\b", part.strip()) for o in re.findall(r"--[a-z][a-z-]*", part)}
            assert _options(p) <= said, f"README's `kneeemg {full}` line lacks {sorted(_options(p) - said)}"


def test_the_serial_reconnect_waits_are_the_links_own():
    # docs/protocol.md gave BLE's cap (30 s) for a serial port opened again, which waits 2 s at most
    from kneeemg.transport.base import BACKOFF_S
    from kneeemg.transport.serial import SERIAL_BACKOFF_MAX_S

    text = " ".join((ROOT / "docs" / "protocol.md").read_text(encoding="utf-8").split())
    reconnects = text.split("**Reconnects.**")[1].split("- **")[0]
    assert f"({BACKOFF_S:g} s doubling to {SERIAL_BACKOFF_MAX_S:g} s)" in reconnects
    recording = " ".join((ROOT / "docs" / "recording.md").read_text(encoding="utf-8").split())
    assert f"waits growing from {BACKOFF_S:g} s to at most {SERIAL_BACKOFF_MAX_S:g} s between attempts" in recording
