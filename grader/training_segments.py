"""The parts of one fit the trusted side can replay, from the commitments the parent received and the states
the child saved (grader/harness/commit.py).

A *segment* is an epoch cut at the commitments made inside it: {epoch, from, to (steps), steps (the epoch's),
start and end (the commitments at either side), file (the state saved at its start), run_from}. An epoch of
short ones whose start was not saved is a run from the latest epoch whose start was (``run_from``), when
nothing changed the state between them.

A *chain* is what replaying a segment takes: the segments from the latest saved state before it, each
following on from the one before (the child keeps its states spread over training within its budget, so
most segments start from a state it no longer has). The segments of a chain inside one epoch are one leg
(one fit in the evaluator), whose ``inner`` steps (where the segments joined) the replay holds against their
commitments too; a leg in the next epoch runs on from the state the one before reached.
"""

from __future__ import annotations

from pathlib import Path


def segments(fit_index: int, epochs: list, starts: dict, ends: dict, mids: dict, folder: Path) -> list[dict]:
    """Each epoch of the fit cut at the commitments made inside it, in the order training went."""
    out = []
    for e in epochs:
        end = ends[(fit_index, e)]
        total = end.get("steps") if isinstance(end.get("steps"), int) else 0
        inner = sorted(step for (i, epoch, step) in mids if i == fit_index and epoch == e and 0 < step < total)
        bounds = [0, *inner, total]
        for first, last in zip(bounds, bounds[1:]):
            origin = e if first else _run_from(fit_index, e, epochs, starts, ends, mids, folder)
            out.append({"epoch": e, "from": first, "to": last, "steps": total, "run_from": origin,
                        "start": starts.get((fit_index, origin)) if first == 0 else mids[(fit_index, e, first)],
                        "end": end if last == total else mids[(fit_index, e, last)],
                        "file": folder / (f"fit{fit_index}-epoch{origin}.npz" if first == 0 else
                                          f"fit{fit_index}-epoch{e}-step{first}.npz")})
    return out


def chains(parts: list[dict], usable) -> list[list[dict] | None]:
    """For each segment, the chain that replays it, or None: it alone when its start was saved, else the
    chain of the segment before continued, when this one starts in the very state that one ended in (inside
    an epoch; across epochs, the same weights and optimizer state, nothing changed between: a learning-rate
    schedule that did breaks the chain). ``usable(segment)``: whatever else replaying it needs is at hand
    (the batches an epoch trained on, when they were recorded)."""
    out: list[list[dict] | None] = []
    for i, g in enumerate(parts):
        before = out[i - 1] if i else None
        if not usable(g):
            out.append(None)
        elif (g["start"] or {}).get("saved") and g["file"].is_file():
            out.append([g])
        elif before is not None and g["run_from"] == g["epoch"] and _follows(before[-1], g):
            out.append(_joined(before, [g]))
        else:
            out.append(None)
    return out


def _joined(chain: list[dict], after: list[dict]) -> list[dict]:
    """``chain`` continued by ``after`` (which starts where it ends): legs inside one epoch joined into one."""
    last, first = chain[-1], after[0]
    if first["from"] and last["run_from"] == last["epoch"]:  # one leg, on through the step between, where the
        inner = [*last.get("inner", ()), (last["to"], last["end"]), *first.get("inner", ())]  # state is held
        return [*chain[:-1], dict(last, to=first["to"], end=first["end"], inner=inner,  # against its commitment
                                  seconds=last.get("seconds", 0.0) + first.get("seconds", 0.0)), *after[1:]]
    return [*chain, *after]


def _follows(a: dict, b: dict) -> bool:
    """Segment ``b`` starts in the state segment ``a`` ended in, by the commitments at either side; across
    epochs, or with the learning rate the program reported at ``b``'s start (a schedule set it between them:
    the replay sets it, and holds the state it then has against the one reported, optimizer and all). A
    schedule that broke the chain left the parts after it unreplayable unless their start was kept: weights
    written there went unseen (helper-23)."""
    if b["from"]:
        return a["epoch"] == b["epoch"] and a["to"] == b["from"]
    return a["to"] == a["steps"] and a["epoch"] == b["epoch"] - 1 and b["start"] is not None and \
        b["start"].get("weights") is not None and b["start"].get("weights") == a["end"].get("weights") and \
        (b["start"].get("optimizer") == a["end"].get("optimizer") or isinstance(b["start"].get("rate"), float))


def rate_set(a: dict, b: dict) -> float | None:
    """The learning rate a replay sets between segment ``a`` and the next epoch's ``b``, which follows it with
    an optimizer state of its own (a schedule's rate), or None."""
    if b["from"] or b["start"] is None or b["start"].get("optimizer") == a["end"].get("optimizer"):
        return None
    return b["start"].get("rate") if isinstance(b["start"].get("rate"), float) else None


def when(chain: list[dict]) -> tuple:
    """Where a chain (or a segment) starts, in the order training went."""
    g = chain[0] if isinstance(chain, list) else chain
    return (g["run_from"], 0) if g["from"] == 0 else (g["epoch"], g["from"])


def reach(chain: list[dict]) -> tuple:
    """Where a chain ends, in the order training went."""
    return chain[-1]["epoch"], chain[-1]["to"]


