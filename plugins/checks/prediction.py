"""Check type ``prediction``: the trained model's outputs at given inputs are within tolerance."""

import math

from grader.checks import CheckType, Field, failed, passed, plural
from grader.hookspecs import hookimpl


def _validate(params):
    if len(params["inputs"]) != len(params["expected"]):
        return (f"'inputs' has {len(params['inputs'])} values but 'expected' has {len(params['expected'])}; "
                "give one expected value per input.")
    if params["tolerance"] < 0 or params["relative_tolerance"] < 0:
        return "'tolerance' and 'relative_tolerance' must not be negative."
    return None


def check_prediction(evidence, check):
    p = check.params
    preds = evidence.predict(p["inputs"])
    rows, wrong = [], []
    for x, want, got in zip(p["inputs"], p["expected"], preds):
        got = float(got)
        allowed = max(p["tolerance"], p["relative_tolerance"] * abs(want))
        ok = math.isfinite(got) and abs(got - want) <= allowed
        rows.append((x, want, got, allowed))
        if not ok:
            wrong.append((x, want, got, allowed))
    expected = [f"{w:g} ± {a:g}" for _, w, _, a in rows]
    got = [round(g, 4) if math.isfinite(g) else str(g) for _, _, g, _ in rows]
    n = len(rows)
    # the prediction nearest its edge of tolerance decides how close the result is to flipping
    slack = min(a - abs(g - w) for _, w, g, a in rows) if all(math.isfinite(g) for _, _, g, _ in rows) else None
    if any(not math.isfinite(g) for _, _, g, _ in rows):
        return failed("Your model predicts NaN or infinity: its training diverged, so its weights are not numbers.",
                      expected=expected, got=got,
                      hint="Lower the learning rate or check that your inputs and labels are numbers of a sensible size.")
    learning = still_learning(evidence)
    if check.hidden:
        if not wrong:
            return passed(f"Your model's predictions at {plural(n, 'input')} you were not shown are within tolerance.",
                          slack=slack)
        return failed(f"At {len(wrong)} of the {plural(n, 'input')} you were not shown, your model's predictions are "
                      "off by more than the tolerance.", fraction=(n - len(wrong)) / n, slack=slack, hint=learning)
    if not wrong:
        if n == 1:
            x, want, g, a = rows[0]
            return passed(f"Your model predicts {g:.3f} for x = {x:g} (expected {want:g} ± {a:g}).",
                          expected=expected, got=got, slack=slack)
        return passed(f"All {n} predictions are within tolerance.", expected=expected, got=got, slack=slack)
    x, want, g, a = wrong[0]
    more = f" ({len(wrong)} of {n} predictions are off)" if n > 1 else ""
    return failed(f"Your model predicts {g:.3f} for x = {x:g}, but it should be {want:g} ± {a:g}{more}.",
                  expected=expected, got=got, fraction=(n - len(wrong)) / n, slack=slack, hint=learning)


def still_learning(evidence) -> str | None:
    """The hint when training ended while the loss was still falling fast: more epochs, whatever the
    exercise's own hint says (it is about other mistakes). None otherwise."""
    try:
        losses = [v for v in evidence.last_graded_fit().get("history", {}).get("loss") or []
                  if isinstance(v, (int, float)) and math.isfinite(v)]
    except Exception:
        return None
    if len(losses) < 2 or losses[-2] <= 0 or (losses[-2] - losses[-1]) / losses[-2] < 0.03:
        return None
    return (f"Your model was still learning when training ended (the loss fell by "
            f"{(losses[-2] - losses[-1]) / losses[-2]:.0%} in the last of {len(losses)} epochs): train for more "
            "epochs.")


@hookimpl
def grader_register_checks(register):
    register(CheckType(
        name="prediction",
        run=check_prediction,
        validate=_validate,
        description="The model's outputs for single-number inputs are within tolerance of the expected values.",
        fields={
            "inputs": Field("numbers", help="x values to predict for"),
            "expected": Field("numbers", help="the right y for each input"),
            "tolerance": Field("number", required=False, default=1.0, help="allowed absolute error"),
            "relative_tolerance": Field("number", required=False, default=0.0,
                                        help="allowed error as a fraction of |expected|, if larger"),
        },
    ))
