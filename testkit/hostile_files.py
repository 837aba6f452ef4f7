"""The hostile-file corpus of issue 10, generated (never committed as big files).

Each maker writes one file into a folder and returns its path. `scale` shrinks a file for the
tests (just past the limit it must trip) and is 1.0 for the benchmark, which uploads the shapes
the attack used (bench/hostile_uploads.py).
"""
from __future__ import annotations

import random
import string
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\n'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\n'
    '<Default Extension="xml" ContentType="application/xml"/>\n'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\n'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\n'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>\n'
    '</Types>')
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\n'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/>\n'
    '</Relationships>')
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\n'
    '<sheets><sheet name="Batch" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\n'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>\n'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/>\n'
    '</Relationships>')
SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
              '"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
SHEET_TAIL = "</sheetData></worksheet>"


def _letters(index: int) -> str:
    letters, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _xlsx(path: Path, sheet_rows, shared: list[str] | None = None) -> Path:
    """A minimal valid workbook, its sheet XML streamed from `sheet_rows` (XML row strings)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            strings = shared or []
            part.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns='
                       f'"http://schemas.openxmlformats.org/spreadsheetml/2006/main" count='
                       f'"{len(strings)}" uniqueCount="{len(strings)}">'.encode())
            for text in strings:
                part.write(f"<si><t>{escape(text)}</t></si>".encode())
            part.write(b"</sst>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(SHEET_HEAD.encode())
            for row in sheet_rows:
                part.write(row.encode())
            part.write(SHEET_TAIL.encode())
    return path


def _inline_row(number: int, values: list[str]) -> str:
    cells = "".join(f'<c r="{_letters(i)}{number}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
                    for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


def _compressible(rng: random.Random, block: str, noise: int) -> str:
    """A shared block (deflate finds it again within its 32 KB window) plus a little noise: the
    noise sets the compression ratio."""
    return block + "".join(rng.choices(string.ascii_letters, k=noise))


def shared_strings_bomb(folder: Path, scale: float = 1.0) -> Path:
    """1.5 MB that unpacks to 181 MB of shared strings at a ratio of about 120, under the zip-bomb
    ratio of 200 (at scale 0.06, 11 MB: just over the shared-strings cap)."""
    rng = random.Random(10)
    block = "".join(rng.choices(string.ascii_letters, k=2000))
    strings = [_compressible(rng, block, 4) for _ in range(int(181 * 2**20 * scale / 2019))]
    rows = [_inline_row(1, ["prompt", "visibility"]), _inline_row(2, ["a fox", "public"])]
    return _xlsx(folder / "shared-strings-bomb.xlsx", rows, strings)


def wide_xlsx(folder: Path, scale: float = 1.0) -> Path:
    """499 rows × 7,000 cells (9.7 MB at full scale)."""
    rows, columns = max(2, int(499 * scale)), 7000
    header = ["prompt", "visibility"] + [f"note {n}" for n in range(columns - 2)]
    body = (_inline_row(number, ["a fox", "public"] + ["x"] * (columns - 2))
            for number in range(2, rows + 1))
    return _xlsx(folder / "wide.xlsx", [_inline_row(1, header), *body])


def wide_csv(folder: Path, scale: float = 1.0) -> Path:
    """One header row of 400,000 cells (3.6 MB)."""
    path = folder / "wide-header.csv"
    cells = max(2000, int(400_000 * scale))
    path.write_text(",".join(f"h{n}" for n in range(cells)) + "\nx\n")
    return path


def bare_cr_csv(folder: Path, scale: float = 1.0) -> Path:
    """More lines than any reader takes, ended by bare \\r (old Mac files) so that counting
    only \\n sees one line."""
    path = folder / "bare-cr.csv"
    path.write_bytes(b"prompt,visibility\r" + b"a fox,public\r" * 60_000)
    return path


def long_cells_csv(folder: Path, scale: float = 1.0) -> Path:
    """Five prompts of a million characters each."""
    path = folder / "long-prompts.csv"
    prompt = "a fox " * int(1_000_000 * scale / 6)
    path.write_text("prompt,visibility\n" + "".join(f"{prompt},public\n" for _ in range(5)))
    return path


def long_prompts_csv(folder: Path, scale: float = 1.0) -> Path:
    """Prompts just over the providers' limit but within a cell's: a validation error each."""
    path = folder / "over-limit-prompts.csv"
    prompt = "a fox " * 6000  # 36,000 characters
    path.write_text("prompt,visibility\n" + "".join(f"{prompt},public\n" for _ in range(5)))
    return path


def many_problems_csv(folder: Path, scale: float = 1.0) -> Path:
    """A full sheet where every cell is wrong: thousands of problems."""
    path = folder / "many-problems.csv"
    header = "prompt,visibility,aspect_ratio,magic_prompt,model,num_images,seed_number,rendering"
    row = ",nobody,7:5,maybe,9.9,12,-4,slow\n"
    path.write_text(header + "\n" + row * 499)
    return path


def inline_text_xlsx(folder: Path, scale: float = 1.0) -> Path:
    """Inline strings (no shared-strings part to cap): 900 rows of 20,000-character prompts,
    18 million characters in a file of a few hundred KB."""
    rng = random.Random(7)
    block = "".join(rng.choices(string.ascii_letters, k=20_000))
    body = (_inline_row(number, [_compressible(rng, block, 60), "public"])
            for number in range(2, 902))
    return _xlsx(folder / "inline-text.xlsx", [_inline_row(1, ["prompt", "visibility"]), *body])


# -- issue 23: shapes inside every documented limit that still cost a worker 0.6–3.7 GB ----------

EXTERNAL_LINK = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
                 "externalLink")
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SMALL_SHEET = [_inline_row(1, ["prompt", "visibility"]), _inline_row(2, ["a fox", "public"])]


def _streamed_part(archive: zipfile.ZipFile, name: str, head: str, pieces, tail: str) -> None:
    with archive.open(name, "w", force_zip64=True) as part:
        part.write(head.encode())
        for piece in pieces:
            part.write(piece.encode())
        part.write(tail.encode())


def _repeated(rng: random.Random, make, size: int):
    """Pieces from `make(rng, n)` until `size` bytes: varied enough to stay under ratio 200."""
    written, number = 0, 0
    while written < size:
        piece = make(rng, number)
        written, number = written + len(piece), number + 1
        yield piece


def _with_parts(path: Path, extra, workbook: str = WORKBOOK, workbook_rels: str = WORKBOOK_RELS,
                sheet_name: str = "xl/worksheets/sheet1.xml", sheet_rows=SMALL_SHEET) -> Path:
    """A small valid workbook plus `extra(archive)`'s parts."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        _streamed_part(archive, sheet_name, SHEET_HEAD, sheet_rows, SHEET_TAIL)
        extra(archive)
    return path


