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
