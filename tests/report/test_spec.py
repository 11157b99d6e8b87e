"""The review file's schema: every error names the line of the offending key or value."""

from __future__ import annotations

import pytest

from metakit.report.spec import SpecError, parse_spec, read_spec
from metakit.report.starter import STARTER_YAML

GOOD = """\
title: T
sheets:
  s: data.csv
outcomes:
  - id: a
    name: A
    sheet: s
    measure: OR
"""


def _error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_spec(text, path="review.yaml")
    return info.value


def test_a_minimal_file_gets_the_documented_defaults():
    spec = parse_spec(GOOD)
    o = spec.outcomes[0]
    assert (o.model, o.tau2, o.ci, o.prediction, o.noun, o.line) == ("random", None, "z", True, "a", 5)


def test_unknown_top_level_key_names_its_line():
    err = _error(GOOD + "netwrok: {}\n")
    assert err.line == 9 and "unknown key 'netwrok'" in str(err) and "review.yaml, line 9" in str(err)


def test_unknown_key_inside_an_outcome_names_its_line():
    err = _error(GOOD.replace("    measure: OR\n", "    measure: OR\n    tau: DL\n"))
    assert err.line == 9 and "'tau'" in str(err) and "outcomes[1]" in str(err)


def test_a_value_outside_its_choices_names_its_line():
    err = _error(GOOD.replace("measure: OR", "measure: HR"))
    assert err.line == 8 and "outcomes[1].measure must be one of" in str(err)


@pytest.mark.parametrize("line, bad, expect", [
    (5, "  - id: a\n    name: A\n    sheet: s\n    measure: OR\n    prediction: maybe\n", "true or false"),
    (5, "  - id: a\n    name: A\n    sheet: s\n    measure: OR\n    subgroups: {a: b}\n", "list of column names"),
    (5, "  - id: a\n    name: A\n    sheet: s\n    measure: [OR]\n", "must be text"),
])
def test_wrong_types_name_their_line(line, bad, expect):
    text = "title: T\nsheets:\n  s: data.csv\noutcomes:\n" + bad
    err = _error(text)
    assert expect in str(err)
    assert err.line == text.splitlines().index(next(x for x in text.splitlines()
                                                     if x.strip().startswith(("prediction", "subgroups",
                                                                              "measure: [")))) + 1


def test_missing_required_key_names_the_mapping_line():
    err = _error(GOOD.replace("    sheet: s\n", ""))
    assert err.line == 5 and "lacks the required key 'sheet'" in str(err)


def test_an_outcome_naming_an_unknown_sheet():
    err = _error(GOOD.replace("sheet: s", "sheet: t"))
    assert err.line == 5 and "sheet 't' is not among the sheets" in str(err)


def test_duplicate_outcome_ids_and_prisma_needing_one_source():
    twice = GOOD + "  - id: a\n    name: B\n    sheet: s\n    measure: RR\n"
    assert _error(twice).line == 5
    err = _error(GOOD + "prisma:\n  counts: c.yaml\n  store: r.db\n")
    assert err.line == 10 and "exactly one" in str(err)


def test_invalid_yaml_names_its_line():
    err = _error("title: T\nsheets: [a\n")
    assert err.line is not None and "not valid YAML" in str(err)


def test_a_missing_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="cannot read"):
        read_spec(tmp_path / "nope.yaml")


def test_the_starter_file_of_metakit_init_is_valid():
    spec = parse_spec(STARTER_YAML)
    assert [o.id for o in spec.outcomes] == ["primary", "function"]
    assert spec.rob is None and spec.characteristics["totals"] == ["n_t", "n_c"]
    uncommented = STARTER_YAML.replace("# rob:", "rob:").replace("#   file:", "  file:").replace(
        "#   tool:", "  tool:").replace("#   note:", "  note:").replace("# prisma:", "prisma:").replace(
        "#   counts:", "  counts:")
    spec = parse_spec(uncommented)
    assert spec.rob["tool"] == "rob2" and spec.prisma["counts"].name == "prisma.yaml"


def test_output_formats_default_to_html_and_add_the_ones_listed():
    assert parse_spec(GOOD).formats == ("html",) and parse_spec(GOOD).docx_figures is False
    spec = parse_spec(GOOD + "output:\n  formats: [docx, pdf, docx]\n  docx_figures: true\n")
    assert spec.formats == ("html", "docx", "pdf") and spec.docx_figures is True
    assert parse_spec(GOOD + "output: {formats: pdf}\n").formats == ("html", "pdf")


def test_an_unknown_output_format_names_its_own_line():
    err = _error(GOOD + "output:\n  formats:\n    - pdf\n    - rtf\n")
    assert err.line == 12 and "output.formats[2] must be one of html, pdf, docx; got 'rtf'" in str(err)
    err = _error(GOOD + "output:\n  formats: [pdf]\n  docx_figure: true\n")
    assert err.line == 11 and "unknown key 'docx_figure' in output" in str(err)
    err = _error(GOOD + "output:\n  docx_figures: maybe\n")
    assert err.line == 10 and "output.docx_figures must be true or false" in str(err)


def test_prisma_store_is_a_file_beside_the_review_or_a_database_url():
    spec = parse_spec(GOOD + "prisma:\n  store: review.db\n")
    assert spec.prisma["store"].name == "review.db" and spec.prisma["store"].is_absolute()
    url = "postgresql://team@db.example.org/onfh"
    assert parse_spec(GOOD + f"prisma:\n  store: {url}\n").prisma["store"] == url