_CACHED_ROW = "".join(f'<cell r="A{n}" t="n"><v>0</v></cell>' for n in range(1, 60))


def _cached_cell(rng: random.Random, number: int) -> str:
    """Cached cells that repeat (deflate finds them again) with a little noise: ratio ~150."""
    return _CACHED_ROW + f'<cell r="B{number}"><v>{rng.randint(0, 9999)}</v></cell>'


def external_links_xlsx(folder: Path, scale: float = 1.0) -> Path:
    """24 external-link parts of 7.9 MB each (cached values of another workbook), linked from
    the workbook: inside every size limit, and nothing a sheet of prompts needs."""
    count, size = max(2, int(24 * scale)), int(7.9 * 2**20 * max(scale, 0.02))
    rels = WORKBOOK_RELS.replace("</Relationships>", "".join(
        f'<Relationship Id="rIdx{n}" Type="{EXTERNAL_LINK}" '
        f'Target="externalLinks/externalLink{n}.xml"/>' for n in range(count)) + "</Relationships>")
    workbook = WORKBOOK.replace("</workbook>", "<externalReferences>" + "".join(
        f'<externalReference r:id="rIdx{n}"/>' for n in range(count)) +
        "</externalReferences></workbook>")

    def links(archive):
        for n in range(count):
            _streamed_part(archive, f"xl/externalLinks/externalLink{n}.xml",
                           f'<externalLink xmlns="{MAIN}"><externalBook><sheetDataSet>'
                           '<sheetData sheetId="0">',
                           _repeated(random.Random(n), _cached_cell, size),
                           "</sheetData></sheetDataSet></externalBook></externalLink>")
    return _with_parts(folder / "external-links.xlsx", links, workbook, rels)


def odd_path_sheet_xlsx(folder: Path, scale: float = 1.0) -> Path:
    """The worksheet stored as xl/ws/data.bin (the relationships say where), 150 MB of rows:
    a limit that counted only xl/worksheets/sheet* never saw it."""
    rng, size = random.Random(3), int(150 * 2**20 * scale)
    rows = _repeated(rng, lambda r, n: _inline_row(n + 2, ["a fox", "public"]),
                     size)
    return _with_parts(folder / "odd-path-sheet.xlsx", lambda archive: None,
                       workbook_rels=WORKBOOK_RELS.replace("worksheets/sheet1.xml", "ws/data.bin"),
                       sheet_name="xl/ws/data.bin", sheet_rows=[SMALL_SHEET[0], *rows])


def odd_path_small_sheet_xlsx(folder: Path, scale: float = 1.0) -> Path:
    """A good sheet at an odd path: read from wherever the relationships put it."""
    return _with_parts(folder / "odd-path-small.xlsx", lambda archive: None,
                       workbook_rels=WORKBOOK_RELS.replace("worksheets/sheet1.xml", "ws/data.bin"),
                       sheet_name="xl/ws/data.bin")


