"""What a course's ``plugin.py`` (or a plugin package) codes against: one stable module path.

    from grader.api import hookimpl, CheckType, Field, passed, failed

The reference, with a worked example of each hook, is ``docs/plugin-api.md``; the test suite runs its
examples (``tests/test_plugin_api.py``), so a renamed field breaks a test, not a course.

- hooks: ``hookimpl`` marks a function implementing one of the hooks of ``grader.hookspecs``
  (``grader_register_checks``, ``grader_register_diagnoses``, ``grader_register_datasets``,
  ``grader_register_reporters``, ``grader_register_exercises``).
- checks: ``CheckType(name, run, fields={...})``, ``Field(kind, required, default, help)``; ``run(evidence,
  check)`` returns ``passed(message, ...)`` or ``failed(message, ...)``; raising ``ModelUnavailable``
  fails the check with its message. ``plural(n, word)``.
- what a check reads: ``Evidence`` (the training trace, the model, predictions, accuracy on held-out
  data), ``ModelView`` and ``Layer`` (the model's layers with their Keras configs).
- diagnoses: ``Diagnosis(name, run)``; ``run(evidence, results)`` returns ``Hint``\\ s or None.
- datasets: ``Dataset``, ``Split``, ``Staged``, ``DataError``; ``image_tree_dataset(...)`` for a
  class-per-folder image dataset published as a zip (its stand-in included); ``pretrained_weights(...)``
  for a ``keras.applications`` weights file served offline (an exercise's ``[dataset] pretrained``).
- reports: ``Report`` (what a reporter's ``write(report, path)`` receives; ``report.to_dict()``).
"""

from grader.builtin.datasets.image_tree import image_tree_dataset
from grader.builtin.datasets.pretrained import pretrained_weights
from grader.checks import CheckSpec, CheckType, Field, ModelUnavailable, Outcome, failed, passed, plural
from grader.datasets import DataError, Dataset, Split, Staged
from grader.diagnoses import Diagnosis, Hint
from grader.evaluate import Evidence
from grader.hookspecs import hookimpl
from grader.modelview import Layer, ModelView
from grader.results import CheckResult, Report

__all__ = ["hookimpl", "CheckType", "CheckSpec", "Field", "Outcome", "passed", "failed", "plural", "ModelUnavailable",
           "Evidence", "ModelView", "Layer", "Diagnosis", "Hint", "Dataset", "Split", "Staged", "DataError",
           "image_tree_dataset", "pretrained_weights", "Report", "CheckResult"]
