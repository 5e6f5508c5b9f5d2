"""Exercise specs: a folder with spec.toml (public) and hidden.toml (never shown, never sent to the child)."""

from __future__ import annotations

import os

import tomllib
from dataclasses import dataclass
from pathlib import Path

from grader import plugins
from grader.checks import CheckSpec

DEFAULT_TIME_LIMIT = 300.0
DEFAULT_MEMORY_MIB = 6144  # TensorFlow alone takes about 600 MiB; the course's CNN about 2 GiB
DEFAULT_PROCESSES = 1024  # processes and threads together (TensorFlow starts dozens of threads)
DEFAULT_FILE_MIB = 512  # the largest file the program may write (the course's CNN saves about 80 MiB)
# The evaluator (loading the saved model and running it on held-out data): the CNN's 1,000 validation
# images take about 10 s and 1.5 GiB; a crafted model that would take more is the student's verdict.
DEFAULT_EVALUATION_TIME = 120.0
DEFAULT_REPORT_TIME = 60.0  # checks, diagnoses and reports, beyond the evaluation's own budget
DEFAULT_EVALUATION_MEMORY_MIB = 4096
DEFAULT_DISK_MIB = 1536  # all its files together (its copy of cats_and_dogs_filtered is 68 MiB, twice with the zip)
COMMON_FIELDS = {"name", "type", "points", "title", "hint", "margin"}


class ExerciseError(Exception):
    """An exercise folder or spec is unusable; the message names the file and the field."""


class UnknownExercise(ExerciseError):
    pass


@dataclass
class Exercise:
    name: str
    path: Path
    title: str
    summary: str
    time_limit: float
    max_epochs: int | None
    memory_mib: int
    max_processes: int
    max_file_mib: int
    disk_mib: int
    network: bool
    evaluation_time: float
    evaluation_memory_mib: int
    grading_time: float
    seed: int
    runs: int
    runtime: str  # "auto" | "keras2" | "keras3": which Keras runs submissions (grader/runtime.py)
    entry_point: str | None
    entry_args: list
    model_variable: str
    graded_cells_only: bool
    continue_after_error: bool
    fixed_architecture: bool  # the task prescribes the model (one neuron, ...): no hint suggests another
    dataset: dict
    checks: list[CheckSpec]
    # folders the program is asked to write (split_data's /tmp/cats-v-dogs), listed by the grader once it ends
    outputs: tuple = ()
    # what training the grader cannot verify earns (grader/training_proof.py): "grade" the checks that rest
    # on the record as it says, or "fail" them
    unverifiable: str = "grade"
    # whether the grader verifies training at all: False, no commitments, saved states or replays (what it
    # costs, measured side by side by benchmarks/bench.py --verification), and the record is trusted as written
    verify: bool = True
    # parts of training drawn at random and replayed, at least, besides those replayed for certain (the end,
    # the largest updates): more for an exercise whose 10/10 must be trusted (a certificate)
    draws: int = 1

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def public_checks(self) -> list[CheckSpec]:
        return [c for c in self.checks if not c.hidden]

    @property
    def starter(self) -> Path:
        return self.path / "starter.py"

    @property
    def solution(self) -> Path:
        return self.path / "solution.py"

    def readme(self) -> str:
        p = self.path / "README.md"
        return p.read_text(encoding="utf-8") if p.is_file() else self.summary

    def bad_variants(self) -> list[tuple[Path, str]]:
        """Known-bad submissions in ``bad/``, each naming (``# expect-fail: CHECK``) the check it must fail."""
        out = []
        bad = self.path / "bad"
        for p in sorted(bad.glob("*.py")) if bad.is_dir() else []:
            target = None
            for line in p.read_text(encoding="utf-8").splitlines()[:10]:
                if line.startswith("# expect-fail:"):
                    target = line.split(":", 1)[1].strip()
            if not target:
                raise ExerciseError(f"{p}: a bad variant must name the check it fails in a first-lines comment '# expect-fail: CHECK'.")
            out.append((p, target))
        return out


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ExerciseError(f"{path}: not valid TOML ({exc}).") from None


def _expect(value, kinds, where: str, what: str):
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        quoted = " (in quotes: text, not true or false)" if bool in kinds and isinstance(value, str) and \
            value.strip().lower() in ("true", "false") else ""
        raise ExerciseError(f"{where}: field '{what}' must be {_kind_name(kinds)}, got {value!r}{quoted}.")
    return value