def styles_bomb_xlsx(folder: Path, scale: float = 1.0) -> Path:
    """7.9 MB of styles: fonts and 60,000 cell formats (44 KB packed at full size). openpyxl
    builds objects for each; a sheet of prompts needs only which formats are dates."""
    size = int(7.9 * 2**20 * scale)
    fonts = _repeated(random.Random(5), lambda r, n: f'<font><sz val="{r.randint(6, 72)}"/>'
                      f'<name val="F{r.randint(0, 99999)}"/></font>', size // 2)
    formats = (f'<xf numFmtId="{n % 50}" fontId="{n % 1000}"/>' for n in range(int(60_000 * scale)))
    return _with_parts(folder / "styles-bomb.xlsx", lambda archive: _styles_part(
        archive, fonts, formats), workbook_rels=WORKBOOK_RELS.replace(
        "</Relationships>", '<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>'))


def _styles_part(archive, fonts, formats) -> None:
    with archive.open("xl/styles.xml", "w", force_zip64=True) as part:
        part.write(f'<styleSheet xmlns="{MAIN}"><fonts>'.encode())
        for font in fonts:
            part.write(font.encode())
        part.write(b"</fonts><cellXfs>")
        for xf in formats:
            part.write(xf.encode())
        part.write(b"</cellXfs></styleSheet>")


def rich_text_xlsx(folder: Path, scale: float = 1.0) -> Path:
    """7.9 MB of shared strings made of one-letter rich-text runs, each with its own font."""
    size = int(7.9 * 2**20 * scale)
    runs = _repeated(random.Random(9), lambda r, n: (
        f'<r><rPr><sz val="{r.randint(6, 72)}"/></rPr><t>{r.choice(string.ascii_letters)}</t></r>'
        + ("</si><si>" if n % 2000 == 1999 else "")), size)

    def strings(archive):
        _streamed_part(archive, "xl/sharedStrings.xml", f'<sst xmlns="{MAIN}"><si>', runs,
                       "</si></sst>")
    return _with_parts(folder / "rich-text.xlsx", strings)


def one_wide_row_xlsx(folder: Path, scale: float = 1.0) -> Path:
    """One row of 2 million empty cells (formatting only, varied) after a good header."""
    rng = random.Random(11)
    cells = (f'<c s="{rng.randint(0, 9999)}"/>' for _ in range(int(2_000_000 * scale)))
    return _with_parts(folder / "one-wide-row.xlsx", lambda archive: None,
                       sheet_rows=[SMALL_SHEET[0], '<row r="2">', *cells, "</row>"])


def deep_nesting_xlsx(folder: Path, scale: float = 1.0) -> Path:
    """2 million elements inside one another in the worksheet (varied names)."""
    rng = random.Random(13)
    names = ["".join(rng.choices(string.ascii_letters, k=2)) for _ in range(int(2_000_000 * scale))]
    return _with_parts(folder / "deep-nesting.xlsx", lambda archive: None, sheet_rows=[
        SMALL_SHEET[0], *(f"<{name}>" for name in names), *(f"</{name}>" for name in
                                                           reversed(names))])


def many_tabs_xlsx(folder: Path, scale: float = 1.0) -> Path:
    """50,000 tabs named in the workbook (each the same small sheet)."""
    tabs = max(2, int(50_000 * scale))
    workbook = WORKBOOK.replace('<sheet name="Batch" sheetId="1" r:id="rId1"/>', "".join(
        f'<sheet name="Batch {n}" sheetId="{n + 1}" r:id="rId1"/>' for n in range(tabs)))
    return _with_parts(folder / "many-tabs.xlsx", lambda archive: None, workbook)


def quoted_newlines_csv(folder: Path, scale: float = 1.0) -> Path:
    """One record of 400,000 cells whose lines break inside quotes: each line has one comma."""
    path = folder / "quoted-newlines.csv"
    cells = max(2000, int(400_000 * scale))
    path.write_text("prompt,visibility\n" + ",".join('"a\nb"' for _ in range(cells)) + "\n")
    return path


def separator_lines_csv(folder: Path, scale: float = 1.0) -> Path:
    """One record of 400,000 cells cut by \x1c (a line break to str.splitlines, not to csv)."""
    path = folder / "separator-lines.csv"
    cells = max(2000, int(400_000 * scale))
    path.write_text("prompt,visibility\n" + "\x1c,".join("x" for _ in range(cells)) + "\n")
    return path


MAKERS = (shared_strings_bomb, wide_xlsx, wide_csv, bare_cr_csv, long_cells_csv, long_prompts_csv,
          many_problems_csv, inline_text_xlsx)
# Issue 23's shapes: each read within the child's ceiling, refused or accepted as it deserves.
MAKERS_23 = (external_links_xlsx, odd_path_sheet_xlsx, styles_bomb_xlsx, rich_text_xlsx,
             one_wide_row_xlsx, deep_nesting_xlsx, many_tabs_xlsx, quoted_newlines_csv,
             separator_lines_csv)
