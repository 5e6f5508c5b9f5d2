"""What a diagnosis plugin is: evidence in, hints out.

A check says whether a threshold was met; a diagnosis says why not, the way a teaching assistant
reading the training trace would: each hint names the evidence it rests on and one concrete thing
to try. Diagnoses never change a score. They register through the ``grader_register_diagnoses``
hook and run on the trusted side after the checks, on the run the report shows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable


@dataclass(frozen=True)
class Diagnosis:
    name: str
    # run(evidence, results) -> Hint | list[Hint] | None; ``results`` are the checks' CheckResults
    run: Callable
    description: str = ""


@dataclass
class Hint:
    """One diagnosed mistake. ``evidence``: what in the trace shows it ("the first training batch had
    pixel values up to 255.0"); ``try_this``: one concrete change. ``marker`` puts a vertical line on
    the training charts: {"fit": fit index, "epoch": 0-based epoch within that fit, "label": text}."""

    title: str
    evidence: str
    try_this: str
    marker: dict | None = None
    name: str = ""  # filled in with the diagnosis' name

    def to_dict(self) -> dict:
        return asdict(self)


def run_diagnoses(diagnoses: dict, evidence, results) -> tuple[list[dict], list[str]]:
    """Every diagnosis on one run's evidence: (hints as dicts, errors of diagnosis plugins)."""
    hints, errors = [], []
    for name, diagnosis in diagnoses.items():
        try:
            found = diagnosis.run(evidence, results)
        except Exception as exc:  # a bug in a diagnosis plugin: report it, keep the grade
            errors.append(f"diagnosis {name}: {type(exc).__name__}: {exc}")
            continue
        for hint in [found] if isinstance(found, Hint) else (found or []):
            hint.name = name
            hints.append(hint.to_dict())
    return hints, errors
