"""The extraction form of a review: which values each extractor records per study, typed.

A form is a YAML document, validated with the review file's schema machinery
(:mod:`metakit.report.spec`), so every error names the line and the rule broken::

    form: Cell therapy for osteonecrosis          # title
    arms:                                         # key (column suffix) -> label
      t: Cells + core decompression
      c: Core decompression alone
    arm_names: {t: intervention, c: control}      # optional: each study's own arm names, in these columns
    study_fields:                                 # one value per study
      - {name: year, type: integer, min: 1950, max: 2030, required: true}
      - {name: allocation, type: choice, choices: [Randomised, Not randomised]}
      - {name: mean_age, type: number, unit: years, min: 0, max: 120}
    outcomes:                                     # one row per study and outcome
      - name: THA
        sheet: binary                             # the exported CSV this outcome goes to
        arm_fields:                               # one value per arm: columns e_t, e_c, n_t, n_c
          - {name: e, label: events, type: integer, min: 0, at_most: n, required: true}
          - {name: n, label: participants, type: integer, min: 1, required: true}
        fields:                                   # one value per study and outcome
          - {name: certainty, type: choice, choices: [exact, derived]}
    sheets:                                       # optional: a sheet's exact column order
      binary: [study, year, outcome, e_t, n_t, e_c, n_c, allocation, mean_age, certainty]

Columns are what ``metakit meta`` and the report read: a study field is its own column, an
arm field ``e`` of arm ``t`` is ``e_t``, plus ``study`` (the study label) and ``outcome``.
Without a ``sheets`` entry a sheet's columns are ``study``, the study fields, ``outcome``,
the arm fields arm by arm (``e_t, n_t, e_c, n_c``, as the ``metakit init`` templates) and the
outcome fields. A ``sheets`` entry lists each column of its outcomes once and may leave out
study fields (a continuous sheet without the binary sheet's ``allocation``, say).

Types: ``number`` (a finite decimal), ``integer``, ``text``, ``choice`` (one of ``choices``,
matched without regard to case), ``boolean`` (yes/no, true/false, 1/0; stored ``yes``/``no``).
``min``/``max`` bound numbers; ``at_most`` names another arm field of the same arm that the
value may not exceed (events at most participants). ``required`` fields must be filled when
an entry is submitted and before the agreed sheet is exported; an outcome's required fields
only when the study reports that outcome (any of its values is filled).

A value is addressed by its key: the column for a study field (``year``), ``outcome:column``
for an outcome's value (``THA:e_t``).

Example
-------
>>> form = parse_form("form: F\\narms: {t: T, c: C}\\noutcomes:\\n  - name: THA\\n    sheet: binary\\n"
...                   "    arm_fields:\\n      - {name: e, type: integer}\\n      - {name: n, type: integer}\\n")
>>> [s.key for s in form.slots]
['THA:e_t', 'THA:n_t', 'THA:e_c', 'THA:n_c']
>>> form.parse_value("THA:e_t", " 12 ")
'12'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from metakit.errors import DataError
from metakit.report.spec import F, SpecError, compose, validate_node

__all__ = ["FIELD_TYPES", "Field", "Form", "Outcome", "Slot", "parse_form", "read_form"]

FIELD_TYPES = ("number", "integer", "text", "choice", "boolean")

_FIELD: dict[str, F] = {
    "name": F(str, True, doc="column name (study fields, outcome fields) or prefix (arm fields: name_arm)"),
    "label": F(str, doc="the question shown to the extractor (default: name)"),
    "type": F(str, True, FIELD_TYPES, doc="number, integer, text, choice or boolean"),
    "unit": F(str, doc="unit shown beside the value, e.g. years, mg/kg"),
    "min": F(float, doc="smallest value allowed (number, integer)"),
    "max": F(float, doc="largest value allowed (number, integer)"),
    "choices": F("list[str]", doc="allowed values (choice)"),
    "required": F(bool, False, (), False, "must be filled before submitting"),
    "at_most": F(str, doc="arm fields: another arm field of the same arm this value may not exceed"),
    "help": F(str, doc="guidance shown with the field"),
}

_OUTCOME: dict[str, F] = {
    "name": F(str, True, doc="the outcome as written in the 'outcome' column"),
    "label": F(str, doc="heading on the form (default: name)"),
    "sheet": F(str, True, doc="the exported sheet (CSV) holding this outcome's rows"),
    "arm_fields": F([_FIELD], doc="values per arm"),
    "fields": F([_FIELD], doc="values per study and outcome, not per arm"),
}

SCHEMA: dict[str, F] = {
    "form": F(str, True, doc="title of the form"),
    "arms": F("map[str]", doc="arm key (column suffix) -> label; default {t: Intervention, c: Control}"),
    "arm_names": F("map[str]", doc="arm key -> column holding each study's own name of that arm"),
    "study_fields": F([_FIELD], doc="values per study"),
    "outcomes": F([_OUTCOME], doc="outcomes extracted per study"),
    "sheets": F({}, doc="sheet -> exact column order"),
}

_TRUE = {"yes", "y", "true", "1"}
_FALSE = {"no", "n", "false", "0"}
_RESERVED = {"study", "outcome"}


@dataclass(frozen=True)
class Field:
    """One question of the form (see the module docstring for the keys)."""

    name: str
    type: str
    label: str = ""
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    required: bool = False
    at_most: str | None = None
    help: str | None = None
    line: int | None = None

    def parse(self, value: object, study: object = None, column: str | None = None) -> str | None:
        """The value in its stored text form, or None for an empty one.

        Raises :class:`DataError` naming the study, the column and the rule broken.
        """
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        text = str(value).strip()
        if text == "":
            return None
        if self.type == "text":
            return text
        if self.type == "boolean":
            low = text.lower()
            if isinstance(value, bool):
                return "yes" if value else "no"
            if low in _TRUE:
                return "yes"
            if low in _FALSE:
                return "no"
            raise DataError(f"{text!r} is not yes or no", study=study, column=column)
        if self.type == "choice":
            for choice in self.choices:
                if choice.lower() == text.lower():
                    return choice
            raise DataError(f"{text!r} is not one of the choices: {', '.join(self.choices)}",
                            study=study, column=column)
        try:
            number = float(text)
        except ValueError:
            raise DataError(f"{text!r} is not a number", study=study, column=column) from None
        if not math.isfinite(number):
            raise DataError(f"{text!r} is not a finite number", study=study, column=column)
        unit = f" {self.unit}" if self.unit else ""
        if self.min is not None and number < self.min:
            raise DataError(f"{text}{unit} is below the smallest allowed value {self.min:g}",
                            study=study, column=column)
        if self.max is not None and number > self.max:
            raise DataError(f"{text}{unit} is above the largest allowed value {self.max:g}",
                            study=study, column=column)
        if self.type == "integer":
            if number != int(number):
                raise DataError(f"{text!r} is not a whole number", study=study, column=column)
            return str(int(number))
        return repr(number) if number != int(number) or abs(number) >= 1e16 else str(int(number))


@dataclass(frozen=True)
class Slot:
    """One value of a study's entry: a study field, an outcome field or an arm field."""

    key: str
    column: str
    field: Field
    outcome: str | None = None
    arm: str | None = None


