"""Template promotion (issue 4): proven LLM scripts are proposed to supervisors, never promoted silently."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone

from remediation.errors import ActionForbidden, InvalidInput, TransitionRefused
from remediation.lifecycle import SYSTEM
from remediation.models import AuditEvent, NotificationRecord, RemediationScript
from remediation.services.generation import script_generate
from remediation.services.intake import request_remediation
from remediation.services.promotion import (
    lift_values,
    proposal_accept,
    proposal_dismiss,
    propose_template_if_proven,
)
from remediation.services.validation import run_validators
from templates_app.models import RemediationTemplate, TemplateProposal, TemplateSource
from templates_app.rendering import render_template
from templates_app.selectors import template_specs
from templates_app.variables import VariableSpec
from tests.factories import ScriptFactory, rca_payload

pytestmark = pytest.mark.django_db

CHRONY_SCRIPT = """\
#!/usr/bin/env bash
# Re-enable NTP synchronisation after chrony lost its sources.
set -euo pipefail

UNIT="chronyd.service"
if ! systemctl is-enabled --quiet "chronyd.service"; then
  echo "pre-check failed: chronyd.service is not enabled" >&2
  exit 2
fi
offset="$(chronyc tracking | awk '/System time/ {print int($4)}')"
if (( offset < 30 )); then
  echo "no action: offset ${offset}s is below 30s"
  exit 0
