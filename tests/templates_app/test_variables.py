"""Typed variables: values that do not match are refused with the variable's name; RCA resolution."""

import pytest

from templates_app.variables import (
    TemplateDefinitionError,
    VariableError,
    VariableSpec,
    coerce_value,
    resolve_variables,
)

VALID = [
    ("string", "billing worker", "billing worker"),
    ("integer", "42", 42),
    ("integer", 3.0, 3),
    ("number", "0.5", 0.5),
    ("boolean", "yes", True),
    ("identifier", "storefront_app", "storefront_app"),
    ("k8s_name", "payments-api.v2", "payments-api.v2"),
    ("k8s_namespace", "media", "media"),
    ("path", "/var/cache/checkout", "/var/cache/checkout"),
    ("quantity", "512Mi", "512Mi"),
    ("quantity", "500m", "500m"),
    ("duration", "1h30m", "1h30m"),
    ("hostname", "Shop.Example.com", "shop.example.com"),
    ("ip", "10.0.3.7", "10.0.3.7"),
    ("port", 8080, 8080),
    ("url", "https://127.0.0.1:8443/healthz?deep=1", "https://127.0.0.1:8443/healthz?deep=1"),
    ("sql_identifier", "orders", "orders"),
    ("systemd_unit", "nginx.service", "nginx.service"),
    ("process_name", "java", "java"),
    ("image", "registry.example.com:5000/team/app:1.2.3", "registry.example.com:5000/team/app:1.2.3"),
    ("setting_key", "logging.level", "logging.level"),
    ("config_value", "60s", "60s"),
    ("log_level", "info", "info"),
    ("csv_identifiers", "customer_id, created_at", "customer_id,created_at"),
]


@pytest.mark.parametrize(("kind", "raw", "expected"), VALID)
def test_valid_values_are_normalised(kind, raw, expected):
    assert coerce_value(VariableSpec("v", kind), raw) == expected


INVALID = [
    ("string", "two\nlines"),
    ("string", "bidi\u202etrick"),
    ("string", "zero\u200bwidth"),
    ("string", "x" * 300),
    ("integer", "12; rm -rf /"),
    ("integer", True),
    ("integer", 1.5),
    ("number", "nan"),
    ("boolean", "maybe"),
    ("identifier", "a-b"),
    ("k8s_name", "Payments"),
    ("k8s_name", "-rf"),
    ("k8s_namespace", "a.b"),
    ("path", "relative/path"),
    ("path", "/var/cache/../../etc"),
    ("path", "/var/cache/*"),
    ("path", "/var/cache/"),
    ("path", "//etc"),
    ("path", "/etc"),
    ("path", "/"),
    ("path", "/var/cache/checkout; rm -rf / #"),
    ("path", "/opt/app/-rf"),
    ("quantity", "1Gi; x"),
    ("quantity", "lots"),
    ("duration", "5 minutes"),
    ("hostname", "a..b"),
    ("hostname", "host name"),
    ("ip", "10.0.0.256"),
    ("port", 0),
    ("port", 70000),
    ("url", "file:///etc/passwd"),
    ("url", "http://user:pw@host/"),
    ("url", "http://h/ x"),
    ("url", "http://h/'$(id)'"),
    ("sql_identifier", "orders; DROP TABLE x"),
    ("sql_identifier", 'a"b'),
    ("systemd_unit", "-x.service"),
    ("systemd_unit", "a b.service"),
    ("process_name", "java;id"),
    ("image", "app:latest; curl x"),
    ("image", "UPPER/case:1"),
    ("setting_key", "a..b"),
    ("config_value", "8080; include /tmp/x;"),
    ("config_value", "{ x }"),
    ("config_value", "a # comment"),
    ("config_value", "it's"),
    ("log_level", "LOUD"),
    ("csv_identifiers", "a,a"),
    ("csv_identifiers", "a,b;c"),
]


@pytest.mark.parametrize(("kind", "raw"), INVALID)
def test_invalid_values_are_refused_with_the_variable_name(kind, raw):
    with pytest.raises(VariableError) as caught:
        coerce_value(VariableSpec("my_var", kind), raw)
    assert caught.value.variable == "my_var"
    assert "my_var" in str(caught.value)
    assert caught.value.reason