@dataclass(frozen=True)
class Outcome:
    """An outcome of the form: its name, its sheet, its arm fields and other fields."""

    name: str
    sheet: str
    label: str
    arm_fields: tuple[Field, ...]
    fields: tuple[Field, ...]
    line: int | None = None


@dataclass(frozen=True)
class Form:
    """A validated extraction form.

    Attributes
    ----------
    title
        The form's title.
    arms
        Arm key (column suffix) -> label.
    study_fields, outcomes
        The questions per study and per outcome.
    sheets
        Sheet name -> its columns in export order.
    text
        The YAML it was parsed from (kept in the review store).
    """

    title: str
    arms: Mapping[str, str]
    study_fields: tuple[Field, ...]
    outcomes: tuple[Outcome, ...]
    sheets: Mapping[str, tuple[str, ...]]
    text: str = ""

    @property
    def slots(self) -> tuple[Slot, ...]:
        """Every value of an entry, study fields first, then outcome by outcome."""
        out = [Slot(f.name, f.name, f) for f in self.study_fields]
        for o in self.outcomes:
            out += [Slot(f"{o.name}:{f.name}_{arm}", f"{f.name}_{arm}", f, o.name, arm)
                    for arm in self.arms for f in o.arm_fields]
            out += [Slot(f"{o.name}:{f.name}", f.name, f, o.name) for f in o.fields]
        return tuple(out)

    def slot(self, key: str) -> Slot:
        """The slot with this key; a :class:`DataError` lists the known keys otherwise."""
        for s in self.slots:
            if s.key == key:
                return s
        known = ", ".join(s.key for s in self.slots[:12]) + (" ..." if len(self.slots) > 12 else "")
        raise DataError(f"the form has no value {key!r} (keys: {known})", column=key)

    def parse_value(self, key: str, value: object, study: object = None) -> str | None:
        """Check ``value`` against the field behind ``key``; its stored text (None when empty)."""
        s = self.slot(key)
        return s.field.parse(value, study=study, column=s.key)

    def check(self, values: Mapping[str, str | None], study: object = None, *, complete: bool) -> None:
        """Cross-field rules on a whole entry: ``at_most``, and ``required`` when ``complete``."""
        for s in self.slots:
            v = values.get(s.key)
            if s.arm is not None and s.field.at_most and v is not None:
                bound = values.get(f"{s.outcome}:{s.field.at_most}_{s.arm}")
                if bound is not None and float(v) > float(bound):
                    raise DataError(f"{v} is more than {s.field.at_most}_{s.arm} = {bound} "
                                    f"({s.field.name} may not exceed {s.field.at_most})",
                                    study=study, column=s.key)
        if not complete:
            return
        reported = {o for o in self.outcome_names if any(values.get(s.key) is not None for s in self.slots
                                                        if s.outcome == o)}
        missing = [s.key for s in self.slots if s.field.required and values.get(s.key) is None
                   and (s.outcome is None or s.outcome in reported)]
        if missing:
            raise DataError(f"required value{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}",
                            study=study, column=missing[0])

    @property
    def outcome_names(self) -> tuple[str, ...]:
        """The outcomes' names, in form order."""
        return tuple(o.name for o in self.outcomes)

    def outcomes_of(self, sheet: str) -> tuple[Outcome, ...]:
        """The outcomes exported to ``sheet``."""
        if sheet not in self.sheets:
            raise DataError(f"the form has no sheet {sheet!r} (sheets: {', '.join(self.sheets)})",
                            column="sheet")
        return tuple(o for o in self.outcomes if o.sheet == sheet)


