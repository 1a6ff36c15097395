"""The shipped seed library: coverage of the categories contract, rendering, and loader errors."""

import json
import re
from pathlib import Path

import pytest

from templates_app.rendering import render_template
from templates_app.seed_library import load_seed_templates
from templates_app.variables import TemplateDefinitionError, VariableError, resolve_variables

CONTRACTS = Path("/work/shared/contracts/CATEGORIES.md")
EXAMPLES = Path("/work/shared/examples/rca")
SEEDS = load_seed_templates()


def contract_rows():
    rows = []
    for line in CONTRACTS.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"[a-z_]+", cells[0]) and cells[0] != "category":
            params = [re.sub(r"\s*\(.*\)", "", p).strip() for p in cells[3].split(",")]
            rows.append((cells[0], cells[1], cells[2].replace("config_patch", "config_patch"), params))
    return rows


def render(seed, values):
    return render_template(
        content=seed.template_content,
        rollback=seed.rollback_content,
        language=seed.script_language,
        specs=seed.template_variables,
        values=values,
    )


@pytest.mark.skipif(not CONTRACTS.exists(), reason="shared contracts not present")
@pytest.mark.parametrize(("category", "target", "language", "params"), contract_rows())
def test_every_contract_category_has_a_template_with_its_parameters(category, target, language, params):
    matching = [s for s in SEEDS if s.root_cause_category == category and s.script_language == language]
    assert matching, f"no {language} template for {category}"
    # At least one template takes exactly the contract's parameter names (variants may take fewer).
    complete = [s for s in matching if set(params) <= {spec.name for spec in s.template_variables}]
    assert complete, f"no {category} template declares all of {params}"
    assert all(target in seed.target_systems for seed in complete)


def test_library_size_and_languages():
    assert len(SEEDS) >= 25
    assert {s.script_language for s in SEEDS} == {"bash", "python", "sql", "kubernetes", "config_patch"}


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.name)
def test_seed_renders_with_its_sample_parameters(seed):
    resolved = resolve_variables(seed.template_variables, {"parameters": dict(seed.sample_parameters)})
    assert resolved.ok, (resolved.missing, resolved.errors)
    rendered = render(seed, resolved.values)
    assert rendered.script.strip()
    assert "{{" not in rendered.script
    assert "{%" not in rendered.script
    assert (rendered.rollback is None) == (seed.rollback_content is None)
    if seed.script_language == "bash":
        assert "set -euo pipefail" in rendered.script
        assert re.search(r"exit [12]", rendered.script), "a failed pre/post-check must exit non-zero"


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.name)
def test_seed_reports_missing_required_values_by_name(seed):
    required = sorted(s.name for s in seed.template_variables if s.required and s.default is None)
    resolved = resolve_variables(seed.template_variables, {"parameters": {}})
    assert sorted(resolved.missing) == required
    if required:
        with pytest.raises(VariableError) as caught:
            render(seed, {})
        assert caught.value.variable in required


def example_pairs():
    pairs = []
    for path in sorted(EXAMPLES.glob("*.json")) if EXAMPLES.exists() else []:
        rca = json.loads(path.read_text())
        for seed in SEEDS:
            if seed.root_cause_category == rca["root_cause_category"]:
                pairs.append(pytest.param(seed, rca, id=f"{path.stem}-{seed.name}"))
    return pairs


@pytest.mark.parametrize(("seed", "rca"), example_pairs())
def test_seed_renders_with_matching_example_rca(seed, rca):
    resolved = resolve_variables(seed.template_variables, rca)
    declares_path = any(spec.name == "path" for spec in seed.template_variables)
    if declares_path and rca.get("parameters", {}).get("path", "").endswith("#"):
        # injection_in_evidence.json: the hostile path must be refused, never rendered.
        assert [e.variable for e in resolved.errors] == ["path"]
        return
    if seed.script_language == "config_patch" and "current_config" in resolved.missing:
        with pytest.raises(VariableError, match="current_config"):
            render(seed, resolved.values)
        return
    assert resolved.ok, (resolved.missing, resolved.errors)
    assert render(seed, resolved.values).script


def test_example_rcas_cover_their_templates():
    assert len(example_pairs()) >= 9


def test_checksums_are_stable_and_content_sensitive(tmp_path):
    source = next(s for s in SEEDS if s.name == "failed_rollout_undo").source_file
    copy = tmp_path / "one.yaml"
    copy.write_text(source.read_text())
    (first,) = load_seed_templates(copy)
    assert first.checksum == next(s for s in SEEDS if s.name == "failed_rollout_undo").checksum
    copy.write_text(source.read_text().replace("--timeout=300s", "--timeout=240s"))
    (changed,) = load_seed_templates(copy)
    assert changed.checksum != first.checksum


def test_bad_seed_file_is_named(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text(
        "name: broken\ndescription: d\nroot_cause_category: disk_full\ntarget_systems: [linux]\n"
        "script_language: bash\nrequired_capabilities: [bash]\n"
        "template_variables: [{name: path, type: path}]\nsafety_checks: [x]\n"
        'template_content: "rm -rf {{ path }}\\n"\nrollback_content: null\n'
        "rollback_unavailable_reason: none\nsample_parameters: {path: /var/cache/x}\n"
    )
    with pytest.raises(TemplateDefinitionError, match=r"broken\.yaml.*without quoting"):
        load_seed_templates(tmp_path)


def test_missing_rollback_reason_and_duplicate_names_are_refused(tmp_path):
    source = next(s for s in SEEDS if s.name == "disk_full_clean_old_files").source_file
    text = source.read_text()
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(text)
    with pytest.raises(TemplateDefinitionError, match="already used"):
        load_seed_templates(tmp_path)
    (tmp_path / "b.yaml").unlink()
    (tmp_path / "a.yaml").write_text(re.sub(r"rollback_unavailable_reason:.*\n", "", text))
    with pytest.raises(TemplateDefinitionError, match=r"a\.yaml.*rollback_unavailable_reason"):
        load_seed_templates(tmp_path)
