"""The hooks a grader plugin can implement.

Built-in exercises, checks and reporters register through these same hooks
(see ``grader/plugins.py``); third-party plugins are found through the
entry-point group ``grader``. Call every hook with keyword arguments only.
"""

import pluggy

hookspec = pluggy.HookspecMarker("grader")
hookimpl = pluggy.HookimplMarker("grader")


# ---------------------------------------------------------------- exercises
@hookspec
def grader_register_exercises(register):
    """Register exercise folders.

    :param register: call ``register(path)`` with a folder holding ``spec.toml``
        (and optionally ``hidden.toml``, ``starter.py``, ``solution.py``,
        ``README.md``, ``bad/``). The folder's name is the exercise's name.
    """


# ---------------------------------------------------------------- checks
@hookspec
def grader_register_checks(register):
    """Register check types that exercise specs can name in ``[[checks]] type``.

    :param register: call ``register(check_type)`` with a
        :class:`grader.checks.CheckType` (a name, the spec fields it reads,
        and a function from evidence to result).
    """


# ---------------------------------------------------------------- reporters
@hookspec
def grader_register_reporters(register):
    """Register report writers.

    :param register: call ``register(name, write)`` where ``write(report, path)``
        writes a :class:`grader.results.Report` to ``path``.
    """


# ---------------------------------------------------------------- datasets
@hookspec
def grader_register_datasets(register):
    """Register datasets that exercises name in ``[dataset] name``.

    :param register: call ``register(dataset)`` with a :class:`grader.datasets.Dataset`
        (its files, origin and checksums, how to validate them, write stand-ins,
        stage the student's copy and load a held-out split).
    """


# ---------------------------------------------------------------- diagnoses
@hookspec
def grader_register_diagnoses(register):
    """Register diagnoses: evidence in, hints out, shown under "What to try".

    :param register: call ``register(diagnosis)`` with a :class:`grader.diagnoses.Diagnosis`
        whose ``run(evidence, results)`` returns a :class:`grader.diagnoses.Hint`, a list of
        them, or None. ``evidence`` is the :class:`grader.evaluate.Evidence` of the graded run
        (trace, fits, model); ``results`` the checks' results. A hint never changes a score.
    """
