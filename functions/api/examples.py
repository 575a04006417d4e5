"""Examples of every request body, shown in ``/docs`` (the media type's ``examples`` in the OpenAPI document:
Swagger UI offers them in a list and fills "Try it out" with the chosen one).

They are the README's and ``examples/tests/``'s tests, against the example app local mode serves on
``http://127.0.0.1:8001``, so "Try it out" on a local mode works as shown. Every example is validated against
its model by ``tests/unit/test_openapi_described.py``, which also fails for a request body without one.
"""

from __future__ import annotations

from typing import Any

from fastapi.openapi.models import Example
from pydantic import BaseModel

from shared.models.github import GithubIntegrationPut
from shared.models.imports import OpenApiImport, PostmanImport
from shared.models.notifications import NotificationCreate
from shared.models.projects import ApiKeyCreate, ProjectCreate
from shared.models.proposals import PlanProposalCreate
from shared.models.runs import RunCreate
from shared.models.schedules import ScheduleCreate, ScheduleUpdate
from shared.models.secrets import SecretPut
from shared.models.suites import SuiteCreate, SuiteRunCreate, SuiteUpdate
from shared.models.tests import RevisionCreate, TestCreate, TestUpdate

BASE_URL = "http://127.0.0.1:8001"
#: an id as the API makes them (``tst_`` and a ULID); "Try it out" needs one of a test you created
TEST_ID = "tst_01JKZ3V8Q4M6T9W2X5B7C0D1EF"

LOGIN_STEPS: list[dict[str, Any]] = [
    {"action": "goto", "url": "{{base_url}}/login"},
    {"action": "expect_title", "text": "Log in"},
    {"action": "fill", "target": {"label": "Username"}, "value": "admin"},
    {"action": "fill", "target": {"label": "Password"}, "value": "{{secret:ADMIN_PASSWORD}}"},
    {"action": "click", "target": {"role": "button", "name": "Log in"}},
    {"action": "expect_url", "pattern": "/welcome"},
    {"action": "expect_text", "text": "Welcome, admin"},
]

BROWSER_TEST: dict[str, Any] = {
    "name": "Admin can log in",
    "tags": ["smoke"],
    "description": "The admin logs in with the password kept as the project's secret ADMIN_PASSWORD.",
    "variables": {"base_url": BASE_URL},
    "steps": LOGIN_STEPS,
}

API_TEST: dict[str, Any] = {
    "name": "API login and profile",
    "kind": "api",
    "tags": ["smoke", "api"],
    "variables": {"base_url": BASE_URL},
    "steps": [
        {
            "action": "request",
            "method": "POST",
            "url": "{{base_url}}/api/login",
            "json": {"username": "admin", "password": "{{secret:ADMIN_PASSWORD}}"},
            "extract": {"token": "$.token"},
            "expect": [{"status": 200}, {"jsonpath": "$.user.name", "equals": "admin"}],
        },
        {
            "action": "request",
            "url": "{{base_url}}/api/me",
            "headers": {"Authorization": "Bearer {{token}}"},
            "expect": [
                {"status": 200},
                {"jsonpath": "$.roles", "contains": "admin"},
                {"header": "Content-Type", "contains": "application/json"},
                {"max_latency_ms": 2000},
                {"expr": "response.status == 200 && size(body.roles) > 0"},
            ],
        },
    ],
}

DATA_DRIVEN_TEST: dict[str, Any] = {
    "name": "API items by id",
    "kind": "api",
    "tags": ["api"],
    "variables": {"base_url": BASE_URL},
    "dataset": [{"id": 1, "name": "Apples"}, {"id": 2, "name": "Bread"}, {"id": 3, "name": "Cheese"}],
    "retries": 1,
    "timeout_s": 60,
    "steps": [
        {
            "action": "request",
            "url": "{{base_url}}/api/items/{{id}}",
            "expect": [
                {"status": 200},
                {"jsonpath": "$.name", "equals": "{{name}}"},
                {"json_schema": {"type": "object", "required": ["id", "name"]}},
            ],
        }
    ],
}

#: the login test in plain English: one sentence per line, read by the sentence grammar (no model)
LOGIN_GOAL = "\n".join(
    [
        "Go to {{base_url}}/login",
        'Fill "Username" with "admin"',
        'Fill "Password" with "{{secret:ADMIN_PASSWORD}}"',
        'Click "Log in"',
        'Expect to see "Welcome, admin"',
    ]
)

