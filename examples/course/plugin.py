"""The course's own code, loaded by the grader from this folder (no install): a check type."""

from grader.api import CheckType, Field, failed, hookimpl, passed


def check_max_params(evidence, check):
    n = evidence.model().count_params()  # the model, as the evaluator process reloaded it
    limit = check.params["max_params"]
    if n <= limit:
        return passed(f"The model has {n} parameters (at most {limit} allowed).")
    return failed(f"The model has {n} parameters; at most {limit} are allowed.", expected=f"<= {limit}", got=n,
                  hint="The task asks for a single neuron: one Dense layer with units=1.")


@hookimpl
def grader_register_checks(register):
    register(CheckType(name="max_params", run=check_max_params,
                       fields={"max_params": Field("integer", help="most parameters allowed")}))
