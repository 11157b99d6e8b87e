"""The review file: one YAML document that names every input and analysis of a review.

The file is read with PyYAML's node API so that every error names the line of the
offending key or value: an unknown key, a value of the wrong type or outside its
choices, a missing required key. The schema is the :data:`SCHEMA` tree below; its
field descriptions are also what ``metakit init`` writes as comments.

>>> spec = parse_spec("title: T\\noutcomes:\\n  - id: x\\n    name: X\\n    sheet: s\\n"
...                   "    measure: OR\\nsheets:\\n  s: data.csv\\n", base=".")
>>> spec.outcomes[0].measure, spec.outcomes[0].model
('OR', 'random')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from metakit.errors import MetakitError


class SpecError(MetakitError, ValueError):
    """The review file breaks its schema; the message names the file and line."""

    def __init__(self, rule: str, path: str | Path | None = None, line: int | None = None):
        self.rule, self.path, self.line = rule, path, line
        where = str(path or "<review file>") + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {rule}")


@dataclass(frozen=True)
class F:
    """One field of the schema: its type, whether required, its choices and default."""

    kind: Any  # str, int, float, bool, "list[str]", "map[str]", "str|list[str]" or a dict (nested schema)
    required: bool = False
    choices: tuple = ()
    default: Any = None
    doc: str = ""


#: the report formats a run can write (HTML always)
FORMATS = ("html", "pdf", "docx")
_MEASURES = ("OR", "RR", "RD", "PETO", "MD", "SMD", "ROM")
_TAU2 = ("DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM")

OUTCOME: dict[str, F] = {
    "id": F(str, True, doc="short name, used for file names (letters, digits, -, _)"),
    "name": F(str, True, doc="outcome name as a heading, e.g. 'Collapse of the femoral head'"),
    "noun": F(str, doc="the outcome inside a sentence, e.g. 'femoral head collapse' (default: name)"),
    "sheet": F(str, True, doc="which extraction sheet (a key of 'sheets')"),
    "where": F("map[str]", doc="keep the sheet's rows whose column equals a value, e.g. {outcome: THA}"),
    "measure": F(str, True, _MEASURES, doc="effect measure"),
    "columns": F({
        "events": F("list[str]", doc="binary: [treatment, control] event columns"),
        "totals": F("list[str]", doc="binary: [treatment, control] arm-size columns"),
        "means": F("list[str]", doc="continuous: mean columns"),
        "sds": F("list[str]", doc="continuous: SD columns"),
        "ns": F("list[str]", doc="continuous: arm-size columns"),
    }, doc="column names (defaults: e_t,e_c / n_t,n_c / m_t,m_c / sd_t,sd_c)"),
    "model": F(str, False, ("random", "common"), "random", "primary model"),
    "method": F(str, False, ("inverse", "MH", "Peto"), None, "pooling method (default: inverse variance)"),
    "tau2": F(str, False, _TAU2, None, "tau² estimator (default REML; DL under convention: revman)"),
    "ci": F(str, False, ("z", "hk", "hk-adhoc"), "z", "CI method: Wald z or Hartung-Knapp"),
    "prediction": F(bool, False, (), True, "report a prediction interval (random effects)"),
    "convention": F(str, False, ("metafor", "revman"), "metafor", "numerical conventions"),
    "subgroups": F("list[str]", doc="columns to run subgroup analyses by"),
    "moderators": F("list[str]", doc="columns for meta-regression, one model per moderator"),
    "funnel": F(bool, False, (), True, "draw a funnel plot"),
    "better": F(str, False, ("lower", "higher"), "lower", "which direction favours the intervention"),
    "labels": F({
        "experimental": F(str, doc="treatment arm label"),
        "control": F(str, doc="control arm label"),
    }, doc="arm labels on the forest plot"),
}

NETWORK: dict[str, F] = {
    "id": F(str, True, doc="short name, used for file names"),
    "name": F(str, True, doc="heading, e.g. 'Conversion to THA by cell dose'"),
    "file": F(str, True, doc="arm-level CSV/XLSX: study, treatment, events, n (or mean, sd, n)"),
    "measure": F(str, True, ("OR", "RR", "RD", "MD", "SMD"), doc="effect measure"),
    "reference": F(str, True, doc="the reference treatment"),
    "small_values": F(str, False, ("good", "bad"), "good", "whether small effects are good (ranking)"),
    "model": F(str, False, ("random", "common"), "random", "model for the league table and ranks"),
    "tau2": F(str, False, ("DL", "REML", "ML"), "DL", "tau² estimator (netmeta's default DL)"),
    "note": F(str, doc="shown with the network (e.g. that the data are illustrative)"),
}

SCHEMA: dict[str, F] = {
    "title": F(str, True, doc="title of the review"),
    "question": F(str, doc="the review question, one sentence"),
    "intervention": F(str, doc="the intervention inside a sentence, e.g. 'Cell therapy'"),
    "note": F(str, doc="a note shown under the title (e.g. which data are illustrative)"),
    "sheets": F("map[str]", True, doc="extraction sheets: name -> CSV/XLSX file (relative to this file)"),
    "study": F("list[str]", default=["study", "year"], doc="columns that make the study label"),
    "characteristics": F({
        "file": F(str, True, doc="CSV/XLSX, one row per study"),
        "columns": F("list[str]", doc="columns to show (default: all)"),
        "totals": F("list[str]", doc="columns whose sum is a study's total (checked against outcomes)"),
    }, doc="study characteristics table"),
    "outcomes": F([OUTCOME], True, doc="the pairwise analyses"),
    "networks": F([NETWORK], doc="network meta-analyses"),
    "rob": F({
        "file": F(str, True, doc="assessments (CSV/XLSX/YAML)"),
        "tool": F(str, False, ("rob2", "robins-i", "quadas2"), "rob2", doc="the tool"),
        "note": F(str, doc="shown with the figures (e.g. that the answers are illustrative)"),
    }, doc="risk of bias"),
    "prisma": F({
        "counts": F(str, doc="YAML of hand-given PRISMA 2020 counts"),
        "store": F(str, doc="review store: a file (review.db) or a postgresql:// URL"),
    }, doc="PRISMA flow: give counts or store"),
    "output": F({
        "formats": F("list[str]", False, FORMATS, ["html"],
                     "report formats besides the HTML, which is always written: pdf (extra metakit[pdf]), "
                     "docx (extra metakit[docx])"),
        "docx_figures": F(bool, False, (), False, "put the figures (PNG) in the DOCX too, not only the tables"),
    }, doc="which report files to write"),
}


@dataclass(frozen=True)
class Outcome:
    """One pairwise analysis of the review file (see :data:`OUTCOME`)."""

    id: str
    name: str
    sheet: str
    measure: str
    noun: str = ""
    where: dict = field(default_factory=dict)
    columns: dict = field(default_factory=dict)
    model: str = "random"
    method: str | None = None
    tau2: str | None = None
    ci: str = "z"
    prediction: bool = True
    convention: str = "metafor"
    subgroups: tuple[str, ...] = ()
    moderators: tuple[str, ...] = ()
    funnel: bool = True
    better: str = "lower"
    labels: dict = field(default_factory=dict)
    line: int | None = None


@dataclass(frozen=True)
class ReviewSpec:
    """A validated review file; paths are absolute (resolved against the file's folder)."""

    title: str
    sheets: dict[str, Path]
    outcomes: tuple[Outcome, ...]
    question: str = ""
    intervention: str = "The intervention"
    note: str = ""
    study: tuple[str, ...] = ("study", "year")
    characteristics: dict | None = None
    rob: dict | None = None
    networks: tuple = ()
    prisma: dict | None = None
    formats: tuple[str, ...] = ("html",)
    docx_figures: bool = False
    source: Path | None = None

    def to_dict(self) -> dict:
        """The spec as plain values (paths as strings)."""
        return {"title": self.title, "sheets": {k: str(v) for k, v in self.sheets.items()},
                "outcomes": [o.__dict__ for o in self.outcomes], "question": self.question,
                "intervention": self.intervention, "note": self.note, "study": list(self.study),
                "characteristics": self.characteristics, "rob": self.rob, "prisma": self.prisma,
                "output": {"formats": list(self.formats), "docx_figures": self.docx_figures}}


_TYPE_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}


