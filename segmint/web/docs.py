"""The offline API reference: ``app.openapi()`` turned into a page (no CDN, no Swagger UI).

Each operation shows its method, path, summary, the role it needs (read from the route's
``require(role)`` dependency), its parameters and its request body's fields.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

__all__ = ["api_view"]

METHODS = ("get", "post", "put", "patch", "delete")


def _role_of(dependant: Any) -> str | None:
    for dep in getattr(dependant, "dependencies", []):
        call = getattr(dep, "call", None)
        if call is not None and inspect.isfunction(call):
            role = inspect.getclosurevars(call).nonlocals.get("role")
            if isinstance(role, str):
                return role
        found = _role_of(dep)
        if found:
            return found
    return None


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI keeps those as sub-routers)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found += _api_routes(list(inner.routes))
    return found


def _roles(app: FastAPI) -> dict[tuple[str, str], str]:
    out = {}
    for route in _api_routes(list(app.routes)):
        if route.include_in_schema:
            role = _role_of(route.dependant)
            for method in route.methods or ():
                out[(method.lower(), route.path)] = role or "none"
    return out


def _type(schema: Mapping[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(repr(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        return f"object of {_type(extra) if isinstance(extra, Mapping) else 'any'}"
    return kind


def _fields(schema: Mapping[str, Any], components: Mapping[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        schema = components.get(name, {})
    else:
        name = _type(schema)
    required = set(schema.get("required", []))
    return {
        "name": name,
        "description": str(schema.get("description", "")),
        "fields": [
            {
                "name": key,
                "type": _type(prop),
                "required": key in required,
                "description": str(prop.get("description", prop.get("title", ""))),
            }
            for key, prop in schema.get("properties", {}).items()
        ],
    }


def api_view(app: FastAPI) -> dict[str, Any]:
    """Operations grouped by path, in the order of the OpenAPI description."""
    spec = app.openapi()
    components = spec.get("components", {}).get("schemas", {})
    roles = _roles(app)
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = None
            content = op.get("requestBody", {}).get("content", {})
            for media, entry in content.items():
                body = {"media": media, **_fields(entry.get("schema", {}), components)}
                break
            operations.append(
                {
                    "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                    "method": method.upper(),
                    "path": path,
                    "summary": str(op.get("summary", "")),
                    "role": roles.get((method, path), "none"),
                    "parameters": [
                        {
                            "name": p.get("name"),
                            "where": p.get("in"),
                            "required": bool(p.get("required")),
                            "type": _type(p.get("schema", {})),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": body,
                }
            )
    schemas = [
        {"id": f"schema-{name}", **_fields({"$ref": f"#/components/schemas/{name}"}, components)}
        for name in sorted(components)
        if components[name].get("properties")
    ]
    return {
        "schemas": schemas,
        "title": spec.get("info", {}).get("title", "API"),
        "version": spec.get("info", {}).get("version", ""),
        "summary": spec.get("info", {}).get("summary", ""),
        "operations": operations,
    }
