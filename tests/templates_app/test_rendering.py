"""Rendering: quoting filters, the definition-time rule, config_edit diffs."""

import shlex

import pytest
import unidiff

from templates_app.rendering import (
    TemplateRenderError,
    check_template_definition,
    render_template,
    shell_quote,
    sql_ident_quote,
    sql_literal_quote,
    yaml_quote,
)
from templates_app.variables import IdentifierList, TemplateDefinitionError, VariableError, VariableSpec

NS = VariableSpec("namespace", "k8s_namespace")
NAME = VariableSpec("name", "string")
REPLICAS = VariableSpec("replicas", "integer", minimum=1, maximum=50)


def render_bash(content, values, specs=(NS, NAME, REPLICAS)):
    return render_template(content=content, rollback=None, language="bash", specs=list(specs), values=values)


def test_shell_filter_always_single_quotes_and_survives_quotes():
    assert shell_quote("it's") == "'it'\"'\"'s'"
    assert shlex.split(f"echo {shell_quote(chr(39) + '$(id); rm -rf / #')}") == ["echo", "'$(id); rm -rf / #"]


def test_shell_filter_refuses_option_like_values():
    with pytest.raises(VariableError) as caught:
        render_bash("echo {{ name | shell }}\n", {"namespace": "a", "name": "--all", "replicas": 1})
    assert caught.value.variable == "name"


def test_sql_quoting():
    assert sql_ident_quote('we"ird') == '"we""ird"'
    assert sql_ident_quote(IdentifierList(["a", "b"])) == '"a", "b"'
    assert sql_literal_quote("it's \\ ok") == "E'it\\'s \\\\ ok'"
    assert "\n" not in sql_literal_quote("two\nlines")


def test_yaml_filter_is_one_line_json():
    assert yaml_quote("a\nb: c") == '"a\\nb: c"'
    assert yaml_quote(3) == "3"


def test_renders_and_keeps_structure():
    script = render_bash(
        "NS={{ namespace | shell }}\nkubectl scale deploy x -n {{ namespace | shell }} --replicas={{ replicas }}\n",
        {"namespace": "prod", "name": "x", "replicas": 3},
    ).script
    assert script == "NS='prod'\nkubectl scale deploy x -n 'prod' --replicas=3\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("echo {{ name }}\n", "without quoting"),
        ("echo {{ name | e }}\n", "not a quoting filter"),
        ("echo {{ name | lower | shell }}\n", "directly to a variable"),
        ('echo "x {{ name | shell }}"\n', "shell quoting does not protect"),
        ("cat <<EOF\n{{ name | shell }}\nEOF\n", "shell quoting does not protect"),
        ("bash -c 'echo {{ name | shell }}'\n", "shell quoting does not protect"),
        ("echo {{ undeclared | shell }}\n", "undeclared"),
        ("{% include 'x' %}\n", "not allowed"),
        ("echo {{ name | sql_literal }}\n", "not a quoting filter"),
        ("echo {{ name.upper() | shell }}\n", "not allowed"),
    ],
)
def test_definition_rule_refuses_unsafe_bash(content, message):
    with pytest.raises(TemplateDefinitionError, match=message):
        check_template_definition(content=content, rollback=None, language="bash", specs=[NS, NAME, REPLICAS])


def test_definition_rule_checks_the_rollback_too():
    with pytest.raises(TemplateDefinitionError, match="rollback"):
        check_template_definition(content="true\n", rollback="echo {{ name }}\n", language="bash", specs=[NAME])


@pytest.mark.parametrize(
    ("language", "content"),
    [
        ("sql", "SELECT 1; -- {{ name | sql_literal }}\n"),
        ("sql", "DO $$ BEGIN PERFORM {{ name | sql_literal }}; END $$;\n"),
        ("python", "print('x' + {{ name | shell }})\n"),
        ("python", "# {{ name | py }}\nprint(1)\n"),
        ("kubernetes", "image: repo/{{ name | yaml }}\n"),
    ],
)
def test_definition_rule_refuses_values_outside_their_quotes(language, content):
    with pytest.raises(TemplateDefinitionError):
        check_template_definition(content=content, rollback=None, language=language, specs=[NAME])


def test_bare_output_allowed_for_strictly_typed_numbers():
    check_template_definition(
        content="spec:\n  replicas: {{ replicas }}\n", rollback=None, language="kubernetes", specs=[REPLICAS]
    )


def test_missing_required_value_is_named():
    with pytest.raises(VariableError) as caught:
        render_bash("echo {{ namespace | shell }} {{ name | shell }}\n", {"replicas": 1})
    assert caught.value.variable == "namespace"
    assert "name" in caught.value.reason


def test_invalid_value_is_never_rendered():
    with pytest.raises(VariableError) as caught:
        render_bash("echo {{ namespace | shell }}\n", {"namespace": "prod; rm -rf /", "name": "x", "replicas": 1})
    assert caught.value.variable == "namespace"


