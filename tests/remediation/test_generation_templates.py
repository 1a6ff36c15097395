"""Template path of generation, end to end: intake -> template ranking -> render -> validate -> score -> store.

Every category of the contract (shared/contracts/CATEGORIES.md) gets an RCA with exactly the
contract's parameter names, filled with the seed library's realistic sample values, and must come
out as a stored, validated (PASSED) script in the contract's language, rendered from a template.
No LLM is configured here: generation must work fully offline.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from remediation.lifecycle import SYSTEM
from remediation.models import AuditEvent, RemediationScript
from remediation.services.generation import script_generate
from remediation.services.intake import request_remediation
from templates_app.models import RemediationTemplate
from templates_app.seed_library import SeedTemplate, load_seed_templates
from tests.factories import TemplateFactory, rca_payload

pytestmark = pytest.mark.django_db

SHARED = Path(__file__).resolve().parents[3] / "shared"
CATEGORIES_MD = SHARED / "contracts" / "CATEGORIES.md"
EXAMPLES = SHARED / "examples" / "rca"

#: Factors every stored script must explain its confidence with.
CONFIDENCE_FACTORS = {"rca_confidence", "template_match", "completeness", "validation", "simplicity", "history"}


@dataclass(frozen=True)
class ContractRow:
    category: str
    target_system: str
    language: str
    parameters: tuple[str, ...]


def _contract_rows() -> list[ContractRow]:
    """The category table of the contract, read from the file so a new row is tested without edits here."""
    rows = []
    for line in CATEGORIES_MD.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not re.fullmatch(r"[a-z_]+", cells[0]) or cells[0] == "category":
            continue
        category, target, language, parameters = cells
        names = tuple(re.match(r"[a-z_]+", part.strip()).group(0) for part in parameters.split(","))  # type: ignore[union-attr]
        rows.append(ContractRow(category, target, language.replace(" ", "_"), names))
    return rows


CONTRACT = _contract_rows()


def _seed_for(row: ContractRow) -> SeedTemplate:
    """The seed template that covers the row in the contract's language and target system."""
    seeds = [
        seed
        for seed in load_seed_templates()
        if seed.root_cause_category == row.category
        and seed.script_language == row.language
        and row.target_system in seed.target_systems
    ]
    assert seeds, f"the seed library has no {row.language} template for {row.category} on {row.target_system}"
    return seeds[0]


def _components(target_system: str, parameters: dict[str, Any]) -> list[dict[str, str]]:
    """What an RCA engine names as affected, as the contract samples do (validators check scope against it)."""
    if target_system == "kubernetes":
        return [{"kind": "Deployment", "name": parameters["deployment"], "namespace": parameters["namespace"]}]
    if target_system == "postgresql":
        components = [{"kind": "database", "name": parameters["database"]}]
        if "table" in parameters:
            components.append({"kind": "table", "name": f"{parameters.get('schema', 'public')}.{parameters['table']}"})
        return components
    if "config_path" in parameters:
        return [{"kind": "file", "name": parameters["config_path"]}]
    return [{"kind": "host", "name": "app-7"}]


def contract_rca(row: ContractRow, **overrides: Any) -> dict[str, Any]:
    """An RCA for the row: exactly the contract's parameter names, the seed's sample values."""
    seed = _seed_for(row)
    samples = dict(seed.sample_parameters)
    parameters = {name: samples[name] for name in row.parameters if name in samples}
    if "current_config" in samples:
        parameters["current_config"] = samples["current_config"]
    rca = rca_payload(
        service=f"svc-{row.category.replace('_', '-')}",
        root_cause_category=row.category,
        summary=f"Sample {row.category} incident on {row.target_system}.",
        confidence=0.86,
        target_system=row.target_system,
        affected_components=_components(row.target_system, parameters),
        evidence=[{"kind": "metric", "text": f"{row.category} alert fired"}],
        parameters=parameters,
        # Exactly what the seed needs: pins the template (and so the language) the contract names.
        agent_capabilities=list(seed.required_capabilities),
    )
    rca.update(overrides)
    return rca


def generate(rca: dict[str, Any]) -> RemediationScript:
    script, created = request_remediation(payload=rca, actor=SYSTEM)
    assert created
    return script_generate(script_id=script.pk, no_llm=True)


@pytest.fixture(autouse=True)
def _offline(settings: Any) -> None:
    """No LLM endpoint and the lexical embedder: the template path must never need the network."""
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    settings.EMBEDDING_BACKEND = "lexical"


def test_contract_table_was_read() -> None:
    categories = {row.category for row in CONTRACT}
    assert len(CONTRACT) >= 19
    assert {"disk_full", "slow_query_missing_index", "connection_pool_exhaustion"} <= categories


