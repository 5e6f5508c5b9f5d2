"""Result types: one check's outcome and the whole grading report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

@dataclass
class CheckResult:
    name: str
    title: str
    status: str
    score: float
    max_score: float
    message: str
    visibility: str = "visible"
    expected: Any = None
    got: Any = None
    hint: str = ""
    slack: float | None = None  # distance from the pass/fail line (see checks.Outcome)
    borderline: dict | None = None  # {"by", "margin", "message"} when within the spec's margin
    runs: list = field(default_factory=list)  # with runs = N: [{"seed", "status", "score", "got", "slack"}]

    def student_view(self) -> dict:
        """The result as a student may see it: a hidden check keeps its values to itself."""
        data = asdict(self)
        if self.visibility == "hidden":
            data["expected"] = None
            data["got"] = None
            data["slack"] = None
            if data["borderline"]:
                data["borderline"] = {"message": data["borderline"]["message"]}
            data["runs"] = [{"seed": r["seed"], "status": r["status"]} for r in data["runs"]]
        return data


@dataclass
class Report:
    exercise: str
    title: str
    submission: str
    checks: list[CheckResult]
    training: dict
    run: dict
    limits: dict
    dataset: dict
    model: dict
    legacy: list
    environment: dict
    duration_s: float
    grader_errors: list = field(default_factory=list)
    data_access: list = field(default_factory=list)
    runs: list = field(default_factory=list)  # with runs = N: each training's seed, score, status, time
    diagnoses: list = field(default_factory=list)  # hints: {name, title, evidence, try_this, marker}

    @classmethod
    def not_graded(cls, exercise, submission: str, why: str, status: str = "failed") -> "Report":
        """A report for a submission that could not be graded at all (no file, a broken notebook): every
        check failed with ``why``, so CI platforms show a 0 and the reason rather than nothing. With
        ``status="error"`` the grader is at fault and the checks say so (to be graded again)."""
        checks = [CheckResult(c.name, c.title, status, 0.0, c.points, why,
                              visibility="hidden" if c.hidden else "visible") for c in exercise.checks]
        return cls(exercise=exercise.name, title=exercise.title, submission=submission, checks=checks,
                   training={"fits": [], "epochs_run": 0, "thresholds": {}},
                   run={"status": "not_graded", "error": None, "warnings": [], "output_tail": "", "output_bytes": 0,
                        "outcome": {"kind": "not_graded", "when": None, "sentence": why, "notable": True}},
                   limits={}, dataset={}, model={}, legacy=[], environment={}, duration_s=0.0)

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        """The report a ``to_dict`` (report.json) holds, to write it again in another format."""
        fields = {k: v for k, v in data.items() if k not in ("score", "max_score", "passed")}
        fields["checks"] = [CheckResult(**c) for c in data.get("checks") or []]
        return cls(**fields)

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 4)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 4)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.status == "passed" for c in self.checks)

    def to_dict(self, reveal_hidden: bool = False) -> dict:
        return {
            "exercise": self.exercise,
            "title": self.title,
            "submission": self.submission,
            "score": self.score,
            "max_score": self.max_score,
            "passed": self.passed,
            "checks": [asdict(c) if reveal_hidden else c.student_view() for c in self.checks],
            "training": self.training,
            "run": self.run,
            "limits": self.limits,
            "dataset": self.dataset,
            "model": self.model,
            "legacy": self.legacy,
            "data_access": self.data_access,
            "environment": self.environment,
            "duration_s": round(self.duration_s, 3),
            "grader_errors": self.grader_errors,
            "runs": self.runs,
            "diagnoses": self.diagnoses,
        }
