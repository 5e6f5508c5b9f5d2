"""What a check plugin is: a name, the spec fields it reads, a function from evidence to result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from grader.results import CheckResult


class ModelUnavailable(Exception):
    """Raised by the evidence when there is no trained model to test; the message says why."""


_TYPES = {
    "number": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    "integer": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "string": (lambda v: isinstance(v, str), "a string"),
    "boolean": (lambda v: isinstance(v, bool), "true or false"),
    "numbers": (
        lambda v: isinstance(v, list) and bool(v) and all(_TYPES["number"][0](x) for x in v),
        "a non-empty list of numbers",
    ),
    "strings": (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "a list of strings"),
}


@dataclass(frozen=True)
class Field:
    """One spec field a check type reads. ``kind`` is a key of the type table above."""

    kind: str
    required: bool = True
    default: Any = None
    help: str = ""

    def __post_init__(self):
        if self.kind not in _TYPES:
            raise ValueError(f"Field kind {self.kind!r} is not one of: {', '.join(_TYPES)}.")

    def describe(self) -> str:
        return _TYPES[self.kind][1]

    def accepts(self, value) -> bool:
        return _TYPES[self.kind][0](value)


@dataclass(frozen=True)
class CheckType:
    name: str
    run: Callable  # run(evidence, check: CheckSpec) -> Outcome
    fields: dict = field(default_factory=dict)
    description: str = ""
    # validate(params) -> None, or a sentence on what is wrong across fields
    validate: Callable | None = None
    # The check reads the child's record of training (epochs, histories, callbacks, data), which the
    # student's code can reach: it fails when the trained model shows the record false (grader.record).
    rests_on_record: bool = False


@dataclass
class CheckSpec:
    """One ``[[checks]]`` entry of an exercise, validated against its CheckType."""

    name: str
    type: str
    title: str
    points: float
    visibility: str
    params: dict
    hint: str = ""
    # A pass or fail closer than this to the line (in the check's own units) is reported as borderline.
    margin: float | None = None

    @property
    def hidden(self) -> bool:
        return self.visibility == "hidden"


@dataclass
class Outcome:
    """What a check function returns; the grader turns it into a CheckResult."""

    passed: bool
    message: str
    expected: Any = None
    got: Any = None
    hint: str = ""
    fraction: float | None = None  # partial credit in [0, 1]; default all or nothing
    # How far the measured value is from the pass/fail line, in the check's units: positive when it
    # passes by that much, negative when it fails by that much. None when the check has no such line.
    slack: float | None = None


def plural(n, word: str) -> str:
    """``plural(1, "epoch")`` -> "1 epoch"; ``plural(3, "epoch")`` -> "3 epochs"."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def passed(message, **kw) -> Outcome:
    return Outcome(True, message, **kw)


def failed(message, **kw) -> Outcome:
    return Outcome(False, message, **kw)


def run_check(check_type: CheckType, spec: CheckSpec, evidence) -> CheckResult:
    """Run one check. A missing model fails the check with the reason; a crash in the
    check itself is an ``error`` result (the grader's fault, not the student's)."""

    def result(status, score, message, **kw):
        return CheckResult(
            name=spec.name, title=spec.title, status=status, score=score, max_score=spec.points,
            message=message, visibility=spec.visibility, **kw,
        )

    try:
        false_record = evidence.record_contradiction() if check_type.rests_on_record else None
        if false_record:
            return result("failed", 0.0, false_record,
                          hint="Hand in the model your program trained with model.fit, and leave the grader's record "
                               "of training alone.")
        outcome = check_type.run(evidence, spec)
    except ModelUnavailable as exc:
        return result("failed", 0.0, str(exc), hint=evidence.unavailable_hint())
    except Exception as exc:  # a bug in a check plugin: report it, shortened (an array's repr can be huge), keep grading
        import traceback

        text = (str(exc).strip().splitlines() or [""])[0]
        text = text if len(text) <= 400 else text[:400] + " [...]"
        source = getattr(getattr(check_type.run, "__code__", None), "co_filename", "")
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == source]
        where = f" at {source}, line {lines[-1]}" if lines else ""
        return result("error", 0.0, f"The check '{spec.type}' raised {type(exc).__name__}{where}: {text}. This is a "
                                    "mistake in the check, not in your work: it was not graded.")
    extra = {"slack": outcome.slack, "borderline": borderline(spec, outcome.slack)}
    message = outcome.message + (" " + extra["borderline"]["message"] if extra["borderline"] else "")
    if outcome.passed:
        return result("passed", spec.points, message, expected=outcome.expected, got=outcome.got, **extra)
    fraction = min(max(outcome.fraction or 0.0, 0.0), 1.0)
    cause = getattr(evidence, "cause_hint", lambda: None)()
    return result("failed", round(spec.points * fraction, 4), message,
                  expected=outcome.expected, got=outcome.got, hint=cause or outcome.hint or spec.hint, **extra)


def borderline(spec: CheckSpec, slack: float | None) -> dict | None:
    """A result within the spec's margin of the pass/fail line: another random start could flip it."""
    if spec.margin is None or slack is None or abs(slack) > spec.margin:
        return None
    side = "above" if slack >= 0 else "below"
    if spec.hidden:  # the distance would tell where a hidden line is
        text = ("This result is borderline: it is close to the line, so a different random start of training "
                "could land on the other side.")
    else:
        text = (f"This result is borderline: {abs(slack):.3g} {side} the line (results within {spec.margin:g} of it "
                "count as borderline), so a different random start of training could land on the other side.")
    return {"by": round(slack, 6), "margin": spec.margin, "message": text}
