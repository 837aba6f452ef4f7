"""Images in any S3-compatible bucket, through boto3 (imported only when a bucket is configured)."""
from __future__ import annotations

import json
import re
import uuid
from typing import IO, Any, Iterator

from server.storage.names import check_batch_id, check_name, extension_for, image_name
from server.storage.records import StoredImage, _from_meta, _meta_record


class S3Storage:
    """``<prefix>/<batch_id>/<image name>`` plus a sidecar per save attempt.

    S3 has no rename and no lock, so consistency comes from two rules:
    - each save writes its sidecar under a unique key
      ``.meta/<row>_<index>.<token>.json`` first, so writers never clobber each
      other's metadata and an image never exists without its sidecar;
    - the image is written with ``If-None-Match: *``: the first writer wins
      atomically and the image's own metadata names its sidecar's token.
    Losers delete their sidecar and return the winner.
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 client: Any = None):
        if client is None:
            import boto3  # optional dependency: only needed when S3 is configured

            client = boto3.client("s3", endpoint_url=endpoint_url)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    # keys ------------------------------------------------------------------

    def _batch_prefix(self, batch_id: str) -> str:
        head = f"{self.prefix}/" if self.prefix else ""
        return f"{head}{check_batch_id(batch_id)}/"

    def key(self, batch_id: str, name: str) -> str:
        return self._batch_prefix(batch_id) + check_name(name)

    def _meta_key(self, batch_id: str, row: int, index: int, token: str) -> str:
        return f"{self._batch_prefix(batch_id)}.meta/{int(row)}_{int(index)}.{token}.json"

    def path(self, batch_id: str, name: str) -> str:
        """The object key (there is no local path); see also ``url``."""
        return self.key(batch_id, name)

    def url(self, batch_id: str, name: str, expires: int = 3600) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.key(batch_id, name)},
            ExpiresIn=expires)

    # writing ---------------------------------------------------------------

    def save(self, batch_id: str, row: int, index: int, source_prompt: str, data: bytes, *,
             seed: int | None, used_prompt: str, media_type: str = "image/png",
             preview: bool = False, fingerprint: str | None = None,
             dimensions: str | None = None) -> StoredImage:
        existing = self.find(batch_id, row, index)
        if existing is not None:
            if existing.fingerprint == fingerprint:
                return existing
            self._delete_image(batch_id, existing)  # stale: made for other settings
        name = image_name(row, index, source_prompt, extension_for(media_type))
        meta = _meta_record(name, row, index, seed, used_prompt, media_type, preview,
                            len(data), source_prompt, fingerprint, dimensions)
        token = uuid.uuid4().hex
        meta_key = self._meta_key(batch_id, row, index, token)
        self.client.put_object(Bucket=self.bucket, Key=meta_key, Body=json.dumps(meta).encode(),
                               ContentType="application/json")
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.key(batch_id, name), Body=data,
                                   ContentType=media_type, Metadata={"token": token},
                                   IfNoneMatch="*")
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
                raise
            self.client.delete_object(Bucket=self.bucket, Key=meta_key)
            winner = self.find(batch_id, row, index)
            if winner is None:
                raise
            return winner
        return _from_meta(batch_id, meta, len(data))

    def _delete_image(self, batch_id: str, image: StoredImage) -> None:
        head = self.client.head_object(Bucket=self.bucket, Key=self.key(batch_id, image.name))
        token = head.get("Metadata", {}).get("token", "")
        for key in (self.key(batch_id, image.name),
                    self._meta_key(batch_id, image.row, image.index, token)):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def check_room(self, batch_id: str, min_free: int) -> None:
        """A bucket has no free-space figure to check; a failed save pauses the batch instead."""
    def check_writable(self) -> None:
        """Write and remove a small object; raises when the bucket would refuse an image."""
        key = f"{self.prefix}/.ready/{uuid.uuid4().hex}" if self.prefix else \
            f".ready/{uuid.uuid4().hex}"
        self.client.put_object(Bucket=self.bucket, Key=key, Body=b"ready")
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def describe(self) -> str:
        endpoint = self.client.meta.endpoint_url
        return f"bucket s3://{self.bucket}/{self.prefix} at {endpoint}"

    def delete_batch(self, batch_id: str) -> None:
        keys = [obj["Key"] for obj in self._objects(self._batch_prefix(batch_id))]
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
            chunk = keys[start:start + 1000]
            self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})

    # reading ---------------------------------------------------------------

    def _objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def find(self, batch_id: str, row: int, index: int) -> StoredImage | None:
        # The name starts with the zero-padded key, so a prefix listing finds it
        # without knowing the prompt.
        prefix = f"{self._batch_prefix(batch_id)}{int(row):04d}_{int(index)}_"
        for obj in self._objects(prefix):
            return self._load(batch_id, obj["Key"], row, index)
        return None

    def list(self, batch_id: str) -> list[StoredImage]:
        batch_prefix = self._batch_prefix(batch_id)
        images = []
        for obj in self._objects(batch_prefix):
            name = obj["Key"][len(batch_prefix):]
            match = re.match(r"(\d{4})_(\d)_", name)
            if match:
                images.append(self._load(batch_id, obj["Key"], int(match[1]), int(match[2])))
        return sorted((i for i in images if i is not None), key=lambda i: (i.row, i.index))

    def _load(self, batch_id: str, key: str, row: int, index: int) -> StoredImage | None:
        head = self.client.head_object(Bucket=self.bucket, Key=key)
        token = head.get("Metadata", {}).get("token", "")
        body = self.client.get_object(
            Bucket=self.bucket, Key=self._meta_key(batch_id, row, index, token))["Body"]
        meta = json.loads(body.read())
        return _from_meta(batch_id, meta, int(head["ContentLength"]))

    def open(self, batch_id: str, name: str) -> IO[bytes]:
        """A streaming body (read(n), iter_chunks(), close()); nothing is buffered."""
        return self.client.get_object(Bucket=self.bucket, Key=self.key(batch_id, name))["Body"]
