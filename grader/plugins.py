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
    "grader.builtin.datasets.horse_or_human",
    "grader.builtin.datasets.image_tree",
    "grader.builtin.datasets.mnist",
    "grader.builtin.datasets.pet_images",
    "grader.builtin.datasets.pretrained",
    "grader.builtin.datasets.sign_mnist",
    "grader.builtin.checks.model",
    "grader.builtin.checks.pretrained",
    "grader.builtin.checks.split",
    "grader.builtin.diagnoses.inputs",
    "grader.builtin.diagnoses.training",
    "grader.builtin.diagnoses.callbacks",
    "grader.builtin.diagnoses.data",
    "grader.builtin.reporters.json_report",
    "grader.builtin.reporters.html",
    "grader.builtin.reporters.junit",
    "grader.builtin.reporters.gradescope",
    "grader.builtin.reporters.classroom",
)

# Set GRADER_NO_ENTRY_POINTS=1 to load built-ins only (the test suite does, so
# plugins installed on the machine cannot leak into it).
_pm: pluggy.PluginManager | None = None


class PluginError(Exception):
    """A plugin registered something twice or badly; the message names both sides."""


_local: tuple = ()  # the local plugin.py files loaded, with their modification times


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
    _load_local(_pm)
    return _pm


def local_plugin_files() -> list[Path]:
    """plugin.py files of the folders on GRADER_EXERCISES_PATH: a course folder's, and each of its
    exercise folders' (the way pytest finds conftest.py)."""
    from grader.exercise_path import path_entries, path_exercises

    files = [entry / "plugin.py" for entry in path_entries()]
    files += [folder / "plugin.py" for folder in path_exercises()]
    seen: list[Path] = []
    for f in files:
        if f.is_file() and f.resolve() not in seen:
            seen.append(f.resolve())
    return seen


def _load_local(pm: pluggy.PluginManager):
    """(Re)load the local plugin files when the set in use or their contents changed: no install, and
    an edit takes effect on the next command. An error in one is a PluginError naming file and line."""
    global _local
    files = local_plugin_files()
    state = tuple((str(f), f.stat().st_mtime_ns) for f in files)
    if state == _local:
        return
    for name, _ in _local:
        if pm.has_plugin(name):
            pm.unregister(name=name)
    _local = ()
    for f in files:
        module = _import_local(f)
        for attr_name, attr in vars(module).items():
            if attr_name.startswith("grader_register_") and callable(attr) and getattr(attr, "grader_impl", None) is None:
                raise PluginError(f"{f}: {attr_name} is not marked as a hook, so the grader would never call it: put "
                                  "@hookimpl (from grader.api import hookimpl) on the line above its def.")
        try:
            pm.register(module, name=str(f))
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if pm.has_plugin(str(f)):
                pm.unregister(name=str(f))
            raise PluginError(f"{f}: {_hook_error(module, exc)}") from None
    _local = state


def _import_local(path: Path):
    import hashlib
    import importlib.util
    import sys
    import traceback

    name = "grader_local_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise PluginError(f"{path}, line {exc.lineno}: {exc.msg} (a syntax error in the local plugin).") from None
    except Exception as exc:
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
        where = f", line {lines[-1]}" if lines else ""
        raise PluginError(f"{path}{where}: {type(exc).__name__}: {exc} (while loading the local plugin).") from None
    sys.modules[name] = module
    return module


def _hook_error(module, exc) -> str:
    """A hook implemented with the wrong name or arguments, said with the function's line."""
    import inspect

    for attr in vars(module).values():
        if callable(attr) and getattr(attr, "grader_impl", None) is not None and attr.__name__ in str(exc):
            try:
                line = inspect.getsourcelines(attr)[1]
            except (OSError, TypeError):
                break
            return f"line {line}: {exc}"
    return str(exc)


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

        try:
            impl.function(register=register)
        except PluginError:
            raise
        except Exception as exc:  # the plugin's own mistake (a wrong Field kind, a typo): said with its line
            import traceback

            source = impl.function.__code__.co_filename
            lines = [fr.lineno for fr in traceback.extract_tb(exc.__traceback__) if fr.filename == source]
            where = f"{source}, line {lines[-1]}" if lines else plugin_name
            raise PluginError(f"{where}: {type(exc).__name__}: {exc} (in {hook_name}).") from None
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
    """Which plugins are loaded, from where, the hooks each implements and what it registers: check
    types with their fields, datasets, diagnoses, reporters."""
    pm = get_plugin_manager()
    registered: dict[str, list[str]] = {}
    for label, hook, key in (("check type", "grader_register_checks", lambda c: c.name),
                             ("dataset", "grader_register_datasets", lambda d: d.name),
                             ("diagnosis", "grader_register_diagnoses", lambda d: d.name),
                             ("reporter", "grader_register_reporters", lambda r: r[0])):
        for name, (item, plugin_name) in _collect(hook, key).items():
            if label == "check type":
                name = f"{name} ({', '.join(item.fields) or 'no fields'})"
            registered.setdefault(plugin_name, []).append(f"{label}: {name}")
    rows = []
    for name, plugin in pm.list_name_plugin():
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        rows.append({"name": name, "module": getattr(plugin, "__name__", repr(plugin)),
                     "file": getattr(plugin, "__file__", ""), "hooks": hooks, "registers": registered.get(name, [])})
    return rows
