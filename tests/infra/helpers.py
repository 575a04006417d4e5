"""Reading a synthesized template: a function's environment and role statements, found by construct path."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk.assertions import Template
from constructs import IConstruct


def logical_id(construct: IConstruct) -> str:
    element = construct.node.default_child or construct
    stack = Stack.of(construct)
    return str(stack.resolve(stack.get_logical_id(element)))  # type: ignore[arg-type]


def resource(template: Template, construct: IConstruct) -> dict[str, Any]:
    found: dict[str, Any] = template.to_json()["Resources"][logical_id(construct)]
    return found


def environment(template: Template, function: IConstruct) -> dict[str, Any]:
    variables: dict[str, Any] = resource(template, function)["Properties"]["Environment"]["Variables"]
    return variables


def statements(template: Template, role: IConstruct | None) -> list[dict[str, Any]]:
    """Every statement of the policies attached to ``role`` (its inline default policy and any other)."""
    assert role is not None
    role_id = logical_id(role)
    found: list[dict[str, Any]] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        roles = policy["Properties"].get("Roles", [])
        if {"Ref": role_id} in roles:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    for inline in template.to_json()["Resources"][role_id]["Properties"].get("Policies", []):
        found += inline["PolicyDocument"]["Statement"]
    return found


def actions(template: Template, role: IConstruct | None) -> set[str]:
    allowed: set[str] = set()
    for statement in statements(template, role):
        if statement.get("Effect") != "Allow":
            continue
        given = statement["Action"]
        allowed.update([given] if isinstance(given, str) else given)
    return allowed


def managed_policies(template: Template, role: IConstruct) -> list[Any]:
    return list(template.to_json()["Resources"][logical_id(role)]["Properties"].get("ManagedPolicyArns", []))