def test_system_paths_only_when_the_variable_allows_them():
    assert coerce_value(VariableSpec("mount_point", "path", allow_system_paths=True), "/") == "/"
    with pytest.raises(VariableError, match="system directory"):
        coerce_value(VariableSpec("path", "path"), "/usr")


def test_bounds_pattern_and_choices():
    spec = VariableSpec("replicas", "integer", minimum=1, maximum=50)
    assert coerce_value(spec, 50) == 50
    with pytest.raises(VariableError, match="maximum"):
        coerce_value(spec, 51)
    with pytest.raises(VariableError, match="minimum"):
        coerce_value(spec, 0)
    with pytest.raises(VariableError, match="pattern"):
        coerce_value(VariableSpec("setting", "setting_key", pattern="[a-z_]*timeout"), "worker_processes")
    enum = VariableSpec("mode", "enum", choices=["fast", "safe"])
    assert coerce_value(enum, "safe") == "safe"
    with pytest.raises(VariableError):
        coerce_value(enum, "reckless")


@pytest.mark.parametrize(
    "data",
    [
        {"name": "x"},
        {"name": "x", "type": "colour"},
        {"name": "Bad-Name", "type": "string"},
        {"name": "x", "type": "enum"},
        {"name": "x", "type": "string", "pattern": "("},
        {"name": "x", "type": "integer", "min": 5, "max": 1},
        {"name": "x", "type": "integer", "default": "ten"},
        {"name": "x", "type": "string", "colour": "red"},
        {"name": "x", "type": "string", "source": "parameters..x"},
    ],
)
def test_bad_declarations_raise_template_definition_error(data):
    with pytest.raises(TemplateDefinitionError):
        VariableSpec.from_dict(data)


def test_from_dict_round_trips_through_to_dict():
    data = {"name": "replicas", "type": "integer", "min": 1, "max": 9, "default": 2, "required": False}
    spec = VariableSpec.from_dict(data)
    assert VariableSpec.from_dict(spec.to_dict()) == spec


RCA = {
    "service": "image-resizer",
    "affected_components": [
        {"kind": "host", "name": "node-3"},
        {"kind": "Deployment", "name": "image-resizer", "namespace": "media"},
    ],
    "parameters": {"container": "resizer", "memory_limit": "1Gi", "replicas": "not-a-number"},
}


def test_resolve_from_parameters_components_and_top_level():
    specs = [
        VariableSpec(
            "namespace", "k8s_namespace", source="parameters.namespace | affected_components[kind=Deployment].namespace"
        ),
        VariableSpec("deployment", "k8s_name", source="affected_components[kind=Deployment].name"),
        VariableSpec("service", "k8s_name", source="service"),
        VariableSpec("container", "k8s_label"),
        VariableSpec("memory_limit", "quantity"),
    ]
    resolved = resolve_variables(specs, RCA)
    assert resolved.values == {
        "namespace": "media",
        "deployment": "image-resizer",
        "service": "image-resizer",
        "container": "resizer",
        "memory_limit": "1Gi",
    }
    assert resolved.ok
    assert resolved.completeness == 1.0
    assert resolved.sources["namespace"] == "affected_components[kind=Deployment].namespace"


def test_resolve_reports_missing_defaulted_invalid_and_completeness():
    specs = [
        VariableSpec("container", "k8s_label"),
        VariableSpec("memory_request", "quantity"),  # required, absent
        VariableSpec("timeout", "duration", default="30s"),  # absent, defaulted
        VariableSpec("replicas", "integer", default=2),  # present but invalid: no fallback to default
        VariableSpec("revision", "integer", required=False),  # optional, absent
    ]
    resolved = resolve_variables(specs, RCA)
    assert resolved.missing == ["memory_request"]
    assert resolved.defaulted == ["timeout"]
    assert [error.variable for error in resolved.errors] == ["replicas"]
    assert "replicas" not in resolved.values
    assert resolved.values["revision"] is None
    assert resolved.values["timeout"] == "30s"
    assert resolved.completeness == pytest.approx(1 / 5)
    assert not resolved.ok


def test_resolve_with_no_specs_is_complete():
    assert resolve_variables([], {}).completeness == 1.0
