"""Chart specs made safe for renderers that go through SVG (vl-convert)."""

from __future__ import annotations

import re
from typing import Any

#: Characters XML 1.0 does not allow (C0 controls but tab and line breaks, lone surrogates,
#: U+FFFE and U+FFFF): an SVG renderer refuses them.
XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(value: Any) -> Any:
    r"""``value`` (a chart spec: dicts, lists, text, numbers) with every character that XML
    forbids in its texts and keys replaced by U+FFFD, for renderers that go through SVG.

    Example:
        >>> xml_safe({"title": "a\x1bb", "data": [1, "c\x00"]}) == {
        ...     "title": "a\ufffdb", "data": [1, "c\ufffd"]}
        True
    """
    if isinstance(value, str):
        return XML_INVALID.sub("\ufffd", value)
    if isinstance(value, dict):
        return {xml_safe(k): xml_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [xml_safe(v) for v in value]
    return value
