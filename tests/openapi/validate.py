"""Validates an OpenAPI document: the document itself with openapi-spec-validator
(OpenAPI 3.1 and its JSON Schema dialect), then every `example` in it against the
schema beside it, so the examples cannot drift from the schemas they illustrate.

Usage: python3 validate.py schema/openapi.json
"""

import json
import sys

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate


def examples(node, path=""):
    """Yields (JSON pointer of the media type object, example) for each with an example."""
    if isinstance(node, dict):
        if "schema" in node and "example" in node:
            yield path, node["example"]
        for key, value in node.items():
            escaped = key.replace("~", "~0").replace("/", "~1")
            yield from examples(value, f"{path}/{escaped}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from examples(value, f"{path}/{i}")


def main(filename):
    with open(filename, encoding="utf-8") as f:
        doc = json.load(f)
    validate(doc)
    problems = []
    count = 0
    for where, example in examples(doc):
        count += 1
        # The document is the root schema (its own keys are not JSON Schema keywords,
        # so they are ignored) and `$ref`s the example's schema: the schemas' own
        # `#/components/...` references then resolve within it.
        root = dict(doc)
        root["$ref"] = f"#{where}/schema"
        validator = Draft202012Validator(root)
        for error in validator.iter_errors(example):
            problems.append(f"{where}: {error.message} (at {list(error.absolute_path)})")
    if problems:
        print("examples that do not match their schemas:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print(f"valid: the document, and its {count} examples")


if __name__ == "__main__":
    main(sys.argv[1])
