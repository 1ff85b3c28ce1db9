#!/usr/bin/env python3
"""Validate a JSON document against a JSON Schema.

Usage: python3 scripts/validate-json.py SCHEMA DOCUMENT
Exit 0 when DOCUMENT is valid, 1 when it is not (each error printed with its JSON
path), 2 on bad usage, an unreadable file or a "$ref" that cannot be resolved. The
schema's own "$schema" picks the draft (draft-04 for SARIF 2.1.0, draft-07 for
CycloneDX 1.6 and SPDX 2.3, 2020-12 for Vega's report); formats such as date-time
are checked where the jsonschema package can check them.

Never uses the network: a "$ref" to another schema (CycloneDX's
"spdx.schema.json", "jsf-0.82.schema.json", ...) is read from the file of that
name next to SCHEMA, whatever host its absolute URI names.
"""
import json
import os
import sys
import urllib.parse

import jsonschema
import referencing
import referencing.exceptions
import referencing.jsonschema


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def local_registry(schema_path, specification):
    """A registry that finds referenced schemas in SCHEMA's directory, by file name."""
    directory = os.path.dirname(os.path.abspath(schema_path))

    def retrieve(uri):
        name = os.path.basename(urllib.parse.urlsplit(uri).path)
        path = os.path.join(directory, name)
        if not name or not os.path.isfile(path):
            raise referencing.exceptions.NoSuchResource(ref=uri)
        return referencing.Resource.from_contents(load(path), default_specification=specification)

    return referencing.Registry(retrieve=retrieve)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        schema, document = load(argv[1]), load(argv[2])
    except (OSError, ValueError) as e:
        print(f"cannot read: {e}", file=sys.stderr)
        return 2
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    specification = referencing.jsonschema.specification_with(
        cls.META_SCHEMA["$schema"], default=referencing.jsonschema.DRAFT202012
    )
    registry = local_registry(argv[1], specification)
    validator = cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)
    try:
        errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    except referencing.exceptions.Unresolvable as e:
        print(f"cannot resolve a $ref of {argv[1]} offline: {e}", file=sys.stderr)
        return 2
    for error in errors:
        print(f"{error.json_path}: {error.message}")
    if errors:
        print(f"{argv[2]}: {len(errors)} error(s) against {argv[1]}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
