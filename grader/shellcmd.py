"""Shell lines of course notebooks that fetch or unpack data (``!wget URL -O PATH``, ``!curl -o PATH
URL``, ``!gdown --id ID``, ``!unzip ZIP -d DIR``), read as what they ask for. A leaf module (standard library only): the
notebook loader and the child's harness both use it."""

from __future__ import annotations

import shlex


def parse(command: str) -> tuple | None:
    """("download", url, target or None) or ("unzip", archive, dest), or None for any other command."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words:
        return None
    tool, args = words[0], words[1:]
    if tool in ("wget", "curl"):
        urls = [a for a in args if a.startswith(("http://", "https://"))]
        if not urls:
            return None
        target = None
        for i, a in enumerate(args):
            if (tool == "wget" and a in ("-O", "--output-document")) or (tool == "curl" and a in ("-o", "--output")):
                target = args[i + 1] if i + 1 < len(args) else None
            elif a.startswith("--output-document="):
                target = a.split("=", 1)[1]
            elif tool == "wget" and a == "-P" and i + 1 < len(args):
                target = args[i + 1].rstrip("/") + "/" + urls[0].rsplit("/", 1)[-1]
        return ("download", urls[0], target)
    if tool == "gdown":
        return ("download", *gdown_args(args))
    if tool == "unzip":
        files = [a for a in args if not a.startswith("-")]
        dest = args[args.index("-d") + 1] if "-d" in args and args.index("-d") + 1 < len(args) else "."
        archives = [f for f in files if f != dest]
        if archives:
            return ("unzip", archives[0], dest)
    return None


DRIVE = "https://drive.google.com/uc?id="


def drive_url(id_or_url: str) -> str:
    """A Google Drive file as the course names it (an id, or a drive.google.com address), as one URL."""
    text = str(id_or_url)
    return text if text.startswith(("http://", "https://")) else DRIVE + text


def gdown_args(args: list) -> tuple:
    """(URL, output or None) of ``gdown [--id] ID_OR_URL [-O PATH]``."""
    target, source, skip = None, None, False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a in ("-O", "--output"):
            target, skip = (args[i + 1] if i + 1 < len(args) else None), True
        elif a.startswith("--output="):
            target = a.split("=", 1)[1]
        elif a == "--id":
            continue
        elif not a.startswith("-") and source is None:
            source = a
    return drive_url(source or ""), target
