"""``/docs`` of a real local mode renders in Chromium with every request staying on loopback, and shows the
examples of every request body."""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Route

from cli.local.mode import LocalInfo, LocalModeThread, LocalOptions
from runner_container.runner.browser import BrowserPool
from shared.settings import Settings

pytestmark = pytest.mark.e2e

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfo]:
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        table_name=f"docs-{suffix}",
        run_queue_name=f"docs-runs-{suffix}",
        run_dlq_name=f"docs-dlq-{suffix}",
        artifact_bucket=f"docs-artifacts-{suffix}",
        event_bus_name=f"docs-bus-{suffix}",
    )
    options = LocalOptions(
        port=0, example_port=None, data_dir=tmp_path_factory.mktemp("docs"), workers={}, base_settings=settings
    )
    thread = LocalModeThread(options)
    info = thread.start()
    try:
        yield info
    finally:
        thread.stop()


def on_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss"):
        return parts.scheme in ("data", "blob", "about")  # nothing leaves the page
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.timeout(120)
async def test_swagger_ui_renders_every_operation_offline(local: LocalInfo, pool: BrowserPool) -> None:
    async with httpx.AsyncClient() as http:
        spec = (await http.get(f"{local.api_url}/openapi.json")).json()
    operations = [(m, p) for p, item in spec["paths"].items() for m in item if m in HTTP_METHODS]
    browser = await pool.browser()
    context = await browser.new_context()
    requested: list[str] = []
    blocked: list[str] = []

    async def guard(route: Route) -> None:
        if on_loopback(route.request.url):
            await route.continue_()
        else:  # the sandbox has no internet anyway: say which request would have left the machine
            blocked.append(route.request.url)
            await route.abort()

    context.on("request", lambda request: requested.append(request.url))
    await context.route("**/*", guard)
    try:
        page = await context.new_page()
        await page.goto(f"{local.api_url}/docs")
        await page.locator(".opblock").first.wait_for(timeout=15_000)
        rendered = await page.locator(".opblock").count()
        summary = await page.locator(".opblock-summary-path").all_inner_texts()
        title = await page.locator(".information-container .title").inner_text()
    finally:
        await context.close()

    assert blocked == []
    assert requested and all(on_loopback(url) for url in requested), requested
    assert f"{local.api_url}/openapi.json" in requested
    assert rendered == len(operations) > 10
    assert {p.replace("\u200b", "") for p in summary} == {p for _, p in operations}
    assert title.startswith("autotest")


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.timeout(180)
async def test_swagger_ui_shows_every_request_bodys_examples(local: LocalInfo, pool: BrowserPool) -> None:
    async with httpx.AsyncClient() as http:
        spec = (await http.get(f"{local.api_url}/openapi.json")).json()
    bodies = [
        (f"operations-{op['tags'][0]}-{op['operationId']}", op["requestBody"]["content"]["application/json"])
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in HTTP_METHODS and "requestBody" in op
    ]
    browser = await pool.browser()
    context = await browser.new_context()
    shown: dict[str, list[tuple[str, Any]]] = {}
    try:
        page = await context.new_page()
        await page.goto(f"{local.api_url}/docs")
        for dom_id, content in bodies:
            operation = page.locator(f"#{dom_id}")
            await operation.locator(".opblock-summary").click()
            chooser = operation.locator(".examples-select-element")
            await chooser.wait_for(timeout=15_000)
            shown[dom_id] = []
            for key in content["examples"]:
                await chooser.select_option(key)
                label = (await chooser.locator("option:checked").inner_text()).strip()
                code = operation.locator(".opblock-section-request-body .body-param__example")
                shown[dom_id].append((label, json.loads(await code.inner_text())))
            # closed again: every open operation is re-rendered with each change, so leaving them open makes
            # each selection slower than the last
            await operation.locator(".opblock-summary").click()
        # the Schema tab of a body shows the model's description, and a field's when it is opened
        create = page.locator(f"#{bodies[0][0]}")
        await create.locator(".opblock-summary").click()
        await create.locator(".opblock-section-request-body button[data-name=model]").click()
        box = create.locator(".opblock-section-request-body .model-box")
        field = box.locator(".json-schema-2020-12-property").filter(
            has=page.locator(".json-schema-2020-12__title", has_text="timeout_s")
        )
        await field.locator(".json-schema-2020-12-accordion").first.click()
        await field.locator(".json-schema-2020-12-keyword--description").first.wait_for()
        schema_text = " ".join((await box.inner_text()).split())
    finally:
        await context.close()

    assert len(bodies) >= 7
    for dom_id, content in bodies:
        assert shown[dom_id] == [(e["summary"], e["value"]) for e in content["examples"].values()], dom_id
    create_schema = spec["components"]["schemas"]["TestCreate"]
    assert plain(create_schema["description"]) in schema_text
    assert plain(create_schema["properties"]["timeout_s"]["description"]) in schema_text


def plain(markdown: str) -> str:
    """The text Swagger UI renders from a description (code spans lose their backticks), spaces collapsed."""
    return " ".join(markdown.replace("`", "").split())
