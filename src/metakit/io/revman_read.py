"""Reading RevMan 5 reviews: ``.rm5`` files and RevMan's CSV data export, told apart by content.

The data model and the rules for ambiguous files are in :mod:`metakit.io.revman`; the
parsers in :mod:`metakit.io.revman_rm5` and :mod:`metakit.io.revman_csv`.
"""

from __future__ import annotations

from pathlib import Path

from metakit.io import revman_csv, revman_rm5
from metakit.io.revman import RevManReview

__all__ = ["read_revman", "read_rm5", "read_revman_csv"]


def read_rm5(source: str | Path | bytes) -> RevManReview:
    """Read a RevMan 5 review file (``.rm5``): a path, or the file's bytes.

    Raises
    ------
    RevManError
        A malformed or truncated file, or a bad value, naming the element and line.

    Examples
    --------
    >>> import math
    >>> review = read_rm5(EXAMPLE)
    >>> o = review.outcome("1.1")
    >>> o.name, o.measure, o.method, o.model
    ('Death', 'RR', 'MH', 'common')
    >>> o.data[["study", "e_t", "n_t", "e_c", "n_c"]].values.tolist()
    [['A', 4.0, 50.0, 9.0, 50.0], ['B', 6.0, 60.0, 10.0, 58.0]]
    >>> round(math.exp(o.meta().estimate), 4)  # (4*50/100 + 6*58/118) / (9*50/100 + 10*60/118)
    0.5164
    """
    return revman_rm5.read(source)


def read_revman_csv(source: str | Path | bytes) -> RevManReview:
    """Read RevMan 5's CSV data export ("File > Export > Data and analyses").

    The export must include Comparison Number, Outcome Number, Subgroup Number and Name;
    other fields are read when present. RevMan rounds the stored results in the CSV to
    8 significant digits.

    Raises
    ------
    RevManError
        Missing mandatory fields or a bad value, naming the line and field.
    """
    return revman_csv.read(source)


def read_revman(source: str | Path | bytes) -> RevManReview:
    """Read a RevMan review: ``.rm5`` (XML) or its CSV data export, told apart by content.

    The study rows (:attr:`RevManOutcome.data`, and :attr:`RevManReview.data` for all
    outcomes) have the columns ``comparison_no``, ``outcome_no``, ``outcome_id``,
    ``outcome``, ``type``, ``study_id``, ``study``, ``year``, ``order``, ``estimable``,
    ``subgroup_no``, ``subgroup``; the data: ``e_t``, ``n_t``, ``e_c``, ``n_c``
    (dichotomous), ``m_t``, ``sd_t``, ``m_c``, ``sd_c`` (continuous), ``estimate``, ``se``
    (generic, analysis scale), ``o_e``, ``var`` (O-E); RevMan's own study results
    ``revman_effect``, ``revman_se``, ``revman_ci_lb``, ``revman_ci_ub``,
    ``revman_weight``; and ``line``, where the row is in the file. ``_t`` is RevMan's group
    1 (experimental), ``_c`` group 2: the column names :func:`metakit.effect_sizes` expects.

    Examples
    --------
    >>> import metakit as mk
    >>> o = read_revman(EXAMPLE).outcome("1.1")
    >>> es = mk.effect_sizes(o.estimable, "RR")  # the tidy rows feed the engine directly
    >>> fit = mk.meta(es, model="common", convention="revman")
    >>> # by hand: RR_MH = R/S, var(log RR_MH) = P/(R S) (Greenland & Robins 1985)
    >>> print(o.compare(fit).query("kind == 'pooled'")[["statistic", "metakit"]].head(3).round(4)
    ...       .to_string(index=False))
    statistic  metakit
     estimate   0.5164
        ci_lb   0.2516
        ci_ub   1.0596
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    head = data[:200].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<"):
        return read_rm5(data if isinstance(source, bytes) else source)
    return read_revman_csv(data if isinstance(source, bytes) else source)


# A two-study review for the examples above.


EXAMPLE = (b'<?xml version="1.0" encoding="ISO-8859-1"?><COCHRANE_REVIEW><COVER_SHEET><TITLE>Example</TITLE>'
           b'</COVER_SHEET><STUDIES_AND_REFERENCES><STUDIES><INCLUDED_STUDIES>'
           b'<STUDY ID="S1" NAME="A" YEAR="2000"/><STUDY ID="S2" NAME="B" YEAR="2001"/>'
           b'</INCLUDED_STUDIES></STUDIES></STUDIES_AND_REFERENCES><ANALYSES_AND_DATA>'
           b'<COMPARISON NO="1"><NAME>X versus Y</NAME><DICH_OUTCOME NO="1" ID="CMP-001.01" '
           b'EFFECT_MEASURE="RR" METHOD="MH" RANDOM="NO"><NAME>Death</NAME>'
           b'<DICH_DATA STUDY_ID="S1" EVENTS_1="4" TOTAL_1="50" EVENTS_2="9" TOTAL_2="50"/>'
           b'<DICH_DATA STUDY_ID="S2" EVENTS_1="6" TOTAL_1="60" EVENTS_2="10" TOTAL_2="58"/>'
           b'</DICH_OUTCOME></COMPARISON></ANALYSES_AND_DATA></COCHRANE_REVIEW>')
