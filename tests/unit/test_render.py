from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from runner_container.runner.masking import Masker
from runner_container.runner.render import (
    Renderer,
    RenderError,
    load_secrets,
    placeholders,
)
from shared.models.plans import Fill, Goto, LabelTarget, Request, Step
from shared.placeholders import save_warnings, secrets_used, undefined
from shared.services.secrets import Secrets
from tests.fakes import FakeSecretStore

STEPS = TypeAdapter(list[Step])


def plan(*steps: dict) -> list[Step]:
    return STEPS.validate_python(list(steps))


def test_placeholders_finds_variables_and_secrets() -> None:
    assert placeholders({"a": "{{ base_url }}/x?k={{secret:API_KEY}}", "b": ["{{user}}"]}) == (
        {"base_url", "user"},
        {"API_KEY"},
    )


def test_variables_produced_by_earlier_steps_are_defined_and_secrets_are_collected() -> None:
    steps = plan(
        {"action": "request", "url": "{{base}}/login", "extract": {"token": "$.token"}},
        {"action": "goto", "url": "{{base}}/?t={{token}}&p={{secret:PW}}"},
    )
    assert undefined(steps, {"base"}) == []
    assert secrets_used(steps) == {"PW"}


def test_every_undefined_variable_is_named_with_its_step() -> None:
    steps = plan({"action": "goto", "url": "{{base}}/{{token}}"}, {"action": "extract", "target": "x", "var": "token"})
    assert undefined(steps, {"other"}, start_url="{{host}}") == [
        "start_url uses {{host}}",
        "step 1 (goto) uses {{base}}",
        "step 1 (goto) uses {{token}}",
    ]


def test_save_warnings_count_variables_and_keys_of_every_dataset_row() -> None:
    steps = plan({"action": "request", "url": "{{base}}/items/{{id}}?q={{q}}"})
    assert save_warnings(steps, {"base"}, [{"id": 1, "q": "a"}, {"id": 2, "q": "b"}]) == []
    warnings = save_warnings(steps, {"base"}, [{"id": 1, "q": "a"}, {"id": 2}])
    assert len(warnings) == 1 and warnings[0].startswith("step 1 (request) uses {{q}}, which nothing in the test")
    assert save_warnings(None, set(), None) == []


def test_missing_secrets_are_listed_with_how_to_set_them() -> None:
    store = FakeSecretStore()
    store.put("prj_a", "A", "x")
    secrets = Secrets(store)

    with pytest.raises(RenderError) as info:
        load_secrets({"A", "B", "C"}, secrets, project_id="prj_a")

    assert info.value.message.startswith("secrets not defined in project prj_a: B, C (")
    assert "`autotest secrets set NAME` or PUT /v1/secrets/NAME" in info.value.message
    assert info.value.details == {"missing": ["B", "C"]}
    assert load_secrets({"A"}, secrets, project_id="prj_a") == {"A": "x"}


def test_secrets_load_from_the_runs_project_only() -> None:
    store = FakeSecretStore()
    store.put("prj_a", "ADMIN_PASSWORD", "a-password")

    with pytest.raises(RenderError) as info:
        load_secrets({"ADMIN_PASSWORD"}, Secrets(store), project_id="prj_b")

    message = info.value.message
    assert message.startswith("secret not defined in project prj_b: ADMIN_PASSWORD")
    assert "`autotest secrets set ADMIN_PASSWORD`" in message and "PUT /v1/secrets/ADMIN_PASSWORD" in message
    assert "a-password" not in message


def test_no_secret_referenced_asks_no_store() -> None:
    class Refusing(FakeSecretStore):
        def get(self, project_id: str, name: str) -> str | None:
            raise AssertionError("the store was asked")

    assert load_secrets(set(), Secrets(Refusing()), project_id="prj_a") == {}


def test_render_step_fills_values_and_masks_secrets() -> None:
    masker = Masker()
    renderer = Renderer({"base": "http://app", "n": 3, "flag": True}, {"PW": "hunter2!"}, masker)

    fill = renderer.render_step(Fill(target=LabelTarget(label="Password for {{base}}"), value="{{secret:PW}}"))
    goto = renderer.render_step(Goto(url="{{base}}/items?n={{n}}&f={{flag}}"))

    assert isinstance(fill, Fill) and fill.value == "hunter2!"
    assert isinstance(goto, Goto) and goto.url == "http://app/items?n=3&f=true"
    assert masker.text("password is hunter2! or hunter2%21") == "password is *** or ***"
    assert masker.data({"v": ["hunter2!"]}) == {"v": ["***"]}


def test_request_json_and_expectations_keep_variable_types() -> None:
    renderer = Renderer({"id": 5, "name": "ann"}, {}, Masker())
    step = Request.model_validate(
        {
            "url": "http://x/{{id}}",
            "json": {"id": "{{id}}", "label": "user {{name}}"},
            "expect": [{"jsonpath": "$.id", "equals": "{{id}}"}, {"status": 200}],
        }
    )
    rendered = renderer.render_step(step)
    assert isinstance(rendered, Request)
    assert rendered.json_body == {"id": 5, "label": "user ann"}
    assert rendered.expect[0].equals == 5  # type: ignore[union-attr]
    assert rendered.url == "http://x/5"


def test_render_reports_an_unknown_variable() -> None:
    with pytest.raises(RenderError, match=r"undefined variable \{\{nope\}\}"):
        Renderer({}, {}, Masker()).render("{{nope}}")


def test_an_empty_masker_changes_nothing() -> None:
    masker = Masker([""])
    assert not masker
    assert masker.text("abc") == "abc"


def test_a_text_that_would_grow_past_the_limit_is_an_error_before_it_is_built() -> None:
    # Given a 9 MB value (as a response may hand an extract) used 200 times in one URL
    renderer = Renderer({"v": "x" * 9_000_000}, {}, Masker())
    with pytest.raises(RenderError, match="would be over 1024 KB once its placeholders are filled in"):
        renderer.render("http://127.0.0.1/?q=" + "{{v}}" * 200)
    # and a value used within the limit still renders
    assert Renderer({"v": "ab"}, {}, Masker()).render("{{v}}-{{v}}") == "ab-ab"
