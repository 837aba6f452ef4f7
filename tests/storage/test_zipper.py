"""Batch ZIP: contents, manifest, exact Content-Length, empty batch, flat memory."""
from __future__ import annotations

import csv
import io
import os
import tracemalloc
import zipfile

import pytest

from server.storage import LocalStorage
from server.storage.zipper import MANIFEST_NAME, batch_zip, write_zip
from tests.storage.test_storage import png_bytes, s3_storage  # noqa: F401  (fixtures)


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "images", fsync=False)
    return request.getfixturevalue("s3_storage")


def fill(store, rows=5, per_row=3, size=20_000):
    """Random (incompressible) bytes, like real PNGs."""
    stored = {}
    for row in range(2, 2 + rows):
        for index in range(1, per_row + 1):
            data = png_bytes("x", 8) + os.urandom(size)
            img = store.save("b1", row, index, f"Prompt {row}, ünïcode", data,
                             seed=None if row == 2 else row * 10 + index,
                             used_prompt=f'magic "{row}", with comma', media_type="image/png",
                             preview=index == 3)
            stored[img.name] = data
    return stored


def stream(zs) -> bytes:
    return b"".join(zs)


def test_zip_contents_equal_stored_files(storage):
    stored = fill(storage)
    blob = stream(batch_zip(storage, "b1"))
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert zf.testzip() is None  # every CRC checks out
        names = zf.namelist()
        assert names[0] == MANIFEST_NAME and sorted(names[1:]) == sorted(stored)
        assert names[1:] == sorted(stored)  # sheet order
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
        for name, data in stored.items():
            assert zf.read(name) == data


def test_manifest(storage):
    fill(storage, rows=2, per_row=3)
    with zipfile.ZipFile(io.BytesIO(stream(batch_zip(storage, "b1")))) as zf:
        text = zf.read(MANIFEST_NAME).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["row", "image", "file", "seed", "used_prompt", "preview"]
    assert [(r["row"], r["image"]) for r in rows] == [
        ("2", "1"), ("2", "2"), ("2", "3"), ("3", "1"), ("3", "2"), ("3", "3")]
    assert rows[0]["seed"] == "" and rows[3]["seed"] == "31"
    assert rows[3]["used_prompt"] == 'magic "3", with comma'
    assert rows[3]["file"] == "0003_1_prompt-3-unicode.png"
    assert [r["preview"] for r in rows[:3]] == ["no", "no", "yes"]


FORMULA_PROMPTS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)",
                   "\tTAB", "\rCR", "a = b, plain"]


def test_manifest_cells_that_look_like_formulas_stay_text(tmp_path):
    store = LocalStorage(tmp_path / "images", fsync=False)
    for row, prompt in enumerate(FORMULA_PROMPTS, start=2):
        store.save("b1", row, 1, prompt, png_bytes("x", 8), seed=1, used_prompt=prompt,
                   media_type="image/png", preview=False)
    with zipfile.ZipFile(io.BytesIO(stream(batch_zip(store, "b1")))) as zf:
        text = zf.read(MANIFEST_NAME).decode("utf-8-sig")
    used = [row["used_prompt"] for row in csv.DictReader(io.StringIO(text, newline=""))]
    assert used == ["'" + p for p in FORMULA_PROMPTS[:-1]] + ["a = b, plain"]


def test_content_length_equals_streamed_bytes(storage):
    fill(storage, rows=3, per_row=4)
    zs = batch_zip(storage, "b1")
    announced = len(zs)  # before streaming: what the HTTP response sends
    assert announced == len(stream(zs))


def test_empty_batch_zip_is_valid(storage):
    zs = batch_zip(storage, "nothing-here")
    blob = stream(zs)
    assert len(blob) == len(zs)
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert zf.namelist() == [MANIFEST_NAME]
        assert zf.read(MANIFEST_NAME).decode("utf-8-sig").strip() == (
            "row,image,file,seed,used_prompt,preview")


def test_write_zip(tmp_path, storage):
    stored = fill(storage, rows=2, per_row=2)
    out = tmp_path / "out" / "images.zip"
    size = write_zip(storage, "b1", out)
    assert out.stat().st_size == size
    assert [p.name for p in out.parent.iterdir()] == ["images.zip"]  # no temp left
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None and set(zf.namelist()) == {MANIFEST_NAME, *stored}


def test_memory_stays_flat_for_many_files(tmp_path):
    """500 x 64 KB = 32 MB streamed; the Python heap peak stays under 2 MB (measured ~0.5 MB)."""
    store = LocalStorage(tmp_path, fsync=False)
    for n in range(500):
        row, index = 2 + n // 4, 1 + n % 4
        store.save("big", row, index, f"prompt number {n}", os.urandom(64 * 1024), seed=n,
                   used_prompt=f"used prompt number {n}", media_type="image/png",
                   preview=False)
    tracemalloc.start()
    try:
        zs = batch_zip(store, "big")
        total = sum(len(chunk) for chunk in zs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == len(zs) > 500 * 64 * 1024
    assert peak < 2 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while streaming {total / 1e6:.0f} MB"
