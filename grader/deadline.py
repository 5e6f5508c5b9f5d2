"""The trusted side's own clock: once the student's program has ended, grading it (evaluating the model,
running the checks and diagnoses, writing the reports) must end within the exercise's ``grading_time``.

Everything the trusted side reads from the child is bounded in size and in work, but a bound per
artifact is not a bound on the whole, and an instructor's check can loop too. A ``Deadline`` is a timer
thread: when it fires, whatever the main thread is doing, it runs ``on_overrun`` (the command writes a
report saying nothing was graded and why) and ends the process with the grader's own exit code.
"""

from __future__ import annotations

import os
import sys
import threading

EXIT_INTERNAL = 3


class Deadline:
    """Armed once, when the last of the student's runs has ended; cancelled when the grading is done."""

    def __init__(self, seconds: float, on_overrun):
        self.seconds = float(seconds)
        self.on_overrun = on_overrun
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._done = False

    def arm(self):
        with self._lock:
            if self._timer is None and not self._done:
                self._timer = threading.Timer(self.seconds, self._fire)
                self._timer.daemon = True
                self._timer.start()

    def cancel(self):
        with self._lock:
            self._done = True
            if self._timer is not None:
                self._timer.cancel()

    def _fire(self):
        with self._lock:
            if self._done:
                return
            self._done = True
        try:
            self.on_overrun(self.seconds)
        finally:
            sys.stderr.flush()
            os._exit(EXIT_INTERNAL)  # the main thread may be anywhere; nothing it holds is needed any more


def overrun_sentence(seconds: float) -> str:
    return (f"Not graded: the grader itself took more than {seconds:g} s to grade your trained model after your "
            "program ended (its own limit, limits.grading_time), so it stopped. This is not a verdict on your "
            "work; tell your instructor, who can grade it again.")
