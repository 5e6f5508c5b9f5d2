"""The jinja2 environment: an instructor's template folder first, then the package's templates.

``{% extends "default:report.html" %}`` in an override reaches the built-in template.
Templates are found relative to the installed package, never the working directory.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import re

import jinja2
from markupsafe import Markup, escape

from grader import safetext


def environment(user_dir: str | os.PathLike | None = None) -> jinja2.Environment:
    builtin = jinja2.FileSystemLoader(str(Path(str(files("grader.templates")))))
    loaders = []
    user_dir = user_dir or os.environ.get("GRADER_TEMPLATES")
    if user_dir:
        loaders.append(jinja2.FileSystemLoader(str(user_dir)))
    loaders += [jinja2.PrefixLoader({"default": builtin}, delimiter=":"), builtin]
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, finalize=_visible)
    env.filters["show"] = show
    env.filters["md"] = inline_code
    return env


def _visible(value):
    """Every string a page shows with its control characters (an escape sequence a terminal would obey)
    and Unicode format characters (a bidi override in a student's message could reorder the sentence
    around it) shown escaped, then HTML-escaped as usual."""
    if isinstance(value, Markup):  # made safe already (the md filter)
        return value
    return safetext.for_page(value) if isinstance(value, str) else value


def inline_code(value) -> Markup:
    """A message written with Markdown's inline code (`model`), shown as code: escaped first, so only the
    backticks become markup."""
    text = str(escape(safetext.for_page(str(value))))
    return Markup(re.sub(r"`([^`\n]+)`", r"<code>\1</code>", text))


def show(value) -> str:
    """A value for a reader: lists as comma-separated items, not Python's repr."""
    if value is None:
        return "–"
    if isinstance(value, (list, tuple)):
        return ", ".join(show(v) for v in value)
    return str(value)