def test_optional_variable_printed_without_guard_fails_loudly():
    optional = VariableSpec("revision", "integer", required=False)
    with pytest.raises(VariableError, match="optional"):
        render_template(content="echo {{ revision }}\n", rollback=None, language="bash", specs=[optional], values={})


CONFIG_SPECS = [
    VariableSpec("config_path", "path"),
    VariableSpec("setting", "setting_key"),
    VariableSpec("value", "config_value"),
    VariableSpec("current_config", "config_text"),
]
SET_EDIT = "kind: config_edit\nformat: auto\nedits:\n  - set: {key: setting, value: value}\n"


def render_config(path, setting, value, current):
    return render_template(
        content=SET_EDIT,
        rollback="kind: config_edit_rollback\n",
        language="config_patch",
        specs=CONFIG_SPECS,
        values={"config_path": path, "setting": setting, "value": value, "current_config": current},
    )


def apply_patch(text, diff):
    """Apply a unified diff with exact context (a tiny reference implementation for the tests)."""
    lines = text.splitlines(keepends=True)
    patch = unidiff.PatchSet(diff)
    (patched_file,) = patch
    out, position = [], 0
    for hunk in patched_file:
        start = hunk.source_start - 1
        out.extend(lines[position:start])
        position = start
        for line in hunk:
            if line.is_context or line.is_removed:
                assert lines[position] == line.value, "context mismatch"
                position += 1
            if line.is_context or line.is_added:
                out.append(line.value)
    out.extend(lines[position:])
    return "".join(out)


def test_yaml_config_edit_diff_applies_and_reverses():
    current = "# app\nserver:\n  port: 9200\nlogging:\n  level: DEBUG  # noisy\n  format: json\n"
    rendered = render_config("/etc/search/app.yaml", "logging.level", "INFO", current)
    assert rendered.script.startswith("--- a/etc/search/app.yaml\n+++ b/etc/search/app.yaml\n")
    patched = apply_patch(current, rendered.script)
    assert "  level: INFO  # noisy\n" in patched
    assert apply_patch(patched, rendered.rollback) == current


def test_yaml_config_edit_adds_a_missing_key_under_its_parent():
    current = "database:\n  host: db\nother: 1\n"
    patched = apply_patch(current, render_config("/etc/app/app.yml", "database.pool_size", "40", current).script)
    import yaml

    assert yaml.safe_load(patched) == {
        "database": {"host": "db", "pool_size": "40"},
        "other": 1,
    }  # a config_value stays a string


def test_ini_and_keyvalue_config_edits():
    ini = "[main]\nworkers = 4\n\n[pool]\nsize = 10\n"
    assert "size = 25" in apply_patch(ini, render_config("/etc/app/app.ini", "pool.size", "25", ini).script)
    flat = "# comment\nlog_level = debug\nport=80\n"
    assert "log_level = warning" in apply_patch(
        flat, render_config("/etc/app/app.conf", "log_level", "warning", flat).script
    )


def test_nginx_directive_edit_and_ambiguity():
    conf = "server {\n    location / {\n        proxy_read_timeout 5s;\n    }\n}\n"
    patched = apply_patch(conf, render_config("/etc/nginx/conf.d/a.conf", "proxy_read_timeout", "60s", conf).script)
    assert "proxy_read_timeout 60s;" in patched
    twice = conf.replace("    }\n}", "    }\n    location /b {\n        proxy_read_timeout 1s;\n    }\n}")
    with pytest.raises(TemplateRenderError, match="2 times"):
        render_config("/etc/nginx/conf.d/a.conf", "proxy_read_timeout", "60s", twice)


def test_config_edit_without_current_config_names_the_missing_variable():
    with pytest.raises(VariableError) as caught:
        render_template(
            content=SET_EDIT,
            rollback=None,
            language="config_patch",
            specs=CONFIG_SPECS,
            values={"config_path": "/etc/app/app.yaml", "setting": "a", "value": "b"},
        )
    assert caught.value.variable == "current_config"


def test_config_edit_that_changes_nothing_is_refused():
    with pytest.raises(TemplateRenderError, match="nothing to change"):
        render_config("/etc/app/app.yaml", "level", "INFO", "level: INFO\n")


def test_config_value_that_would_end_a_directive_is_refused():
    with pytest.raises(VariableError) as caught:
        render_config("/etc/nginx/conf.d/a.conf", "listen", "8080; include /tmp/x;", "server {\n    listen 80;\n}\n")
    assert caught.value.variable == "value"


def test_file_without_trailing_newline_gets_a_marker():
    rendered = render_config("/etc/app/app.conf", "level", "info", "level = debug")
    assert "\\ No newline at end of file" in rendered.script
