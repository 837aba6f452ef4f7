"""Image storage: a local folder or an S3-compatible bucket, the batch ZIP and thumbnails.

An image is identified by its job key (batch_id, row, image index); see `records.Storage`.
"""
from __future__ import annotations

from pathlib import Path

from server.batches.record import Batch
from server.config import Settings
from server.storage.local import LocalStorage
from server.storage.records import Storage, StorageUnavailable, StoredImage
from server.storage.s3 import S3Storage

__all__ = ["LocalStorage", "S3Storage", "Storage", "StorageUnavailable", "StoredImage",
           "batch_storage", "make_storage"]


def make_storage(settings: Settings) -> LocalStorage | S3Storage:
    """Local folder ``<data_dir>/images`` unless an S3 bucket is configured (boto3 takes its
    credentials from its usual sources)."""
    if settings.s3_bucket:
        return S3Storage(bucket=settings.s3_bucket, prefix=settings.s3_prefix,
                         endpoint_url=settings.s3_endpoint)
    return LocalStorage(Path(settings.data_dir) / "images")


def batch_storage(batch: Batch, settings: Settings) -> tuple[LocalStorage | S3Storage, str]:
    """Where a batch's images live, and its key there: a `run` keeps them in its own --out
    folder; everything else uses the configured storage."""
    if batch.in_own_folder:
        return LocalStorage(batch.storage_root), batch.storage_key
    return make_storage(settings), batch.storage_key
