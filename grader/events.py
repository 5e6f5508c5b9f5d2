"""The child's event pipe, read on the trusted side: progress for whoever shows it, and the commitments to
training (grader/harness/commit.py), each kept typed and stamped with when the parent received it."""

from __future__ import annotations

import json
import os
import time

from grader.trace import clean_commitment

MAX_EVENT_BYTES = 64 * 1024  # one progress event (phase, epoch, loss, accuracy) is about 200 bytes


class Commitments:
    """The commitments to training the child sent while it ran, each stamped with when the parent received
    it (seconds after the start): the trusted record of training (grader/training_proof.py)."""

    MOST = 150_000  # an epoch sends three (and seven more inside it, when long enough to be cut); a program
    # past this many is not audited past it
    MOST_PART_BYTES = 64 * 2**20

    def __init__(self, started: float):
        self.started = started
        self.items: list[dict] = []
        self.dropped = 0
        self.part_bytes = 0  # the digests of optimizers' variables kept, at most MOST_PART_BYTES

    def add(self, event: dict):
        commitment = clean_commitment(event)
        if commitment is None:
            return
        if len(self.items) >= self.MOST:
            self.dropped += 1
            return
        parts = commitment.get("optimizer_parts")
        if parts is not None:
            self.part_bytes += len(parts)
            if self.part_bytes > self.MOST_PART_BYTES:  # (a program sending more: those epochs' optimizer
                del commitment["optimizer_parts"]  # changes cannot be told apart: grader/training_audit.py)
        self.items.append(dict(commitment, received_s=round(time.time() - self.started, 4)))

    def received(self) -> dict:
        return {"items": list(self.items), "dropped": self.dropped}


def relay_events(fd: int, progress, ledger: Commitments, started: float, time_limit: float):
    """Drain the child's event pipe (always, so the child never blocks on it): commitments are kept,
    every event is passed on to ``progress``."""
    with os.fdopen(fd, "rb") as stream:
        too_long = False
        while line := stream.readline(MAX_EVENT_BYTES):
            if too_long or not line.endswith(b"\n"):  # a line past the cap is skipped to its end, never kept
                too_long = not line.endswith(b"\n")
                continue
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if not isinstance(event, dict):
                continue
            if event.get("commit") in ("start", "end", "after", "mid"):
                ledger.add(event)
            if progress is not None:
                event["time_left_s"] = max(0.0, started + time_limit - time.time())
                try:
                    progress(event)
                except Exception:
                    pass
