"""Replaying a student's training, or parts of it that it could not predict (Proof-of-Learning's audit), on
the trusted side: the request to the evaluator (grader/replay.py runs it) for the parts picked
(grader/training_picks.py: a small fit whole, else the end, the largest updates and parts drawn at random,
among those that can be replayed, grader/training_segments.py) and what its answer shows. Its verdicts
(grader/verdicts.py) are those of grader/training_proof.py, which holds the record against the commitments
first.
"""

from __future__ import annotations

import math
from pathlib import Path

from grader import optimizer_state
from grader.picture_rows import SUFFIXES
from grader.training_picks import order_of, sampled, small
from grader.training_segments import listed, named, rate_set, segments, whole
from grader.verdicts import VERIFIED, refuted, unverifiable

MOST_PICTURES, MOST_PICTURE_BYTES = 100_000, 2**31  # handed to the evaluator, at most (Kaggle's 25,000: 800 MB)
LOG_TOLERANCE = 1e-6  # a logged value read back through JSON: the same float, up to its text form
COMBINED_TOLERANCE = 1e-5  # a running mean combined from two (float32 sums added in another order)


def same(a, b) -> bool:
    """Two logged values agree: the same float up to its text form; None (the child's word for NaN and
    infinities) agrees with None or a value that is not finite."""
    if a is None or b is None:
        other = b if a is None else a
        return other is None or (isinstance(other, (int, float)) and not math.isfinite(other))
    try:
        a, b = float(a), float(b)
    except (TypeError, ValueError):
        return False
    return math.isclose(a, b, rel_tol=LOG_TOLERANCE, abs_tol=LOG_TOLERANCE)


