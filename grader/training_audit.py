"""Replaying parts of a student's training that it could not predict (Proof-of-Learning's audit), on the
trusted side: which parts can be replayed (segments: an epoch, an eighth of a long one, or a run of short
epochs from the last saved start), which are picked (with the operating system's randomness, after the
run), the request to the evaluator (grader/replay.py runs it) and what its answer shows. The verdicts it
returns are those of grader/training_proof.py, which holds the record against the commitments first.
"""

from __future__ import annotations

import math
import secrets
from pathlib import Path

from grader.picture_rows import SUFFIXES

VERIFIED, REFUTED, UNVERIFIABLE, NO_TRAINING, OFF = "verified", "refuted", "unverifiable", "no_training", "off"
MOST_PICTURES, MOST_PICTURE_BYTES = 100_000, 2**31  # handed to the evaluator, at most (Kaggle's 25,000: 800 MB)
MOST_EPOCHS = 8  # replayed per grading, at most
SHARE = 0.10  # of the training time the replays may cost (at least one epoch, and MIN_BUDGET_S)
MIN_BUDGET_S = 0.5
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
    """Replay the segment that made the graded model (the end of its epoch) and others drawn at random, as
    many as SHARE of the training time allows (at most MOST_EPOCHS), each from the state saved at its
    start. A segment is an epoch, or the part of one between two of the commitments made inside it."""
    starts, ends, afters, mids = commitments
    artifacts = evidence.run.artifacts
    if artifacts is None or evidence.run.model_path is None:
        return unverifiable("the run left no saved state to replay")
    folder = artifacts / "training"
    data = folder / f"fit{fit_index}-data.npz"
    logged = replay.get("kind") in ("images", "recorded")  # each epoch's batches were recorded too
    segments = _segments(fit_index, epochs, starts, ends, mids, folder)
    auditable = [g for g in segments if (g["start"] or {}).get("saved") and g["file"].is_file()
                 and (not logged or (folder / f"fit{fit_index}-epoch{g['epoch']}-batches.npz").is_file())]
    last = next(g for g in reversed(segments) if g["epoch"] == made)
    if not data.is_file() or last not in auditable:
        if isinstance((fit or {}).get("not_replayed"), str):  # the harness gave up recording (over the budget)
            return unverifiable(fit["not_replayed"][:300])
        return unverifiable(f"the state epoch {made + 1}, which made the graded model, started from was not saved "
                             "(a state larger than the disk budget, or a model built by its first step)"
                             + ("" if not logged else ", or the batches it trained on were not recorded"))
    times = _epoch_seconds(fit_index, epochs, starts, ends)
    per_epoch = max(1e-3, sum(times.values()) / max(1, len(times)))
    for g in segments:
        g["seconds"] = sum(times.get(e, per_epoch) for e in range(g["run_from"], g["epoch"])) + \
            times.get(g["epoch"], per_epoch) * (g["to"] - g["from"]) / max(1, g["steps"])
    budget = max(MIN_BUDGET_S, SHARE * sum(times.values()))
    per_segment = max(1e-3, sum(g["seconds"] for g in auditable) / len(auditable))
    count = max(1, min(len(auditable), MOST_EPOCHS, int(budget // per_segment)))
    order = {k: replay.get(k) for k in ("batch_size", "shuffle", "order_seed", "class_weight", "compile", "kind",
                                        "generator", "dtype", "files")}
    jumps = _largest_jumps(evidence, data, order, _spans(auditable))
    if isinstance(jumps, dict):  # a verdict: a saved state is not the one reported
        return jumps
    forced = [last, *(g for g in jumps if g is not last)]
    others = [i for i, g in enumerate(auditable) if all(g is not f for f in forced)]
    choose = chooser or secrets.SystemRandom().sample
    drawn = choose(others, max(0, min(len(others), count - len(forced))))
    picked = _merged(sorted([*forced, *(auditable[i] for i in drawn)], key=_when))
    origin = chain_start(fit_index, starts, ends)
    origin_file = folder / f"fit{origin[0]}-epoch{origin[1]}.npz" if origin else None
    if origin_file is not None and (starts[origin].get("saved") and origin_file.is_file()):
        # held against a fresh initialisation too, unless the exercise hands out pre-trained weights to start from
        order["initial"] = {"start": origin_file, "fresh": not getattr(evidence, "pretrained", None)}
    else:
        origin = None
    requests = [{"epoch": g["run_from"], "through": g["epoch"], "steps": g["steps"], "from": g["from"], "to": g["to"],
                 "start": g["file"],
                 **({"rates": folder / f"fit{fit_index}-epoch{g['epoch']}-rates.npz"}
                    if (afters.get((fit_index, g["epoch"])) or {}).get("rates") else {}),
                 **({"batches": folder / f"fit{fit_index}-epoch{g['epoch']}-batches.npz"} if logged else {})}
                for g in picked]
    allowance = 30.0 + 3 * sum(g["seconds"] for g in picked)
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
        return unverifiable(f"the replay of {_listed(picked)} did not finish ({exc})")
    if not reply.get("ok"):
        if reply.get("kind") == "unreplayable":
            return unverifiable(str(reply.get("message")))
        return unverifiable(f"the replay failed ({reply.get('type')}: {str(reply.get('message'))[:300]})")
    initial = reply.get("initial") or {}
    if origin is not None:
        if initial.get("start_weights") != starts[origin].get("weights"):
            return refuted("the state saved for the start of training is not the one the program reported when "
                            "training started")
        if initial.get("problem"):
            return refuted(f"training started from weights a freshly built model does not have: "
                            f"{initial['problem']} (weights set by hand, or trained before)")
    results = reply.get("epochs") or []
    between_steps = [cb.get("class") for cb in (fit or {}).get("callbacks") or []
                     if isinstance(cb, dict) and cb.get("batch_hooks") is True]
    for g, got in zip(picked, results):
        differs = _segment_differs(g, got, fit_index, ends)
        if differs and between_steps and not differs.startswith("the state saved"):
            # the learning rate such a callback set is replayed; anything else it did is not
            return refuted(f"{differs} (the callback {between_steps[0]} acts between the steps of an epoch: the "
                            "replay sets the learning rate it set at each step, and nothing else it did)")
        if differs:
            return refuted(differs)
    if len(results) != len(picked):
        return unverifiable("the replay returned fewer epochs than were asked for")
    n = len(epochs)
    touched = sorted({e + 1 for g in picked for e in range(g["run_from"], g["epoch"] + 1)})
    whole = all(g["from"] == 0 and g["to"] == g["steps"] and g["run_from"] == g["epoch"] for g in picked)
    shown = (f"epoch{'s' if len(touched) > 1 else ''} {', '.join(map(str, touched))} of {n}" if whole else
             f"{_listed(picked)} (of {n} epoch{'s' if n != 1 else ''})")
    return {"status": VERIFIED, "replayed": touched, "epochs": n, "fit": fit_index + 1,
            "segments": [[g["epoch"] + 1, g["from"] + 1, g["to"]] for g in picked], "seconds": reply.get("seconds"),
            "sentence": (f"Training verified: the grader replayed {shown} from the "
                         f"state{'s' if len(picked) > 1 else ''} "
                         "the program reported while it trained, and reached exactly the weights it reported; the "
                         "graded model is the one training ended with.")}


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


def _segments(fit_index: int, epochs: list, starts: dict, ends: dict, mids: dict, folder) -> list[dict]:
    """Each epoch of the fit cut at the commitments made inside it: {epoch, from, to, steps (the epoch's),
    start and end (the commitments at either side), file (the state saved at its start), run_from}. An
    epoch whose start was not saved (short epochs save theirs every few tenths of a second) is replayed as
    a run from the last epoch whose start was, when nothing changed the state between those epochs:
    ``run_from`` is that epoch (the epoch itself otherwise)."""
    out = []
    for e in epochs:
        end = ends[(fit_index, e)]
        total = end.get("steps") if isinstance(end.get("steps"), int) else 0
        inner = sorted(step for (i, epoch, step) in mids if i == fit_index and epoch == e and 0 < step < total)
        bounds = [0, *inner, total]
        for first, last in zip(bounds, bounds[1:]):
            origin = e if first else _run_from(fit_index, e, epochs, starts, ends, mids)
            out.append({"epoch": e, "from": first, "to": last, "steps": total, "run_from": origin,
                        "start": starts.get((fit_index, origin)) if first == 0 else mids[(fit_index, e, first)],
                        "end": end if last == total else mids[(fit_index, e, last)],
                        "file": folder / (f"fit{fit_index}-epoch{origin}.npz" if first == 0 else
                                          f"fit{fit_index}-epoch{e}-step{first}.npz")})
    return out


def _when(g: dict) -> tuple:
    """Where a segment starts, in the order training went."""
    return (g["run_from"], 0) if g["from"] == 0 else (g["epoch"], g["from"])


def _spans(auditable: list[dict]) -> list[dict]:
    """For each saved state segments start from, in the order training went, the segment reaching furthest
    from it (a run through to the next saved state, or the eighth of an epoch up to it)."""
    furthest = {}
    for g in auditable:
        best = furthest.get(g["file"])
        if best is None or (g["epoch"], g["to"]) > (best["epoch"], best["to"]):
            furthest[g["file"]] = g
    return sorted(furthest.values(), key=_when)


def _largest_jumps(evidence, data, order: dict, spans: list[dict]) -> list[dict] | dict:
    """The spans whose weights moved furthest, and furthest for their neighbours (Proof-of-Learning's
    verifier checks the largest updates: weights set by hand inside an epoch are a jump there, which a
    random draw alone would likely miss). The evaluator reads every saved state, each held against the
    digest the program reported for it, and measures how far the weights moved to the next (the last: to
    the graded model). A refuted verdict when a state is not the one reported; [] when there are too few
    spans to compare or the evaluator could not say."""
    if len(spans) < 3:
        return []
    try:
        reply = evidence.evaluator.replay(evidence.run.model_path, data, [], order, 30.0,
                                          survey=[g["file"] for g in spans])
    except Exception:
        return []
    found = reply.get("survey") if reply.get("ok") else None
    if not isinstance(found, list) or len(found) != len(spans):
        return []
    for g, state in zip(spans, found):
        if state.get("weights") != g["start"].get("weights"):
            where = f"for the start of epoch {g['run_from'] + 1}" if not g["from"] else \
                f"after step {g['from']} of epoch {g['epoch'] + 1}"
            return refuted(f"the state saved {where} is not the one the program reported there")
    moved = [float(s.get("distance")) if isinstance(s.get("distance"), (int, float)) and
             math.isfinite(s.get("distance")) else 0.0 for s in found]
    furthest = max(range(len(spans)), key=lambda i: moved[i])
    around = [(moved[i - 1] if i else moved[i + 1]) + (moved[i + 1] if i + 1 < len(moved) else moved[i - 1])
              for i in range(len(moved))]
    sudden = max(range(len(spans)), key=lambda i: moved[i] / (around[i] / 2 + 1e-12))
    return [spans[furthest]] + ([spans[sudden]] if sudden != furthest else [])


def _merged(picked: list[dict]) -> list[dict]:
    """Runs from the same saved start replayed once, through the latest epoch any of them reaches (a run
    holds every epoch it passes against its commitment)."""
    furthest = {}
    for g in picked:
        if g["from"] == 0 and g["to"] == g["steps"]:
            key = g["run_from"]
            if key not in furthest or g["epoch"] > furthest[key]["epoch"]:
                furthest[key] = g
    return [g for g in picked if not (g["from"] == 0 and g["to"] == g["steps"]) or furthest[g["run_from"]] is g]


def _run_from(fit_index: int, epoch: int, epochs: list, starts: dict, ends: dict, mids: dict) -> int:
    """The epoch a run replaying ``epoch`` starts from: the latest at or before it whose start was saved,
    such that every epoch between began in the very state the one before ended in (weights and optimizer),
    ran as many steps and was not cut inside (else ``epoch`` itself, which is then not auditable)."""
    k = epoch
    while not (starts.get((fit_index, k)) or {}).get("saved"):
        before = k - 1
        start, end = starts.get((fit_index, k)), ends.get((fit_index, before))
        if before not in epochs or start is None or end is None or any(
                start.get(f) != end.get(f) for f in ("weights", "optimizer")) or \
                end.get("steps") != ends[(fit_index, epoch)].get("steps") or \
                any(i == fit_index and e in (before, k) for (i, e, _) in mids):
            return epoch
        k = before
    return k


def _listed(segments: list[dict]) -> str:
    return ", ".join(_named(g) for g in segments)


def _named(g: dict) -> str:
    if g["run_from"] < g["epoch"]:
        return f"epochs {g['run_from'] + 1} to {g['epoch'] + 1}"
    if g["from"] == 0 and g["to"] == g["steps"]:
        return f"epoch {g['epoch'] + 1}"
    return f"steps {g['from'] + 1} to {g['to']} of epoch {g['epoch'] + 1}"


def _run_differs(g: dict, got: dict, fit_index: int, ends: dict) -> str | None:
    """The epochs of a run before its last, each held against what the program reported at its end."""
    reached = got.get("ends") if isinstance(got.get("ends"), list) else []
    if len(reached) != g["epoch"] - g["run_from"] + 1:
        return f"replaying {_named(g)} did not run every epoch" if g["run_from"] < g["epoch"] else None
    for offset, state in enumerate(reached[:-1]):
        epoch = g["run_from"] + offset
        end = ends[(fit_index, epoch)]
        if state.get("weights") != end.get("weights") or state.get("optimizer") != end.get("optimizer"):
            return (f"replaying {_named(g)} from the state epoch {g['run_from'] + 1} started in did not reach the "
                    f"weights the program reported at the end of epoch {epoch + 1}")
        for key, value in (state.get("logs") or {}).items():
            if _replayed(key) and not same((end.get("logs") or {}).get(key), value):
                return (f"the program reported {key} {shown((end.get('logs') or {}).get(key))} for epoch {epoch + 1}, "
                        f"but replaying that epoch gives {shown(value)}")
    return None


def _segment_differs(g: dict, got: dict, fit_index: int, ends: dict) -> str | None:
    """What a replayed segment shows false, or None: the state it started from, the state it reached, the
    loss and metrics reported at its end (the running figures since the epoch's start, which the replay's
    own, over the segment, combine with those reported at the segment's start)."""
    name = _named(g)
    if got.get("start_weights") != g["start"].get("weights"):
        where = f"for the start of epoch {g['run_from'] + 1}" if not g["from"] else \
            f"after step {g['from']} of epoch {g['epoch'] + 1}"
        return f"the state saved {where} is not the one the program reported there"
    run = _run_differs(g, got, fit_index, ends)
    if run:
        return run
    if got.get("weights") != g["end"].get("weights") or got.get("optimizer") != g["end"].get("optimizer"):
        return (f"replaying {name} from the state it started in did not reach the weights the program reported at "
                f"{'its end' if g['to'] == g['steps'] else 'step ' + str(g['to'])}")
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


def chain_start(fit_index: int, starts: dict, ends: dict) -> tuple | None:
    """(fit, epoch) where the training of the graded model began: following fit calls back while each
    started where an earlier one ended (a second fit of the same model)."""
    seen = set()
    while fit_index not in seen:
        seen.add(fit_index)
        first = min((e for (i, e) in starts if i == fit_index), default=None)
        if first is None:
            return None
        weights = starts[(fit_index, first)].get("weights")
        earlier = [i for i in {i for (i, _) in ends} if i < fit_index and
                   ends[(i, max(e for (j, e) in ends if j == i))].get("weights") == weights]
        if not earlier:
            return fit_index, first
        fit_index = max(earlier)
    return None


def _epoch_seconds(fit_index, epochs, starts, ends) -> dict:
    """How long each epoch took, by the parent's clock (when its start and end commitments arrived)."""
    out = {}
    for e in epochs:
        s, t = starts.get((fit_index, e)), ends.get((fit_index, e))
        if s and t and isinstance(s.get("received_s"), (int, float)) and isinstance(t.get("received_s"), (int, float)):
            out[e] = max(0.0, t["received_s"] - s["received_s"])
    return out


def refuted(why: str) -> dict:
    return {"status": REFUTED, "reason": why,
            "sentence": f"Training not verified: {why}. The checks that rest on the record of training fail."}


def unverifiable(why: str) -> dict:
    return {"status": UNVERIFIABLE, "reason": why, "sentence": f"Training cannot be verified: {why}."}
