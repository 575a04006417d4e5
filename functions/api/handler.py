"""Lambda entry point: API Gateway HTTP API (v2) events -> Mangum -> the FastAPI app.

The app is built on the first invocation, not at import, so importing this module reads no
settings and creates no clients.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from mangum import Mangum

from functions.api.app import create_app
from shared.observability import logger


@lru_cache(maxsize=1)
def _adapter() -> Mangum:
    return Mangum(create_app(), lifespan="off", api_gateway_base_path="/")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = _adapter()(event, context)
    return response
