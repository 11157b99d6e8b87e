"""A RevMan 5 ``.rm5`` file as a tree of elements that remember their line.

RevMan 5 writes XML with no published schema, declares ``ISO-8859-1`` (older versions
``windows-1252``) but lets Windows "smart quotes" and dashes (bytes 0x80-0x9F, which
ISO-8859-1 maps to invisible control characters) into study names and text. The bytes are
therefore decoded here, not by the XML parser: UTF-8 when the declaration says so (or the
bytes are valid UTF-8 and nothing is declared), Windows-1252 otherwise, since it is a
superset of ISO-8859-1 for every printable character.

Every element keeps its line number so that a reader can name the element and line of a
bad value; a file that is not well-formed XML (or is cut short) raises :class:`RevManError`
with the parser's line and the element still open there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from metakit.errors import DataError

# Errors expat reports only when the input stops inside an element, a tag or a character.
_AT_END = {expat.errors.codes[m] for m in (expat.errors.XML_ERROR_NO_ELEMENTS, expat.errors.XML_ERROR_UNCLOSED_TOKEN,
                                           expat.errors.XML_ERROR_PARTIAL_CHAR,
                                           expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION)}
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class RevManError(DataError):
    """A RevMan file that cannot be read, naming the element and the line.

    Examples
    --------
    >>> str(RevManError("not a number: 'x'", element="DICH_DATA", line=12, attribute="EVENTS_1"))
    "line 12, element <DICH_DATA>, attribute EVENTS_1: not a number: 'x'"
    """

    def __init__(self, rule: str, element: str | None = None, line: int | None = None,
                 attribute: str | None = None, study: str | None = None):
        self.element, self.line, self.attribute = element, line, attribute
        where = []
        if line is not None:
            where.append(f"line {line}")
        if element is not None:
            where.append(f"element <{element}>")
        if attribute is not None:
            where.append(f"attribute {attribute}")
        if study is not None:
            where.append(f"study {study!r}")
        text = ", ".join(where) + (": " if where else "") + rule
        super().__init__(rule, study=study, column=attribute)
        self.args = (text,)

    def __str__(self) -> str:
        return self.args[0]


@dataclass
class Node:
    """One XML element: tag, attributes, children, text and the line it starts on."""

    tag: str
    attrib: dict[str, str]
    line: int
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> Node | None:
        """The first child with ``tag``."""
        for c in self.children:
            if c.tag == tag:
                return c
        return None

    def findall(self, tag: str) -> list[Node]:
        """Every child with ``tag``."""
        return [c for c in self.children if c.tag == tag]

    def iter(self, tag: str):
        """Every descendant (and self) with ``tag``, in document order."""
        if self.tag == tag:
            yield self
        for c in self.children:
            yield from c.iter(tag)

    def child_text(self, tag: str) -> str:
        """The whole text of the first child ``tag`` (markup such as <I> flattened), or ''."""
        c = self.find(tag)
        return "" if c is None else " ".join(c.all_text().split())

    def all_text(self) -> str:
        """Text of this element and its descendants."""
        return self.text + "".join(c.all_text() for c in self.children)

    def error(self, rule: str, attribute: str | None = None, study: str | None = None) -> RevManError:
        """A :class:`RevManError` located at this element."""
        return RevManError(rule, element=self.tag, line=self.line, attribute=attribute, study=study)

    def number(self, name: str, study: str | None = None) -> float:
        """Attribute ``name`` as a float; NaN when absent or empty (RevMan leaves results
        blank when it has not computed them)."""
        raw = self.attrib.get(name, "").strip()
        if raw == "":
            return float("nan")
        try:
            # Some RevMan versions write thousands separators in counts.
            return float(raw.replace(",", ""))
        except ValueError:
            raise self.error(f"not a number: {raw!r}", attribute=name, study=study) from None

    def flag(self, name: str, default: bool = False) -> bool:
        """A YES/NO attribute; ``default`` when absent."""
        raw = self.attrib.get(name, "").strip().upper()
        if raw == "":
            return default
        if raw not in ("YES", "NO"):
            raise self.error(f"expected YES or NO, got {raw!r}", attribute=name)
        return raw == "YES"


def decode(raw: bytes) -> str:
    """The text of a RevMan file (see the module docstring for the encoding rule)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    m = _DECLARED.match(raw)
    declared = m.group(1).decode("ascii").lower() if m else None
    if declared in ("utf-8", "utf8") or declared is None:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            if declared is not None:
                raise RevManError("the file declares UTF-8 but its bytes are not UTF-8") from None
    # cp1252 leaves 5 bytes undefined; map those as ISO-8859-1 does rather than fail.
    return raw.decode("cp1252", errors="replace") if _cp1252_defined(raw) else raw.decode("latin-1")


def _cp1252_defined(raw: bytes) -> bool:
    return not any(b in raw for b in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d"))


def parse(source: str | Path | bytes) -> Node:
    """Parse a RevMan file (path or bytes) into a :class:`Node` tree.

    Raises
    ------
    RevManError
        When the file is not well-formed XML or ends early, naming the line and the
        element open there.

    Examples
    --------
    >>> root = parse(b'<?xml version="1.0" encoding="ISO-8859-1"?><COCHRANE_REVIEW>'
    ...              b'<STUDY NAME="M\\x96ller"/></COCHRANE_REVIEW>')
    >>> root.find("STUDY").attrib["NAME"]
    'M\u2013ller'
    """
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    text = decode(raw)
    # The text is already decoded: tell expat it is UTF-8 whatever the declaration says.
    parser = expat.ParserCreate("UTF-8")
    stack: list[Node] = []
    root: list[Node] = []

    def start(tag, attrib):
        node = Node(tag, attrib, parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(tag):
        stack.pop()

    def chars(data):
        if stack:
            stack[-1].text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.buffer_text = True
    try:
        parser.Parse(text.encode("utf-8"), True)
    except expat.ExpatError as exc:
        open_tag = stack[-1].tag if stack else None
        what = expat.ErrorString(exc.code)
        if exc.code in _AT_END and stack:
            what = (f"the file ends before <{open_tag}> (opened on line {stack[-1].line}) "
                    "is closed: truncated file")
        raise RevManError(f"malformed XML: {what} (column {exc.offset + 1})",
                          element=open_tag, line=exc.lineno) from None
    if not root:
        raise RevManError("empty file: no XML element")
    return root[0]
