"""What ended the student's program and each of its fits, said once, plainly (trusted side, from the run
and the cleaned trace): a crash, a hang, a memory blow-up or a timeout, and whether it came before,
during or after training. The report leads with this sentence, the fit table says how each fit ended,
and the diagnoses read the same facts, so no sentence contradicts another."""

from __future__ import annotations


def fit_ending(fit: dict) -> str:
    """How one fit ended: "callback" (the student's or a Keras callback), "time_limit" (the grader's time
    budget), "error" (it raised), "epoch_cap" (the exercise's epoch limit), "end" (every epoch asked for
    ran) or "cut" (the program was stopped while it ran)."""
    stop = fit.get("stopped_by") or {}
    error = fit.get("error") or ""
    if fit.get("limit_hit") == "time" or stop.get("grader") or error.startswith("GraderTimeLimit"):
        return "time_limit"
    if error:
        return "error"
    if stop:
        return "callback"
    asked = fit.get("epochs_requested")
    run = fit.get("epochs_run") or 0
    if fit.get("capped") and isinstance(fit.get("epochs_allowed"), int) and run >= fit["epochs_allowed"]:
        return "epoch_cap"
    if not isinstance(asked, (int, float)) or run >= asked:
        return "end"
    return "cut"


ENDINGS = {"callback": "stopped by {who}", "time_limit": "stopped by the grader's time limit",
           "error": "stopped by an error", "epoch_cap": "stopped at the exercise's epoch limit",
           "end": "ran every epoch asked for", "cut": "cut short when the program was stopped"}


def ending_text(fit: dict) -> str:
    stop = fit.get("stopped_by") or {}
    who = f"{stop.get('class')} (your callback)" if stop.get("student") else str(stop.get("class") or "a callback")
    return ENDINGS[fit_ending(fit)].format(who=who)


def _where(error: dict | None) -> str:
    if not error:
        return ""
    at = f" at {error['where']}" if error.get("where") else ""
    return f" ({error.get('type') or 'an error'}{at})"


def run_facts(run) -> dict:
    """What ``what_happened`` reads of a finished run (a runner.RunResult): its status and what the harness
    recorded of how the program ended (the exit code and line of sys.exit, where a timed-out program was)."""
    trace = run.trace or {}
    return {"status": run.status, "error": trace.get("error"), "signal": run.signal, "exit_code": trace.get("exit_code"),
            "memory_limit_mib": run.memory_limit_mib, **{k: trace.get(k) for k in ("exit_at", "stopped_at", "stopped_in")}}


def what_happened(run: dict, fits: list[dict], time_limit_s: float | None = None) -> dict:
    """{"kind": run status, "when": "before"|"during"|"after" training or None, "sentence": ...}."""
    status = run.get("status")
    trained = [f for f in fits if (f.get("epochs_run") or 0) > 0]
    last = fits[-1] if fits else None
    if status in ("ok", "syntax_error") or status is None:
        when = None
    elif status == "exit":
        when = "during" if last is not None and str(last.get("error") or "").startswith("SystemExit") else \
            "after" if trained else "before"
    elif last is not None and fit_ending(last) in ("cut", "time_limit") or \
            (status == "error" and last is not None and fit_ending(last) == "error"):
        when = "during"
    elif trained:
        when = "after"
    else:
        when = "before"
    error = run.get("error")
    progress = ""
    if when == "during" and last is not None:
        line = f" ({last.get('where') or 'line ' + str(last['line'])})" if last.get("line") else ""
        progress = (f": model.fit{line} had run {last.get('epochs_run') or 0} of its "
                    f"{last.get('epochs_requested')} epochs")
    graded = " The model it had trained by then was graded." if trained and when in ("during", "after") else ""
    limit = f"{time_limit_s:g} s " if time_limit_s else ""
    if status == "ok":
        sentence = "Your program ran to the end."
    elif status == "exit":
        sentence = _exit_sentence(run, when, progress, graded)
    elif status == "syntax_error":
        sentence = f"Your program has a syntax error{_where(error)}, so it could not run."
    elif status == "error":
        sentence = f"Your program stopped with an error{_where(error)} {when} training{progress}.{graded}"
    elif status == "timeout":
        if when == "after":
            at = f" (it was running {run['stopped_at']})" if run.get("stopped_at") else ""
            sentence = (f"Your program did not finish within the {limit}time limit: training had ended, so "
                        f"something after it never finished{at}: a loop that never ends?{graded}")
        elif run.get("stopped_in") == "importing TensorFlow":
            sentence = (f"Your program was stopped at the {limit}time limit before any of its code ran: the grader "
                        "was still importing TensorFlow, which takes a few seconds. The time limit is too short; "
                        "grade again with a longer one.")
        else:
            at = f" while it was running {run['stopped_at']}" if run.get("stopped_at") else ""
            sentence = f"Your program was stopped at the {limit}time limit {when} training{at}{progress}.{graded}"
    elif status == "memory":
        sentence = (f"Your program was stopped {when} training{progress}: it asked for more memory than the limit "
                    f"of {run.get('memory_limit_mib')} MiB.{graded}")
        if when == "after":
            sentence += " Training had ended: look at what your program does after model.fit (a large array?)."
    elif status == "disk":
        sentence = f"Your program was stopped {when} training{progress}: it wrote more than the disk limit.{graded}"
    else:
        how = f" (signal {run['signal']})" if run.get("signal") else ""
        sentence = f"Your program ended abruptly{how} {when} training{progress}.{graded}"
    notable = status not in ("ok", None) and not (status == "exit" and when == "after" and not run.get("exit_code"))
    return {"kind": status, "when": when, "sentence": sentence, "notable": notable}


def _exit_sentence(run: dict, when: str, progress: str, graded: str) -> str:
    """sys.exit(...) as Python ends a program with it: no argument or 0 a success, a number that exit
    code, a message printed and exit code 1."""
    code, at = run.get("exit_code"), f" at {run['exit_at']}" if run.get("exit_at") else ""
    if isinstance(code, str):
        called = (f"Your program called sys.exit with a message{at}, which Python prints before ending the "
                  f"program with exit code 1: `{code[:200]}`" + ("..." if len(code) > 200 else "") + ".")
    else:
        shown = "" if code is None else code
        called = f"Your program called sys.exit({shown}){at}" + (
            f", which ends it with exit code {code}." if code not in (None, 0) else ".")
    if when == "before":
        return called + " That was before any training, so model.fit never ran."
    if when == "during":
        return called + f" It ended training{progress}.{graded}"
    return called
