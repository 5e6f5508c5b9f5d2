"""Load a submission: a .py file or a Jupyter notebook, as plain Python source."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path


class SubmissionError(Exception):
    """The submission cannot be read as Python; the message says what to do."""


@dataclass
class Source:
    text: str
    filename: str  # what the student knows the file as, used in messages and tracebacks
    kind: str  # "python" or "notebook"
    # For notebooks: for each line of ``text`` (1-based), [cell number, line in cell].
    line_map: list = field(default_factory=list)

    def locate(self, line: int) -> str:
        """Where a line of the generated source is in the student's file."""
        if self.kind == "notebook" and 1 <= line <= len(self.line_map):
            cell, cell_line = self.line_map[line - 1]
            return f"cell {cell}, line {cell_line}"
        return f"line {line}"


_MAGIC = re.compile(r"^(\s*)([%!].*)$")


def _neutralise(line: str) -> str:
    """IPython magics and shell escapes become comments (keeping indentation, so blocks stay valid)."""
    m = _MAGIC.match(line)
    if not m:
        return line
    indent, rest = m.groups()
    return f"{indent}pass  # grader: not run: {rest}"


def notebook_to_source(raw: str, filename: str) -> Source:
    try:
        nb = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"{filename} is not a valid notebook: it is not JSON ({exc.msg} at line {exc.lineno}). "
                              "Save it again from Jupyter or Colab (File > Download > .ipynb).") from None
    if not isinstance(nb, dict) or nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        raise SubmissionError(f"{filename} is not a Jupyter notebook in format 4. "
                              "Save it again from Jupyter or Colab (File > Download > .ipynb).")
    lines, line_map = [], []
    cell_no = 0
    for cell in nb["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        cell_no += 1
        src = cell.get("source", "")
        text = "".join(src) if isinstance(src, list) else str(src)
        cell_lines = text.splitlines()
        if cell_lines and cell_lines[0].lstrip().startswith("%%"):
            # A cell magic (%%bash, %%writefile, ...) makes the whole cell non-Python.
            cell_lines = [f"# grader: not run: {line}" for line in cell_lines]
        for i, line in enumerate(cell_lines, start=1):
            lines.append(_neutralise(line))
            line_map.append([cell_no, i])
    if cell_no == 0:
        raise SubmissionError(f"{filename} has no code cells: there is nothing to run.")
    return Source("\n".join(lines) + "\n", filename, "notebook", line_map)


def load_submission(path: Path) -> Source:
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"No such file: {path}. Give the path of your .py or .ipynb file.")
    if not path.is_file():
        raise SubmissionError(f"{path} is not a file. Give the path of your .py or .ipynb file.")
    if path.suffix not in (".py", ".ipynb"):
        raise SubmissionError(f"{path.name} is not a Python file or notebook: the grader reads .py and .ipynb files.")
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SubmissionError(f"{path.name} is not UTF-8 text. Save it as UTF-8 and submit again.") from None
    if path.suffix == ".ipynb":
        return notebook_to_source(raw, path.name)
    return Source(raw, path.name, "python")