def _field(raw: dict) -> Field:
    return Field(name=raw["name"], type=raw["type"], label=raw.get("label") or raw["name"], unit=raw.get("unit"),
                 min=raw.get("min"), max=raw.get("max"), choices=tuple(raw.get("choices") or ()),
                 required=bool(raw.get("required", False)), at_most=raw.get("at_most"), help=raw.get("help"),
                 line=raw["__line__"])


def _check_field(f: Field, where: str, path: str | Path | None, arm_names: set[str] | None = None) -> None:
    if not f.name.replace("_", "").isalnum() or f.name in _RESERVED:
        raise SpecError(f"{where}: name {f.name!r} must be letters, digits and '_' and not "
                        f"{' or '.join(sorted(_RESERVED))}", path, f.line)
    if f.type == "choice" and not f.choices:
        raise SpecError(f"{where} ({f.name}): a choice field needs 'choices'", path, f.line)
    if f.type != "choice" and f.choices:
        raise SpecError(f"{where} ({f.name}): 'choices' belong to type choice, not {f.type}", path, f.line)
    if (f.min is not None or f.max is not None) and f.type not in ("number", "integer"):
        raise SpecError(f"{where} ({f.name}): min/max bound numbers, not {f.type}", path, f.line)
    if f.min is not None and f.max is not None and f.min > f.max:
        raise SpecError(f"{where} ({f.name}): min {f.min:g} is above max {f.max:g}", path, f.line)
    if f.at_most is not None:
        if arm_names is None:
            raise SpecError(f"{where} ({f.name}): at_most applies to arm fields only", path, f.line)
        if f.at_most not in arm_names or f.at_most == f.name:
            raise SpecError(f"{where} ({f.name}): at_most names {f.at_most!r}, not another arm field "
                            f"of this outcome ({', '.join(sorted(arm_names - {f.name}))})", path, f.line)
        if f.type not in ("number", "integer"):
            raise SpecError(f"{where} ({f.name}): at_most compares numbers, not {f.type}", path, f.line)


