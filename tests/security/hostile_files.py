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

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Batch" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>"""
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


MAKERS = (shared_strings_bomb, wide_xlsx, wide_csv, bare_cr_csv, long_cells_csv, long_prompts_csv,
          many_problems_csv, inline_text_xlsx)
