"""Malformed, truncated and inconsistent RevMan files give errors naming the element and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from metakit.errors import MetakitWarning
from metakit.io import RevManError, read_revman, read_rm5
from metakit.io.revman_xml import decode

DATA = Path(__file__).parent / "data"
FLEISS = (DATA / "Fleiss1993.rm5").read_text(encoding="latin-1")


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _write(tmp_path, text: str, name="x.rm5") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode("latin-1"))
    return p


def test_truncated_file_names_open_element(tmp_path):
    lines = FLEISS.splitlines(keepends=True)
    start = _line_of(FLEISS, "<DICH_OUTCOME ")
    cut = "".join(lines[: start + 3])  # the outcome, its NAME and labels, then the file ends
    with pytest.raises(RevManError, match=rf"element <DICH_OUTCOME>: malformed XML: the file ends before "
                                          rf"<DICH_OUTCOME> \(opened on line {start}\) is closed: truncated"):
        read_rm5(_write(tmp_path, cut))


def test_truncated_mid_tag(tmp_path):
    cut = FLEISS[: FLEISS.index('EVENTS_1="102"')]
    line = _line_of(FLEISS, 'EVENTS_1="102"')
    with pytest.raises(RevManError, match=rf"line {line}, element <DICH_OUTCOME>: malformed XML: the file ends "
                                          r"before <DICH_OUTCOME> \(opened on line \d+\) is closed: truncated"):
        read_rm5(_write(tmp_path, cut))


def test_mismatched_tag_names_line(tmp_path):
    bad = FLEISS.replace("</GROUP_LABEL_2>", "</GROUP_LABEL_1>", 1)
    line = _line_of(FLEISS, "</GROUP_LABEL_2>")
    with pytest.raises(RevManError, match=rf"line {line}, element <GROUP_LABEL_2>: malformed XML: mismatched tag"):
        read_rm5(_write(tmp_path, bad))


def test_bad_number_names_element_attribute_line_and_study(tmp_path):
    bad = FLEISS.replace('EVENTS_1="102"', 'EVENTS_1="1O2"')
    line = _line_of(FLEISS, 'EVENTS_1="102"')
    with pytest.raises(RevManError, match=rf"line {line}, element <DICH_DATA>, attribute EVENTS_1, "
                                          rf"study 'MRC-2': not a number: '1O2'"):
        read_rm5(_write(tmp_path, bad))


def test_unknown_study_id(tmp_path):
    bad = FLEISS.replace('STUDY_ID="STD-GASP" TOTAL_1', 'STUDY_ID="STD-NOPE" TOTAL_1')
    with pytest.raises(RevManError,
                       match=r"element <DICH_DATA>, attribute STUDY_ID: STUDY_ID 'STD-NOPE' names no study"):
        read_rm5(_write(tmp_path, bad))


def test_missing_count_of_an_estimable_study_named_when_pooled(tmp_path):
    bad = FLEISS.replace('EVENTS_1="32" ', "")  # GASP loses its events
    line = _line_of(FLEISS, 'EVENTS_1="32"')
    review = read_rm5(_write(tmp_path, bad))
    with pytest.raises(RevManError, match=rf"line {line}, element <DICH_DATA>, attribute EVENTS_1, study 'GASP'"):
        review.outcome("1.1").meta()


def test_unknown_effect_measure(tmp_path):
    bad = FLEISS.replace('EFFECT_MEASURE="OR"', 'EFFECT_MEASURE="XY"')
    with pytest.raises(RevManError, match=r"element <DICH_OUTCOME>, attribute EFFECT_MEASURE: effect measure 'XY'"):
        read_rm5(_write(tmp_path, bad))


def test_not_a_review(tmp_path):
    with pytest.raises(RevManError, match=r"line 2, element <foo>: not a RevMan 5 review"):
        read_rm5(_write(tmp_path, '<?xml version="1.0"?>\n<foo/>\n'))
    with pytest.raises(RevManError, match="malformed XML"):
        read_revman(_write(tmp_path, "<", name="y.rm5"))


def test_decode_rules():
    # declared ISO-8859-1 but Windows "smart" bytes: decoded as Windows-1252
    assert decode(b'<?xml version="1.0" encoding="ISO-8859-1"?><a n="\x93x\x94"/>').endswith("\u201cx\u201d\"/>")
    # declared UTF-8
    assert decode('<?xml version="1.0" encoding="UTF-8"?><a n="é"/>'.encode()).endswith('"é"/>')
    with pytest.raises(RevManError, match="declares UTF-8"):
        decode(b'<?xml version="1.0" encoding="UTF-8"?><a n="\xe9"/>')


def test_bytes_and_path_read_alike():
    raw = (DATA / "Fleiss1993.rm5").read_bytes()
    a, b = read_revman(raw), read_revman(DATA / "Fleiss1993.rm5")
    assert a.source == "<bytes>" and a.title == b.title
    assert a.outcome("1.1").data.equals(b.outcome("1.1").data)


def test_log_data_decides_whether_a_generic_measure_is_a_ratio(tmp_path):
    """RevMan 5 User Guide: "Entered data are on log scale" decides whether results are shown
    as ratios; with LOG_DATA="NO" a "Hazard Ratio" outcome is pooled on the scale entered."""
    text = (DATA / "synthetic.rm5").read_bytes().replace(b'LOG_DATA="YES"', b'LOG_DATA="NO"')
    with pytest.warns(MetakitWarning, match="risk-of-bias judgement"):
        o = read_rm5(text).outcome("1.6")
    assert o.measure == "Hazard Ratio" and not o.ratio
    assert list(o.data["estimate"].iloc[:5]) == [0.75, 0.82, 0.60, 0.95, 0.70]
    w = 1 / o.estimable["se"] ** 2
    assert abs(o.meta().estimate - (w * o.estimable["estimate"]).sum() / w.sum()) < 1e-14