PLAIN_ENGLISH_TEST: dict[str, Any] = {
    "name": "Admin can log in (plain English)",
    "tags": ["smoke"],
    "variables": {"base_url": BASE_URL},
    "goal": LOGIN_GOAL,
}

TEST_CREATE: dict[str, Example] = {
    "browser": {
        "summary": "A browser test: log in",
        "description": "Steps run in Chromium; targets are found as a user sees them (label, role and name).",
        "value": BROWSER_TEST,
    },
    "api": {
        "summary": "An API test: log in, then call with the token",
        "description": "Only `request` steps, so no browser. The first step extracts `token` for the second.",
        "value": API_TEST,
    },
    "plain_english": {
        "summary": "A browser test in plain English",
        "description": "Only a `goal`: a run plans it first (the plan is cached for the goal's text, so a rerun "
        "plans nothing); `POST /v1/tests/{id}/plans` shows the plan and accepting it saves it as steps.",
        "value": PLAIN_ENGLISH_TEST,
    },
    "data_driven": {
        "summary": "A data-driven API test",
        "description": "The steps run once per `dataset` row; `{{id}}` and `{{name}}` come from the row.",
        "value": DATA_DRIVEN_TEST,
    },
}

REVISION_CREATE: dict[str, Example] = {
    "more_steps": {
        "summary": "A new revision: the login test, checking the welcome page and picturing it",
        "description": "A whole spec, replacing the latest for the runs to come; earlier revisions stay as they were.",
        "value": {
            "variables": {"base_url": BASE_URL},
            "timeout_s": 120,
            "steps": [
                *LOGIN_STEPS,
                {"action": "expect_text", "target": {"role": "heading"}, "text": "Welcome"},
                {"action": "expect_text", "text": "You are logged in."},
                {"action": "screenshot", "name": "welcome"},
            ],
        },
    },
}

TEST_UPDATE: dict[str, Example] = {
    "rename": {
        "summary": "Rename and retag",
        "description": "The fields left out stay as they are; `tags` replaces the old ones. "
        '`{"description": null}` clears the description.',
        "value": {"name": "Admin can log in and out", "tags": ["smoke", "auth"]},
    },
    "archive": {
        "summary": "Archive",
        "description": 'As `DELETE` does; `{"status": "active"}` unarchives.',
        "value": {"status": "archived"},
    },
}

RUN_CREATE: dict[str, Example] = {
    "saved_test": {
        "summary": "Run a saved test with variables",
        "description": "Runs the test's latest revision; `variables` override the test's own. Use the id of a "
        "test of yours.",
        "value": {
            "test_id": TEST_ID,
            "variables": {"base_url": BASE_URL},
            "labels": {"ci_job": "1234", "commit": "9f2c1e7"},
        },
    },
    "revision": {
        "summary": "Run one revision, with retries and a timeout",
        "description": "A failed attempt is tried again up to `retries` times.",
        "value": {"test_id": TEST_ID, "revision": 2, "retries": 2, "timeout_s": 120},
    },
    "inline": {
        "summary": "Run a test without saving it",
        "description": "`spec` is a test file's shape (`POST /v1/tests`'s body).",
        "value": {"spec": BROWSER_TEST},
    },
    "dataset": {
        "summary": "Run a data-driven test over other rows",
        "description": "The run's `dataset` replaces the test's (here the data-driven API test's): its steps run "
        "once per row, and the run reports one entry per row in `iterations`.",
        "value": {"test_id": TEST_ID, "dataset": [{"id": 2, "name": "Bread"}, {"id": 3, "name": "Cheese"}]},
    },
}

PROJECT_CREATE: dict[str, Example] = {
    "project": {
        "summary": "A project for a team",
        "description": "The response holds its first API key, shown this once.",
        "value": {"name": "checkout-team"},
    },
}

API_KEY_CREATE: dict[str, Example] = {
    "ci": {
        "summary": "A key for CI",
        "description": "Name keys for where they are used; CI needs only `runner` (start and cancel runs, read "
        "everything). The response shows the key this once.",
        "value": {"name": "github-actions", "role": "runner"},
    },
}

