"""The API schema is committed as docs/openapi.json; a change to the API must update it
(`make openapi`), so no API change goes unnoticed in review."""

from __future__ import annotations

import json
from pathlib import Path

from cpms.config.api import api

SNAPSHOT = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def current_schema() -> dict:
    return json.loads(json.dumps(api.get_openapi_schema(path_prefix="/api/v1/")))


def test_openapi__matches_committed_snapshot():
    assert SNAPSHOT.exists(), "run `make openapi` to write docs/openapi.json"
    assert current_schema() == json.loads(SNAPSHOT.read_text()), "run `make openapi`"


def test_openapi__every_list_uses_limit_and_cursor():
    schema = current_schema()
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if not get:
            continue
        content = get["responses"]["200"].get("content", {})
        if "application/json" not in content:
            continue  # a file download (documents, receipts, exports)
        response = content["application/json"]["schema"]
        ref = response.get("$ref", "")
        component = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
        if component.get("properties", {}).get("items", {}).get("type") == "array":
            names = {parameter["name"] for parameter in get.get("parameters", [])}
            assert {"limit", "cursor"} <= names, path
            assert "next_cursor" in component["properties"], path