def _literal_values(parameters: dict[str, Any]) -> list[str]:
    """Parameter values a reader expects to find verbatim in the script (not whole files, not lists)."""
    values = []
    for name, value in parameters.items():
        if name in {"current_config", "index_columns"} or isinstance(value, bool):
            continue
        values.append(str(value))
    return values


def _contract_params() -> list[Any]:
    return [pytest.param(row, id=row.category) for row in CONTRACT]


@pytest.mark.parametrize("row", _contract_params())
def test_every_contract_category_renders_a_validated_template_script(row: ContractRow, seeded_templates: None) -> None:
    rca = contract_rca(row)
    script = generate(rca)

    assert script.error == "", script.error
    assert script.generator == "template"
    assert script.validation_status == "PASSED", script.validation_reports.first().findings
    assert script.script_language == row.language
    assert script.template is not None
    assert script.template.root_cause_category == row.category
    assert script.template_version is not None
    assert script.template_version.version == script.template.version
    assert script.template_version.template_id == script.template.pk
    # The values of this incident are in the script (quoted as the language needs).
    if row.language == "config_patch":
        # A diff names keys by their place in the file, not by the dotted setting: the new values are
        # what must show, on added lines.
        added = "\n".join(line for line in script.generated_script.splitlines() if line.startswith("+"))
        for name in ("value", "server", "port"):
            if name in rca["parameters"]:
                assert str(rca["parameters"][name]) in added, f"{name} not set by the {row.category} patch"
    else:
        for value in _literal_values(rca["parameters"]):
            if row.language == "sql" and value == rca["parameters"].get("database"):
                continue  # the database is where the script runs, not something it names
            assert value in script.generated_script, f"{value!r} not in the {row.category} script"
    factors = script.confidence_factors
    assert set(factors) >= CONFIDENCE_FACTORS
    assert factors["template_match"] == 1.0
    assert factors["rca_confidence"] == 0.86
    assert 0 < float(script.confidence_score) <= 0.86
    assert script.confidence_level in {"HIGH", "MEDIUM", "LOW"}
    assert script.embedding is not None
    generated = AuditEvent.objects.get(object_id=str(script.pk), verb="script.generated")
    assert generated.after["template"] == script.template.name


def test_config_patch_categories_produce_a_diff_against_current_config(seeded_templates: None) -> None:
    for row in (r for r in CONTRACT if r.language == "config_patch"):
        rca = contract_rca(row)
        script = generate(rca)
        assert script.validation_status == "PASSED"
        text = script.generated_script
        assert re.search(r"^--- ", text, re.MULTILINE) and re.search(r"^\+\+\+ ", text, re.MULTILINE), text
        assert "@@" in text
        removed = [line[1:] for line in text.splitlines() if line.startswith("-") and not line.startswith("---")]
        # Every removed line existed in the file the RCA carried: the diff is against that text.
        assert removed, text
        assert all(line in rca["parameters"]["current_config"] for line in removed)


def test_generation_is_idempotent(seeded_templates: None) -> None:
    script = generate(contract_rca(CONTRACT[0]))
    again = script_generate(script_id=script.pk, no_llm=True)
    assert again.generated_script == script.generated_script
    assert AuditEvent.objects.filter(object_id=str(script.pk), verb="script.generated").count() == 1


# --- the contract's sample RCAs -----------------------------------------------------------------------


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return data


def test_novel_category_without_llm_goes_to_manual_review_with_the_reason(seeded_templates: None) -> None:
    script = generate(_example("novel_ntp_drift"))
    assert script.generated_script == ""
    assert script.generator == "none"
    assert script.needs_detailed_review
    assert "clock_skew" in script.error  # names the category no template covers
    assert "no template" in script.error.lower()
    assert "manual review" in script.error.lower()
    assert AuditEvent.objects.filter(object_id=str(script.pk), verb="generation.manual_review").exists()


def test_injection_in_evidence_never_reaches_the_script_and_is_not_high(seeded_templates: None) -> None:
    hostile = _example("injection_in_evidence")
    script = generate(hostile)
    text = script.generated_script + (script.rollback_script or "")
    assert "rm -rf /" not in text
    assert "203.0.113.9" not in text
    assert "curl" not in text
    assert hostile["parameters"]["path"] not in text
    assert script.confidence_level != "HIGH"
    assert script.approval_status == "REQUIRED"
    generated = AuditEvent.objects.get(object_id=str(script.pk), verb="script.generated")
    assert any("refused" in note and "path" in note for note in generated.details["notes"])


def test_every_sample_rca_is_handled(seeded_templates: None) -> None:
    """Each contract sample becomes either a PASSED script or a manual-review entry with a reason."""
    for path in sorted(EXAMPLES.glob("*.json")):
        script = generate(json.loads(path.read_text()))
        if script.generated_script:
            assert script.validation_status == "PASSED", path.name
        else:
            assert script.error and "manual review" in script.error.lower(), path.name


