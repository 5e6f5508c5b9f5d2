"""Load a submission: a .py file or a Jupyter notebook, as plain Python source."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader import shellcmd
from grader.harness.notebooks import cell_position


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
            return cell_position(*self.line_map[line - 1])
        return f"line {line}"


_MAGIC = re.compile(r"^(\s*)([%!].*)$")


def _shell_download(command: str) -> str | None:
    """``!wget URL -O PATH``, ``!curl -o PATH URL``, ``!unzip ZIP -d DIR`` as calls the harness
    answers from the grader's local copies (there is no network while grading). None otherwise."""
    asked = shellcmd.parse(command)
    if asked is None:
        return None
    kind, first, second = asked
    return f"__grader_download__({first!r}, {second!r})" if kind == "download" else \
        f"__grader_unzip__({first!r}, {second!r})"


def _neutralise(line: str) -> str:
    """IPython magics and shell escapes become comments (keeping indentation, so blocks stay valid);
    downloads and unzips become calls answered from the grader's local copies."""
    m = _MAGIC.match(line)
    if not m:
        return line
    indent, rest = m.groups()
    if rest.startswith("!"):
        call = _shell_download(rest[1:])
        if call:
            return f"{indent}{call}  # grader: in place of {rest}"
    return f"{indent}pass  # grader: not run: {rest}"


def notebook_to_source(raw: str, filename: str, graded_only: bool = False) -> Source:
    """Code cells in order, each known by its place among all the notebook's cells (markdown included),
    counted from the top as a reader counts them. With ``graded_only``,
    only cells tagged ``graded`` (the way DeepLearning.AI's assignment notebooks tag them) run."""
    try:
        nb = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"{filename} is not a valid notebook: it is not JSON ({exc.msg} at line {exc.lineno}). "
                              "Save it again from Jupyter or Colab (File > Download > .ipynb).") from None
    except RecursionError:
        raise SubmissionError(f"{filename} is not a valid notebook: its JSON is nested too deeply. "
                              "Save it again from Jupyter or Colab (File > Download > .ipynb).") from None
    if not isinstance(nb, dict) or nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        raise SubmissionError(f"{filename} is not a Jupyter notebook in format 4. "
                              "Save it again from Jupyter or Colab (File > Download > .ipynb).")
    lines, line_map = [], []
    cell_no = code_cells = 0
    for position, cell in enumerate(nb["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        cell_no, code_cells = position, code_cells + 1
        metadata = cell.get("metadata") or {}
        tags = metadata.get("tags") if isinstance(metadata, dict) else None
        if graded_only and not (isinstance(tags, list) and "graded" in tags):
            continue
        src = cell.get("source", "")
        if isinstance(src, list) and all(isinstance(part, str) for part in src):
            text = "".join(src)
        elif isinstance(src, str):
            text = src
        else:
            raise SubmissionError(f"{filename} is not a valid notebook: the source of cell {cell_no} is not "
                                  "text. Save it again from Jupyter or Colab (File > Download > .ipynb).")
        cell_lines = text.splitlines()
        if cell_lines and cell_lines[0].lstrip().startswith("%%"):
            # A cell magic (%%bash, %%writefile, ...) makes the whole cell non-Python.
            cell_lines = [f"# grader: not run: {line}" for line in cell_lines]
        i = 0
        while i < len(cell_lines):
            line, first = cell_lines[i], i
            if _MAGIC.match(line):  # a shell line may go on over lines ending in a backslash
                while line.endswith("\\") and i + 1 < len(cell_lines):
                    i += 1
                    line = line[:-1] + " " + cell_lines[i].strip()
            lines.append(_neutralise(line))
            line_map.append([cell_no, first + 1, code_cells])
            for k in range(first + 1, i + 1):
                lines.append("# grader: (continued)")
                line_map.append([cell_no, k + 1, code_cells])
            i += 1
    if code_cells == 0:
        raise SubmissionError(f"{filename} has no code cells: there is nothing to run.")
    if not lines and graded_only:
        raise SubmissionError(f"{filename} has no code cell tagged 'graded'. This exercise grades only the cells "
                              "tagged 'graded' (as in the assignment notebook); keep their tags when you copy them.")
    return Source("\n".join(lines) + "\n", filename, "notebook", line_map)


def load_submission(path: Path, graded_only: bool = False) -> Source:
    path = Path(path)
    if path.is_symlink():  # a submitted link would have the grader read, and show, whatever it points to
        raise SubmissionError(f"{path} is a symbolic link, not a file: submit the .py or .ipynb file itself.")
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
        return notebook_to_source(raw, path.name, graded_only)
    return Source(raw, path.name, "python")