SECRET_PUT: dict[str, Example] = {
    "password": {
        "summary": "A password",
        "description": "Steps use it as `{{secret:ADMIN_PASSWORD}}` (the name is in the path).",
        "value": {"value": "correct-horse-battery-staple"},
    },
}

PLAN_PROPOSAL_CREATE: dict[str, Example] = {
    "latest": {
        "summary": "Plan the latest revision's goal",
        "description": "The body may be left out: the test's latest revision is planned.",
        "value": {},
    },
    "revision": {
        "summary": "Plan one revision's goal",
        "description": "Accepting the proposal then builds the next revision on that revision's spec.",
        "value": {"revision": 1},
    },
}

SUITE_CREATE: dict[str, Example] = {
    "parallel": {
        "summary": "Every smoke test, four at a time",
        "description": "The active tests tagged `smoke`, by name; four child runs at once.",
        "value": {
            "name": "Smoke",
            "selector": {"tags": ["smoke"]},
            "max_parallel": 4,
            "labels": {"environment": "dev"},
        },
    },
    "sequential": {
        "summary": "A scenario: later tests see what earlier ones extracted",
        "description": "Two saved tests (their ids), one after the other; the first that fails skips the rest.",
        "value": {
            "name": "Checkout scenario",
            "tests": ["tst_01J0000000000000000000000A", "tst_01J0000000000000000000000B"],
            "mode": "sequential",
            "fail_fast": True,
        },
    },
}

NOTIFICATION_CREATE: dict[str, Example] = {
    "webhook": {
        "summary": "A signed webhook on failures and recoveries",
        "description": "The answer shows the signing secret once; verify `X-Autotest-Signature` with it.",
        "value": {"kind": "webhook", "url": "https://ci.example.com/autotest-hook", "on": ["failure", "recovery"]},
    },
    "slack": {
        "summary": "Slack, on every end of one suite",
        "description": "One readable message per suite run (its runs do not notify on their own).",
        "value": {
            "kind": "slack",
            "name": "nightly to #qa",
            "url": "https://hooks.slack.com/services/T000/B000/XXXX",
            "on": ["always"],
            "suite_id": "ste_01JKZ3V8Q4M6T9W2X5B7C0D1EF",
        },
    },
}

GITHUB_PUT: dict[str, Example] = {
    "pushes_and_prs": {
        "summary": "main's pushes run the smoke suite, pull requests to main the regression",
        "description": "The webhook secret is the one typed into GitHub's webhook form; the token is the project "
        "secret GITHUB_TOKEN (`autotest secrets set GITHUB_TOKEN`).",
        "value": {
            "secret": "a-long-random-webhook-secret",
            "rules": [
                {"repo": "acme/shop", "branches": ["main"], "suite": "smoke"},
                {
                    "repo": "acme/shop",
                    "events": ["pull_request"],
                    "branches": ["main"],
                    "suite": "regression",
                    "labels": {"environment": "staging"},
                },
            ],
        },
    },
}

SUITE_UPDATE: dict[str, Example] = {
    "narrow": {
        "summary": "Two at a time, stop at the first failure",
        "description": "Only the fields given change.",
        "value": {"max_parallel": 2, "fail_fast": True},
    },
}

SUITE_RUN_CREATE: dict[str, Example] = {
    "for_a_version": {
        "summary": "Run it for an app version",
        "description": "Labels over the suite's, carried by the suite run and every child run; one retry each.",
        "value": {"labels": {"app_version": "1.4.2", "environment": "staging"}, "retries": 1},
    },
}

SCHEDULE_CREATE: dict[str, Example] = {
    "suite_weekdays": {
        "summary": "A suite at 06:00 on weekdays, Berlin time",
        "description": "Cron is read on the wall clock of `timezone`, summer time included.",
        "value": {
            "name": "Morning regression",
            "suite_id": "ste_01JKZ3V8Q4M6T9W2X5B7C0D1EF",
            "cron": "0 6 * * MON-FRI",
            "timezone": "Europe/Berlin",
            "labels": {"environment": "staging"},
        },
    },
    "test_every_minute": {
        "summary": "A test every minute",
        "description": "A rate is a fixed duration counted from when it was set.",
        "value": {"test_id": TEST_ID, "rate": "rate(1 minute)", "variables": {"base_url": BASE_URL}},
    },
}