def _kind_name(kinds) -> str:
    names = {int: "a whole number", float: "a number", str: "a string", dict: "a table", list: "a list", bool: "true or false"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _parse_checks(entries, where: Path, visibility: str, types: dict) -> list[CheckSpec]:
    _expect(entries, list, str(where), "checks")
    specs = []
    for i, entry in enumerate(entries):
        loc = f"{where}, check #{i + 1}"
        _expect(entry, dict, loc, "checks")
        name = _expect(entry.get("name"), str, loc, "name")
        loc = f"{where}, check '{name}'"
        type_name = _expect(entry.get("type"), str, loc, "type")
        if type_name not in types:
            raise ExerciseError(f"{loc}: unknown check type '{type_name}'; known types: {', '.join(sorted(types))}.")
        ctype = types[type_name]
        points = _expect(entry.get("points", 1), (int, float), loc, "points")
        title = _expect(entry.get("title", name.replace("_", " ")), str, loc, "title")
        hint = _expect(entry.get("hint", ""), str, loc, "hint")
        margin = entry.get("margin")
        if margin is not None and (_expect(margin, (int, float), loc, "margin") < 0):
            raise ExerciseError(f"{loc}: field 'margin' must not be negative, got {margin!r}.")
        unknown = set(entry) - set(ctype.fields) - COMMON_FIELDS
        if unknown:  # before the missing ones: `treshold` is a misspelt field, not a missing one
            raise ExerciseError(f"{loc}: unknown field(s) {', '.join(sorted(unknown))} for check type '{type_name}'; "
                                f"it reads: {', '.join(sorted(ctype.fields)) or 'no fields'}.")
        params = {}
        for fname, f in ctype.fields.items():
            if fname not in entry:
                if f.required:
                    raise ExerciseError(f"{loc}: missing field '{fname}' ({f.describe()}) that check type '{type_name}' needs.")
                params[fname] = f.default
                continue
            if not f.accepts(entry[fname]):
                raise ExerciseError(f"{loc}: field '{fname}' must be {f.describe()}, got {entry[fname]!r}.")
            params[fname] = entry[fname]
        if ctype.validate:
            problem = ctype.validate(params)
            if problem:
                raise ExerciseError(f"{loc}: {problem}")
        specs.append(CheckSpec(name=name, type=type_name, title=title, points=float(points),
                               visibility=visibility, params=params, hint=hint,
                               margin=None if margin is None else float(margin)))
    return specs


SPEC_KEYS = ("title", "summary", "seed", "runs", "runtime", "limits", "submission", "dataset", "checks",
             "verification")
VERIFICATION_KEYS = ("enabled", "unverifiable", "draws")
MOST_DRAWS = 64
UNVERIFIABLE_CHOICES = ("grade", "fail")
HIDDEN_KEYS = ("checks", "release")
LIMIT_KEYS = ("time_limit", "max_epochs", "memory_mib", "processes", "file_mib", "disk_mib", "network",
              "evaluation_time", "evaluation_memory_mib", "grading_time")
SUBMISSION_KEYS = ("entry_point", "entry_args", "model_variable", "graded_cells_only", "continue_after_error", "outputs",
                   "fixed_architecture")
DATASET_KEYS = ("name", "source", "held_back", "paths", "pretrained")


def _known_keys(table: dict, known: tuple, where: str, section: str, typos_only: bool = False):
    """A key the grader does not read would be dropped without a word (``max_epoch = 8`` lifted the epoch
    limit, ``held_bak`` gave students the held-back pictures): it is an error naming it. With
    ``typos_only``, only a key close to a known one is (the table may hold keys of the course's own)."""
    import difflib

    for key in table:
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
        if typos_only and not close:
            continue
        guess = f" Did you mean '{close[0]}'?" if close else ""
        raise ExerciseError(f"{where}: unknown field '{section}{key}'.{guess} Known {section.strip() or 'top-level'} "
                            f"fields: {', '.join(known)}.")


def load_exercise(path: Path) -> Exercise:
    path = Path(path)
    spec_path = path / "spec.toml"
    if not spec_path.is_file():
        raise ExerciseError(f"{path}: an exercise folder needs a spec.toml.")
    spec = _read_toml(spec_path)
    hidden_path = path / "hidden.toml"
    hidden = _read_toml(hidden_path) if hidden_path.is_file() else {}
    types = plugins.check_types()
    where = str(spec_path)
    limits = _expect(spec.get("limits", {}), dict, where, "limits")
    sub = _expect(spec.get("submission", {}), dict, where, "submission")
    _known_keys(spec, SPEC_KEYS, where, "")
    _known_keys(hidden, HIDDEN_KEYS, str(hidden_path), "")
    _known_keys(limits, LIMIT_KEYS, where, "[limits] ")
    _known_keys(sub, SUBMISSION_KEYS, where, "[submission] ")
    verification = _expect(spec.get("verification", {}), dict, where, "verification")
    _known_keys(verification, VERIFICATION_KEYS, where, "[verification] ")
    unverifiable = _expect(verification.get("unverifiable", "grade"), str, where, "verification.unverifiable")
    if unverifiable not in UNVERIFIABLE_CHOICES:
        raise ExerciseError(f"{where}: [verification] unverifiable must be \"grade\" (the checks that rest on the "
                            "record of training are graded as it says, and the report marks the training unverified) "
                            f"or \"fail\" (they fail); got {unverifiable!r}.")
    draws = _expect(verification.get("draws", 1), int, where, "verification.draws")
    if not 1 <= draws <= MOST_DRAWS:
        raise ExerciseError(f"{where}: [verification] draws (the parts of training drawn at random and replayed) "
                            f"must be from 1 to {MOST_DRAWS}; got {draws}.")
    if isinstance(spec.get("dataset"), dict):  # a course's own checks may read keys of their own here
        _known_keys(spec["dataset"], DATASET_KEYS, where, "[dataset] ", typos_only=True)
    max_epochs = limits.get("max_epochs")
    if max_epochs is not None:
        _expect(max_epochs, int, where, "limits.max_epochs")
    checks = _parse_checks(spec.get("checks", []), spec_path, "visible", types)
    checks += _parse_checks(hidden.get("checks", []), hidden_path, "hidden", types)
    names = [c.name for c in checks]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ExerciseError(f"{path}: check names must be unique; repeated: {', '.join(sorted(dupes))}.")
    if not checks:
        raise ExerciseError(f"{spec_path}: the exercise has no [[checks]].")
    dataset = _expect(spec.get("dataset", {"name": path.name, "source": "exercise"}), dict, where, "dataset")
    held = _expect(dataset.get("held_back", 0.0), (int, float), where, "dataset.held_back")
    if not 0 <= held < 1:
        raise ExerciseError(f"{where}: [dataset] held_back is the share of the evaluation images held back from "
                            f"the student, from 0 up to (not including) 1; got {held!r}.")
    paths = _expect(dataset.get("paths", []), list, where, "dataset.paths")
    if not all(isinstance(p, str) and p for p in paths):
        raise ExerciseError(f"{where}: [dataset] paths must be a list of paths (text), such as "
                            "[\"/tmp/horse-or-human\"]; got {paths!r}.")
    outputs = _expect(sub.get("outputs", []), list, where, "submission.outputs")
    if not all(isinstance(p, str) and p for p in outputs):
        raise ExerciseError(f"{where}: [submission] outputs must be a list of folders (text) the program writes, "
                            f"such as [\"/tmp/cats-v-dogs\"]; got {outputs!r}.")
    pretrained = _expect(dataset.get("pretrained", []), list, where, "dataset.pretrained")
    unknown = [w for w in pretrained if w not in plugins.datasets()]
    if unknown:
        raise ExerciseError(f"{spec_path}: [dataset] pretrained names weights that are not registered: "
                            f"{', '.join(map(str, unknown))} (known datasets and weights: "
                            f"{', '.join(sorted(plugins.datasets())) or 'none'}).")
    if dataset.get("source") != "exercise" and dataset.get("name") not in plugins.datasets():
        raise ExerciseError(f"{spec_path}: [dataset] name '{dataset.get('name')}' is not a registered dataset "
                            f"(known: {', '.join(sorted(plugins.datasets())) or 'none'}); set source = \"exercise\" "
                            "if the exercise carries its own data.")
    return Exercise(
        name=path.name,
        path=path,
        title=_expect(spec.get("title", path.name), str, where, "title"),
        summary=_expect(spec.get("summary", ""), str, where, "summary"),
        time_limit=float(_expect(limits.get("time_limit", DEFAULT_TIME_LIMIT), (int, float), where, "limits.time_limit")),
        max_epochs=max_epochs,
        memory_mib=_expect(limits.get("memory_mib", DEFAULT_MEMORY_MIB), int, where, "limits.memory_mib"),
        max_processes=_expect(limits.get("processes", DEFAULT_PROCESSES), int, where, "limits.processes"),
        max_file_mib=_expect(limits.get("file_mib", DEFAULT_FILE_MIB), int, where, "limits.file_mib"),
        disk_mib=_expect(limits.get("disk_mib", DEFAULT_DISK_MIB), int, where, "limits.disk_mib"),
        network=_expect(limits.get("network", False), bool, where, "limits.network"),
        evaluation_time=float(_expect(limits.get("evaluation_time", DEFAULT_EVALUATION_TIME), (int, float), where,
                                      "limits.evaluation_time")),
        evaluation_memory_mib=_expect(limits.get("evaluation_memory_mib", DEFAULT_EVALUATION_MEMORY_MIB), int, where,
                                      "limits.evaluation_memory_mib"),
        grading_time=float(_expect(limits.get("grading_time", limits.get("evaluation_time", DEFAULT_EVALUATION_TIME)
                                              + DEFAULT_REPORT_TIME), (int, float), where, "limits.grading_time")),
        seed=_expect(spec.get("seed", 0), int, where, "seed"),
        runs=_runs(spec.get("runs", 1), where),
        runtime=_runtime(spec.get("runtime", "auto"), where),
        entry_point=sub.get("entry_point") and _expect(sub["entry_point"], str, where, "submission.entry_point"),
        entry_args=_expect(sub.get("entry_args", []), list, where, "submission.entry_args"),
        model_variable=_expect(sub.get("model_variable", "model"), str, where, "submission.model_variable"),
        graded_cells_only=_expect(sub.get("graded_cells_only", False), bool, where, "submission.graded_cells_only"),
        continue_after_error=_expect(sub.get("continue_after_error", False), bool, where,
                                     "submission.continue_after_error"),
        fixed_architecture=_expect(sub.get("fixed_architecture", False), bool, where, "submission.fixed_architecture"),
        dataset=dataset,
        checks=checks,
        outputs=tuple(outputs),
        unverifiable=unverifiable,
        verify=_expect(verification.get("enabled", True), bool, where, "verification.enabled"),
        draws=draws,
    )


def _runtime(value, where: str) -> str:
    from grader.runtime import CHOICES

    if _expect(value, str, where, "runtime") not in CHOICES:
        raise ExerciseError(f"{where}: field 'runtime' must be one of {', '.join(CHOICES)} (which Keras runs the "
                            f"submissions: tf-keras for tf.keras 2 code, Keras 3, or chosen per submission), "
                            f"got {value!r}.")
    return value


def _runs(value, where: str) -> int:
    if _expect(value, int, where, "runs") < 1:
        raise ExerciseError(f"{where}: field 'runs' must be at least 1 (the number of trainings to grade on), got {value}.")
    return value


def exercises() -> dict[str, Path]:
    return {name: path for name, (path, _) in plugins.exercise_folders().items()}


def _folder_hint(name: str) -> str:
    """Where an exercise of that name is in sight (the current folder, or a course folder in it), and how to
    use it: an instructor's exercise needs --exercises."""
    here = Path.cwd()
    candidates = [here / name] + sorted(p / name for p in here.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if here.is_dir() else []
    for folder in candidates:
        if (folder / "spec.toml").is_file():
            course = folder.parent if folder.parent != here else folder
            given = os.path.relpath(course, here)
            return (f" The folder {os.path.relpath(folder, here)} holds an exercise of that name: add --exercises "
                    f"{given} before the command (grader --exercises {given} ...).")
    return ""


def get_exercise(name: str) -> Exercise:
    known = exercises()
    if name not in known:
        raise UnknownExercise(f"Unknown exercise '{name}'. Known exercises: {', '.join(sorted(known)) or 'none'}."
                              + _folder_hint(name))
    return load_exercise(known[name])
