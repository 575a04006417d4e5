"""S3 artifact store (ArtifactStore port)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.aws.errors import translate


class S3ArtifactStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        with translate(f"upload {key}"):
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)

    def put_file(self, key: str, path: Path, *, content_type: str) -> None:
        with translate(f"upload {key}"):
            self._s3.upload_file(str(path), self._bucket, key, ExtraArgs={"ContentType": content_type})

    def get(self, key: str) -> bytes:
        with translate(f"artifact {key}"):
            body: bytes = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return body

    def presigned_url(self, key: str, *, ttl_s: int) -> str:
        with translate(f"presign {key}"):
            url: str = self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=ttl_s
            )
        return url
