"""Which parts of a fit's training an audit replays (grader/training_audit.py asks for them and reads the
answer): a small fit whole; of a larger one, the part that made the graded model, the spans whose weights
moved furthest (Proof-of-Learning's largest updates) with the span before each, and parts drawn at random
with the operating system's randomness, after the run; of a chain of fits, which earlier ones. Thresholds
are by what training computed, not how long it took, where a busy machine must give the same verdict.
"""

from __future__ import annotations

import math
import secrets

from grader.training_segments import chains, merged, spans
from grader.verdicts import refuted, unverifiable

MOST_EPOCHS = 8  # replayed per grading, at most (besides the forced ones: the last, the largest updates)
MIN_DRAWN = 1  # parts drawn at random, at least, besides those (an exercise's [verification] draws: more)
SUDDEN = 1.5  # a span that moved this many times its neighbours' mean is replayed for certain (honest: about 1.1)
WHOLE_STEPS = 10_000  # a fit of this many steps at most, whose model's parameters times the rows it trained on
WHOLE_WORK = 200_000_000  # are this many at most, is replayed whole (hello_world: 500 steps, 6,000; 0.5 ms a step)
SHARE = 0.10  # of the training time the replays may cost (at least one epoch, and MIN_BUDGET_S)
MIN_BUDGET_S = 0.5


def small(evidence, fits: list[tuple[list[dict], dict]]) -> bool:
    """Whether fits are cheap enough to replay whole (by what they computed, not by how long they took: the
    same verdict on a busy machine): WHOLE_STEPS steps at most, and WHOLE_WORK parameters times rows at most.
    ``fits``: each fit's end commitments (one an epoch) and its replay settings."""
    steps = rows = 0
    for ended, replay in fits:
        size = replay.get("batch_size") if isinstance(replay, dict) else None
        if not isinstance(size, int) or size <= 0:
            return False
        count = sum(c.get("steps") for c in ended if isinstance(c.get("steps"), int))
        steps, rows = steps + count, rows + count * size
    if steps > WHOLE_STEPS:
        return False
    try:
        params = int(evidence.model().count_params())
    except Exception:  # (no model to count: the sampled audit says why)
        return False
    return params * rows <= WHOLE_WORK


def furthest_fits(evidence, fits: list[int], starts: dict, replay: dict) -> list[int] | dict:
    """Of a chain of fits that trained the graded model (the graded one last), the earlier ones whose weights
    moved furthest, and furthest for their neighbours (SUDDEN), as for the spans of one fit: weights set by
    hand inside one fit of many (helper-21's 13 one-epoch fits, secretly trained weights written in the 7th).
    The evaluator reads each fit's saved start, held against its commitment. A refuted verdict when a saved
    start is not the one reported; [] when the evaluator could not say."""
    folder = evidence.run.artifacts / "training" if evidence.run.artifacts is not None else None
    firsts = {i: min(e for (f, e) in starts if f == i) for i in fits}
    files = [folder / f"fit{i}-epoch{firsts[i]}.npz" for i in fits] if folder is not None else []
    data = folder / f"fit{fits[-1]}-data.npz" if folder is not None else None
    if len(fits) < 3 or evidence.run.model_path is None or data is None or not data.is_file() or \
            not all(f.is_file() and starts[(i, firsts[i])].get("saved") for i, f in zip(fits, files)):
        return []
    order = order_of(replay)
    found = _surveyed(evidence, data, order, files)
    if found is None:
        return []
    for i, state in zip(fits, found):
        if state.get("weights") != starts[(i, firsts[i])].get("weights"):
            return refuted(f"the state saved for the start of fit call {i + 1} is not the one the program reported "
                           "there")
    return [fits[k] for k in _jumps(_moved(found)[:-1])]  # (each earlier fit's: from its start to the next one's)


def order_of(replay: dict) -> dict:
    """What a replay request needs of a fit's replay settings (the child's record of how it fed the data)."""
    return {k: replay.get(k) for k in ("batch_size", "shuffle", "order_seed", "class_weight", "compile", "kind",
                                       "generator", "dtype", "files")}


def _surveyed(evidence, data, order: dict, files: list) -> list[dict] | None:
    """The evaluator's survey of saved states (grader/replay.py: each one's weights' digest, and how far they
    are from the next one's), one per file, or None when it could not say."""
    try:
        reply = evidence.evaluator.replay(evidence.run.model_path, data, [], order, 30.0, survey=files)
    except Exception:
        return None
    found = reply.get("survey") if reply.get("ok") else None
    return found if isinstance(found, list) and len(found) == len(files) else None


def _moved(found: list[dict]) -> list[float]:
    return [float(s["distance"]) if isinstance(s.get("distance"), (int, float)) and math.isfinite(s["distance"])
            else 0.0 for s in found]


def _jumps(moved: list[float]) -> list[int]:
    """Where the weights moved furthest, and (a span with a neighbour on either side: the first moves furthest
    from the initial weights by nature, the last is replayed anyway) furthest for its neighbours, when that is
    SUDDEN times their mean or more."""
    jumps = [max(range(len(moved)), key=lambda k: moved[k])]
    ratio = {k: moved[k] / ((moved[k - 1] + moved[k + 1]) / 2 + 1e-12) for k in range(1, len(moved) - 1)}
    if ratio:
        sudden = max(ratio, key=ratio.get)
        if sudden not in jumps and ratio[sudden] >= SUDDEN:
            jumps.append(sudden)
    return jumps


