"""The automation template language: expressions in a sandbox, typed by the action's schema."""

import pytest

from hub_connectors.domain.templates import TemplateError, check_mapping, render_parameters

pytestmark = pytest.mark.unit

SCHEMA = {
    "type": "object",
    "properties": {
        "body": {"type": "string"},
        "count": {"type": "integer"},
        "labels": {"type": "array"},
        "draft": {"type": "boolean"},
    },
}
CONTEXT = {
    "payload": {"title": "Disk full", "number": 7, "labels": ["ops"]},
    "trigger": {"id": "issue_opened"},
}


def test_templates_render_and_follow_the_schema_types():
    rendered = render_parameters(
        {
            "body": "#{{ payload.number }}: {{ payload.title | lower }}",
            "count": "{{ payload.number + 1 }}",
            "labels": "{{ payload.labels | json }}",
            "draft": False,
        },
        CONTEXT,
        SCHEMA,
    )
    assert rendered == {"body": "#7: disk full", "count": 8, "labels": ["ops"], "draft": False}


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ payload.missing }}", "missing"),
        ("{{ ''.__class__.__mro__ }}", "not allowed"),
        ("{{ payload.title.__class__ }}", "not allowed"),
        ("{{ 'x' * 10000000 }}", "not allowed"),
        ("{{ 2 ** 100000 }}", "not allowed"),
        ("{{ payload.labels.append('x') }}", "not allowed"),
    ],
)
def test_what_the_sandbox_refuses(template, fragment):
    with pytest.raises(TemplateError) as refused:
        render_parameters({"body": template}, CONTEXT, SCHEMA)
    assert refused.value.parameter == "body"
    assert fragment in refused.value.message or fragment in str(refused.value)


def test_statements_and_syntax_errors_are_refused_before_saving():
    with pytest.raises(TemplateError, match="only"):
        check_mapping({"body": "{% for i in range(10) %}{{ i }}{% endfor %}"})
    with pytest.raises(TemplateError, match="syntax"):
        check_mapping({"body": "{{ payload.title "})


def test_a_rendered_value_that_is_not_the_type_asked_for_is_an_error():
    with pytest.raises(TemplateError, match="integer"):
        render_parameters({"count": "{{ payload.title }}"}, CONTEXT, SCHEMA)