SCHEDULE_UPDATE: dict[str, Example] = {
    "pause": {
        "summary": "Pause it",
        "description": '`{"enabled": true}` resumes it from its next fire time (nothing missed is caught up).',
        "value": {"enabled": False},
    },
    "cron": {
        "summary": "Fire at 07:30 instead",
        "description": "A `cron` replaces a `rate`, and the other way round.",
        "value": {"cron": "30 7 * * *"},
    },
}

POSTMAN_IMPORT: dict[str, Example] = {
    "collection": {
        "summary": "A collection with a folder, a variable, auth and a test script",
        "description": "The folder `Items` becomes one API test; `pm.test` checks become `expect`, "
        "`pm.environment.set(...)` an `extract`; the environment's values become the test's variables. "
        "`save: false` only translates.",
        "value": {
            "collection": {
                "info": {
                    "name": "Shop",
                    "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
                },
                "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{token}}"}]},
                "variable": [{"key": "token", "value": "tok-example-123"}],
                "item": [
                    {
                        "name": "Items",
                        "item": [
                            {
                                "name": "List items",
                                "request": {"method": "GET", "url": "{{baseUrl}}/api/items"},
                                "event": [
                                    {
                                        "listen": "test",
                                        "script": {
                                            "exec": [
                                                'pm.test("ok", () => pm.response.to.have.status(200));',
                                                "var jsonData = pm.response.json();",
                                                "pm.expect(jsonData.count).to.eql(3);",
                                                'pm.environment.set("first_id", jsonData.items[0].id);',
                                            ]
                                        },
                                    }
                                ],
                            }
                        ],
                    }
                ],
            },
            "environment": {"name": "Local", "values": [{"key": "baseUrl", "value": "http://127.0.0.1:8001"}]},
            "save": False,
        },
    },
}

OPENAPI_IMPORT: dict[str, Example] = {
    "document": {
        "summary": "A small OpenAPI 3.1 document",
        "description": "One smoke test per operation: status 200 and the response's schema; `base_url` overrides "
        "`servers[0].url`.",
        "value": {
            "document": {
                "openapi": "3.1.0",
                "info": {"title": "Shop", "version": "1"},
                "servers": [{"url": "http://127.0.0.1:8001"}],
                "paths": {
                    "/api/items": {
                        "get": {
                            "operationId": "listItems",
                            "responses": {
                                "200": {
                                    "description": "The items",
                                    "content": {
                                        "application/json": {
                                            "schema": {
                                                "type": "object",
                                                "required": ["items", "count"],
                                                "properties": {"count": {"type": "integer", "description": "How many"}},
                                            }
                                        }
                                    },
                                }
                            },
                        }
                    }
                },
            },
            "base_url": "http://127.0.0.1:8001",
            "save": False,
        },
    },
    "text": {
        "summary": "The document as YAML text",
        "description": "`document` may be the document's text, YAML or JSON.",
        "value": {
            "document": "openapi: 3.0.3\ninfo: {title: Shop, version: '1'}\npaths:\n  /healthz:\n    get:\n"
            "      responses:\n        '200': {description: ok}\n",
            "base_url": "http://127.0.0.1:8001",
            "save": False,
        },
    },
}

#: every request body model and its examples (the test checks that each body of the document is here)
REQUEST_EXAMPLES: dict[type[BaseModel], dict[str, Example]] = {
    SuiteCreate: SUITE_CREATE,
    SuiteUpdate: SUITE_UPDATE,
    SuiteRunCreate: SUITE_RUN_CREATE,
    TestCreate: TEST_CREATE,
    RevisionCreate: REVISION_CREATE,
    TestUpdate: TEST_UPDATE,
    RunCreate: RUN_CREATE,
    ProjectCreate: PROJECT_CREATE,
    ApiKeyCreate: API_KEY_CREATE,
    SecretPut: SECRET_PUT,
    PlanProposalCreate: PLAN_PROPOSAL_CREATE,
    ScheduleCreate: SCHEDULE_CREATE,
    ScheduleUpdate: SCHEDULE_UPDATE,
    NotificationCreate: NOTIFICATION_CREATE,
    GithubIntegrationPut: GITHUB_PUT,
    PostmanImport: POSTMAN_IMPORT,
    OpenApiImport: OPENAPI_IMPORT,
}
