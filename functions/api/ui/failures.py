"""The dashboard's "group by failure" view of the runs page (``/ui/failures``): the failed runs of a window as
clusters (``shared/services/failures.py``), each with links to its newest runs. Thin, as the other pages are."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from functions.api.deps import ServicesDep
from functions.api.ui import views
from functions.api.ui.pages import ViewerDep, render
from shared.models.queries import TestQuery
from shared.services.failures import failure_clusters, parse_since

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/failures", response_class=HTMLResponse)
def failures_page(
    viewer: ViewerDep,
    services: ServicesDep,
    since: Annotated[str | None, Query(max_length=64)] = None,
    test_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    window = since or "24h"
    clusters = failure_clusters(
        services.runs,
        viewer.project_id,
        since=parse_since(window, datetime.now(UTC)),
        test_id=test_id or None,
        tests=services.catalog,
        suites=services.suites,
    )
    tests = services.catalog.list_tests(TestQuery(project_id=viewer.project_id, sort="name", limit=200)).items
    return render(
        "failures.html.j2",
        viewer=viewer,
        result=clusters,
        since=window,
        test_id=test_id or "",
        tests=tests,
        since_choices=list(views.SINCE_CHOICES),
    )
