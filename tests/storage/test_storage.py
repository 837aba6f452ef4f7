"""Storage: names, refusals, idempotent atomic saves, metadata, local and S3."""
from __future__ import annotations

import multiprocessing
import uuid
from pathlib import Path

import pytest

from server.config import Settings
from server.storage import LocalStorage, S3Storage, make_storage
from server.storage.names import image_name, slugify

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_bytes(tag: int | str, size: int = 2048) -> bytes:
    """Distinct PNG-looking bytes; content checks need no real decoder."""
    unit = f"{tag}:".encode()
    return PNG_MAGIC + (unit * (size // len(unit) + 1))[:size - len(PNG_MAGIC)]


# --------------------------------------------------------------------------- fixtures


def _s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture
def s3_storage(moto_endpoint):
    client = _s3_client(moto_endpoint)
    bucket = f"sb-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3Storage(bucket, prefix="images/", endpoint_url=moto_endpoint, client=client)


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "images")
    return request.getfixturevalue("s3_storage")


def save(store, row=7, index=2, prompt="A cat", data=None, **kw):
    kw.setdefault("seed", 42)
    kw.setdefault("used_prompt", f"{prompt}, magic")
    kw.setdefault("media_type", "image/png")
    kw.setdefault("preview", False)
    return store.save("b1", row, index, prompt, data if data is not None else png_bytes(row),
                      **kw)


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("row, index, prompt, ext, expected", [
    (7, 2, "A sticker design of a cheerful Santa Claus waving", "png",
     "0007_2_a-sticker-design-of-a-cheerful-santa.png"),  # cut at a word
    (2, 1, "Hello, World!", "png", "0002_1_hello-world.png"),
    (499, 4, "  --Crème brûlée  à la   carte-- ", "jpg", "0499_4_creme-brulee-a-la-carte.jpg"),
    (10, 3, "", "png", "0010_3_image.png"),
    (10, 3, "!!! ???", "png", "0010_3_image.png"),
    (10, 3, "東京の夜景", "png", "0010_3_image.png"),
    (1, 1, "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ ①", "png", "0001_1_fullwidth-abc-1.png"),
    (0, 1, "a" * 39 + " b", "png", "0000_1_" + "a" * 39 + ".png"),  # no trailing dash after cut
    (9999, 4, "x" * 100, "webp", "9999_4_" + "x" * 40 + ".webp"),
    (3, 1, "../../etc/passwd", "png", "0003_1_etc-passwd.png"),
])
def test_image_name(row, index, prompt, ext, expected):
    assert image_name(row, index, prompt, ext) == expected


@pytest.mark.parametrize("row, index, ext", [(-1, 1, "png"), (10000, 1, "png"), (1, 0, "png"),
                                             (1, 5, "png"), (1, 1, "p/g"), (1, 1, "")])
def test_image_name_refuses_bad_parts(row, index, ext):
    with pytest.raises(ValueError):
        image_name(row, index, "x", ext)


def test_slug_is_ascii_and_bounded():
    slug = slugify("Ünïcödé ✨ " * 20)
    assert slug.isascii() and len(slug) <= 40 and not slug.endswith("-")


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("name", ["../x.png", "a/b.png", "a\\b.png", "..", ".meta", "",
                                  "x..png", "/etc/passwd", "a\0.png"])
def test_bad_names_refused(storage, name):
    with pytest.raises(ValueError):
        storage.open("b1", name)
    with pytest.raises(ValueError):
        storage.path("b1", name)


@pytest.mark.parametrize("batch_id", ["../b", "a/b", "", ".", "..", "b 1", "b.1", "ü", "a" * 129])
def test_bad_batch_ids_refused(storage, batch_id):
    with pytest.raises(ValueError):
        storage.list(batch_id)
    with pytest.raises(ValueError):
        storage.find(batch_id, 1, 1)
    with pytest.raises(ValueError):
        storage.save(batch_id, 1, 1, "p", b"x", seed=None, used_prompt="p",
                     media_type="image/png", preview=False)


# --------------------------------------------------------------------------- behaviour


def test_metadata_round_trip(storage):
    data = png_bytes("rt", 5000)
    saved = save(storage, row=12, index=3, prompt="Crème brûlée", data=data, seed=2147483647,
                 used_prompt="A golden crème brûlée, studio light ✨", media_type="image/jpeg",
                 preview=True)
    assert saved.name == "0012_3_creme-brulee.jpg"
    found = storage.find("b1", 12, 3)
    assert found == saved
    assert (found.seed, found.prompt, found.media_type, found.preview, found.size) == (
        2147483647, "A golden crème brûlée, studio light ✨", "image/jpeg", True, 5000)
    with storage.open("b1", saved.name) as fh:
        assert fh.read() == data


def test_seed_none_round_trip(storage):
    save(storage, seed=None)
    assert storage.find("b1", 7, 2).seed is None


def test_find_missing(storage):
    assert storage.find("b1", 1, 1) is None
    save(storage, row=1, index=1)
    assert storage.find("b1", 1, 2) is None
    assert storage.find("other", 1, 1) is None


def test_save_is_idempotent(storage):
    first = save(storage, data=png_bytes("first"), seed=1)
    again = save(storage, data=png_bytes("second"), seed=2)
    assert again == first  # the stored (paid) image wins
    assert [i.name for i in storage.list("b1")] == [first.name]
    with storage.open("b1", first.name) as fh:
        assert fh.read() == png_bytes("first")


def test_list_sorted_by_row_then_index(storage):
    for row, index in [(10, 2), (2, 4), (10, 1), (2, 1), (100, 1)]:
        save(storage, row=row, index=index, prompt=f"p{row}")
    assert [(i.row, i.index) for i in storage.list("b1")] == [
        (2, 1), (2, 4), (10, 1), (10, 2), (100, 1)]
    assert storage.list("empty") == []


def test_delete_batch(storage):
    save(storage, row=1, index=1)
    storage.save("b2", 1, 1, "p", b"x", seed=None, used_prompt="p", media_type="image/png",
                 preview=False)
    storage.delete_batch("b1")
    assert storage.list("b1") == [] and storage.find("b1", 1, 1) is None
    assert len(storage.list("b2")) == 1
    storage.delete_batch("never-existed")  # no error


# --------------------------------------------------------------------------- local only


def test_local_layout_and_no_temp_leftovers(tmp_path):
    store = LocalStorage(tmp_path)
    img = save(store)
    batch = tmp_path / "b1"
    assert sorted(p.name for p in batch.iterdir()) == [".meta", img.name]
    assert sorted(p.name for p in (batch / ".meta").iterdir()) == [".lock", "7_2.json"]
    assert store.path("b1", img.name) == batch / img.name


def test_local_image_without_image_file_is_not_found(tmp_path):
    """Sidecar present, image missing = a save that died between renames: redo it."""
    store = LocalStorage(tmp_path)
    img = save(store, data=png_bytes("old"))
    store.path("b1", img.name).unlink()
    assert store.find("b1", 7, 2) is None and store.list("b1") == []
    redone = save(store, data=png_bytes("new"), seed=9)
    assert redone.seed == 9 and store.path("b1", img.name).read_bytes() == png_bytes("new")


def _racing_save(root: str, worker: int, barrier) -> None:
    store = LocalStorage(Path(root))
    barrier.wait()
    store.save("race", 5, 1, "same prompt", png_bytes(f"worker-{worker}", 200_000),
               seed=worker, used_prompt=f"used by {worker}", media_type="image/png",
               preview=False)


def test_concurrent_saves_from_processes_leave_one_intact_file(tmp_path):
    workers = 8
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(workers)
    procs = [ctx.Process(target=_racing_save, args=(str(tmp_path), n, barrier))
             for n in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = LocalStorage(tmp_path)
    [img] = store.list("race")
    files = [p.name for p in (tmp_path / "race").iterdir() if p.is_file()]
    assert files == [img.name]  # no temp files, no second copy
    # Intact and consistent: the bytes are exactly the ones the seed's writer sent.
    assert store.path("race", img.name).read_bytes() == png_bytes(f"worker-{img.seed}", 200_000)
    assert img.prompt == f"used by {img.seed}"
    meta_files = sorted(p.name for p in (tmp_path / "race" / ".meta").iterdir())
    assert meta_files == [".lock", "5_1.json"]


def test_local_files_readable_by_others(tmp_path):
    img = save(LocalStorage(tmp_path))
    assert (tmp_path / "b1" / img.name).stat().st_mode & 0o044 == 0o044


# --------------------------------------------------------------------------- S3 only


def test_s3_concurrent_saves_first_writer_wins(s3_storage):
    """Two writers interleaved: the conditional put decides, the loser cleans up."""
    store = s3_storage
    real_find = store.find
    calls = {"n": 0}

    def find_nothing_once(*args):
        # Simulate both writers having checked before either wrote.
        calls["n"] += 1
        return None if calls["n"] == 1 else real_find(*args)

    first = save(store, data=png_bytes("a"), seed=1)
    store.find = find_nothing_once
    second = save(store, data=png_bytes("b"), seed=2)
    assert second == first
    keys = [o["Key"] for o in store._objects(store._batch_prefix("b1"))]
    assert len([k for k in keys if "/.meta/" in k]) == 1 and len(keys) == 2


def test_s3_open_streams(s3_storage):
    img = save(s3_storage, data=png_bytes("s", 300_000))
    body = s3_storage.open("b1", img.name)
    parts = list(iter(lambda: body.read(65536), b""))
    body.close()
    assert len(parts) > 1 and b"".join(parts) == png_bytes("s", 300_000)
    assert s3_storage.path("b1", img.name) == f"images/b1/{img.name}"


# --------------------------------------------------------------------------- factory


def test_make_storage_local(tmp_path, monkeypatch):
    monkeypatch.delenv("SHEETBATCH_S3_BUCKET", raising=False)
    monkeypatch.setenv("SHEETBATCH_DATA", str(tmp_path))
    store = make_storage(Settings.from_env())
    assert isinstance(store, LocalStorage) and store.root == tmp_path / "images"


def test_make_storage_s3(tmp_path, monkeypatch, moto_endpoint):
    bucket = f"sb-{uuid.uuid4().hex[:12]}"
    _s3_client(moto_endpoint).create_bucket(Bucket=bucket)
    monkeypatch.setenv("SHEETBATCH_S3_BUCKET", bucket)
    monkeypatch.setenv("SHEETBATCH_S3_ENDPOINT", moto_endpoint)
    monkeypatch.setenv("SHEETBATCH_S3_PREFIX", "sb")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = make_storage(Settings.from_env())
    assert isinstance(store, S3Storage) and store.bucket == bucket
    img = save(store)
    assert store.find("b1", 7, 2) == img
    assert store.key("b1", img.name) == f"sb/b1/{img.name}"
