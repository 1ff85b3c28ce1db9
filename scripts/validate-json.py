#!/usr/bin/env python3
"""Validate a JSON document against a JSON Schema.

Usage: python3 scripts/validate-json.py SCHEMA DOCUMENT
Exit 0 when DOCUMENT is valid, 1 when it is not (each error printed with its JSON
path), 2 on bad usage or an unreadable file. The schema's own "$schema" picks the
draft (draft-04 for SARIF 2.1.0, 2020-12 for Vega's report); formats such as
date-time are checked where the jsonschema package can check them.
"""
import json
import sys

import jsonschema


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


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
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        print(f"{error.json_path}: {error.message}")
    if errors:
        print(f"{argv[2]}: {len(errors)} error(s) against {argv[1]}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
