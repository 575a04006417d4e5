"""Artifact links served by the API itself: ``/v1/artifacts/{token}/{name}`` (local mode; in AWS the
links are presigned S3 URLs). No API key: the signed token is the credential, so a link opens in a
browser; ``RunService.open_artifact`` decides what it opens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from functions.api.deps import ServicesDep

router = APIRouter(prefix="/v1/artifacts", tags=["artifacts"])

TokenPath = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9_.-]{1,1024}$", description="the signed token of a link from GET /v1/runs/{id}/artifacts"
    ),
]


NamePath = Annotated[
    str,
    Path(
        description=(
            "The artifact's name within its attempt, as the link has it: `report.html`, `screenshots/step-000.png`."
        )
    ),
]


@router.get(
    "/{token}/{name:path}",
    summary="One artifact of a run, through a signed link (local mode)",
    response_class=Response,
    responses={200: {"description": "the artifact's bytes, with the content type it was stored with"}},
)
def open_artifact(token: TokenPath, name: NamePath, services: ServicesDep) -> Response:
    artifact = services.runs.open_artifact(token, name)
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=300",
        "Referrer-Policy": "no-referrer",
    }
    if _can_run_script(artifact.content_type):
        # a report opened from here runs no script on the API's origin. (Not on media and images: a sandboxed
        # media document has an opaque origin, and Chromium then refuses to play the video in it.)
        headers["Content-Security-Policy"] = "sandbox"
    return Response(content=artifact.data, media_type=artifact.content_type, headers=headers)


_ACTIVE_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml")


def _can_run_script(content_type: str) -> bool:
    """Whether a browser may run script in a document of this type (HTML, SVG, XML), or guesses it might."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media in _ACTIVE_TYPES or media.endswith("+xml") or not media
