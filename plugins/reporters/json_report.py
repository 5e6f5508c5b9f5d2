"""Reporter ``json``: the report as JSON (hidden checks' values withheld)."""

import json
import math

from grader.hookspecs import hookimpl
from grader.output import atomic_write


def _finite(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def render(report) -> str:
    return json.dumps(_finite(report.to_dict()), indent=2, ensure_ascii=False, default=str) + "\n"


def write(report, path):
    atomic_write(path, render(report))


@hookimpl
def grader_register_reporters(register):
    register("json", write)
