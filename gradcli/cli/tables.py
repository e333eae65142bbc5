"""Tables at the terminal's width (SPEC 6.4): rich's tables, turned on their side when too
wide, a matrix in blocks of columns, the closing text wrapped, and tall tables drawn as rich
draws them without rich's per-cell layout.

``print_table`` draws one (the Writer's table format); ``table_text`` gives a matrix's
text (grad's Hessian); ``wrap_notes`` fits the lines under a table; ``console`` is the rich
Console every table is drawn on (width: the terminal's, ``COLUMNS`` in a pipe, else 80).
rich is imported only when a table is drawn.
"""
from __future__ import annotations

import math
import numbers
import sys

TABLE_DIGITS = 10  # significant digits of a number in a table (plain, CSV, JSON: all of them)


def table_cell(value) -> str:
    """Text of a table cell: a float to TABLE_DIGITS significant digits (its shortest repr
    when that is as short), integers and text as they are."""
    if type(value) is float or (isinstance(value, numbers.Real) and not isinstance(value, bool)
                                and not isinstance(value, numbers.Integral)):
        x = float(value)
        short = f"{x:.{TABLE_DIGITS}g}"
        if not math.isfinite(x) or float(short) == x:
            return repr(x)
        return short if any(c in short for c in ".e") else short + ".0"  # 1.0000000000049
    if value is None:
        return ""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if hasattr(value, "dtype"):  # a numpy number of another kind
        return repr(float(value))
    return str(value)


