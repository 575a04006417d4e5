"""S3 artifact store (ArtifactStore port)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.aws.errors import translate
from shared.ports import StoredArtifact


class S3ArtifactStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        with translate(f"upload {key}"):
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)

    def put_file(self, key: str, path: Path, *, content_type: str) -> None:
        # One PutObject, not s3transfer's upload_file: that one may go multipart and calls the client
        # from inside itself, past a wrapper such as local mode's journal. Artifacts are small (a video
        # of a 5-minute run is a few MB), far below PutObject's 5 GB.
        self.put(key, Path(path).read_bytes(), content_type=content_type)

    def get(self, key: str) -> bytes:
        return self.read(key).data

    def read(self, key: str) -> StoredArtifact:
        with translate(f"artifact {key}"):
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
            body: bytes = response["Body"].read()
        return StoredArtifact(data=body, content_type=str(response.get("ContentType") or "application/octet-stream"))

    def presigned_url(self, key: str, *, ttl_s: int) -> str:
        with translate(f"presign {key}"):
            url: str = self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=ttl_s
            )
        return url
