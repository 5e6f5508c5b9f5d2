"""Training the grader can verify: what the parent received while the program trained, held against the
record the child wrote, against the graded model, and against epochs replayed in the evaluator.

While a fit runs, the harness sends the parent, over the event pipe the parent timestamps, a commitment at
each epoch's start and end: a digest of the model's weights and of its optimizer's state, the epoch's logs
and steps (grader/harness/commit.py). For fits on NumPy arrays, an ImageDataGenerator or a tf.data pipeline
it also saves the states parts of training start from and the data (grader/harness/images.py records the
generator's batches, grader/harness/recorded.py the pipeline's; pictures too many to keep by their hashes,
read again from the exercise's own by grader/picture_rows.py). After the run, with its own randomness, the trusted side picks parts
of the fit that produced the graded model and replays them in the evaluator (grader/training_audit.py
picks them and reads the answer, grader/replay.py replays): an honest run reaches exactly the state it
committed to (the replay is deterministic on a CPU).

A verdict is one of:
- ``verified``: the record agrees with the commitments, the graded model is the state the last
  commitment names, and every replayed epoch reached the committed state;
- ``refuted``: one of these is shown false (the sentence says which); the checks that rest on the record
  fail (``CheckType.rests_on_record``);
- ``unverifiable``: nothing contradicts the record, but no epoch could be replayed (a generator with class
  weights, a ``tf.data`` pipeline that augments inside itself past the disk budget, a layer drawing random numbers on the tf.keras 2
  runtime, a loss of the program's own), with the reason; the
  exercise's ``[verification] unverifiable`` says what that earns ("grade" as the record says, the
  default, or "fail" the checks that rest on it);
- ``no_training``: the record claims no training, and none was committed;
- ``off``: the exercise turns verification off (``[verification] enabled = false``): nothing was committed,
  saved or replayed, and the record is graded as it says.
"""

from __future__ import annotations

import dataclasses
import secrets

from grader import saved_states
from grader.checks import ModelUnavailable
from grader.modelcheck import combined
from grader.training_audit import audit, chain_fits, chain_start, made_in, same, shown
from grader.training_picks import furthest_fits, small
from grader.verdicts import NO_TRAINING, OFF, REFUTED, UNVERIFIABLE, refuted, unverifiable


