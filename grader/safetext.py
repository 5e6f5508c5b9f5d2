"""Text from the student's process, made safe for where it is shown. HTML is escaped by jinja2;
terminals and XML need their own care: an escape sequence in an exception message can rewrite what a
terminal shows (a fake "10/10" line), and one control character makes a whole JUnit file invalid."""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI on some terminals)
_TERMINAL_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# what XML 1.0 does not allow at all
_XML_UNSAFE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def for_terminal(text: str) -> str:
    """Control characters shown escaped (``\\x1b``), so they are read, never obeyed."""
    return _TERMINAL_UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def for_xml(text: str) -> str:
    """Only characters XML allows; the others are shown escaped, as on a terminal."""
    return _XML_UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
