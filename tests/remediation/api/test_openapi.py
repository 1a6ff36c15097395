"""The OpenAPI document lists every endpoint of the contract (contracts/COMMANDS.md) with its verbs."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.django_db
PREFIX = "/api/generative-remediation/"
CONTRACT = {
    "generate": {"post"},
    "scripts": {"get"},
    "scripts/{id}": {"get"},
    "scripts/{id}/validate": {"post"},
    "scripts/{id}/approve": {"post"},
    "scripts/{id}/execute": {"post"},
    "scripts/{id}/reject": {"post"},
    "scripts/{id}/audit": {"get"},
    "templates": {"get", "post"},
    "templates/{id}": {"put", "delete"},
}


def test_the_schema_lists_every_contract_endpoint(client_for: Any, viewer: Any) -> None:
    response = client_for(viewer).get("/api/schema/")
    assert response.status_code == 200
    paths = yaml.safe_load(response.content)["paths"]
    for path, verbs in CONTRACT.items():
        documented = paths.get(PREFIX + path.replace("{id}", "{pk}")) or paths.get(PREFIX + path)
        assert documented is not None, f"{path} missing from the OpenAPI document"
        assert verbs <= set(documented), f"{path}: {sorted(verbs - set(documented))} not documented"


def test_the_browsable_docs_page_renders_without_any_cdn(client_for: Any, viewer: Any) -> None:
    page = client_for(viewer).get("/api/docs/")
    assert page.status_code == 200
    assert "cdn.jsdelivr" not in page.content.decode()