def verdict(evidence, chooser=None) -> dict:
    """The verdict on the graded model's training: {status, sentence, ...}. ``chooser(population, k)``
    picks the epochs to replay (default: the operating system's randomness, drawn after the run)."""
    if not getattr(evidence.exercise, "verify", True):
        return {"status": OFF, "sentence": "Training was not verified: this exercise turns verification off "
                                           "([verification] enabled = false), so the record of training is graded as "
                                           "the program wrote it."}
    run = evidence.run
    received = run.commitments or {}
    items = [c for c in received.get("items") or [] if isinstance(c, dict)]
    trained = [f for f in evidence.fits if isinstance(f, dict) and f.get("epochs_run")]
    if not trained and not any(c.get("commit") == "end" for c in items):
        return {"status": NO_TRAINING, "sentence": "The program trained no model with model.fit."}
    ends, starts, afters = _by_epoch(items, "end"), _by_epoch(items, "start"), _by_epoch(items, "after")
    contradiction = _record_against_commitments(trained, ends, afters)
    if contradiction:
        return refuted(contradiction)
    failures = evidence.trace.get("state_write_failures")
    gone = saved_states.tampered(run.artifacts / "training" if run.artifacts is not None else None, items,
                                 run.state_budget_mib, failures if isinstance(failures, int) else 0)
    if gone is not None:  # (the states the program reported saving, removed or replaced after it did)
        return (refuted if gone[0] == "refuted" else unverifiable)(gone[1])
    try:
        view = evidence.model()
    except ModelUnavailable:
        return unverifiable("there is no graded model to hold against the training")
    except Exception as exc:  # the grader's evaluator failed: the checks say so, as errors
        return unverifiable(f"the graded model could not be loaded ({type(exc).__name__})")
    final = combined(view.weight_digests)
    matching = [key for key, c in ends.items() if c.get("weights") == final]
    if not matching and any(_uses_ema(f) for f in trained):
        return unverifiable("the optimizer's use_ema replaces the weights with their moving average when training "
                             "ends, which the grader does not replay")
    if not matching:
        return refuted("the graded model is not a state its training reached: its weights differ from the "
                        "weights at the end of every epoch the program reported while it trained")
    fit_index = max(matching)[0]
    fit = next((f for f in trained if f.get("index") == fit_index), None)
    epochs = sorted(e for (i, e) in ends if i == fit_index)
    broken = _chain_break(fit_index, epochs, starts, ends)
    if broken:
        return refuted(broken)
    origin = chain_start(fit_index, starts, ends) or (fit_index, epochs[0])  # across fits of the same model
    first = starts.get(origin)
    if first is not None and first.get("weights") == final:
        return refuted("training did not change the model's weights: they were the same when training began as "
                       "in the graded model")
    replay = (fit or {}).get("replay")
    if not isinstance(replay, dict):
        why = _why_not_replayable(fit, evidence)
        return unverifiable(why)
    made = max(e for (i, e) in matching if i == fit_index)  # the epoch whose end is the graded model
    commitments = (starts, ends, afters, _by_step(items))
    found = []
    fits = chain_fits(fit_index, starts, ends)
    pairs = _earlier(evidence, fits, trained, starts, ends, replay)
    if isinstance(pairs, dict):  # a verdict
        return pairs
    for index, following in pairs:
        earlier = next((f for f in trained if f.get("index") == index), None)
        known = sorted(e for (i, e) in ends if i == index)
        upto = made_in(index, starts[(following, min(e for (i, e) in starts if i == following))].get("weights"),
                       ends)
        broken = _chain_break(index, known, starts, ends)
        if broken:
            return refuted(broken)
        if not isinstance((earlier or {}).get("replay"), dict):
            return unverifiable(f"fit call {index + 1}, which trained the model before fit call {fit_index + 1}, "
                                f"cannot be replayed: {_why_not_replayable(earlier, evidence)}")
        one = audit(evidence, index, earlier, earlier["replay"], known, upto, commitments, chooser)
        if one.get("status") in (REFUTED, UNVERIFIABLE):  # (said of that fit)
            one = (refuted if one["status"] == REFUTED else unverifiable)(
                f"in fit call {index + 1}, which trained the model before fit call {fit_index + 1}, {one['reason']}")
        found.append(one)
    found.append(audit(evidence, fit_index, fit, replay, epochs, made, commitments, chooser))
    return _together(found)


MOST_EARLIER = 3  # fits before the graded one audited, at most (but a small chain's: all, up to MOST_SMALL_FITS):
MOST_SMALL_FITS = 200  # the first, the one whose weights moved furthest (and a sudden one), and others drawn


def _earlier(evidence, fits: list[int], trained: list[dict], starts: dict, ends: dict, replay: dict):
    """The fits that trained the graded model before the one that made it, each with the fit after it, to
    audit: all of them when the chain is small (grader/training_audit.small: a loop of one-epoch fits of
    hello_world, where a state written in one fit is seen only there); else the first (where training began),
    the one whose weights moved furthest (and a sudden one), and others drawn at random, MOST_EARLIER in all
    (or a verdict: a saved start is not the one reported)."""
    pairs = list(zip(fits, fits[1:]))
    if len(pairs) <= MOST_EARLIER:
        return pairs
    settings = {f.get("index"): f.get("replay") for f in trained}
    if len(fits) <= MOST_SMALL_FITS and small(evidence, [(sorted((c for (i, _), c in ends.items() if i == index),
                                                                key=lambda c: c.get("at_epoch", 0)),
                                                         settings.get(index)) for index in fits]):
        return pairs
    forced = furthest_fits(evidence, fits, starts, replay)
    if isinstance(forced, dict):
        return forced
    chosen = [pairs[0], *(pair for pair in pairs if pair[0] in forced and pair != pairs[0])]
    rest = [pair for pair in pairs if pair not in chosen]
    chosen += secrets.SystemRandom().sample(rest, min(len(rest), max(1, MOST_EARLIER - len(chosen))))
    return sorted(chosen)