def sampled(evidence, fit_index, parts, made, data, order, logged, times, chooser):
    """The chains to replay of a fit too long to replay whole: the one that made the graded model, those
    whose weights moved furthest (and the span before each), and others drawn at random, as many as SHARE of
    the training time allows; with the draws (the indices into the candidates), the candidates, and how many
    parts no chain reaches (no saved state leads to them, or the batches they trained on were not kept: never
    replayed, and said so). A verdict instead when none leads to the graded model, or a saved state is not the
    one reported."""
    folder = data.parent
    found = chains(parts, lambda g: not logged or (folder / f"fit{fit_index}-epoch{g['epoch']}-batches.npz").is_file())
    last = next(c for g, c in zip(reversed(parts), reversed(found)) if g["epoch"] == made)
    if not data.is_file() or last is None:
        return unverifiable(f"no state saved before the end of epoch {made + 1}, which made the graded model, "
                             "leads to it (a state larger than the disk budget, or a model built by its first step)"
                             + ("" if not logged else ", or the batches it trained on were not recorded"))
    auditable = [c for c in found if c is not None]
    budget = max(MIN_BUDGET_S, SHARE * sum(times.values()))
    per_chain = max(1e-3, sum(_seconds(c) for c in auditable) / len(auditable))
    count = max(1, min(len(auditable), MOST_EPOCHS, int(budget // per_chain)))
    jumps = _largest_jumps(evidence, data, order, spans(auditable))
    if isinstance(jumps, dict):  # a verdict: a saved state is not the one reported
        return jumps
    forced = [last, *(c for c in jumps if c is not last)]
    # drawn from the parts outside the spans the forced ones start (a part inside one of them would add nothing;
    # a part, not a whole span: hello_world's spans run 0.2 s), and at least MIN_DRAWN of them however many are
    # forced: without a draw the parts replayed are all predictable (helper-18 moved the weights towards secretly
    # trained ones across the middle of training, verified)
    taken = {c[0]["file"] for c in forced}
    candidates = [c for c in auditable if c[0]["file"] not in taken]
    choose = chooser or secrets.SystemRandom().sample
    least = max(MIN_DRAWN, int(getattr(evidence.exercise, "draws", MIN_DRAWN) or MIN_DRAWN))  # (the exercise's)
    drawn = choose(range(len(candidates)), min(len(candidates), max(least, count - len(forced))))
    unreached = sum(1 for c in found if c is None)
    return merged([*forced, *(candidates[i] for i in drawn)]), drawn, candidates, unreached


def _seconds(chain: list[dict]) -> float:
    return sum(g["seconds"] for g in chain)


def _largest_jumps(evidence, data, order: dict, spans: list[list[dict]]) -> list[list[dict]] | dict:
    """The spans (chains from one saved state to the next) whose weights moved furthest, and furthest for
    their neighbours (Proof-of-Learning's verifier checks the largest updates: weights set by hand inside an
    epoch are a jump there, which a random draw alone would likely miss). The evaluator reads every saved
    state, each held against the digest the program reported for it, and measures how far the weights moved
    to the next (the last: to the graded model). A refuted verdict when a state is not the one reported; []
    when there are too few spans to compare or the evaluator could not say."""
    if len(spans) < 3:
        return []
    found = _surveyed(evidence, data, order, [c[0]["file"] for c in spans])
    if found is None:
        return []
    for c, state in zip(spans, found):
        g = c[0]
        if state.get("weights") != g["start"].get("weights"):
            where = f"for the start of epoch {g['run_from'] + 1}" if not g["from"] else \
                f"after step {g['from']} of epoch {g['epoch'] + 1}"
            return refuted(f"the state saved {where} is not the one the program reported there")
    jumps = _jumps(_moved(found))
    # and the span before each: momentum set by hand at its end moves the weights in the next one, which then
    # replays exactly from the state it starts in, momentum and all (helper-19); replayed as one with it. Not
    # where the optimizer keeps no momentum (the course's RMSprop): its state only scales each weight's step
    before = (1, 0) if _carries(order) else (0,)
    picked = []
    for i in jumps:
        picked += [j for j in (i - k for k in before) if j >= 0 and j not in picked]
    return [spans[i] for i in picked]


# optimizers whose state cannot move the weights by itself: it scales each weight's step along its gradient,
# by a factor a forged state bounds (RMSprop: 1 / sqrt(1 - rho) times the rate at most; Adagrad: the rate)
SCALING_ONLY = {"SGD", "RMSprop", "Adagrad"}


def _carries(order: dict) -> bool:
    """Whether the fit's optimizer (as the program reported it compiled: a false report does not replay) keeps
    a state that moves the weights on its own: a momentum (SGD's or RMSprop's when set, Adam's first moment and
    every other optimizer's), weights of its own (a moving average written into the model: use_ema), gradients
    kept for later steps, or a step counter a learning-rate schedule reads (helper-23 set it past a boundary of
    a PiecewiseConstantDecay, from 1e-9 to 1e-3, one step before a commitment). True when it cannot be told."""
    optimizer = ((order.get("compile") or {}).get("optimizer")) if isinstance(order.get("compile"), dict) else None
    if isinstance(optimizer, str):
        return optimizer.lower() not in {n.lower() for n in SCALING_ONLY}
    if not isinstance(optimizer, dict) or optimizer.get("class_name") not in SCALING_ONLY or \
            optimizer.get("registered_name") or str(optimizer.get("module")).split(".")[0] not in ("keras", "tf_keras"):
        return True  # (a class of the program's own under Keras' name)
    config = optimizer.get("config") if isinstance(optimizer.get("config"), dict) else {}
    rate = config.get("learning_rate", 0.0)
    return bool(config.get("momentum") or config.get("centered") or config.get("use_ema") or
                config.get("gradient_accumulation_steps") or config.get("nesterov")) or \
        not isinstance(rate, (int, float)) or isinstance(rate, bool)  # a schedule: its step counter is state too