# --- choosing a template --------------------------------------------------------------------------------


def test_missing_required_parameter_is_named_in_the_error(seeded_templates: None) -> None:
    row = next(r for r in CONTRACT if r.category == "replication_lag")
    rca = contract_rca(row)
    del rca["parameters"]["slot_name"]
    script = generate(rca)
    assert script.generated_script == ""
    assert "slot_name" in script.error
    assert "missing" in script.error
    assert "manual review" in script.error.lower()


def test_missing_parameter_with_default_still_renders(seeded_templates: None) -> None:
    row = next(r for r in CONTRACT if r.category == "table_bloat")
    rca = contract_rca(row)
    del rca["parameters"]["schema"]  # defaults to public
    script = generate(rca)
    assert script.validation_status == "PASSED"
    assert script.confidence_factors["completeness"] < 1.0


def test_quarantined_template_is_skipped(seeded_templates: None) -> None:
    RemediationTemplate.objects.filter(name="disk_full_clean_old_files").update(
        is_quarantined=True, quarantine_reason="3 consecutive failed executions"
    )
    script = generate(rca_payload())
    assert script.template is not None
    assert script.template.name != "disk_full_clean_old_files"
    assert script.template.name == "disk_full_vacuum_journal"


def test_every_template_quarantined_means_manual_review(seeded_templates: None) -> None:
    RemediationTemplate.objects.filter(root_cause_category="replication_lag").update(is_quarantined=True)
    script = generate(contract_rca(next(r for r in CONTRACT if r.category == "replication_lag")))
    assert script.generated_script == ""
    assert "manual review" in script.error.lower()


def test_template_needing_capabilities_the_agent_lacks_is_skipped(seeded_templates: None) -> None:
    row = next(r for r in CONTRACT if r.category == "memory_leak_process")
    python_only = generate(contract_rca(row, agent_capabilities=["python"]))
    assert python_only.script_language == "python"
    assert python_only.template.name == "memory_leak_process_restart"
    bash_only = generate(contract_rca(row, agent_capabilities=["bash"], service="other-service"))
    assert bash_only.script_language == "bash"
    assert bash_only.template.name == "memory_leak_process_restart_bash"
    nothing_fits = generate(contract_rca(row, agent_capabilities=["kubectl"], service="third-service"))
    assert nothing_fits.generated_script == ""
    assert "manual review" in nothing_fits.error.lower()


def _two_disk_templates(**second: Any) -> tuple[RemediationTemplate, RemediationTemplate]:
    content = "#!/usr/bin/env bash\nset -euo pipefail\ndf -h {{ mount_point | shell }}\n"
    variables = [{"name": "mount_point", "type": "path", "allow_system_paths": True}]
    first = TemplateFactory(name="disk-a", template_content=content, template_variables=variables)
    other = TemplateFactory(name="disk-b", template_content=content, template_variables=variables, **second)
    for template in (first, other):
        template.versions.create(version=1, template_content=content, template_variables=variables, checksum="x")
    return first, other


def test_ranking_prefers_the_higher_smoothed_success_rate() -> None:
    _, proven = _two_disk_templates(success_count=9, failure_count=1)
    RemediationTemplate.objects.filter(name="disk-a").update(success_count=1, failure_count=3)
    script = generate(rca_payload())
    assert script.template == proven
    assert script.confidence_factors["history"] == pytest.approx((9 + 1) / (10 + 2), abs=1e-3)


def test_ranking_prefers_the_template_the_rca_fills_more_completely() -> None:
    content = "#!/usr/bin/env bash\nset -euo pipefail\ndf -h {{ mount_point | shell }}\necho {{ max_age_days }}\n"
    filled = [
        {"name": "mount_point", "type": "path", "allow_system_paths": True},
        {"name": "max_age_days", "type": "integer", "minimum": 1},
    ]
    defaulted = [
        {"name": "mount_point", "type": "path", "allow_system_paths": True},
        {"name": "max_age_days", "type": "integer", "minimum": 1, "default": 5, "source": "parameters.retention"},
    ]
    complete = TemplateFactory(name="disk-b-complete", template_content=content, template_variables=filled)
    partial = TemplateFactory(name="disk-a-partial", template_content=content, template_variables=defaulted)
    for template in (complete, partial):
        template.versions.create(
            version=1, template_content=content, template_variables=template.template_variables, checksum="x"
        )
    # Same (no) history, and the name order alone would pick the partial one: completeness decides.
    script = generate(rca_payload())
    assert script.template == complete
    assert script.confidence_factors["completeness"] == 1.0
