"""A1 notation: parse "'My Sheet'!A1:B2", "A:C", "2:5", "A1:1", a bare sheet name; format back."""
import re
from dataclasses import dataclass
from typing import Optional

_ENDPOINT = re.compile(r"^\$?([A-Za-z]{0,3})\$?([0-9]*)$")
_SIMPLE_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CELL_LIKE = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*)$")


@dataclass
class Cells:
    """0-based half-open bounds; None = unbounded on that side's end (starts are never None)."""
    r0: int
    c0: int
    r1: Optional[int]
    c1: Optional[int]
    single: bool = False  # written as one cell ("B2"): acts as an anchor for writes


def col_to_index(letters):
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def index_to_col(i):
    s = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        s = chr(65 + rem) + s
    return s


def split_sheet(text):
    """Return (sheet title or None, cell part or None). Quoted titles use '' for a quote."""
    if text.startswith("'"):
        i, title = 1, ""
        while i < len(text):
            if text[i] == "'":
                if text[i + 1:i + 2] == "'":
                    title += "'"
                    i += 2
                    continue
                rest = text[i + 1:]
                if rest == "":
                    return title, None
                if rest.startswith("!"):
                    return title, rest[1:] or None
                raise ValueError(text)
            title += text[i]
            i += 1
        raise ValueError(text)
    if "!" in text:
        title, cells = text.rsplit("!", 1)
        return title, cells or None
    return None, text


def _endpoint(part):
    m = _ENDPOINT.match(part.strip())
    if not m or (not m.group(1) and not m.group(2)):
        raise ValueError(part)
    col = col_to_index(m.group(1)) if m.group(1) else None
    row = int(m.group(2)) - 1 if m.group(2) else None
    if row is not None and row < 0:
        raise ValueError(part)
    return col, row


def parse_cells(spec):
    """Parse the cell part ("A1", "A1:B2", "A:C", "2:5", "A1:1", "A2:D")."""
    parts = spec.split(":")
    if len(parts) == 1:
        col, row = _endpoint(parts[0])
        if col is None or row is None:
            raise ValueError(spec)
        return Cells(row, col, row + 1, col + 1, single=True)
    if len(parts) != 2:
        raise ValueError(spec)
    (ca, ra), (cb, rb) = _endpoint(parts[0]), _endpoint(parts[1])
    if (ca is None and cb is not None) or (ra is None and rb is not None and ca is not None
                                           and cb is None and False):
        raise ValueError(spec)
    if ca is None and cb is None:  # "2:5" whole rows
        lo, hi = sorted([ra, rb])
        return Cells(lo, 0, hi + 1, None)
    c_lo = min(ca, cb) if cb is not None else ca
    c_hi = max(ca, cb) + 1 if cb is not None else None
    r_start = ra if ra is not None else 0
    if rb is None:
        return Cells(r_start, c_lo, None, c_hi)
    r_lo, r_hi = sorted([r_start, rb])
    return Cells(r_lo, c_lo, r_hi + 1, c_hi)


def looks_like_cells(text):
    try:
        parse_cells(text)
        return True
    except ValueError:
        return False


def quote_title(title):
    if _SIMPLE_TITLE.match(title) and not _CELL_LIKE.match(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def cells_text(r0, c0, r1, c1):
    start = f"{index_to_col(c0)}{r0 + 1}"
    if r1 - r0 == 1 and c1 - c0 == 1:
        return start
    return f"{start}:{index_to_col(c1 - 1)}{r1}"


def format_range(title, r0, c0, r1, c1):
    return f"{quote_title(title)}!{cells_text(r0, c0, r1, c1)}"
