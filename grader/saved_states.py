"""The states the child reported saving while it trained, held against what its folder holds after the run
(trusted side). The folder is the program's to write until it ends: a program that trained in secret and then
removed the states its training was saved in left the audit nothing to replay but the last part (helper-24:
verified, 10/10). The child's ledger (grader/harness/ledger.py) removes a saved state only to make room for a
newer one within its budget, and writes each with a new name put in place when complete: so after an honest
run every state it reported saving is there (but the newest, written when the program has ended), or the room
was full when it went; and every one there is a NumPy archive of arrays.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from pathlib import Path

ARRAY_NAME = re.compile(r"a\d{1,6}\.npy")
SLACK = 2  # states: the room may be this short of full after an honest run (the newest held unwritten when
# a newer one came, and the room made for that one)


def tampered(folder: Path | None, items: list[dict], budget_mib: int, failures: int) -> tuple[str, str] | None:
    """("refuted" or "unverifiable", the reason) when the states the program reported saving were removed or
    replaced after it reported them, else None. ``items``: the commitments received, in order; ``budget_mib``:
    the room the job gave the saved states; ``failures``: writes the child said failed (a full disk: then a
    missing state cannot be told from one removed, and the verdict is "cannot be verified")."""
    if folder is None:
        return None
    reported = [(c, folder / name) for c, name in ((c, _name(c)) for c in items) if name and c.get("saved") is True]
    missing = []
    for k, (c, path) in enumerate(reported):
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            if k < len(reported) - 1:  # (the newest is written when the run ends: a run killed before, at its
                missing.append(c)      # time limit, or one that hung after training, leaves it unwritten)
            continue
        except OSError:
            info = None
        if info is None or not stat.S_ISREG(info.st_mode) or not _archive(path):
            return "refuted", (f"the state saved for {_where(c)} was replaced after the program reported it (by "
                               "something that is not a saved state): the program changed what the grader keeps")
    if not missing:
        return None
    # what counts against the room: the files the ledger writes for this run's commitments (not any name: files
    # named for states never reported would fill it with nothing)
    states = {path.name for _, path in reported}
    fits = {c.get("fit_index") for c in items if isinstance(c.get("fit_index"), int)}
    epochs = {(c.get("fit_index"), c.get("at_epoch")) for c in items if c.get("commit") == "end"}
    known = states | {f"fit{i}-data.npz" for i in fits} | \
        {f"fit{i}-epoch{e}-{kind}.npz" for (i, e) in epochs for kind in ("batches", "rates")}
    held = _sizes(folder, known)
    largest = max([size for name, size in held.items() if name in states] or [0])
    if sum(held.values()) + SLACK * largest > budget_mib * 2**20:
        return None  # (the room was full: states were thinned to make room for newer ones)
    reason = (f"{len(missing)} of the {len(reported)} states the program reported saving while it trained are gone "
              f"(the first: the state for {_where(missing[0])}), though the room they were kept in "
              f"({budget_mib} MiB) was not full, and the grader removes a saved state only to make room for a "
              "newer one")
    if failures:
        return "unverifiable", f"{reason}; writing {failures} of the files it saves failed, the program said"
    return "refuted", f"{reason}: the program removed them"


def _name(c: dict) -> str | None:
    fit, epoch, step = c.get("fit_index"), c.get("at_epoch"), c.get("step")
    if not (isinstance(fit, int) and isinstance(epoch, int)) or isinstance(fit, bool) or isinstance(epoch, bool):
        return None
    if c.get("commit") == "start":
        return f"fit{fit}-epoch{epoch}.npz"
    if c.get("commit") == "mid" and isinstance(step, int) and not isinstance(step, bool):
        return f"fit{fit}-epoch{epoch}-step{step}.npz"
    return None


def _where(c: dict) -> str:
    epoch = c.get("at_epoch", 0) + 1
    if c.get("commit") == "mid":
        return f"step {c.get('step')} of epoch {epoch} of fit call {c.get('fit_index', 0) + 1}"
    return f"the start of epoch {epoch} of fit call {c.get('fit_index', 0) + 1}"


def _archive(path: Path) -> bool:
    """Whether ``path`` is a NumPy archive of the ledger's arrays (its table of contents alone is read)."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (OSError, zipfile.BadZipFile, ValueError):
        return False
    return bool(names) and len(names) <= 1_000_000 and all(ARRAY_NAME.fullmatch(n) for n in names)


def _sizes(folder: Path, names: set[str]) -> dict[str, int]:
    """The sizes of the plain files of ``names`` in ``folder``."""
    out = {}
    for name in names:
        try:
            info = os.lstat(folder / name)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            out[name] = info.st_size
    return out
