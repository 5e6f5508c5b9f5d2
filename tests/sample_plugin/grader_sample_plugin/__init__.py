"""A third-party grader plugin: the check type `max_params` and the exercise `tiny_line`, registered
through the same hooks as the built-ins and found through the entry-point group `grader`."""

from pathlib import Path

from grader.checks import CheckType, Field, failed, passed
from grader.hookspecs import hookimpl

EXERCISE = Path(__file__).parent / "tiny_line"


def check_max_params(evidence, check):
    model = evidence.model()
    n = model.count_params()
    limit = check.params["max_params"]
    if n <= limit:
        return passed(f"The model has {n} parameters (at most {limit} allowed).")
    return failed(f"The model has {n} parameters; at most {limit} are allowed.", expected=f"<= {limit}", got=n)


@hookimpl
def grader_register_checks(register):
    register(CheckType(name="max_params", run=check_max_params,
                       fields={"max_params": Field("integer", help="most parameters allowed")}))


@hookimpl
def grader_register_exercises(register):
    register(EXERCISE)