def _together(found: list[dict]) -> dict:
    """One verdict for the fits that trained the graded model, each audited (the graded one last): the first
    refuted, else the first that cannot be verified, else verified with what was replayed of each."""
    for status in (REFUTED, UNVERIFIABLE):
        for one in found:
            if one.get("status") == status:
                return one
    last = dict(found[-1])
    shown = [f"{one.pop('shown')} of fit call {one['fit']}" if len(found) > 1 else one.pop("shown")
             for one in [dict(f) for f in found]]
    if len(found) > MOST_EARLIER + 1 and all(one.get("whole") for one in found):  # (a small chain, every fit)
        shown = [f"every epoch of the {len(found)} fit calls that trained the model"]
    last.pop("shown", None)
    if len(found) > 1:
        seconds = [one.get("seconds") for one in found]
        if all(isinstance(t, (int, float)) for t in seconds):  # (the evaluator's, for every fit replayed)
            last["seconds"] = round(sum(seconds), 3)
        last["earlier"] = [{k: v for k, v in one.items() if k not in ("shown", "sentence")} for one in found[:-1]]
        last["sentence"] = (f"Training verified: the grader replayed {' and '.join(shown)} from the states the "
                            "program reported while it trained, and reached exactly the weights it reported; the "
                            "graded model is the one training ended with.")
    return last


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
                if not same(value, sent):
                    return (f"the record of training says {key} was {shown(value)} in epoch {epoch} of {call}, but "
                            f"while the program ran, that epoch reported {shown(sent)}")
        stopper = fit.get("stopped_by")
        if isinstance(stopper, dict) and not stopper.get("grader") and committed:
            after = afters.get((index, committed[-1].get("at_epoch")))
            if after is None or not after.get("stop"):
                return (f"the record of training says the callback {stopper.get('class', '?')} stopped {call}, but "
                        "while the program ran no callback asked training to stop")
    return None


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
    if isinstance((fit or {}).get("not_replayed"), str):  # what the harness found, at fit time
        return fit["not_replayed"][:300]
    kind = ((fit or {}).get("data") or {}).get("kind")
    if kind == "ImageDataGenerator":
        return ("the program trained from an ImageDataGenerator the grader cannot rebuild to replay an epoch (a "
                "preprocessing_function of its own, steps_per_epoch other than one pass over the data, labels "
                "other than binary, sparse or categorical, or pictures over the disk budget)")
    if kind == "tf.data":
        return ("the program trained from a tf.data pipeline of a shape the grader does not record to replay an epoch "
                "(inputs or labels other than one numeric tensor each, sample weights, a pipeline of unknown length, "
                "steps_per_epoch cutting a finite pipeline short, several steps per execution)")
    if kind in ("generator", "other"):  # (recorded at train_step when of the usual shape: recorded.stepped)
        return (f"the program trained from {_data_words(kind)} of a shape the grader does not record to replay an "
                "epoch (class weights, batches other than one tensor of inputs and one of labels, several steps "
                "per execution, XLA)")
    if kind and kind != "arrays":
        return (f"the program trained from {_data_words(kind)}, which the grader cannot rebuild to replay an "
                "epoch (it replays training on NumPy arrays, on tf.data pipelines of (x, y) batches, on Python "
                "generators and Sequences, and on ImageDataGenerator's batches)")
    return ("the fit's batches were left in Keras' own order, which the grader cannot rebuild (sample weights, "
            "steps_per_epoch, executions that cross epochs, or arrays over the disk budget)")


def _data_words(kind: str) -> str:
    return {"ImageDataGenerator": "an ImageDataGenerator", "generator": "a Python generator",
            "tf.data": "a tf.data pipeline", "other": "a Sequence or other data of its own"}.get(
        kind, "data that is neither NumPy arrays nor a generator")


def _uses_ema(fit: dict) -> bool:
    optimizer = (((fit.get("replay") or {}).get("compile") or {}).get("optimizer"))
    return isinstance(optimizer, dict) and (optimizer.get("config") or {}).get("use_ema") is True


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
            "Train with model.fit on NumPy arrays, a tf.data pipeline of (x, y) batches (image_dataset_from_directory's "
            "among them) or an ImageDataGenerator, which the grader can replay.")
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
    """What verifying cost: the child's seconds committing and saving states (as it reports them: those its
    training waited for, and those of its thread that commits inside epochs while training goes on), the
    evaluator's seconds replaying, and the MiB of saved states and arrays."""
    folder = evidence.run.artifacts / "training" if evidence.run.artifacts else None
    size = 0
    if folder is not None and folder.is_dir():
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file() and not p.is_symlink())
    commit_s, thread_s = evidence.trace.get("commit_s"), evidence.trace.get("commit_thread_s")
    return {"commit_s": commit_s if isinstance(commit_s, (int, float)) else None,
            "commit_thread_s": thread_s if isinstance(thread_s, (int, float)) else None,
            "replay_s": found.get("seconds"), "state_mib": round(size / 2**20, 2)}