def shown(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else repr(value)


def audit(evidence, fit_index, fit, replay: dict, epochs, made: int, commitments: tuple, chooser) -> dict:
    """Replay a small fit whole; of a larger one, the part of training that made the graded model (the end of
    its epoch), the parts whose weights moved furthest and others drawn at random (grader/training_picks.py),
    each from the latest state saved before it (grader/training_segments.py)."""
    starts, ends, afters, mids = commitments
    if isinstance((fit or {}).get("not_replayed"), str):  # the harness gave up on it while it ran (the rows
        return unverifiable(fit["not_replayed"][:300])  # passed the budget, a rate outside the saved state)
    below = sorted((e, c["rate"]) for (i, e), c in starts.items()
                   if i == fit_index and isinstance(c.get("rate"), float) and c["rate"] < 0)
    if below:  # (as the program reported it; a replay finds one it did not report)
        return refuted(_negative(f"at the start of epoch {below[0][0] + 1}", below[0][1]))
    artifacts = evidence.run.artifacts
    if artifacts is None or evidence.run.model_path is None:
        return unverifiable("the run left no saved state to replay")
    folder = artifacts / "training"
    data = folder / f"fit{fit_index}-data.npz"
    logged = replay.get("kind") in ("images", "recorded")  # each epoch's batches were recorded too
    parts = segments(fit_index, epochs, starts, ends, mids, folder)
    times = _epoch_seconds(fit_index, epochs, starts, ends)
    per_epoch = max(1e-3, sum(times.values()) / max(1, len(times)))
    for g in parts:
        g["seconds"] = sum(times.get(e, per_epoch) for e in range(g["run_from"], g["epoch"])) + \
            times.get(g["epoch"], per_epoch) * (g["to"] - g["from"]) / max(1, g["steps"])
    order = order_of(replay)
    # a small fit is replayed whole: a state written once between two steps and spread smoothly over the steps
    # after it shows only where it was written (helper-20, one epoch in 600: sampling found it once in 100)
    everything = whole(fit_index, epochs, starts, ends, afters, mids, folder) if not logged and data.is_file() \
        and small(evidence, [([ends[(fit_index, e)] for e in epochs], replay)]) else None
    if everything is not None:
        everything["seconds"] = sum(times.get(e, per_epoch) for e in epochs)
        picked, drawn, candidates, unreached = [[everything]], [], [], 0
    else:
        chosen = sampled(evidence, fit_index, parts, made, data, order, logged, times, chooser)
        if isinstance(chosen, dict):  # a verdict
            return chosen
        picked, drawn, candidates, unreached = chosen
    legs = [g for c in picked for g in c]
    origin = chain_start(fit_index, starts, ends)
    if origin is not None and origin[0] != fit_index:  # (the audit of the fit training began with holds it)
        origin = None
    origin_file = folder / f"fit{origin[0]}-epoch{origin[1]}.npz" if origin else None
    if origin_file is not None and (starts[origin].get("saved") and origin_file.is_file()):
        # held against a fresh initialisation too, unless the exercise hands out pre-trained weights to start from
        order["initial"] = {"start": origin_file, "fresh": not getattr(evidence, "pretrained", None)}
    else:
        origin = None
    requests = [{"epoch": g["run_from"], "through": g["epoch"], "steps": g["steps"], "from": g["from"], "to": g["to"],
                 **({"epoch_rates": g["epoch_rates"]} if g.get("epoch_rates") else {}),
                 **({"step_rates": g["step_rates"]} if g.get("step_rates") else {}),
                 **({"start": g["file"]} if k == 0 else {"continue": True}),
                 **({"set_rate": rate_set(c[k - 1], g)} if k and rate_set(c[k - 1], g) is not None else {}),
                 **({"checks": [step for step, _ in g["inner"]]} if g.get("inner") else {}),
                 **({"rates": folder / f"fit{fit_index}-epoch{g['epoch']}-rates.npz"}
                    if g["run_from"] == g["epoch"] and (afters.get((fit_index, g["epoch"])) or {}).get("rates")
                    else {}),  # (a run's: step_rates)
                 **({"batches": folder / f"fit{fit_index}-epoch{g['epoch']}-batches.npz"} if logged else {})}
                for c in picked for k, g in enumerate(c)]
    # the rates a callback set at steps, of every epoch (a negative one anywhere: helper-22 set one for five steps
    # of an epoch no part replayed)
    order["all_rates"] = [folder / f"fit{fit_index}-epoch{e}-rates.npz" for e in epochs
                          if (afters.get((fit_index, e)) or {}).get("rates") and
                          (folder / f"fit{fit_index}-epoch{e}-rates.npz").is_file()]
    allowance = 30.0 + 3 * sum(g["seconds"] for c in picked for g in c)
    pictures = None
    if replay.get("pictures") is True:  # rows recorded by their hashes: read again from the exercise's pictures
        pictures = exercise_pictures(evidence.dataset)
        if not pictures:
            too_large = replay.get("too_large")
            return unverifiable(too_large[:300] if isinstance(too_large, str) else
                                "the fit's tf.data pipeline was recorded by the pictures it gave, and the exercise "
                                "has no pictures of its own to read them from")
    try:
        reply = evidence.evaluator.replay(evidence.run.model_path, data, requests, order, allowance,
                                          pictures=pictures)
    except Exception as exc:  # the evaluator stopped (time, memory): the replay says nothing either way
        return unverifiable(f"the replay of {listed(legs)} did not finish ({exc})")
    if not reply.get("ok"):
        if reply.get("kind") == "unreplayable":
            return unverifiable(str(reply.get("message")))
        return unverifiable(f"the replay failed ({reply.get('type')}: {str(reply.get('message'))[:300]})")
    least = reply.get("least_rate")
    if isinstance(least, (int, float)) and not isinstance(least, bool) and least < 0:
        return refuted(_negative("at a step where a callback set it", float(least)))
    initial = reply.get("initial") or {}
    if origin is not None:
        if initial.get("start_weights") != starts[origin].get("weights") or \
                initial.get("start_optimizer") != starts[origin].get("optimizer"):
            return refuted("the state saved for the start of training is not the one the program reported when "
                            "training started")
        if initial.get("problem"):
            return refuted(f"training started from weights a freshly built model does not have: "
                            f"{initial['problem']} (weights set by hand, or trained before)")
    changed = optimizer_state.problem(fit_index, epochs, starts, ends, reply.get("optimizer"),
                                      continued(fit_index, starts, ends))
    if changed:
        return (refuted if changed[0] == optimizer_state.REFUTED else unverifiable)(changed[1])
    results = reply.get("epochs") or []
    between_steps = [cb.get("class") for cb in (fit or {}).get("callbacks") or []
                     if isinstance(cb, dict) and cb.get("batch_hooks") is True]
    for g, got in zip(legs, results):
        if isinstance(got.get("negative_state"), str):
            return refuted(f"the optimizer's state saved for {named(g)} holds negative values in "
                           f"{got['negative_state'][:200]}, a running mean of squared gradients that training never "
                           "makes negative (set by hand: it makes steps as large as whoever set it likes)")
        least = got.get("least_rate")
        if isinstance(least, (int, float)) and not isinstance(least, bool) and least < 0:
            return refuted(_negative(f"in {named(g)}", float(least)))
        differs = _segment_differs(g, got, fit_index, starts, ends)
        if differs and between_steps and not differs.startswith("the state saved"):
            # the learning rate such a callback set is replayed; anything else it did is not
            return refuted(f"{differs} (the callback {between_steps[0]} acts between the steps of an epoch: the "
                            "replay sets the learning rate it set at each step, and nothing else it did)")
        if differs:
            return refuted(differs)
    if len(results) != len(legs):
        return unverifiable("the replay returned fewer epochs than were asked for")
    n = len(epochs)
    touched = sorted({e + 1 for g in legs for e in range(g["run_from"], g["epoch"] + 1)})
    entire = all(g["from"] == 0 and g["to"] == g["steps"] for g in legs)
    shown = (f"all {n} epochs" if entire and n > 1 and len(touched) == n else
             f"epoch{'s' if len(touched) > 1 else ''} {_ranges(touched)} of {n}" if entire else
             f"{listed(legs)} (of the {n if n != 1 else 'one'} epoch{'s' if n != 1 else ''} trained)")
    # parts of the fit no saved state leads to were never among those replayed or drawn: said, with how many
    unseen = (f" ({unreached} of the fit's {len(parts)} parts could not be replayed from any state the program "
              "saved, or without the batches they trained on, and were never among those drawn)") if unreached else ""
    return {"status": VERIFIED, "replayed": touched, "epochs": n, "fit": fit_index + 1, "shown": shown,
            "drawn": {"parts": len(drawn), "of": len(candidates)}, "whole": everything is not None,
            "unreached": unreached,
            "segments": [[g["epoch"] + 1, g["from"] + 1, g["to"]] for g in legs], "seconds": reply.get("seconds"),
            "sentence": (f"Training verified: the grader replayed {shown} from the "
                         f"state{'s' if len(picked) > 1 else ''} "
                         "the program reported while it trained, and reached exactly the weights it reported; the "
                         f"graded model is the one training ended with{unseen}.")}


def _negative(where: str, rate: float) -> str:
    return (f"the learning rate was negative {where} ({rate:.4g}): a negative rate climbs the loss instead of "
            "descending it, which is not training (a schedule that goes below zero, or one steering the weights)")


def _ranges(numbers: list[int]) -> str:
    """Sorted numbers in words, runs as ranges: "1, 4 to 9, 12"."""
    out: list[list[int]] = []
    for k in numbers:
        if out and k == out[-1][1] + 1:
            out[-1][1] = k
        else:
            out.append([k, k])
    return ", ".join(str(a) if a == b else f"{a} and {b}" if b == a + 1 else f"{a} to {b}" for a, b in out)


def exercise_pictures(located) -> list[Path]:
    """The picture files of the exercise's dataset (the grader's own copy, never the program's), in a fixed
    order: what the rows of a pipeline of pictures too large to record are read again from."""
    if located is None or not located.path.is_dir():
        return []
    found, size = [], 0
    for path in sorted(located.path.rglob("*")):
        if path.suffix.lower() in SUFFIXES and path.is_file() and not path.is_symlink():
            size += path.stat().st_size
            if len(found) >= MOST_PICTURES or size > MOST_PICTURE_BYTES:
                break
            found.append(path)
    return found


def _run_differs(g: dict, got: dict, fit_index: int, starts: dict, ends: dict) -> str | None:
    """The epochs of a run before its last, each held against what the program reported at its end (and,
    where a schedule set the rate between them, at the next one's start: the replay set the rate reported,
    and nothing else)."""
    reached = got.get("ends") if isinstance(got.get("ends"), list) else []
    if len(reached) != g["epoch"] - g["run_from"] + 1:
        return f"replaying {named(g)} did not run every epoch" if g["run_from"] < g["epoch"] else None
    begun = got.get("starts") if isinstance(got.get("starts"), list) else None
    if g.get("epoch_rates") and (begun is None or len(begun) != len(reached) - 1):
        return f"replaying {named(g)} did not start every epoch"
    for offset, state in enumerate(reached[:-1]):
        epoch = g["run_from"] + offset
        end = ends[(fit_index, epoch)]
        if state.get("weights") != end.get("weights") or state.get("optimizer") != end.get("optimizer"):
            return (f"replaying {named(g)} from the state epoch {g['run_from'] + 1} started in did not reach the "
                    f"weights the program reported at the end of epoch {epoch + 1}")
        for key, value in (state.get("logs") or {}).items():
            if _replayed(key) and not same((end.get("logs") or {}).get(key), value):
                return (f"the program reported {key} {shown((end.get('logs') or {}).get(key))} for epoch {epoch + 1}, "
                        f"but replaying that epoch gives {shown(value)}")
        start = starts.get((fit_index, epoch + 1)) or {}
        if g.get("epoch_rates") and (begun[offset].get("weights") != start.get("weights") or
                                     begun[offset].get("optimizer") != start.get("optimizer")):
            return (f"the optimizer's state at the start of epoch {epoch + 2} is not the one epoch {epoch + 1} "
                    f"ended in with the learning rate the program reported ({shown(start.get('rate'))}): something "
                    "besides the rate changed between them")
    return None


def _inside_differs(g: dict, got: dict) -> str | None:
    """The first of a leg's inner steps where the replay did not reach the state the program reported."""
    reached = {s.get("step"): s for s in got.get("inside") or [] if isinstance(s, dict)}
    first = g["from"]
    for step, commitment in g.get("inner", ()):
        state = reached.get(step) or {}
        if state.get("weights") != commitment.get("weights") or state.get("optimizer") != commitment.get("optimizer"):
            return (f"replaying steps {first + 1} to {step} of epoch {g['epoch'] + 1} from the state it started in "
                    f"did not reach the weights the program reported at step {step}")
        first = step
    return None


def _segment_differs(g: dict, got: dict, fit_index: int, starts: dict, ends: dict) -> str | None:
    """What a replayed segment shows false, or None: the state it started from, the state it reached, the
    loss and metrics reported at its end (the running figures since the epoch's start, which the replay's
    own, over the segment, combine with those reported at the segment's start)."""
    name = named(g)
    if got.get("start_weights") != g["start"].get("weights") or \
            got.get("start_optimizer") != g["start"].get("optimizer"):
        where = f"for the start of epoch {g['run_from'] + 1}" if not g["from"] else \
            f"after step {g['from']} of epoch {g['epoch'] + 1}"
        return f"the state saved {where} is not the one the program reported there"
    run = _run_differs(g, got, fit_index, starts, ends) or _inside_differs(g, got)
    if run:
        return run
    if got.get("weights") != g["end"].get("weights") or got.get("optimizer") != g["end"].get("optimizer"):
        if g.get("inner"):  # (the last of the leg's parts)
            name = named(dict(g, **{"from": g["inner"][-1][0]}))
        where = f"the end of epoch {g['epoch'] + 1}" if g["run_from"] < g["epoch"] else "its end" \
            if g["to"] == g["steps"] else f"step {g['to']}"
        began = f"epoch {g['run_from'] + 1} started" if g["run_from"] < g["epoch"] else "it started"
        return f"replaying {name} from the state {began} in did not reach the weights the program reported at {where}"
    before = (g["start"].get("logs") or {}) if g["from"] else {}
    rows_before, rows = got.get("rows_before"), got.get("rows")
    reported = g["end"].get("logs") or {}
    for key, value in (got.get("logs") or {}).items():
        if not _replayed(key):
            continue
        expected = value
        if g["from"]:  # the running mean since the epoch's start: what was reported then, and the replay's
            earlier = before.get(key)
            if not isinstance(earlier, (int, float)) or not isinstance(rows_before, int) or not isinstance(rows, int) \
                    or rows_before + rows <= 0:
                return f"the program reported no {key} after step {g['from']} of epoch {g['epoch'] + 1}"
            expected = (earlier * rows_before + value * rows) / (rows_before + rows)
        if key not in reported or not _close(reported[key], expected, exact=not g["from"]):
            where = "for epoch" if g["to"] == g["steps"] else f"after step {g['to']} of epoch"
            return (f"the program reported {key} {shown(reported.get(key))} {where} {g['epoch'] + 1}, but replaying "
                    f"that epoch gives {shown(expected)}" + ("" if not g["from"] else
                                                             f" (steps {g['from'] + 1} to {g['to']} replayed, with the "
                                                             f"running figures reported after step {g['from']})"))
    return None


def _replayed(key: str) -> bool:
    """Whether a logged figure is one a replay reproduces (validation figures and the rate are not)."""
    return not key.startswith("val_") and key not in ("learning_rate", "lr")


def _close(reported, expected, exact: bool) -> bool:
    if exact:
        return same(reported, expected)
    if reported is None or expected is None:
        return same(reported, expected)
    try:
        return math.isclose(float(reported), float(expected), rel_tol=COMBINED_TOLERANCE, abs_tol=COMBINED_TOLERANCE)
    except (TypeError, ValueError):
        return False


def continued(fit_index: int, starts: dict, ends: dict) -> dict | None:
    """The last end commitment of the latest earlier fit that ended in the weights this fit starts with (a
    second fit of the same model; its optimizer goes on from where that fit's last epoch left it, whichever
    epoch's weights were restored), if any."""
    fits = chain_fits(fit_index, starts, ends)
    if len(fits) < 2:
        return None
    return ends[(fits[-2], max(e for (i, e) in ends if i == fits[-2]))]


def chain_fits(fit_index: int, starts: dict, ends: dict) -> list[int]:
    """The fits that trained the graded model, the first first: following fit calls back while each started
    where an earlier one ended (a second fit of the same model)."""
    ended: dict = {}  # the weights each epoch ended in -> the fits that ended an epoch in them
    for (i, e) in ends:
        ended.setdefault(ends[(i, e)].get("weights"), set()).add(i)
    firsts: dict = {}
    for (i, e) in starts:
        firsts[i] = min(e, firsts.get(i, e))
    found = [fit_index]
    while found[0] in firsts:
        earlier = [i for i in ended.get(starts[(found[0], firsts[found[0]])].get("weights"), ()) if i < found[0]]
        if not earlier:
            break
        found.insert(0, max(earlier))
    return found


def made_in(fit_index: int, weights, ends: dict) -> int | None:
    """The last epoch of the fit that ended in ``weights`` (EarlyStopping's restore_best_weights leaves the
    best epoch's, not the last's), or None."""
    return max((e for (i, e) in ends if i == fit_index and ends[(i, e)].get("weights") == weights), default=None)


def chain_start(fit_index: int, starts: dict, ends: dict) -> tuple | None:
    """(fit, epoch) where the training of the graded model began (grader/training_audit.chain_fits)."""
    origin = chain_fits(fit_index, starts, ends)[0]
    first = min((e for (i, e) in starts if i == origin), default=None)
    return None if first is None else (origin, first)


def _epoch_seconds(fit_index, epochs, starts, ends) -> dict:
    """How long each epoch took, by the parent's clock (when its start and end commitments arrived)."""
    out = {}
    for e in epochs:
        s, t = starts.get((fit_index, e)), ends.get((fit_index, e))
        if s and t and isinstance(s.get("received_s"), (int, float)) and isinstance(t.get("received_s"), (int, float)):
            out[e] = max(0.0, t["received_s"] - s["received_s"])
    return out