def _scalar(node: yaml.Node, kind: type, where: str, path) -> Any:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.ScalarNode):
        raise SpecError(f"{where} must be {_TYPE_NAMES[kind]}, not a "
                        f"{'list' if isinstance(node, yaml.SequenceNode) else 'mapping'}", path, line)
    value = yaml.safe_load(yaml.serialize(node))
    if kind is str and isinstance(value, bool | int | float) and node.style is None and value is not None:
        # an unquoted number where text is expected is still the text the user typed
        value = node.value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if value is None or not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SpecError(f"{where} must be {_TYPE_NAMES[kind]}, got {node.value!r}", path, line)
    return value


def validate_node(node: yaml.Node, kind: Any, where: str, path, choices: tuple = ()) -> Any:
    """Check ``node`` against a schema ``kind`` (a dict of :class:`F` fields, a one-item list
    for "list of", or a scalar type) and return plain Python values; a broken rule raises
    :class:`SpecError` naming ``where`` and the node's line. The review file and the
    extraction form (:mod:`metakit.review.extraction_form`) are both checked with it.
    """
    line = node.start_mark.line + 1
    if isinstance(kind, dict):
        if not isinstance(node, yaml.MappingNode):
            raise SpecError(f"{where} must be a mapping of keys to values", path, line)
        out: dict[str, Any] = {"__line__": line}
        for key_node, value_node in node.value:
            key = key_node.value
            if key not in kind:
                known = ", ".join(sorted(kind))
                raise SpecError(f"unknown key {key!r} in {where} (known keys: {known})",
                                path, key_node.start_mark.line + 1)
            if key in out:
                raise SpecError(f"key {key!r} given twice in {where}", path, key_node.start_mark.line + 1)
            f = kind[key]
            out[key] = validate_node(value_node, f.kind, f"{where}.{key}" if where != "the file" else key,
                                 path, f.choices)
        missing = [k for k, f in kind.items() if f.required and k not in out]
        if missing:
            raise SpecError(f"{where} lacks the required key {missing[0]!r}", path, line)
        return out
    if isinstance(kind, list):
        if not isinstance(node, yaml.SequenceNode):
            raise SpecError(f"{where} must be a list", path, line)
        if not node.value:
            raise SpecError(f"{where} must not be empty", path, line)
        return [validate_node(n, kind[0], f"{where}[{i + 1}]", path) for i, n in enumerate(node.value)]
    if kind == "list[str]":
        if isinstance(node, yaml.ScalarNode):
            node = yaml.SequenceNode("tag:yaml.org,2002:seq", [node], node.start_mark, node.end_mark)
        if not isinstance(node, yaml.SequenceNode):
            raise SpecError(f"{where} must be a list{'' if choices else ' of column names'}", path, line)
        items = [_scalar(n, str, f"{where}[{i + 1}]", path) for i, n in enumerate(node.value)]
        for i, (n, value) in enumerate(zip(node.value, items)):
            if choices and value not in choices:
                raise SpecError(f"{where}[{i + 1}] must be one of {', '.join(choices)}; got {value!r}",
                                path, n.start_mark.line + 1)
        return items
    if kind == "map[str]":
        if not isinstance(node, yaml.MappingNode):
            raise SpecError(f"{where} must be a mapping of names to text", path, line)
        return {k.value: _scalar(v, str, f"{where}.{k.value}", path) for k, v in node.value}
    value = _scalar(node, kind, where, path)
    if choices and value not in choices:
        raise SpecError(f"{where} must be one of {', '.join(map(str, choices))}; got {value!r}", path, line)
    return value