fi
systemctl restart chronyd.service
chronyc makestep
"""
CHRONY_ROLLBACK = "#!/usr/bin/env bash\nset -euo pipefail\nsystemctl restart chronyd.service\n"
CHRONY_PARAMETERS = {"unit": "chronyd.service", "host": "ledger-3", "max_offset_seconds": 30}


def chrony_rca(**parameters: Any) -> dict[str, Any]:
    return rca_payload(
        service="ledger",
        root_cause_category="clock_skew",
        summary="ledger-3 clock is 41 s ahead; chrony lost its sources.",
        confidence=0.66,
        target_system="linux",
        affected_components=[{"kind": "host", "name": "ledger-3"}],
        evidence=[{"kind": "log", "text": "chronyd: Can't synchronise: no selectable sources"}],
        parameters={**CHRONY_PARAMETERS, **parameters},
        agent_capabilities=["bash"],
    )


def succeeded_llm_script(**fields: Any) -> RemediationScript:
    """An LLM script for clock_skew that was approved and ran successfully."""
    values: dict[str, Any] = {
        "root_cause_category": "clock_skew",
        "service": "ledger",
        "target_system": "linux",
        "script_language": "bash",
        "generator": "llm",
        "model_name": "gpt-4o",
        "generated_script": CHRONY_SCRIPT,
        "rollback_script": CHRONY_ROLLBACK,
        "explanation": "Restart chrony and step the clock.",
        "root_cause_analysis": chrony_rca(),
        "confidence_score": 0.45,
        "confidence_level": "LOW",
        "approval_status": "APPROVED",
        "execution_status": "SUCCESS",
        "executed_at": timezone.now(),
    }
    values.update(fields)
    return ScriptFactory(**values)


def proven(times: int, **fields: Any) -> list[RemediationScript]:
    return [succeeded_llm_script(**fields) for _ in range(times)]


@pytest.fixture(autouse=True)
def _three_successes(settings: Any) -> None:
    settings.TEMPLATE_PROMOTION_SUCCESSES = 3
    settings.EMBEDDING_BACKEND = "lexical"
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""


# --- when a proposal is made -----------------------------------------------------------------------------


def test_no_proposal_before_the_configured_number_of_successes() -> None:
    scripts = proven(2)
    assert propose_template_if_proven(script=scripts[-1]) is None
    assert TemplateProposal.objects.count() == 0


def test_the_nth_success_proposes_a_template_to_supervisors() -> None:
    scripts = proven(3)
    with TestCase.captureOnCommitCallbacks(execute=True):
        proposal = propose_template_if_proven(script=scripts[-1])

    assert proposal is not None
    assert proposal.status == TemplateProposal.Status.OPEN
    assert (proposal.root_cause_category, proposal.script_language, proposal.target_system) == (
        "clock_skew",
        "bash",
        "linux",
    )
    assert proposal.source_script == scripts[-1]
    assert proposal.success_count == 3
    # Proposed, not promoted: no template exists until a supervisor accepts.
    assert not RemediationTemplate.objects.filter(root_cause_category="clock_skew").exists()
    event = AuditEvent.objects.get(verb="template.proposed", object_id=str(proposal.pk))
    assert event.details["source_script"] == str(scripts[-1].pk)
    assert set(event.after["variables"]) == {"unit", "max_offset_seconds"}
    notification = NotificationRecord.objects.get(object_id=str(proposal.pk))
    assert "Template proposed" in notification.title
    assert "supervisor" in notification.body


def test_the_threshold_comes_from_settings(settings: Any) -> None:
    settings.TEMPLATE_PROMOTION_SUCCESSES = 5
    scripts = proven(4)
    assert propose_template_if_proven(script=scripts[-1]) is None
    fifth = succeeded_llm_script()
    assert propose_template_if_proven(script=fifth) is not None


def test_only_successful_llm_scripts_of_the_same_kind_count() -> None:
    succeeded_llm_script()
    succeeded_llm_script()
    succeeded_llm_script(generator="template")  # a template's success is the template's
    succeeded_llm_script(execution_status="FAILED")
    succeeded_llm_script(execution_status="ROLLED_BACK")
    succeeded_llm_script(target_system="kubernetes")
    succeeded_llm_script(script_language="python")
    succeeded_llm_script(root_cause_category="dns_failure")
    latest = succeeded_llm_script(execution_status="RUNNING")
    assert propose_template_if_proven(script=latest) is None
    third = succeeded_llm_script()
    assert propose_template_if_proven(script=third) is not None


def test_a_script_that_did_not_succeed_itself_proposes_nothing() -> None:
    proven(3)
    failed = succeeded_llm_script(execution_status="FAILED")
    template_made = succeeded_llm_script(generator="template")
    assert propose_template_if_proven(script=failed) is None
    assert propose_template_if_proven(script=template_made) is None


def test_no_duplicate_while_a_proposal_is_open() -> None:
    scripts = proven(3)
    first = propose_template_if_proven(script=scripts[-1])
    assert first is not None
    for _ in range(4):
        assert propose_template_if_proven(script=succeeded_llm_script()) is None
    assert TemplateProposal.objects.count() == 1


def test_after_a_dismissal_only_new_successes_count(supervisor: Any) -> None:
    scripts = proven(3)
    proposal = propose_template_if_proven(script=scripts[-1])
    assert proposal is not None
    proposal_dismiss(proposal=proposal, user=supervisor, justification="Restarting chrony hides the firewall issue.")
    assert propose_template_if_proven(script=succeeded_llm_script()) is None
    assert propose_template_if_proven(script=succeeded_llm_script()) is None
    again = propose_template_if_proven(script=succeeded_llm_script())
    assert again is not None and again.pk != proposal.pk
    assert again.success_count == 3


# --- what is proposed ----------------------------------------------------------------------------------------


def test_rca_values_become_typed_quoted_variables() -> None:
    scripts = proven(3)
    proposal = propose_template_if_proven(script=scripts[-1])
    assert proposal is not None
    content = proposal.proposed_content
    assert "{{ unit | shell }}" in content
    assert "{{ max_offset_seconds }}" in content
    assert "UNIT={{ unit | shell }}" in content  # the double quotes went with the value: the filter quotes
    assert "systemctl restart {{ unit | shell }}" in content
    # Inside a double-quoted message shell quoting would not protect the value: kept literal.
    assert '"pre-check failed: chronyd.service is not enabled"' in content
    # "ledger-3" does not occur in the script; "host" is not a variable.
    specs = {item["name"]: item for item in proposal.proposed_variables}
    assert set(specs) == {"unit", "max_offset_seconds"}
    assert specs["unit"]["type"] == "systemd_unit"  # the seed library's type for "unit"
    assert specs["max_offset_seconds"]["type"] == "integer"
    event = AuditEvent.objects.get(verb="template.proposed")
    assert any(note.startswith("unit:") and "kept literal" in note for note in event.details["notes"])


def test_the_proposed_template_renders_other_incidents_values_safely() -> None:
    scripts = proven(3)
    proposal = propose_template_if_proven(script=scripts[-1])
    assert proposal is not None
    specs = [VariableSpec.from_dict(item) for item in proposal.proposed_variables]
    rendered = render_template(
        content=proposal.proposed_content,
        rollback=None,
        language="bash",
        specs=specs,
        values={"unit": "ntpd.service", "max_offset_seconds": 90},
    )
    assert "systemctl restart 'ntpd.service'" in rendered.script
    assert "(( offset < 90 ))" in rendered.script
    result = run_validators(
        script=rendered.script, rollback=None, language="bash", rca=chrony_rca(), target_system="linux"
    )
    assert result.passed, [f.as_dict() for f in result.forward.findings]


def test_secret_looking_parameters_are_never_lifted() -> None:
    script_text = CHRONY_SCRIPT + 'export NTP_KEY_PASSWORD="Zx9-very-secret"\n'
    rca = chrony_rca(ntp_password="Zx9-very-secret")
    scripts = proven(3, generated_script=script_text, root_cause_analysis=rca)
    proposal = propose_template_if_proven(script=scripts[-1])
    assert proposal is not None
    assert "ntp_password" not in {item["name"] for item in proposal.proposed_variables}
    event = AuditEvent.objects.get(verb="template.proposed")
    assert any(note.startswith("ntp_password:") and "secret" in note for note in event.details["notes"])


def test_jinja_syntax_in_the_script_is_kept_as_text() -> None:
    script_text = CHRONY_SCRIPT + 'servers=(a b)\necho "${#servers[@]} servers {{not a variable}} {% raw %}"\n'
    proposal = propose_template_if_proven(script=proven(3, generated_script=script_text)[-1])
    assert proposal is not None
    specs = [VariableSpec.from_dict(item) for item in proposal.proposed_variables]
    rendered = render_template(
        content=proposal.proposed_content,
        rollback=None,
        language="bash",
        specs=specs,
        values={"unit": "chronyd.service", "max_offset_seconds": 30},
    )
    assert '"${#servers[@]} servers {{not a variable}} {% raw %}"' in rendered.script


def test_sql_values_become_identifiers_and_literals() -> None:
    sql = (
        "SET lock_timeout = '5s';\n"
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity\n"
        " WHERE datname = E'billing' AND state = 'idle in transaction'\n"
        "   AND application_name = 'invoice-worker';\n"
        "ANALYZE public.invoices;\n"
    )
    variables = [
        (VariableSpec(name="database", type="sql_identifier"), "billing"),
        (VariableSpec(name="application_name", type="k8s_name"), "invoice-worker"),
        (VariableSpec(name="table", type="sql_identifier"), "invoices"),
    ]
    lifted = lift_values(sql, language="sql", variables=variables)
    assert "datname = {{ database | sql_literal }}" in lifted.content
    assert "application_name = {{ application_name | sql_literal }}" in lifted.content
    assert "ANALYZE public.{{ table | sql_ident }};" in lifted.content
    assert [spec.name for spec in lifted.variables] == ["database", "application_name", "table"]


def test_sql_bare_identifier_with_capitals_is_kept_literal() -> None:
    lifted = lift_values(
        "VACUUM (ANALYZE) public.Orders;\n",
        language="sql",
        variables=[(VariableSpec(name="table", type="sql_identifier"), "Orders")],
    )
    assert "public.Orders" in lifted.content
    assert lifted.variables == []
    assert any("upper-case" in note for note in lifted.notes)


def test_kubernetes_values_become_yaml_scalars() -> None:
    manifest = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: image-resizer\n  namespace: media\n"
        "spec:\n  template:\n    spec:\n      containers:\n        - name: resizer\n"
        '          resources:\n            limits:\n              memory: "1Gi"\n'
    )
    variables = [
        (VariableSpec(name="deployment", type="k8s_name"), "image-resizer"),
        (VariableSpec(name="namespace", type="k8s_namespace"), "media"),
        (VariableSpec(name="memory_limit", type="quantity"), "1Gi"),
    ]
    lifted = lift_values(manifest, language="kubernetes", variables=variables)
    assert "name: {{ deployment | yaml }}" in lifted.content
    assert "namespace: {{ namespace | yaml }}" in lifted.content
    assert 'memory: "{{ memory_limit }}"' in lifted.content


def test_python_values_become_literals_only_where_they_stand_alone() -> None:
    program = (
        "import subprocess\n\nUNIT = 'worker.service'\n\n\ndef main() -> int:\n"
        "    print(f'restarting worker.service')\n"
        "    return subprocess.run(['systemctl', 'restart', UNIT], check=False, timeout=60).returncode\n"
    )
    lifted = lift_values(
        program, language="python", variables=[(VariableSpec(name="unit", type="systemd_unit"), "worker.service")]
    )
    assert "UNIT = {{ unit | py }}" in lifted.content
    assert "f'restarting worker.service'" in lifted.content


# --- supervisors decide ----------------------------------------------------------------------------------------


def test_supervisor_accepts_and_the_next_incident_uses_the_new_template(supervisor: Any) -> None:
    scripts = proven(3)
    proposal = propose_template_if_proven(script=scripts[-1])
    assert proposal is not None
    template = proposal_accept(proposal=proposal, user=supervisor, name="clock_skew_restart_chrony")

    proposal.refresh_from_db()
    assert proposal.status == TemplateProposal.Status.ACCEPTED
    assert proposal.decided_by == supervisor
    assert proposal.created_template == template
    assert template.source == TemplateSource.PROMOTED
    assert template.version == 1 and template.versions.count() == 1
    assert template.root_cause_category == "clock_skew"
    assert template.target_systems == ["linux"]
    assert template.required_capabilities == ["bash"]
    assert {spec.name for spec in template_specs(template)} == {"unit", "max_offset_seconds"}
    assert template.rollback_content is not None and "{{ unit | shell }}" in template.rollback_content
    assert AuditEvent.objects.filter(verb="template.proposal_accepted", actor=supervisor).exists()
    assert AuditEvent.objects.filter(verb="template.created", object_id=str(template.pk)).exists()

    # A new clock_skew incident is now remediated from the template, offline, with its own values.
    script, _ = request_remediation(payload=chrony_rca(unit="ntpd.service", max_offset_seconds=45), actor=SYSTEM)
    script = script_generate(script_id=script.pk, no_llm=True)
    assert script.generator == "template"
    assert script.template == template
    assert script.validation_status == "PASSED"
    assert "systemctl restart 'ntpd.service'" in script.generated_script
    assert "(( offset < 45 ))" in script.generated_script


def test_only_a_supervisor_decides(operator: Any, viewer: Any) -> None:
    proposal = propose_template_if_proven(script=proven(3)[-1])
    assert proposal is not None
    with pytest.raises(ActionForbidden):
        proposal_accept(proposal=proposal, user=operator, name="by-operator")
    with pytest.raises(ActionForbidden):
        proposal_dismiss(proposal=proposal, user=viewer, justification="no")
    proposal.refresh_from_db()
    assert proposal.status == TemplateProposal.Status.OPEN
    assert not RemediationTemplate.objects.filter(name="by-operator").exists()


def test_a_decided_proposal_cannot_be_decided_again(supervisor: Any, second_supervisor: Any) -> None:
    proposal = propose_template_if_proven(script=proven(3)[-1])
    assert proposal is not None
    proposal_accept(proposal=proposal, user=supervisor, name="clock_skew_restart_chrony")
    with pytest.raises(TransitionRefused):
        proposal_accept(proposal=proposal, user=second_supervisor, name="clock_skew_again")
    with pytest.raises(TransitionRefused):
        proposal_dismiss(proposal=proposal, user=second_supervisor, justification="late")
    assert RemediationTemplate.objects.filter(root_cause_category="clock_skew").count() == 1


def test_accept_refuses_a_taken_name_or_an_empty_one(supervisor: Any) -> None:
    proposal = propose_template_if_proven(script=proven(3)[-1])
    assert proposal is not None
    RemediationTemplate.objects.create(
        name="taken",
        root_cause_category="x",
        script_language="bash",
        target_systems=["linux"],
        template_content="true\n",
    )
    with pytest.raises(InvalidInput):
        proposal_accept(proposal=proposal, user=supervisor, name="taken")
    with pytest.raises(InvalidInput):
        proposal_accept(proposal=proposal, user=supervisor, name="  ")
    proposal.refresh_from_db()
    assert proposal.status == TemplateProposal.Status.OPEN


def test_accept_runs_the_definition_safety_check(supervisor: Any) -> None:
    proposal = propose_template_if_proven(script=proven(3)[-1])
    assert proposal is not None
    # Someone edited the proposal so the value lands inside double quotes, where shell quoting is void.
    TemplateProposal.objects.filter(pk=proposal.pk).update(
        proposed_content='#!/usr/bin/env bash\nset -euo pipefail\necho "restarting {{ unit | shell }}"\n'
    )
    proposal.refresh_from_db()
    with pytest.raises(InvalidInput, match="unsafe"):
        proposal_accept(proposal=proposal, user=supervisor, name="clock_skew_unsafe")
    proposal.refresh_from_db()
    assert proposal.status == TemplateProposal.Status.OPEN
    assert not RemediationTemplate.objects.filter(name="clock_skew_unsafe").exists()


def test_dismiss_needs_a_justification_and_is_audited(supervisor: Any) -> None:
    proposal = propose_template_if_proven(script=proven(3)[-1])
    assert proposal is not None
    with pytest.raises(InvalidInput):
        proposal_dismiss(proposal=proposal, user=supervisor, justification="   ")
    dismissed = proposal_dismiss(proposal=proposal, user=supervisor, justification="Treats the symptom only.")
    assert dismissed.status == TemplateProposal.Status.DISMISSED
    assert dismissed.decided_by == supervisor
    event = AuditEvent.objects.get(verb="template.proposal_dismissed", object_id=str(proposal.pk))
    assert event.details["justification"] == "Treats the symptom only."
    assert not RemediationTemplate.objects.filter(root_cause_category="clock_skew").exists()


@pytest.mark.django_db(transaction=True)
def test_two_executions_finishing_together_make_one_proposal() -> None:
    import threading

    from django.db import connection

    scripts = proven(4)
    barrier = threading.Barrier(2)
    results: list[object] = []
    errors: list[Exception] = []

    def finish(script: RemediationScript) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(propose_template_if_proven(script=script))
        except Exception as exc:  # noqa: BLE001 - reported below; a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=finish, args=(script,)) for script in scripts[-2:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert TemplateProposal.objects.count() == 1
    assert sum(result is not None for result in results) == 1
