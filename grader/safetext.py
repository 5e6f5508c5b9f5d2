"""Text from the student's process, made safe for where it is shown. HTML is escaped by jinja2;
terminals and XML need their own care: an escape sequence in an exception message can rewrite what a
terminal shows (a fake "10/10" line), and one control character makes a whole JUnit file invalid.

Student text is also *fenced*: a message with a newline in it must not start a line of its own that
looks like the grader's ("[PASS ] ...: 10/10") or like a CI workflow command (GitHub Actions obeys
``::error::``, ``::add-mask::`` at the start of any log line, leading spaces trimmed). One-line fields
show their newlines escaped (``one_line``); multi-line text (a traceback) gets every line prefixed with
``| `` (``fenced``). Unicode format characters (bidi overrides, line and paragraph separators), which
can reorder or break what a reader sees, are shown escaped everywhere.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI on some terminals)
_TERMINAL_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_PAGE_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# what XML 1.0 does not allow at all
_XML_UNSAFE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# format characters (bidi controls, zero-width joiners, BOM) and the line/paragraph separators
_FORMAT = re.compile("[\u2028\u2029" + "".join(
    re.escape(chr(c)) for c in range(0x80, 0x30000) if unicodedata.category(chr(c)) == "Cf") + "]")
FENCE = "  | "


def _escaped(m) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}"


def for_terminal(text: str) -> str:
    """Control and format characters shown escaped (``\\x1b``, ``\\u202e``), so they are read, never obeyed."""
    return _FORMAT.sub(_escaped, _TERMINAL_UNSAFE.sub(_escaped, text))


def for_page(text: str) -> str:
    """For HTML (which escapes markup itself): control characters but tab, newline and carriage return,
    and format characters, shown escaped, as on a terminal."""
    return _FORMAT.sub(_escaped, _PAGE_UNSAFE.sub(_escaped, text))


def one_line(text: str) -> str:
    """A message that is meant to be one line, kept on one: its newlines shown as ``\\n``."""
    return for_terminal(str(text).replace("\r\n", "\n").replace("\n", "\\n"))


def fenced(text: str) -> str:
    """Multi-line student text (a traceback), each line behind the fence ``  | ``."""
    return "\n".join(FENCE + line for line in for_terminal(str(text)).split("\n"))


def for_xml(text: str) -> str:
    """Only characters XML allows; the others (and format characters) are shown escaped, as on a terminal."""
    return _FORMAT.sub(_escaped, _XML_UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text))
