"""Holds `sluice connect` to Kafka Connect's published REST specification, with schemathesis.

Usage: python connect_rest.py URL WORKDIR --connector NAME --doomed NAME [--seed N] [--max-examples N]

NAME is a running connector the calls may use; the doomed one is the only one they may delete.

The specification (connect_rest.yaml, Kafka 3.9.0) is generated from Kafka's resources and describes, under
`default`, only what a successful call returns. A copy is amended where Kafka's documentation is explicit and the
generated file silent:
- every operation may answer 4xx with Kafka Connect's error body, `{"error_code": int, "message": string}` ("all
  endpoints use a standard error message format", Kafka's Connect REST documentation);
- the operations Kafka Connect answers without a body say so: 202 for pause, resume and topics/reset; 204 for stop,
  restart, task restart, delete, and a cluster-wide logger change;
- the configuration definitions' strings that Kafka Connect itself sends as `null` (Jackson writes a key without a
  default as `"default_value": null`, a key outside any group as `"group": null`) are nullable;
- request bodies that Kafka Connect reads as a `Map<String, String>` (configurations, the logger level) take numbers
  and booleans too, as Jackson does and as public configurations rely on (`"tasks.max": 1`); a configuration
  patch takes `null`, which removes a key (KIP-477).
Nothing is taken away: every other answer is still checked against the published schema.

schemathesis then runs the checks a client relies on: no server error; status codes, content types, headers and
bodies the specification allows; invalid requests refused with a 4xx. Half of the generated path parameters name
things that exist (the running connector, its task 0, the PostgreSQL connector plugin, a logger), so calls reach
more than the 404 path. Last, the JUnit report must show every operation of the specification exercised and none
failed: a missing route fails the test like a wrong body.
"""

import argparse
import copy
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
]
ERROR_BODY = {
    "type": "object",
    "required": ["error_code", "message"],
    "properties": {"error_code": {"type": "integer"}, "message": {"type": "string"}},
}
NO_BODY = {
    ("put", "/connectors/{connector}/pause"): "202",
    ("put", "/connectors/{connector}/resume"): "202",
    ("put", "/connectors/{connector}/topics/reset"): "202",
    ("put", "/connectors/{connector}/stop"): "204",
    ("post", "/connectors/{connector}/restart"): "204",
    ("post", "/connectors/{connector}/tasks/{task}/restart"): "204",
    ("delete", "/connectors/{connector}"): "204",
    ("put", "/admin/loggers/{logger}"): "204",
}
NULLABLE = {
    "ConfigKeyInfo": ["default_value", "group", "documentation"],
    "ConfigValueInfo": ["value"],
}
METHODS = {"get", "put", "post", "patch", "delete"}


STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
SCALAR = {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}


def scalar_map(schema, nullable=False):
    """A string map's schema with scalar values; anything else as it was."""
    if schema != STRING_MAP:
        return schema
    values = copy.deepcopy(SCALAR)
    if nullable:
        values["nullable"] = True
    return {"type": "object", "additionalProperties": values}


def amended(published):
    spec = copy.deepcopy(published)
    schemas = spec["components"]["schemas"]
    schemas["ErrorMessage"] = ERROR_BODY
    for schema, properties in NULLABLE.items():
        for name in properties:
            schemas[schema]["properties"][name]["nullable"] = True
    request = schemas["CreateConnectorRequest"]["properties"]
    request["config"] = scalar_map(request["config"])
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            for content in operation.get("requestBody", {}).get("content", {}).values():
                content["schema"] = scalar_map(content["schema"], nullable=method == "patch")
            responses = operation.setdefault("responses", {})
            responses["4XX"] = {
                "description": "Kafka Connect's error message",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorMessage"}}},
            }
            code = NO_BODY.get((method, path))
            if code:
                responses[code] = {"description": "no body"}
    return spec


def operations(spec):
    return sorted(
        f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item if method in METHODS
    )


def config(connector, doomed):
    return f"""
[dictionaries.connectors]
values = ["{connector}"]
[dictionaries.tasks]
values = [0]
[dictionaries.plugins]
values = ["io.debezium.connector.postgresql.PostgresConnector"]
[dictionaries.loggers]
values = ["io.debezium"]

[parameters]
"path.connector" = {{ dictionary = "connectors", probability = 0.5 }}
"path.task" = {{ dictionary = "tasks", probability = 0.5 }}
"path.pluginName" = {{ dictionary = "plugins", probability = 0.5 }}
"path.logger" = {{ dictionary = "loggers", probability = 0.5 }}

[[operations]]
include-operation-id = "destroyConnector"
parameters = {{ "path.connector" = "{doomed}" }}
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("workdir")
    parser.add_argument("--connector", required=True)
    parser.add_argument("--doomed", required=True)
    parser.add_argument("--seed", default="1")
    parser.add_argument("--max-examples", default="25")
    args = parser.parse_args()
    workdir = os.path.abspath(args.workdir)

    with open(os.path.join(HERE, "connect_rest.yaml")) as f:
        published = yaml.safe_load(f)
    spec = amended(published)
    spec_path = os.path.join(workdir, "connect_rest.amended.yaml")
    with open(spec_path, "w") as f:
        yaml.safe_dump(spec, f, sort_keys=False)
    config_path = os.path.join(workdir, "schemathesis.toml")
    with open(config_path, "w") as f:
        f.write(config(args.connector, args.doomed))
    junit = os.path.join(workdir, "junit.xml")

    st = os.path.join(os.path.dirname(sys.executable), "st")
    run = subprocess.run(
        [
            st, "--config-file", config_path, "run", spec_path,
            "--url", args.url,
            "--checks", ",".join(CHECKS),
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", args.max_examples,
            "--seed", args.seed,
            "--workers", "1",
            "--report", "junit", "--report-junit-path", junit,
        ],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    print(run.stdout)

    if not os.path.exists(junit):
        print("schemathesis wrote no report")
        return 1
    tested = {case.get("name") for case in ElementTree.parse(junit).getroot().iter("testcase")}
    missing = [op for op in operations(published) if op not in tested]
    if missing:
        print(f"operations of the specification never exercised: {missing}")
        return 1
    print(f"{len(tested)} operations exercised; schemathesis exit code {run.returncode} (seed {args.seed})")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
