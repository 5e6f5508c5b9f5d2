"""The program's own data paths, served with the staged copy (trusted side; reads the source as text).

Students keep their data where their machine had it: ``'./Dataset/happy-or-sad.zip'``,
``'../data/HappySad'``, ``os.path.join('../../sources/', 'sign_mnist_train.csv')``. A path the program
writes as a literal (or ``os.path.join`` / an f-string of literals, or a module-level constant holding
one) and passes to a data-loading call is served with the grader's copy when it names one of the
dataset's files or folders (or, for a folder-reading call, a folder that must hold the classes): the
sandbox shows the copy at that path. Each is listed in the report.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from grader.workfolders import child_path

# call name (the last part of the dotted name) -> what it reads at its path: "file", "folder" or "zip"
LOADERS = {"open": "file", "read_csv": "file", "loadtxt": "file", "genfromtxt": "file", "load": "file",
           "ZipFile": "zip", "flow_from_directory": "folder", "image_dataset_from_directory": "folder",
           "listdir": "folder", "scandir": "folder", "walk": "folder"}
PATH_KEYWORDS = ("directory", "file", "filepath_or_buffer", "fname", "path", "top")
# calls that need a folder of class folders (served under any name when the dataset is such a tree)
CLASS_READERS = ("flow_from_directory", "image_dataset_from_directory")
# calls that make or fill a path: a path the program writes itself is never served
WRITERS = {"extractall", "extract", "makedirs", "mkdir", "copytree", "copy", "copyfile", "move", "rename",
           "urlretrieve", "Path", "__grader_download__", "__grader_unzip__"}  # (the last two: a notebook's !wget, !unzip)
MAX_PATHS = 50


def _call_name(func) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _literal(node, constants: dict) -> str | None:
    """The string ``node`` stands for, when it is made of literals only."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and value.format_spec is None:
                inner = _literal(value.value, constants)
                if inner is None:
                    return None
                parts.append(inner)
            else:
                return None
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left, constants), _literal(node.right, constants)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.Call) and _call_name(node.func) == "join" and node.args and not node.keywords:
        parts = [_literal(a, constants) for a in node.args]
        return os.path.join(*parts) if all(p is not None for p in parts) else None
    return None


def paths_in(source: str) -> list[dict]:
    """[{"path", "kind", "line"}] for each literal path the source hands a data-loading call."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    constants: dict = {}
    for node in tree.body:  # module-level NAME = "literal" (evaluated in order, so constants may build on others)
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = _literal(node.value, constants)
            if value is not None:
                constants[node.targets[0].id] = value
    found, written = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node.func) in WRITERS:
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                value = _literal(arg, constants)
                if value:
                    written.add(os.path.normpath(value))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node.func) or ""
        kind = LOADERS.get(name)
        if kind is None:
            continue
        arg = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg in PATH_KEYWORDS), None)
        path = _literal(arg, constants) if arg is not None else None
        made = os.path.normpath(path) if path else ""
        if path and "\0" not in path and len(path) < 4096 and not any(
                made == w or made.startswith(w.rstrip("/") + "/") for w in written if w not in (".", "")):
            found.append({"path": path, "kind": kind, "line": node.lineno, "classes": name in CLASS_READERS})
        if len(found) >= MAX_PATHS:
            break
    return sorted(found, key=lambda f: f["line"])


def _names(staged) -> tuple[dict, dict]:
    """What the staged copy offers: by a name of its own (a file's, an archive's, the copy's folder's) and
    by its last two path parts (``train/cats``: a class or split folder's own name is too common to
    serve on its own: ``/content/dogs/train`` is the student's layout, not the dataset's)."""
    single: dict = {}
    pairs: dict = {}
    home = staged.home
    if home is not None:
        single.setdefault(Path(home).name, str(home))
    if home is not None and os.path.isdir(home):
        for folder, dirs, files in os.walk(home):
            depth = len(Path(folder).relative_to(home).parts)
            if depth >= 3:
                dirs[:] = []
            for name in sorted(dirs) + sorted(files):
                path = os.path.join(folder, name)
                pairs.setdefault(f"{Path(folder).name}/{name}", path)
                if name in files and "." in name:
                    single.setdefault(name, path)
    for key, target in staged.links.items():
        if "." in Path(key).name:
            single.setdefault(Path(key).name, target)
    for key, entry in staged.downloads.items():
        if "archive" in entry:
            single.setdefault(Path(entry["archive"]).name, entry["archive"])
        elif "file" in entry:
            single.setdefault(entry.get("name") or key, entry["file"])
    return single, pairs


def _holds_classes(folder: str) -> bool:
    """A folder whose sub-folders hold pictures (the classes a folder-reading call wants)."""
    try:
        subs = [e for e in os.scandir(folder) if e.is_dir()]
        return len(subs) >= 2 and all(any(f.is_file() for f in os.scandir(s.path)) for s in subs)
    except OSError:
        return False


def serve(source: str, staged, workdir: Path) -> tuple[dict, list, list]:
    """(links path -> target to add to the staged copy, archives the child must build before it runs,
    notes for the report) for the program's own data paths that name part of ``staged``."""
    if staged is None:
        return {}, [], []
    single, pairs = _names(staged)
    archives = {entry["archive"]: entry for entry in staged.downloads.values() if "archive" in entry}
    def inside(path: str) -> str:  # where a path the program names is, as the grader sees its view
        found = child_path(workdir, os.path.expanduser(path))
        return str(found) if found is not None else os.path.normpath(os.path.join(workdir, os.path.expanduser(path)))

    covered = [inside(a) for a in [*staged.aliases, *staged.links] if isinstance(a, str)]
    links, build, notes = {}, [], []
    for item in paths_in(source):
        path = item["path"].rstrip("/") or item["path"]
        place = inside(path)
        if os.path.lexists(place) or place == str(workdir) or path in ("", ".", "..") or any(
                place == c or place.startswith(c + "/") for c in covered + [inside(k) for k in links]):
            continue
        parts = Path(path).parts
        target = single.get(parts[-1]) or (pairs.get("/".join(parts[-2:])) if len(parts) >= 2 else None)
        if target is None and item["classes"] and staged.home is not None and _holds_classes(str(staged.home)):
            target = str(staged.home)  # '../data/HappySad' for a tree of class folders, under any name
        if target is None or (item["kind"] == "zip") != target.endswith(".zip") or \
                (item["kind"] == "folder") != os.path.isdir(target):
            continue
        links[path] = target
        if target in archives:
            build.append(archives[target])
        notes.append({"how": f"your path {item['path']!r} (the grader's copy of the data is served there)",
                      "line": item["line"]})
    return links, build, notes