def console(out=None, width: int | None = None):
    """A rich Console on ``out`` (default stdout) whose width is the terminal's (COLUMNS in a
    pipe, else 80); a closed pipe raises BrokenPipeError (rich would exit 1 itself)."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError

    return _Console(file=out or sys.stdout, highlight=False, soft_wrap=False, width=width)


def _width(renderable, con) -> int:
    from rich.measure import Measurement

    return Measurement.get(con, con.options.update_width(1 << 16), renderable).maximum


def _rich_table(title, columns, texts, caption, right, header=True, edge=True):
    from rich.table import Table

    table = Table(title=title, caption=caption, title_justify="left", show_header=header,
                  show_edge=edge)
    for name, r in zip(columns, right):
        table.add_column(name, justify="right" if r else "left", overflow="fold")
    for row in texts:
        table.add_row(*row)
    return table


def print_table(title: str | None, columns: list[str], rows: list[list], *, file=None,
                caption: str | None = None, numeric: list[bool] | None = None) -> None:
    """Draw a table no wider than the terminal: as it is when it fits (a tall one without
    its outer edge if that makes it fit; from TALL rows by box_lines, rich's text); else
    turned on its side (a line per heading, a column per row, as many rows side by side as
    fit, the rest below); numbers right-justified, to TABLE_DIGITS digits."""
    con = console(file)
    texts = [[table_cell(v) for v in row] for row in rows]
    if numeric is not None:
        right = list(numeric)
    else:
        right = [all(not isinstance(row[i], str) for row in rows) if rows else True
                 for i in range(len(columns))]
    if title:  # a line of its own, wrapped at the terminal (rich would wrap it at the table)
        from rich.text import Text

        con.print(Text(title), overflow="fold")
    if len(rows) >= TALL and caption is None:  # rich takes ~0.6 ms a row: drawn here
        for edge in (True, False):
            lines = box_lines(columns, texts, right, edge)
            if cell_len(lines[0]) <= con.width:
                _write_box(con, lines, edge)
                return
    table = _rich_table(None, columns, texts, caption, right)
    if _width(table, con) <= con.width or not rows:
        con.print(table)
        return
    if len(rows) > len(columns):  # a tall table (an iteration table): first without its edge
        table = _rich_table(None, columns, texts, caption, right, edge=False)
        if _width(table, con) <= con.width:
            con.print(table)
            return
    # on its side: the first column's values head the columns ("step 0 25 50", "order 0 1 2")
    body = list(zip(*texts))  # one tuple per heading
    head, rest = columns[0], list(zip(columns[1:], body[1:]))
    chunks, start = [], 0
    while start < len(rows):
        end = start + 1
        while end < len(rows):
            trial = _rich_table(None, [head, *body[0][start:end + 1]],
                                [[h, *cells[start:end + 1]] for h, cells in rest], None,
                                [False] + [True] * (end + 1 - start))
            if _width(trial, con) > con.width:
                break
            end += 1
        chunks.append((start, end))
        start = end
    for i, (a, b) in enumerate(chunks):
        con.print(_rich_table(None, [head, *body[0][a:b]],
                              [[h, *cells[a:b]] for h, cells in rest],
                              caption if i == len(chunks) - 1 else None,
                              [False] + [True] * (b - a)))


TALL = 200  # rows from which a table that fits is drawn by box_lines (rich's text, 100x faster)


def cell_len(text: str) -> int:
    from rich.cells import cell_len as length

    return length(text)


def box_lines(columns: list[str], texts: list[list[str]], right: list[bool],
              edge: bool = True) -> list[str]:
    """The lines rich draws for a table that fits (box HEAVY_HEAD, a space either side of
    each cell, the headings justified as their column), without rich's per-cell layout:
    100,000 rows took rich 65 s, and ``| head -1`` waited 44 s for its first line."""
    widths = [max([cell_len(h), *(cell_len(row[i]) for row in texts)])
              for i, h in enumerate(columns)]

    def line(cells, outer: str, inner: str) -> str:
        body = inner.join(
            f" {' ' * (w - cell_len(c)) + c if r else c + ' ' * (w - cell_len(c))} "
            for c, w, r in zip(cells, widths, right))
        return outer[0] + body + outer[1] if edge else body

    def rule(fill: str, corners: str) -> str:
        body = corners[1].join(fill * (w + 2) for w in widths)
        return corners[0] + body + corners[2] if edge else body

    lines = [rule("━", "┏┳┓")] if edge else []
    lines += [line(columns, "┃┃", "┃"), rule("━", "┡╇┩")]
    lines += [line(row, "││", "│") for row in texts]
    if edge:
        lines.append(rule("─", "└┴┘"))
    return lines


def _write_box(con, lines: list[str], edge: bool) -> None:
    """box_lines on the console: the headings in rich's header style (bold on a terminal),
    the rest as they are, in one write."""
    from rich.text import Text

    heading = 1 if edge else 0
    if edge:
        con.file.write(lines[0] + "\n")
    con.print(Text(lines[heading], style="table.header"))
    con.file.write("\n".join(lines[heading + 1:]) + "\n")


def table_text(title: str | None, columns: list[str], rows: list[list], *,
               numeric: list[bool] | None = None, width: int | None = None) -> str:
    """print_table's output as a string (for a table drawn under another: a Hessian)."""
    import io

    out = io.StringIO()
    if width is None:
        width = console().width
    con = console(out, width)
    texts = [[table_cell(v) for v in row] for row in rows]
    right = numeric if numeric is not None else [not isinstance(v, str) for v in rows[0]]
    for a, b in _column_blocks(con, columns, texts, right):
        con.print(_rich_table(title if a == 1 else None, [columns[0], *columns[a:b]],
                              [[row[0], *row[a:b]] for row in texts], None,
                              [right[0], *right[a:b]]))
    return out.getvalue().rstrip("\n")


def _column_blocks(con, columns, texts, right) -> list[tuple[int, int]]:
    """The columns after the first (the rows' names) in blocks [a, b) that each fit the
    console beside the first, as a matrix is printed in blocks of columns (a 10-variable
    Hessian at 80 columns: its numbers whole, not folded into 4-character pieces)."""
    blocks, a = [], 1
    while a < len(columns) or not blocks:
        b = a + 1
        while b < len(columns):
            trial = _rich_table(None, [columns[0], *columns[a:b + 1]],
                                [[row[0], *row[a:b + 1]] for row in texts], None,
                                [right[0], *right[a:b + 1]])
            if _width(trial, con) > con.width:
                break
            b += 1
        blocks.append((a, min(b, len(columns))))
        a = b
    return blocks


def wrap_notes(text: str, width: int) -> str:
    """A table's closing text at the terminal's width: a prose line longer than ``width``
    wrapped at spaces, not inside ``name = value`` (its continuation indented two more);
    the lines of a table drawn in it (box characters) and --symbolic formulas
    (``  order k: ...``, one line each so that they copy whole) as they are."""
    if all(len(line) <= width for line in text.split("\n")):
        return text
    import textwrap

    lines = []
    for line in text.split("\n"):
        if (len(line) <= width or any("\u2500" <= c <= "\u257f" for c in line)
                or line.startswith("  order ")):
            lines.append(line)
            continue
        indent = line[:len(line) - len(line.lstrip())]
        glued = line.replace(" = ", "\x00=\x00")  # "x = 1.5" stays on one line
        lines += [part.replace("\x00", " ") for part in textwrap.wrap(
            glued, width, subsequent_indent=indent + "  ", break_long_words=False,
            break_on_hyphens=False)] or [line]
    return "\n".join(lines)
