"""What may change the optimizer's state outside training steps, held against the commitments (trusted side).

An epoch's start is committed to after every callback's ``on_epoch_begin`` (a learning-rate schedule has set
its rate: grader/harness/commit.py), so a callback could also write the optimizer's other variables there:
SGD's momentum set to carry the weights anywhere over the next steps, with a learning rate too small for the
data to matter, replays exactly from that state (helper-19 had hello_world, mnist_callback, happy_or_sad
and fashion_mnist_callback verified so, 10/10). Each start and end commitment names a digest of each of the
optimizer's variables; the evaluator, which builds the optimizer again from the fit's compile settings,
says which of them is the learning rate and what a new optimizer holds (grader/replay.py ``_layout``).
Then:

- between two epochs of a fit, only the learning rate may change;
- a fit starts with a new optimizer's state (its iteration count at 0, its momentum and averages as built),
  or with the state the fit before it ended in (the same optimizer, trained on), learning rate aside.
"""

from __future__ import annotations

from grader.modelcheck import combined
from grader.verdicts import REFUTED, UNVERIFIABLE


def parts(commitment: dict | None) -> list[str] | None:
    """The digests of the optimizer's variables a commitment names, when they make up its optimizer digest."""
    text = (commitment or {}).get("optimizer_parts")
    if not isinstance(text, str):
        return None
    found = text.split(",") if text else []
    return found if combined(found) == (commitment or {}).get("optimizer") else None


def problem(fit_index: int, epochs: list[int], starts: dict, ends: dict, layout, before: dict | None):
    """(REFUTED or UNVERIFIABLE, why) when the optimizer's state changed where training does not change it,
    else None. ``layout``: the evaluator's (names, learning_rates, fresh); ``before``: the end commitment of the
    fit this one continues (the same weights), if any."""
    if not _valid(layout):
        return UNVERIFIABLE, "the evaluator did not say how the optimizer it rebuilt is laid out"
    call = f"fit call {fit_index + 1}"
    first = starts.get((fit_index, epochs[0])) if epochs else None
    if first is not None:
        fresh = {"optimizer": combined(layout["fresh"]), "optimizer_parts": ",".join(layout["fresh"])}
        options = [fresh] + ([before] if before is not None else [])
        found = [_changed(first, o, layout) for o in options]
        if all(f is not None for f in found):
            kind, names = min(found, key=lambda f: (f[0] != REFUTED, len(f[1])))
            if kind == UNVERIFIABLE:
                return UNVERIFIABLE, f"the program sent no record of which of the optimizer's variables {call} started from"
            return REFUTED, (f"{call} started from an optimizer state a new optimizer does not have"
                             f"{'' if before is None else ', nor the one the fit before ended in'}: its "
                             f"{_listed(names)} (set by hand, or carried over from training the grader did not see)")
    for a, b in zip(epochs, epochs[1:]):
        end, start = ends.get((fit_index, a)), starts.get((fit_index, b))
        if end is None or start is None:
            continue
        found = _changed(start, end, layout)
        if found is None:
            continue
        kind, names = found
        if kind == UNVERIFIABLE:
            return UNVERIFIABLE, (f"the optimizer's state changed between epochs {a + 1} and {b + 1} of {call}, and the "
                                  "program sent no record of which of its variables changed")
        return REFUTED, (f"the optimizer's state changed between epochs {a + 1} and {b + 1} of {call}, outside "
                         f"training: its {_listed(names)} (something set it by hand; between epochs a schedule "
                         "changes the learning rate, and nothing else)")
    return None


def _changed(start: dict, other: dict, layout: dict):
    """None when ``start`` holds the optimizer state ``other`` does, its learning rate aside; else
    (REFUTED, the names of the variables that differ) or (UNVERIFIABLE, []) when either names no digests."""
    if start.get("optimizer") == other.get("optimizer"):
        return None
    a, b = parts(start), parts(other)
    if a is None or b is None:
        return UNVERIFIABLE, []
    names = layout["names"]
    if len(a) != len(b) or len(a) != len(names):
        return REFUTED, ["variables (not as many as the optimizer has)"]
    rates = layout["learning_rates"]
    differ = [names[i] for i, (x, y) in enumerate(zip(a, b)) if x != y and i not in rates]
    return (REFUTED, differ) if differ else None


def _valid(layout) -> bool:
    if not isinstance(layout, dict):
        return False
    names, fresh, rates = layout.get("names"), layout.get("fresh"), layout.get("learning_rates")
    return isinstance(names, list) and isinstance(fresh, list) and len(names) == len(fresh) and \
        all(isinstance(n, str) for n in names) and all(isinstance(d, str) and "," not in d for d in fresh) and \
        isinstance(rates, list) and all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(names)
                                        for i in rates)


def _listed(names: list[str]) -> str:
    shown = [n.split("/")[-1] or n for n in names[:3]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
