"""Training the grader can verify: what the parent received while the program trained, held against the
record the child wrote, against the graded model, and against epochs replayed in the evaluator.

While a fit runs, the harness sends the parent, over the event pipe the parent timestamps, a commitment at
each epoch's start and end: a digest of the model's weights and of its optimizer's state, the epoch's logs
and steps (grader/harness/commit.py). For fits on NumPy arrays or an ImageDataGenerator under Keras 3 it
also saves each epoch's starting state and the data (grader/harness/images.py records the generator's
batches). After the run, with its own randomness, the trusted side picks epochs of
the fit that produced the graded model and replays them in the evaluator (grader/replay.py): an honest
run reaches exactly the state it committed to (the replay is deterministic on a CPU).

A verdict is one of:
- ``verified``: the record agrees with the commitments, the graded model is the state the last
  commitment names, and every replayed epoch reached the committed state;
- ``refuted``: one of these is shown false (the sentence says which); the checks that rest on the record
  fail (``CheckType.rests_on_record``);
- ``unverifiable``: nothing contradicts the record, but no epoch could be replayed (a Python generator or
  a ``tf.data`` pipeline, the tf.keras 2 runtime, a loss of the program's own), with the reason; the
  exercise's ``[verification] unverifiable`` says what that earns ("grade" as the record says, the
  default, or "fail" the checks that rest on it);
- ``no_training``: the record claims no training, and none was committed.
"""

from __future__ import annotations

import dataclasses
import math
import secrets

from grader.checks import ModelUnavailable
from grader.modelcheck import combined

VERIFIED, REFUTED, UNVERIFIABLE, NO_TRAINING = "verified", "refuted", "unverifiable", "no_training"
MOST_EPOCHS = 8  # replayed per grading, at most
SHARE = 0.10  # of the training time the replays may cost (at least one epoch, and MIN_BUDGET_S)
MIN_BUDGET_S = 0.5
LOG_TOLERANCE = 1e-6  # a logged value read back through JSON: the same float, up to its text form
COMBINED_TOLERANCE = 1e-5  # a running mean combined from two (float32 sums added in another order)


def verdict(evidence, chooser=None) -> dict:
    """The verdict on the graded model's training: {status, sentence, ...}. ``chooser(population, k)``
    picks the epochs to replay (default: the operating system's randomness, drawn after the run)."""
    run = evidence.run
    received = run.commitments or {}
    items = [c for c in received.get("items") or [] if isinstance(c, dict)]
    trained = [f for f in evidence.fits if isinstance(f, dict) and f.get("epochs_run")]
    if not trained and not any(c.get("commit") == "end" for c in items):
        return {"status": NO_TRAINING, "sentence": "The program trained no model with model.fit."}
    ends, starts, afters = _by_epoch(items, "end"), _by_epoch(items, "start"), _by_epoch(items, "after")
    contradiction = _record_against_commitments(trained, ends, afters)
    if contradiction:
        return _refuted(contradiction)
    try:
        view = evidence.model()
    except ModelUnavailable:
        return _unverifiable("there is no graded model to hold against the training")
    except Exception as exc:  # the grader's evaluator failed: the checks say so, as errors
        return _unverifiable(f"the graded model could not be loaded ({type(exc).__name__})")
    final = combined(view.weight_digests)
    matching = [key for key, c in ends.items() if c.get("weights") == final]
    if not matching and any(_uses_ema(f) for f in trained):
        return _unverifiable("the optimizer's use_ema replaces the weights with their moving average when training "
                             "ends, which the grader does not replay")
    if not matching:
        return _refuted("the graded model is not a state its training reached: its weights differ from the "
                        "weights at the end of every epoch the program reported while it trained")
    fit_index = max(matching)[0]
    fit = next((f for f in trained if f.get("index") == fit_index), None)
    epochs = sorted(e for (i, e) in ends if i == fit_index)
    broken = _chain_break(fit_index, epochs, starts, ends)
    if broken:
        return _refuted(broken)
    first, last = starts.get((fit_index, epochs[0])), ends[(fit_index, epochs[-1])]
    if first is not None and first.get("weights") == last.get("weights"):
        return _refuted("training did not change the model's weights: they were the same at the start of the "
                        "first epoch as at the end of the last")
    replay = (fit or {}).get("replay")
    if not isinstance(replay, dict):
        why = _why_not_replayable(fit, evidence)
        return _unverifiable(why)
    made = max(e for (i, e) in matching if i == fit_index)  # the epoch whose end is the graded model
    mids = _by_step(items)
    return _replay(evidence, fit_index, fit, replay, epochs, made, (starts, ends, afters, mids), chooser)


