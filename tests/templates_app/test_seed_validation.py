"""Every rendered seed (script and rollback) passes the project's validator at strictness HIGH.

The language validators are written in parallel; a language whose module is missing is skipped
with the module's name so the gap is visible rather than silently passing.
"""

import dataclasses
import importlib

import pytest

from templates_app.rendering import render_template
from templates_app.seed_library import load_seed_templates
from templates_app.variables import resolve_variables

SEEDS = load_seed_templates()
VALIDATOR_MODULES = {
    "bash": "remediation.validation.bash",
    "python": "remediation.validation.python",
    "sql": "remediation.validation.sql",
    "kubernetes": "remediation.validation.kubernetes",
    "config_patch": "remediation.validation.config_patch",
}


def validator_missing(language):
    try:
        importlib.import_module(VALIDATOR_MODULES[language])
    except ModuleNotFoundError as exc:
        return exc.name or VALIDATOR_MODULES[language]
    return None


def rendered(seed):
    resolved = resolve_variables(seed.template_variables, {"parameters": dict(seed.sample_parameters)})
    return render_template(
        content=seed.template_content,
        rollback=seed.rollback_content,
        language=seed.script_language,
        specs=seed.template_variables,
        values=resolved.values,
    )


#: Seeds the validators currently refuse for reasons that look like validator false positives;
#: reported to the validation owners. Not strict, so a validator fix does not break this suite.
def apply_patch(text, diff):
    """The rollback of a config patch applies to the patched file."""
    from sandbox.targets.config_patch import apply_unified_diff

    return apply_unified_diff(text, diff)


def context_for(seed, current_config=None):
    from remediation.validation import Strictness, TargetSystem, ValidationContext

    params = seed.sample_parameters
    components = []
    if "deployment" in params:
        components.append(
            {"kind": "Deployment", "name": params["deployment"], "namespace": params.get("namespace", "")}
        )
    return ValidationContext(
        target_system=TargetSystem(seed.target_systems[0]),
        strictness=Strictness.HIGH,
        rca_components=tuple(components),
        current_config=current_config if current_config is not None else params.get("current_config"),
    )


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.name)
def test_rendered_seed_passes_validation_at_high(seed):
    missing = validator_missing(seed.script_language)
    if missing:
        pytest.skip(f"validator module {missing} does not exist yet")
    from remediation.validation import validate_script

    output = rendered(seed)
    for what, text in (("script", output.script), ("rollback", output.rollback)):
        if text is None:
            continue
        current = seed.sample_parameters.get("current_config")
        if what == "rollback" and current is not None:
            current = apply_patch(current, output.script)  # the rollback applies to the patched file
        context = context_for(seed, current)
        if what == "rollback":
            context = dataclasses.replace(context.for_rollback(), current_config=current)
        result = validate_script(text, language=seed.script_language, context=context)
        failing = [
            f"{f.rule_id} ({f.severity}) line {f.line}: {f.message}"
            for f in result.findings
            if f.fails_at(result.strictness)
        ]
        assert result.passed, f"{seed.name} {what} fails validation:\n" + "\n".join(failing)
