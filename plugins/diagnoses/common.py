"""Helpers the built-in diagnoses share: which fits to read and how to word numbers."""

from __future__ import annotations

import math


def fits_to_read(evidence) -> list[dict]:
    """The fits that trained the graded model, else every fit (a failed run may have no graded model)."""
    return evidence.graded_fits() or evidence.fits


def finite(values) -> list:
    return [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def error_texts(evidence) -> list[str]:
    """What the student's program raised: the run's error and each fit's."""
    texts = [(evidence.trace.get("error") or {}).get("message") or ""]
    texts += [f.get("error") or "" for f in evidence.fits]
    texts += [e.get("message") or "" for e in evidence.trace.get("cell_errors") or []]
    return [t for t in texts if t]


def failed_below_threshold(results) -> list:
    """Failed checks that measured a value short of their line (a negative slack)."""
    return [r for r in results if r.status == "failed" and r.slack is not None and r.slack < 0]
