"""Tables that never cut a header or a figure, at any width: a terminal, a file, a CI log.

Rich fits a table that is too wide by shrinking its columns and cutting their words with an
ellipsis, so ``pass@1`` and ``pass^3`` both print as ``pass…`` in an 80-column log. Here a
table says which columns hold prose (reasons, descriptions, arguments: they may wrap between
words); every other cell, its header included, is printed whole. When the whole cells do not
fit the width, the rows are stacked instead: a block of ``header  value`` lines per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

__all__ = ["Cell", "Column", "fitted"]

Cell = str | Text
"""A cell: console markup (``"[bold]all[/]"``) or styled text."""

# A prose column is kept wide enough for its longest word (names, ids) up to this many columns,
# and for its header, before a table gives up on columns and stacks its rows; a longer word
# folds.
_LONGEST_WORD = 24


@dataclass(frozen=True)
class Column:
    """One column of a :func:`fitted` table.

    Attributes:
        header: the header, always printed whole (short but unambiguous: ``pass@1``).
        right: right-align the cells (figures).
        prose: the cells may wrap between words; every other cell is kept on its lines whole.
    """

    header: str
    right: bool = False
    prose: bool = False


def _text(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text.from_markup(cell)


def _widest_line(text: Text) -> int:
    return max((line.cell_len for line in text.split("\n")), default=0)


def _longest_word(text: Text) -> int:
    return max((cell_len(word) for word in text.plain.split()), default=0)


def _widths(columns: Sequence[Column], rows: Sequence[Sequence[Text]]) -> tuple[list[int], ...]:
    """Each column's narrowest whole width and its natural (widest) width."""
    least: list[int] = []
    most: list[int] = []
    for index, column in enumerate(columns):
        natural = max([len(column.header), *(_widest_line(row[index]) for row in rows)])
        most.append(natural)
        if column.prose:
            words = max((_longest_word(row[index]) for row in rows), default=0)
            least.append(max(len(column.header), min(words, _LONGEST_WORD)))
        else:
            least.append(natural)
    return least, most


def _overhead(columns: Sequence[Column], style: str) -> int:
    """The columns a table's borders and padding take beyond its cells."""
    probe = _table(columns, [1] * len(columns), style)
    wide = Console(width=10_000)
    return Measurement.get(wide, wide.options, probe).maximum - len(columns)


def _table(columns: Sequence[Column], widths: Sequence[int], style: str) -> Table:
    table = Table(
        header_style=style,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for column, width in zip(columns, widths, strict=True):
        table.add_column(
            column.header,
            justify="right" if column.right else "left",
            width=width,
            no_wrap=not column.prose,
            overflow="fold",
        )
    return table


def _spread(least: list[int], most: list[int], columns: Sequence[Column], spare: int) -> list[int]:
    """Give the spare width to the prose columns, narrowest need first, up to their natural."""
    widths = list(least)
    prose = sorted((i for i, c in enumerate(columns) if c.prose), key=lambda i: most[i] - least[i])
    for position, index in enumerate(prose):
        share = spare // (len(prose) - position)
        grant = min(share, most[index] - least[index])
        widths[index] += grant
        spare -= grant
    return widths


def _stacked(columns: Sequence[Column], rows: Sequence[Sequence[Text]], style: str) -> Group:
    """One block per row: each header, then its value (long values fold, never cut)."""
    blocks: list[RenderableType] = []
    for number, row in enumerate(rows):
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style=style, no_wrap=True)
        grid.add_column(overflow="fold")
        for column, cell in zip(columns, row, strict=True):
            grid.add_row(column.header, cell)
        if number:
            blocks.append(Text(""))
        blocks.append(grid)
    return Group(*blocks)


def fitted(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    width: int,
    *,
    title: str | None = None,
    caption: str | None = None,
    style: str = "bold",
) -> RenderableType:
    """A table of ``rows`` within ``width`` columns, with no header or figure cut.

    Args:
        columns: the columns, in order.
        rows: the cells of each row, one per column.
        width: the width to fit (the console's: 80 when stdout is a file or a pipe).
        title: a line above the table (it wraps between words like any text).
        caption: a line below it.
        style: the headers' style.

    Returns:
        The table when its whole cells fit ``width``, else the rows stacked.
    """
    texts = [[_text(cell) for cell in row] for row in rows]
    least, most = _widths(columns, texts)
    spare = width - _overhead(columns, style) - sum(least)
    body: RenderableType
    if spare < 0:
        body = _stacked(columns, texts, style)
    else:
        body = _table(columns, _spread(least, most, columns, spare), style)
        for row in texts:
            body.add_row(*row)
    parts: list[RenderableType] = []
    if title:
        parts.append(Text(title, style="bold"))
    parts.append(body)
    if caption:
        parts.append(Text(caption, style="dim"))
    return Group(*parts)