def spans(found: list) -> list[list[dict]]:
    """For each saved state chains start from, in the order training went, the chain reaching furthest from
    it: on to the next saved state (or the graded model)."""
    furthest: dict = {}
    for chain in found:
        if chain is not None:
            best = furthest.get(chain[0]["file"])
            if best is None or reach(chain) > reach(best):
                furthest[chain[0]["file"]] = chain
    return sorted(furthest.values(), key=when)


def merged(picked: list[list[dict]]) -> list[list[dict]]:
    """Chains from the same saved state replayed once, the one reaching furthest (it passes through the
    others' ends, and holds each against its commitment), in the order training went; a chain that starts
    where the one before ends is replayed on from it (one fit where the two are in one epoch), not from its
    saved state (which the survey of saved states has held against its digest)."""
    out: list[list[dict]] = []
    for chain in spans(picked):
        first = chain[0]
        if out and first["run_from"] == first["epoch"] and _follows(out[-1][-1], first):
            out[-1] = _joined(out[-1], chain)
        else:
            out.append(chain)
    return out


def whole(fit_index: int, epochs: list, starts: dict, ends: dict, afters: dict, mids: dict,
          folder: Path) -> dict | None:
    """The whole fit as one run (a segment from its first epoch's saved start to its last epoch's end), or
    None: when every epoch ran as many steps, none was cut inside, and each began
    in the weights the one before ended in, with the optimizer's state it ended in or a learning rate the
    program reported (a schedule's: the replay sets it, and holds the state it then has against the one
    reported, which shows anything else that changed). ``step_rates``: the epochs (counted from the first)
    whose rate a callback set step by step, each with the file of its steps' rates."""
    first, last = (epochs[0], epochs[-1]) if epochs else (None, None)
    start = starts.get((fit_index, first))
    if start is None or not start.get("saved") or epochs != list(range(first, last + 1)) or \
            last - first >= MOST_RUN or not (folder / f"fit{fit_index}-epoch{first}.npz").is_file():
        return None
    steps = ends[(fit_index, last)].get("steps")
    if not isinstance(steps, int) or steps <= 0 or any(i == fit_index for (i, _, _) in mids):
        return None
    rates = [None]
    for before, e in zip(epochs, epochs[1:]):
        begun, ended = starts.get((fit_index, e)), ends[(fit_index, before)]
        if begun is None or ends[(fit_index, e)].get("steps") != steps or begun.get("weights") != ended.get("weights") \
                or begun.get("weights") is None:
            return None
        if begun.get("optimizer") != ended.get("optimizer") and not isinstance(begun.get("rate"), float):
            return None
        rates.append(begun.get("rate") if begun.get("optimizer") != ended.get("optimizer") else None)
    stepped = {e - first: folder / f"fit{fit_index}-epoch{e}-rates.npz" for e in epochs
               if (afters.get((fit_index, e)) or {}).get("rates")}  # (a callback set the rate step by step)
    return {**({"step_rates": stepped} if stepped else {}), "epoch": last, "from": 0, "to": steps, "steps": steps,
            "run_from": first, "start": start,
            "end": ends[(fit_index, last)], "file": folder / f"fit{fit_index}-epoch{first}.npz",
            **({"epoch_rates": rates} if any(r is not None for r in rates) else {})}


MOST_RUN = 10_000  # epochs in one run (grader/replay.py runs no more)


def _run_from(fit_index: int, epoch: int, epochs: list, starts: dict, ends: dict, mids: dict, folder: Path) -> int:
    """The epoch a run replaying ``epoch`` starts from: the latest at or before it whose start was saved
    (and is still there), such that every epoch between began in the very state the one before ended in
    (weights and optimizer), ran as many steps and was not cut inside (else ``epoch`` itself)."""
    k = epoch
    while not ((starts.get((fit_index, k)) or {}).get("saved") and (folder / f"fit{fit_index}-epoch{k}.npz").is_file()):
        before = k - 1
        start, end = starts.get((fit_index, k)), ends.get((fit_index, before))
        if before not in epochs or start is None or end is None or any(
                start.get(f) != end.get(f) for f in ("weights", "optimizer")) or \
                end.get("steps") != ends[(fit_index, epoch)].get("steps") or \
                any(i == fit_index and e in (before, k) for (i, e, _) in mids):
            return epoch
        k = before
    return k


def named(g: dict) -> str:
    if g["run_from"] < g["epoch"]:
        return f"epochs {g['run_from'] + 1} to {g['epoch'] + 1}"
    if g["from"] == 0 and g["to"] == g["steps"]:
        return f"epoch {g['epoch'] + 1}"
    return f"steps {g['from'] + 1} to {g['to']} of epoch {g['epoch'] + 1}"


def listed(legs: list[dict]) -> str:
    """The legs in words, the parts of one epoch together ("steps 1 to 13 and 79 to 100 of epoch 1")."""
    out, parts = [], []  # (parts: the step ranges of one epoch, not yet said)

    def flush():
        if parts:
            ranges = [f"{g['from'] + 1} to {g['to']}" for g in parts]
            joined = ranges[0] if len(ranges) == 1 else ", ".join(ranges[:-1]) + " and " + ranges[-1]
            out.append(f"steps {joined} of epoch {parts[0]['epoch'] + 1}")
            parts.clear()

    for g in legs:
        whole = g["run_from"] < g["epoch"] or (g["from"] == 0 and g["to"] == g["steps"])
        if whole or (parts and parts[0]["epoch"] != g["epoch"]):
            flush()
        if whole:
            out.append(named(g))
        else:
            parts.append(g)
    flush()
    return ", ".join(out)