def _defaults(raw: dict, schema: dict[str, F]) -> dict:
    return {k: raw.get(k, f.default) for k, f in schema.items()} | {"__line__": raw.get("__line__")}


def _pair(raw: dict, key: str, where: str, path, line) -> None:
    value = raw.get(key)
    if value is not None and len(value) != 2:
        raise SpecError(f"{where}.{key} must name two columns, [treatment, control]", path, line)


def _outcome(raw: dict, sheets: dict, path) -> Outcome:
    o = _defaults(raw, OUTCOME)
    line = o.pop("__line__")
    where = f"outcome {o['id']!r}"
    if o["sheet"] not in sheets:
        raise SpecError(f"{where}: sheet {o['sheet']!r} is not among the sheets "
                        f"({', '.join(sheets)})", path, line)
    cols = {k: v for k, v in (o["columns"] or {}).items() if k != "__line__"}
    for key in cols:
        _pair(cols, key, f"{where}.columns", path, line)
    if not o["id"].replace("-", "").replace("_", "").isalnum():
        raise SpecError(f"{where}: id may hold letters, digits, '-' and '_' only", path, line)
    labels = {k: v for k, v in (o["labels"] or {}).items() if k != "__line__"}
    return Outcome(id=o["id"], name=o["name"], noun=o["noun"] or o["name"].lower(), sheet=o["sheet"],
                   measure=o["measure"], where=dict(o["where"] or {}), columns=cols, model=o["model"],
                   method=o["method"], tau2=o["tau2"], ci=o["ci"], prediction=o["prediction"],
                   convention=o["convention"], subgroups=tuple(o["subgroups"] or ()),
                   moderators=tuple(o["moderators"] or ()), funnel=o["funnel"], better=o["better"],
                   labels=labels, line=line)