def _by_epoch(items: list[dict], kind: str) -> dict:
    out = {}
    for c in items:
        if c.get("commit") != kind:
            continue
        fit, epoch = c.get("fit_index"), c.get("at_epoch")
        if isinstance(fit, int) and isinstance(epoch, int) and (fit, epoch) not in out:
            out[(fit, epoch)] = c
    return out


def _by_step(items: list[dict]) -> dict:
    """The commitments made inside epochs (every few steps of a replayable fit), by (fit, epoch, step)."""
    out = {}
    for c in items:
        fit, epoch, step = c.get("fit_index"), c.get("at_epoch"), c.get("step")
        if c.get("commit") == "mid" and all(isinstance(v, int) for v in (fit, epoch, step)):
            out.setdefault((fit, epoch, step), c)
    return out


def _record_against_commitments(trained: list[dict], ends: dict, afters: dict) -> str | None:
    """The child's record of each fit against what the parent received while that fit ran: its epochs,
    their logs, and whether a callback asked to stop at the end of the last one."""
    for fit in trained:
        index = fit.get("index")
        committed = [ends[k] for k in sorted(ends) if k[0] == index]
        n = fit.get("epochs_run")
        call = f"fit call {index + 1 if isinstance(index, int) else '?'}"
        if len(committed) != n:
            return (f"the record of training says {call} ran {n} epoch{'s' if n != 1 else ''}, but while the program "
                    f"ran the grader received {len(committed)}")
        for key, values in (fit.get("history") or {}).items():
            for epoch, (value, c) in enumerate(zip(values or [], committed), start=1):
                sent = (c.get("logs") or {}).get(key)
                if not _same(value, sent):
                    return (f"the record of training says {key} was {_shown(value)} in epoch {epoch} of {call}, but "
                            f"while the program ran, that epoch reported {_shown(sent)}")
        stopper = fit.get("stopped_by")
        if isinstance(stopper, dict) and not stopper.get("grader") and committed:
            after = afters.get((index, committed[-1].get("at_epoch")))
            if after is None or not after.get("stop"):
                return (f"the record of training says the callback {stopper.get('class', '?')} stopped {call}, but "
                        "while the program ran no callback asked training to stop")
    return None


def _same(a, b) -> bool:
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


