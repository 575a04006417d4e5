"""Lambda entry point: API Gateway HTTP API (v2) events -> Mangum -> the FastAPI app."""

from __future__ import annotations

from typing import Any

from mangum import Mangum

from functions.api.app import create_app
from shared.observability import logger

_asgi = Mangum(create_app(), lifespan="off", api_gateway_base_path="/")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = _asgi(event, context)
    return response
