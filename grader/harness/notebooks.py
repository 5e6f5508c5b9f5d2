"""What a notebook export or a Colab notebook leaves in course code, run as it runs in the notebook
(runs in the child). ``jupyter nbconvert --to script`` writes ``get_ipython().run_line_magic(...)``,
``.run_cell_magic(...)`` and ``.system(...)`` lines; Colab code imports ``google.colab`` and ``wget``.
Importing one of these modules gets the grader's stand-in: magics that only set up the notebook do
nothing, ``%%writefile`` writes its file, shell lines that fetch or unpack data are answered from the
grader's staged copy, and every use is listed (with its line) among the legacy idioms. ``gdown``
(Google Drive downloads, as the course's later notebooks fetch their CSV files) is answered the same way.
"""

from __future__ import annotations

import builtins
import importlib.abc
import importlib.util
import os
import sys

from grader import shellcmd

EXPORT = "a notebook export (jupyter nbconvert --to script)"


def cell_position(cell: int, line: int, code_cell: int | None = None) -> str:
    """A notebook line as a reader finds it: the cell's position among all cells (Jupyter's and Colab's
    order, markdown counted) and, when markdown comes before it, among the code cells (Jupyter's
    ``In [3]`` after a fresh run counts code cells only)."""
    among_code = f" (code cell {code_cell})" if code_cell and code_cell != cell else ""
    return f"cell {cell}{among_code}, line {line}"


class _Anything:
    """IPython.display.Image(...), HTML(...), Markdown(...): built and shown in a notebook; nothing here."""

    def __init__(self, *args, **kwargs):
        pass

    def __repr__(self):
        return ""


class Events:
    """``get_ipython().events``: matplotlib registers a hook there when IPython is imported first."""

    def register(self, *args, **kwargs):
        return None

    unregister = register


class Shell:
    """What ``get_ipython()`` returns in a notebook, as far as exported course code uses it."""

    def __init__(self, note, note_data):
        self._note, self._note_data = note, note_data
        self.events = Events()

    def run_line_magic(self, name, line="", *args, **kwargs):
        self._note(f"get_ipython().run_line_magic({name!r}, ...)",
                   f"nothing: %{name} only sets up the notebook (delete the line)")

    def magic(self, line=""):
        name = str(line).split(" ", 1)[0].lstrip("%")
        self.run_line_magic(name, str(line)[len(name):])

    def run_cell_magic(self, name, line="", cell="", *args, **kwargs):
        if name == "writefile":
            path = os.path.expanduser(str(line).split()[-1]) if str(line).split() else ""
            if path:
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                with open(path, "a" if str(line).split()[0] in ("-a", "--append") else "w", encoding="utf-8") as f:
                    f.write(cell)
            self._note("get_ipython().run_cell_magic('writefile', ...)", "open(path, 'w').write(text)")
            return None
        self._note(f"get_ipython().run_cell_magic({name!r}, ...)", f"nothing: a %%{name} cell is not Python; "
                   "it was not run")
        return None

    def system(self, command=""):
        asked = shellcmd.parse(str(command))
        if asked is not None:
            call = builtins.__grader_download__ if asked[0] == "download" else builtins.__grader_unzip__
            call(asked[1], asked[2])
            return 0
        self._note(f"get_ipython().system({str(command)[:60]!r})", "nothing: shell commands are not run while "
                   "grading")
        return 0

    getoutput = system

    def __getattr__(self, name):
        def unused(*args, **kwargs):
            self._note(f"get_ipython().{name}(...)", "nothing: it only affects the notebook")

        return unused


def install(recorder):
    note, note_data = recorder.note_legacy, recorder.note_data
    shell = Shell(note, note_data)

    def get_ipython():
        return shell

    def build_ipython(m):
        m.get_ipython = get_ipython
        m.version_info = (8, 24, 0)  # what matplotlib reads (older IPythons send it to IPython.core.pylabtools)
        m.display = builtins_display
        m.__path__ = []

    def build_display(m):
        m.display = builtins_display
        m.clear_output = lambda *a, **k: None
        for name in ("Image", "HTML", "Markdown", "Javascript", "SVG", "Audio", "Video", "IFrame", "JSON", "Latex"):
            setattr(m, name, type(name, (_Anything,), {}))

    def builtins_display(*objects, **kwargs):
        return None

    def build_colab(m):
        m.__path__ = []

    def build_files(m):
        def upload(*args, **kwargs):
            note("google.colab.files.upload()", "nothing is uploaded while grading: read the file from a path")
            return {}

        def download(*args, **kwargs):
            note("google.colab.files.download(...)", "nothing: the file stays in the working folder")

        m.upload, m.download = upload, download

    def build_drive(m):
        def mount(*args, **kwargs):
            note("google.colab.drive.mount(...)", "read the data from the path the exercise gives")

        m.mount = mount

    def build_wget(m):
        def download(url, out=None, bar=None):
            target = out or os.path.basename(str(url).split("?")[0]) or "download"
            if out and os.path.isdir(out):
                target = os.path.join(out, os.path.basename(str(url).split("?")[0]))
            builtins.__grader_download__(str(url), target)
            note("wget.download(URL)", "tf.keras.utils.get_file(origin=URL)")
            return target

        m.download = download

    def build_gdown(m):
        def download(url=None, output=None, quiet=False, fuzzy=False, id=None, **kwargs):
            source, _ = shellcmd.gdown_args([id or url or ""])
            note("gdown.download(...)", "read the data from the path the exercise gives")
            return builtins.__grader_download__(source, output)

        m.download = download

    def build_unittests(m):
        """The course workspace's own checker (``import unittests``; ``unittests.test_house_model(house_model)``
        in the 2024-25 notebooks): its tests are the grader's job here, so each call does nothing."""

        def attribute(name):
            if name.startswith("__"):
                raise AttributeError(name)

            def check(*args, **kwargs):
                note(f"unittests.{name}(...)", "nothing: the grader runs its own tests")

            return check

        m.__getattr__ = attribute

    builders = {"IPython": build_ipython, "IPython.display": build_display, "IPython.core": build_colab,
                "IPython.core.display": build_display, "google.colab": build_colab,
                "google.colab.files": build_files, "google.colab.drive": build_drive, "wget": build_wget,
                "gdown": build_gdown, "unittests": build_unittests}
    packages = {"IPython", "IPython.core", "google.colab"}
    imports = {"IPython": ("from IPython import get_ipython", f"nothing: {EXPORT}; the grader runs it as the "
                                                              "notebook would"),
               "google.colab": ("from google.colab import ...", "nothing: Colab's helpers do nothing while grading"),
               "wget": ("import wget", "tf.keras.utils.get_file(origin=URL)"),
               "gdown": ("import gdown", "nothing: the grader gives the program the course's files"),
               "unittests": ("import unittests", "nothing: the course workspace's checker; the grader runs its own tests")}

    class StandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path=None, target=None):
            if name in builders:
                return importlib.util.spec_from_loader(name, self, is_package=name in packages)
            return None

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            builders[module.__name__](module)
            if module.__name__ in imports:
                note(*imports[module.__name__])

    for name in builders:  # a real IPython (installed for other reasons) is not the notebook's
        sys.modules.pop(name, None)
    sys.meta_path.insert(0, StandIns())
    return builtins_display, get_ipython