def _shown(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else repr(value)


def _chain_break(fit_index: int, epochs: list[int], starts: dict, ends: dict) -> str | None:
    """Between two epochs of a fit only callbacks run: the weights an epoch starts with are those the one
    before ended with (a learning-rate schedule changes the optimizer, never the weights)."""
    for before, after in zip(epochs, epochs[1:]):
        start = starts.get((fit_index, after))
        if start is not None and start.get("weights") != ends[(fit_index, before)].get("weights"):
            return (f"the model's weights changed between epochs {before + 1} and {after + 1}, outside training "
                    "(something set them by hand)")
    return None


def _why_not_replayable(fit: dict | None, evidence) -> str:
    runtime = ((evidence.trace.get("versions") or {}).get("runtime"))
    if runtime == "keras2":
        return "the program ran on the tf.keras 2 runtime, whose training the grader does not replay yet"
    kind = ((fit or {}).get("data") or {}).get("kind")
    if kind == "ImageDataGenerator":
        return ("the program trained from an ImageDataGenerator the grader cannot rebuild to replay an epoch (a "
                "preprocessing_function of its own, steps_per_epoch other than one pass over the data, labels "
                "other than binary, sparse or categorical, or pictures over the disk budget)")
    if kind and kind != "arrays":
        return (f"the program trained from {_data_words(kind)}, which the grader cannot rebuild to replay an "
                "epoch (it replays training on NumPy arrays and on ImageDataGenerator's batches)")
    return ("the fit's batches were left in Keras' own order, which the grader cannot rebuild (sample weights, "
            "steps_per_epoch, executions that cross epochs, or arrays over the disk budget)")


def _data_words(kind: str) -> str:
    return {"ImageDataGenerator": "an ImageDataGenerator", "generator": "a Python generator",
            "tf.data": "a tf.data pipeline"}.get(kind, "data that is neither NumPy arrays nor a generator")


def _replay(evidence, fit_index, fit, replay: dict, epochs, made: int, commitments: tuple, chooser) -> dict:
    """Replay the segment that made the graded model (the end of its epoch) and others drawn at random, as
    many as SHARE of the training time allows (at most MOST_EPOCHS), each from the state saved at its
    start. A segment is an epoch, or the part of one between two of the commitments made inside it."""
    starts, ends, afters, mids = commitments
    artifacts = evidence.run.artifacts
    if artifacts is None or evidence.run.model_path is None:
        return _unverifiable("the run left no saved state to replay")
    folder = artifacts / "training"
    data = folder / f"fit{fit_index}-data.npz"
    images = replay.get("kind") == "images"  # an ImageDataGenerator's: each epoch's batches were recorded too
    segments = _segments(fit_index, epochs, starts, ends, mids, folder)
    auditable = [g for g in segments if (g["start"] or {}).get("saved") and g["file"].is_file()
                 and (not images or (folder / f"fit{fit_index}-epoch{g['epoch']}-batches.npz").is_file())]
    last = next(g for g in reversed(segments) if g["epoch"] == made)
    if not data.is_file() or last not in auditable:
        return _unverifiable(f"the state epoch {made + 1}, which made the graded model, started from was not saved "
                             "(a state larger than the disk budget, or a model built by its first step)"
                             + ("" if not images else ", or the batches it trained on were not recorded"))
    times = _epoch_seconds(fit_index, epochs, starts, ends)
    per_epoch = max(1e-3, sum(times.values()) / max(1, len(times)))
    for g in segments:
        g["seconds"] = sum(times.get(e, per_epoch) for e in range(g["run_from"], g["epoch"])) + \
            times.get(g["epoch"], per_epoch) * (g["to"] - g["from"]) / max(1, g["steps"])
    budget = max(MIN_BUDGET_S, SHARE * sum(times.values()))
    per_segment = max(1e-3, sum(g["seconds"] for g in auditable) / len(auditable))
    count = max(1, min(len(auditable), MOST_EPOCHS, int(budget // per_segment)))
    others = [i for i, g in enumerate(auditable) if g is not last]
    choose = chooser or secrets.SystemRandom().sample
    picked = sorted({auditable.index(last), *choose(others, min(len(others), count - 1))})
    picked = _merged([auditable[i] for i in picked])
    order = {k: replay.get(k) for k in ("batch_size", "shuffle", "order_seed", "class_weight", "compile", "kind",
                                        "generator", "dtype")}
    origin = _chain_start(fit_index, starts, ends)
    origin_file = folder / f"fit{origin[0]}-epoch{origin[1]}.npz" if origin else None
    if origin_file is not None and (starts[origin].get("saved") and origin_file.is_file()):
        order["initial"] = {"start": origin_file}
    else:
        origin = None
    requests = [{"epoch": g["run_from"], "through": g["epoch"], "steps": g["steps"], "from": g["from"], "to": g["to"],
                 "start": g["file"],
                 **({"rates": folder / f"fit{fit_index}-epoch{g['epoch']}-rates.npz"}
                    if (afters.get((fit_index, g["epoch"])) or {}).get("rates") else {}),
                 **({"batches": folder / f"fit{fit_index}-epoch{g['epoch']}-batches.npz"} if images else {})}
                for g in picked]
    allowance = 30.0 + 3 * sum(g["seconds"] for g in picked)
    try:
        reply = evidence.evaluator.replay(evidence.run.model_path, data, requests, order, allowance)
    except Exception as exc:  # the evaluator stopped (time, memory): the replay says nothing either way
        return _unverifiable(f"the replay of {_listed(picked)} did not finish ({exc})")
    if not reply.get("ok"):
        if reply.get("kind") == "unreplayable":
            return _unverifiable(str(reply.get("message")))
        return _unverifiable(f"the replay failed ({reply.get('type')}: {str(reply.get('message'))[:300]})")
    initial = reply.get("initial") or {}
    if origin is not None:
        if initial.get("start_weights") != starts[origin].get("weights"):
            return _refuted("the state saved for the start of training is not the one the program reported when "
                            "training started")
        if initial.get("problem"):
            return _refuted(f"training started from weights a freshly built model does not have: "
                            f"{initial['problem']} (weights set by hand, or trained before)")
    results = reply.get("epochs") or []
    between_steps = [cb.get("class") for cb in (fit or {}).get("callbacks") or []
                     if isinstance(cb, dict) and cb.get("batch_hooks") is True]
    for g, got in zip(picked, results):
        differs = _segment_differs(g, got, fit_index, ends)
        if differs and between_steps and not differs.startswith("the state saved"):
            # the learning rate such a callback set is replayed; anything else it did is not
            return _refuted(f"{differs} (the callback {between_steps[0]} acts between the steps of an epoch: the "
                            "replay sets the learning rate it set at each step, and nothing else it did)")
        if differs:
            return _refuted(differs)
    if len(results) != len(picked):
        return _unverifiable("the replay returned fewer epochs than were asked for")
    n = len(epochs)
    touched = sorted({e + 1 for g in picked for e in range(g["run_from"], g["epoch"] + 1)})
    whole = all(g["from"] == 0 and g["to"] == g["steps"] and g["run_from"] == g["epoch"] for g in picked)
    shown = (f"epoch{'s' if len(touched) > 1 else ''} {', '.join(map(str, touched))} of {n}" if whole else
             f"{_listed(picked)} (of {n} epoch{'s' if n != 1 else ''})")
    return {"status": VERIFIED, "replayed": touched, "epochs": n, "fit": fit_index + 1,
            "segments": [[g["epoch"] + 1, g["from"] + 1, g["to"]] for g in picked], "seconds": reply.get("seconds"),
            "sentence": (f"Training verified: the grader replayed {shown} from the state{'s' if len(picked) > 1 else ''} "
                         "the program reported while it trained, and reached exactly the weights it reported; the "
                         "graded model is the one training ended with.")}


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
            if not key.startswith("val_") and key not in ("learning_rate", "lr") and \
                    not _same((end.get("logs") or {}).get(key), value):
                return (f"the program reported {key} {_shown((end.get('logs') or {}).get(key))} for epoch {epoch + 1}, "
                        f"but replaying that epoch gives {_shown(value)}")
    return None


def _segment_differs(g: dict, got: dict, fit_index: int, ends: dict) -> str | None:
    """What a replayed segment shows false, or None: the state it started from, the state it reached, the
    loss and metrics reported at its end (the running figures since the epoch's start, which the replay's
    own, over the segment, combine with those reported at the segment's start)."""
    whole = g["from"] == 0 and g["to"] == g["steps"]
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
    before, rows_before, rows = (g["start"].get("logs") or {}) if g["from"] else {}, got.get("rows_before"), got.get("rows")
    reported = g["end"].get("logs") or {}
    for key, value in (got.get("logs") or {}).items():
        if key.startswith("val_") or key in ("learning_rate", "lr"):
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
            return (f"the program reported {key} {_shown(reported.get(key))} {where} {g['epoch'] + 1}, but replaying "
                    f"that epoch gives {_shown(expected)}" + ("" if not g["from"] else
                                                             f" (steps {g['from'] + 1} to {g['to']} replayed, with the "
                                                             f"running figures reported after step {g['from']})"))
    return None


def _close(reported, expected, exact: bool) -> bool:
    if exact:
        return _same(reported, expected)
    if reported is None or expected is None:
        return _same(reported, expected)
    try:
        return math.isclose(float(reported), float(expected), rel_tol=COMBINED_TOLERANCE, abs_tol=COMBINED_TOLERANCE)
    except (TypeError, ValueError):
        return False


def _chain_start(fit_index: int, starts: dict, ends: dict) -> tuple | None:
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


def _uses_ema(fit: dict) -> bool:
    optimizer = (((fit.get("replay") or {}).get("compile") or {}).get("optimizer"))
    return isinstance(optimizer, dict) and (optimizer.get("config") or {}).get("use_ema") is True


def _epoch_seconds(fit_index, epochs, starts, ends) -> dict:
    """How long each epoch took, by the parent's clock (when its start and end commitments arrived)."""
    out = {}
    for e in epochs:
        s, t = starts.get((fit_index, e)), ends.get((fit_index, e))
        if s and t and isinstance(s.get("received_s"), (int, float)) and isinstance(t.get("received_s"), (int, float)):
            out[e] = max(0.0, t["received_s"] - s["received_s"])
    return out


def _refuted(why: str) -> dict:
    return {"status": REFUTED, "reason": why,
            "sentence": f"Training not verified: {why}. The checks that rest on the record of training fail."}


def _unverifiable(why: str) -> dict:
    return {"status": UNVERIFIABLE, "reason": why, "sentence": f"Training cannot be verified: {why}."}


def apply(found: dict, exercise, types: dict, results: list) -> list:
    """The check results once the verdict is in: when training is shown false, or cannot be verified and
    the exercise fails such training, each check that rests on the record and passed fails, saying why."""
    policy_fails = found["status"] == UNVERIFIABLE and getattr(exercise, "unverifiable", "grade") == "fail"
    if found["status"] != REFUTED and not policy_fails:
        return results
    message = found["sentence"] if found["status"] == REFUTED else (
        f"{found['sentence']} This exercise gives no points for what only the record of training shows when the "
        "grader cannot verify it.")
    hint = ("Train the model with model.fit, hand in the model it trained, and leave the grader's record of training "
            "alone." if found["status"] == REFUTED else
            "Train with model.fit on NumPy arrays or an ImageDataGenerator under Keras 3, which the grader can "
            "replay.")
    out = []
    for result in results:  # a check that failed on its own keeps its reason (more precise, and as true)
        check_type = types.get(_type_of(result, exercise))
        if check_type is not None and check_type.rests_on_record and result.status == "passed":
            result = dataclasses.replace(result, status="failed", score=0.0, message=message, hint=hint)
        out.append(result)
    return out


def _type_of(result, exercise) -> str | None:
    return next((c.type for c in exercise.checks if c.name == result.name), None)


def cost(evidence, found: dict) -> dict:
    """What verifying cost: the child's seconds committing and saving states (as it reports them), the
    evaluator's seconds replaying, and the MiB of saved states and arrays."""
    folder = evidence.run.artifacts / "training" if evidence.run.artifacts else None
    size = 0
    if folder is not None and folder.is_dir():
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file() and not p.is_symlink())
    commit_s = evidence.trace.get("commit_s")
    return {"commit_s": commit_s if isinstance(commit_s, (int, float)) else None,
            "replay_s": found.get("seconds"), "state_mib": round(size / 2**20, 2)}
