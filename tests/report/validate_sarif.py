#!/usr/bin/env python3
"""Validates SARIF files against the official SARIF 2.1.0 JSON schema (draft-04), with
python3-jsonschema's Draft4Validator and its format checker.

usage: validate_sarif.py SCHEMA FILE...   exit 0 when every file is valid, 1 otherwise (each
error printed with its JSON path).
"""
import json
import sys

import jsonschema


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    jsonschema.Draft4Validator.check_schema(schema)
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    bad = 0
    for path in sys.argv[2:]:
        with open(path) as f:
            doc = json.load(f)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        results = sum(len(run.get("results", [])) for run in doc.get("runs", []))
        if errors:
            bad += 1
            print(f"{path}: {len(errors)} schema error(s)")
            for e in errors[:20]:
                print("  at /" + "/".join(str(p) for p in e.absolute_path) + ": " + e.message[:300])
        else:
            print(f"{path}: valid SARIF 2.1.0, {results} result(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