def parse_form(text: str, path: str | Path | None = None) -> Form:
    """Validate the YAML ``text`` of an extraction form.

    Raises
    ------
    SpecError
        Naming ``path`` and the line of the first rule broken.
    """
    root = compose(text, path, "the form is empty")
    sheets_node = None
    if isinstance(root, yaml.MappingNode):
        # 'sheets' maps names of the form author's choosing to column lists: checked below
        sheets_node = next((v for k, v in root.value if k.value == "sheets"), None)
        root = yaml.MappingNode(root.tag, [(k, v) for k, v in root.value if k.value != "sheets"],
                                start_mark=root.start_mark, end_mark=root.end_mark)
    raw = validate_node(root, SCHEMA, "the file", path)
    arms = {k: v for k, v in (raw.get("arms") or {"t": "Intervention", "c": "Control"}).items()}
    for key in arms:
        if not key.replace("_", "").isalnum():
            raise SpecError(f"arm key {key!r} must be letters, digits and '_' (it ends column names)",
                            path, raw["__line__"])
    study_fields = tuple(_field(f) for f in raw.get("study_fields") or ())
    for f in study_fields:
        _check_field(f, "study_fields", path)
    names = raw.get("arm_names") or {}
    for key, column in names.items():
        if key not in arms:
            raise SpecError(f"arm_names: {key!r} is not an arm ({', '.join(arms)})", path, raw["__line__"])
        if column in {f.name for f in study_fields}:
            raise SpecError(f"arm_names: column {column!r} is also a study field", path, raw["__line__"])
    named = tuple(Field(name=column, type="text", label=f"{arms[key]}: as this study names it",
                        line=raw["__line__"]) for key, column in names.items())
    for f in named:
        _check_field(f, "arm_names", path)
    study_fields += named
    outcomes = []
    for o in raw.get("outcomes") or ():
        arm_fields = tuple(_field(f) for f in o.get("arm_fields") or ())
        fields = tuple(_field(f) for f in o.get("fields") or ())
        where = f"outcome {o['name']!r}"
        for f in arm_fields:
            _check_field(f, f"{where} arm_fields", path, {g.name for g in arm_fields})
        for f in fields:
            _check_field(f, f"{where} fields", path)
        outcomes.append(Outcome(o["name"], o["sheet"], o.get("label") or o["name"], arm_fields, fields,
                                o["__line__"]))
    if not study_fields and not outcomes:
        raise SpecError("the form asks nothing: give study_fields or outcomes", path, raw["__line__"])
    seen: set[str] = set()
    for o in outcomes:
        if o.name in seen:
            raise SpecError(f"two outcomes are named {o.name!r}", path, o.line)
        seen.add(o.name)
    form = Form(raw["form"], arms, study_fields, tuple(outcomes), {}, text)
    defaults = _default_sheets(form, path)
    sheets = dict(defaults)
    if sheets_node is not None:
        sheets.update(_sheet_orders(sheets_node, defaults, {f.name for f in study_fields}, path))
    return Form(raw["form"], arms, study_fields, tuple(outcomes), sheets, text)


def _default_sheets(form: Form, path: str | Path | None) -> dict[str, tuple[str, ...]]:
    study_cols = [f.name for f in form.study_fields]
    sheets: dict[str, list[str]] = {}
    origin: dict[tuple[str, str], Any] = {}
    for o in form.outcomes:
        cols = sheets.setdefault(o.sheet, ["study", *study_cols, "outcome"])
        new = [f"{f.name}_{arm}" for arm in form.arms for f in o.arm_fields] + [f.name for f in o.fields]
        for c in new:
            if c in study_cols or c in _RESERVED:
                raise SpecError(f"outcome {o.name!r}: column {c!r} is also a study column of sheet "
                                f"{o.sheet!r}", path, o.line)
            if c in cols and origin.get((o.sheet, c)) is not None:
                continue  # several outcomes of a sheet share its columns (e_t of THA and of collapse)
            origin[(o.sheet, c)] = o.name
            cols.append(c)
    return {k: tuple(v) for k, v in sheets.items()}


def _sheet_orders(node: yaml.Node, defaults: dict[str, tuple[str, ...]], study_columns: set[str],
                  path: str | Path | None) -> dict[str, tuple[str, ...]]:
    if not isinstance(node, yaml.MappingNode):
        raise SpecError("sheets must be a mapping of sheet names to column lists", path, node.start_mark.line + 1)
    out = {}
    for key_node, value_node in node.value:
        name, line = key_node.value, key_node.start_mark.line + 1
        if name not in defaults:
            raise SpecError(f"sheet {name!r} holds no outcome (sheets of the outcomes: "
                            f"{', '.join(defaults) or 'none'})", path, line)
        columns = validate_node(value_node, "list[str]", f"sheets.{name}", path)
        extra = [c for c in columns if c not in defaults[name]]
        if extra:
            raise SpecError(f"sheets.{name}: column {extra[0]!r} is not a column of the form for this "
                            f"sheet ({', '.join(defaults[name])})", path, line)
        missing = [c for c in defaults[name] if c not in columns and c not in study_columns]
        if missing:
            raise SpecError(f"sheets.{name} leaves out column {missing[0]!r}; list every column of the "
                            "sheet's outcomes once (study fields may be left out)", path, line)
        dup = next((c for c in columns if columns.count(c) > 1), None)
        if dup is not None:
            raise SpecError(f"sheets.{name} lists column {dup!r} twice", path, line)
        out[name] = tuple(columns)
    return out


def read_form(path: str | Path) -> Form:
    """Read and validate the extraction form at ``path`` (see :func:`parse_form`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read the form: {exc}", path) from exc
    return parse_form(text, path)
