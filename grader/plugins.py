"""The plugin manager: built-ins, then entry points (group ``grader``), loaded lazily and once."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pluggy

from grader import hookspecs

DEFAULT_PLUGINS = (
    "grader.builtin.exercises",
    "grader.builtin.checks.prediction",
    "grader.builtin.checks.training",
    "grader.builtin.checks.callback",
    "grader.builtin.checks.accuracy",
    "grader.builtin.datasets.fashion_mnist",
    "grader.builtin.datasets.image_tree",
    "grader.builtin.datasets.mnist",
    "grader.builtin.checks.model",
    "grader.builtin.diagnoses.inputs",
    "grader.builtin.diagnoses.training",
    "grader.builtin.diagnoses.callbacks",
    "grader.builtin.diagnoses.data",
    "grader.builtin.reporters.json_report",
    "grader.builtin.reporters.html",
    "grader.builtin.reporters.junit",
    "grader.builtin.reporters.gradescope",
)

# Set GRADER_NO_ENTRY_POINTS=1 to load built-ins only (the test suite does, so
# plugins installed on the machine cannot leak into it).
_pm: pluggy.PluginManager | None = None


class PluginError(Exception):
    """A plugin registered something twice or badly; the message names both sides."""


def get_plugin_manager() -> pluggy.PluginManager:
    global _pm
    if _pm is None:
        pm = pluggy.PluginManager("grader")
        pm.add_hookspecs(hookspecs)
        for name in DEFAULT_PLUGINS:
            pm.register(importlib.import_module(name), name=name)
        if not os.environ.get("GRADER_NO_ENTRY_POINTS"):
            pm.load_setuptools_entrypoints("grader")
        pm.check_pending()
        _pm = pm
    return _pm


def _collect(hook_name: str, key) -> dict:
    """Call a collection hook; every registered item is keyed by ``key(item)``.
    Returns {key: (item, plugin_name)}; a duplicate key is a PluginError."""
    pm = get_plugin_manager()
    found: dict = {}
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        plugin_name = pm.get_name(impl.plugin)

        def register(*args, _plugin=plugin_name):
            item = args if len(args) > 1 else args[0]
            k = key(item)
            if k in found:
                raise PluginError(f"'{k}' is registered twice: by {found[k][1]} and by {_plugin}.")
            found[k] = (item, _plugin)

        impl.function(register=register)
    return found


def exercise_folders() -> dict[str, tuple[Path, str]]:
    """Every exercise folder by name: registered by plugins, then the folders given with --exercises /
    GRADER_EXERCISES_PATH, which take precedence over an installed exercise of the same name (an
    instructor working on a new version of it)."""
    from grader.exercise_path import path_exercises

    found = _collect("grader_register_exercises", lambda p: Path(p).name)
    found.update({folder.name: (folder, "GRADER_EXERCISES_PATH") for folder in path_exercises()})
    return found


def check_types() -> dict:
    return {k: v for k, (v, _) in _collect("grader_register_checks", lambda c: c.name).items()}


def datasets() -> dict:
    return {k: v for k, (v, _) in _collect("grader_register_datasets", lambda d: d.name).items()}


def diagnoses() -> dict:
    return {k: v for k, (v, _) in _collect("grader_register_diagnoses", lambda d: d.name).items()}


def reporters() -> dict:
    return {k: v[1] for k, (v, _) in _collect("grader_register_reporters", lambda r: r[0]).items()}


def describe_plugins() -> list[dict]:
    """Which plugins are loaded, from where, and the hooks each implements."""
    pm = get_plugin_manager()
    rows = []
    for name, plugin in pm.list_name_plugin():
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        rows.append({"name": name, "module": getattr(plugin, "__name__", repr(plugin)),
                     "file": getattr(plugin, "__file__", ""), "hooks": hooks})
    return rows