def compose(text: str, path: str | Path | None, empty: str) -> yaml.Node:
    """The YAML node tree of ``text`` (line numbers kept for errors); ``empty`` is the error
    for a document with nothing in it.

    Examples
    --------
    >>> compose("a: 1", None, "empty").value[0][0].value
    'a'
    """
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SpecError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path,
                        None if mark is None else mark.line + 1) from exc
    if root is None:
        raise SpecError(empty, path, 1)
    return root


def parse_spec(text: str, base: str | Path = ".", path: str | Path | None = None) -> ReviewSpec:
    """Validate the YAML ``text`` of a review file; relative paths resolve against ``base``.

    Raises
    ------
    SpecError
        naming ``path`` and the line of the first rule broken.
    """
    root = compose(text, path, "the file is empty")
    raw = _defaults(validate_node(root, SCHEMA, "the file", path), SCHEMA)
    base = Path(base)
    sheets = {k: (base / v).resolve() for k, v in raw["sheets"].items()}
    ids = [o["id"] for o in raw["outcomes"]]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup is not None:
        line = next(o["__line__"] for o in raw["outcomes"] if o["id"] == dup)
        raise SpecError(f"two outcomes have the id {dup!r}", path, line)
    outcomes = tuple(_outcome(o, sheets, path) for o in raw["outcomes"])

    def files(section: str, keys: tuple[str, ...]) -> dict | None:
        value = raw[section]
        if value is None:
            return None
        out = {k: v for k, v in value.items() if k != "__line__"}
        for k in keys:
            # a review store may be a database URL (postgresql://...), kept as written
            if out.get(k) is not None and not (k == "store" and "://" in str(out[k])):
                out[k] = (base / out[k]).resolve()
        return out

    prisma = files("prisma", ("counts", "store"))
    if prisma is not None and (prisma.get("counts") is None) == (prisma.get("store") is None):
        raise SpecError("prisma needs exactly one of 'counts' (a YAML file) or 'store' (review.db)",
                        path, raw["prisma"]["__line__"])
    output = raw["output"] or {}
    formats = tuple(dict.fromkeys(["html", *(output.get("formats") or ())]))
    return ReviewSpec(title=raw["title"], sheets=sheets, outcomes=outcomes,
                      question=raw["question"] or "", intervention=raw["intervention"] or "The intervention",
                      note=raw["note"] or "", study=tuple(raw["study"]),
                      characteristics=files("characteristics", ("file",)),
                      rob=files("rob", ("file",)), prisma=prisma,
                      networks=tuple({**{k: v for k, v in _defaults(n, NETWORK).items()
                                         if k != "__line__"},
                                      "file": (base / n["file"]).resolve()}
                                     for n in (raw["networks"] or ())),
                      formats=formats, docx_figures=bool(output.get("docx_figures", False)),
                      source=None if path is None else Path(path).resolve())


def read_spec(path: str | Path) -> ReviewSpec:
    """Read and validate the review file at ``path``.

    Examples
    --------
    >>> spec = read_spec("examples/stem-cell-onfh/review.yaml")  # doctest: +SKIP
    >>> [o.id for o in spec.outcomes]  # doctest: +SKIP
    ['collapse', 'tha', 'hhs', 'vas', 'vas-smd']
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read the review file: {exc.strerror}", path) from exc
    return parse_spec(text, base=path.parent, path=path)
