"""Finding duplicate records: identifiers first, then fuzzy bibliographic matching.

The method
----------
1. **Normalise** every record (:mod:`metakit.review.normalise`): DOI, PMID, title
   (case, accents, punctuation, HTML, Greek letters, British/American spelling,
   MEDLINE brackets), first-author surname, year, journal, volume, first page and page
   range (spreadsheet damage repaired), and the *publication kind*: article,
   erratum/correction, retraction notice, comment, reply. Records of different kinds
   are never merged, however similar their titles. The one allowance: a record with
   no publication type at all may join an erratum (comment ...) that only its types
   mark as such, when both sit on the same first page of the same volume.
2. **Block** (candidate pairs in O(n)): sorted-neighbourhood windows over the title,
   the reversed title, and exact keys (DOI; PMID; surname + year; year + volume +
   first page; surname + first page; journal initials + volume + first page; journal
   initials + first page). Only pairs inside a window are compared (the
   sorted-neighbourhood method of Hernández and Stolfo, SIGMOD 1995), so 100,000
   records give about 1.4 million pairs instead of 5 billion.
3. **Compare** each pair, vectorised (rapidfuzz ``cpdist``): title similarity (Indel
   ratio) and common-prefix length (truncated titles), surname similarity, year,
   volume, page and journal agreement. The rules (:func:`classify_pairs`) accept a pair
   when DOI or PMID agree and nothing contradicts them; when the title matches and
   author, year (within one), volume and pages agree or are missing; when journal,
   volume, first page and year agree and so do the authors, or the titles and names
   are in different scripts (translations). Different DOIs or different PMIDs always
   mean different publications.
4. **Group** accepted pairs into connected components. A component that holds two
   DOIs, two PMIDs, two first pages, two volumes or a pair marked distinct by hand was
   chained through records missing those fields; it is rebuilt strongest pair first
   (union-find) without joining groups that disagree, so a chain of matches cannot
   join two publications. Each group keeps its most complete record (most fields
   filled, then the longest abstract, then the first imported); every other member
   gets a decision with the reason and score of its strongest match.

Example
-------
>>> import pandas as pd
>>> frame = pd.DataFrame({
...     "title": ["Aspirin after stroke: a randomised trial",
...               "ASPIRIN AFTER STROKE - A RANDOMIZED TRIAL.",
...               "Erratum: Aspirin after stroke: a randomised trial"],
...     "authors": [["Smith, J."], ["Smith J"], ["Smith, J."]],
...     "year": [2019, 2019, 2019], "doi": [None, None, None]})
>>> find_duplicates(frame).decisions[["record_id", "duplicate_of"]].values.tolist()
[[1, 0]]
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metakit.errors import DataError
from metakit.review import normalise as nz

__all__ = ["DedupReport", "DedupResult", "classify_pairs", "find_duplicates", "prepare",
           "candidate_pairs", "thresholds_from"]

_GENERIC_TYPES = {"article", "journal article", "jour", "journal", "misc", "research article",
                  "original article", "research support, non-u.s. gov't"}
_FIELDS = ("title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
           "abstract", "pub_types")


# ------------------------------------------------------------------------ prepare
@dataclass(frozen=True)
class Prepared:
    """Normalised fields as arrays, one entry per record (position, not id)."""

    ids: np.ndarray
    kind: np.ndarray
    untyped: np.ndarray      # no publication type beyond "article": kind from title only
    by_type: np.ndarray      # kind set by a publication type, not by the title
    doi: np.ndarray          # int code, -1 missing
    doi_alt: np.ndarray      # a JSTOR (10.2307) or SICI DOI: often a second DOI of an article
    pmid: np.ndarray
    title: np.ndarray        # object array of normalised titles
    title_len: np.ndarray
    title_digits: np.ndarray  # int code of the numbers in the title ("2019", "part 2")
    latin: np.ndarray        # title written in Latin script
    surname: np.ndarray      # object array
    surname_code: np.ndarray
    surname_latin: np.ndarray
    year: np.ndarray         # float, NaN missing
    journal: np.ndarray      # object array of normalised journals
    jsig: np.ndarray         # int code of journal initials, -1 missing
    volume: np.ndarray       # int code, -1 missing
    page: np.ndarray         # int code of first page, -1 missing
    page_range: np.ndarray   # int code of "first-last" page, -1 missing
    page_electronic: np.ndarray  # first page is an article number such as e57942
    page_span: np.ndarray    # last page - first page of a numeric range, -1 missing
    page_one: np.ndarray     # first page is 1 (an online-first article's own paging)
    abstract_like: np.ndarray  # conference/meeting abstract or in a supplement
    completeness: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ids)


def _codes(values: Sequence[str]) -> np.ndarray:
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), sort=True)
    codes = codes.astype(np.int64)
    if len(uniques) and uniques[0] == "":  # sorted: the empty string comes first
        codes[codes == 0] = -1
    return codes


def _col(frame: pd.DataFrame, name: str) -> list:
    if name not in frame:
        return [None] * len(frame)
    col = frame[name].astype(object)
    return col.where(col.notna(), None).tolist()


def _as_list(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        if v == "[]":
            return []
        return json.loads(v) if v.startswith("[") else [v]
    return list(v)


def _per_unique(func, values: Sequence, default: Any) -> list:
    """``[func(v) for v in values]``, calling ``func`` once per distinct value.

    Journals, volumes, pages, type lists and surnames repeat across a review's records.
    """
    values = [tuple(v) if isinstance(v, list) else v for v in values]
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    mapped = np.array([func(u) for u in uniques] + [default], dtype=object)
    return mapped[codes].tolist()


_DIGITS = re.compile(r"\d+")
_FIRST_JSON = re.compile(r'\["((?:[^"\\]|\\.)*)"')


def _first_author(value: Any) -> str | None:
    """The first author from a list or its JSON text, without decoding the whole list."""
    if value is None:
        return None
    if not isinstance(value, str):
        return next((a for a in value if a), None)
    m = _FIRST_JSON.match(value)
    if m is None:
        return None
    name = m.group(1)
    return json.loads(f'"{name}"') if "\\" in name else name


def _types_info(value: Any) -> tuple[int, bool, bool]:
    """(kind the types declare or -1, whether the types say nothing beyond "article",
    whether they call it a conference or meeting abstract)."""
    types = _as_list(value)
    kind = nz.kind_from_types(types)
    generic = all(x.strip().casefold() in _GENERIC_TYPES for x in types)
    abstract = any("abstract" in x.casefold() and "english abstract" not in x.casefold()
                   for x in types)
    return (-1 if kind is None else kind), generic, abstract


def _in_supplement(value: Any) -> bool:
    return value is not None and "suppl" in str(value).casefold()


def prepare(frame: pd.DataFrame) -> Prepared:
    """Normalise a records frame (columns as in :meth:`Project.records`; index = id)."""
    n = len(frame)
    titles_raw = _col(frame, "title")
    titles = [nz.norm_title(t) for t in titles_raw]
    journals = _per_unique(nz.norm_journal, _col(frame, "journal"), "")
    first_authors = [_first_author(a) for a in _col(frame, "authors")]
    surnames = _per_unique(lambda a: nz.first_author_surname([a]), first_authors, "")
    years = np.array([float(y) if y is not None else np.nan for y in _col(frame, "year")])
    filled = np.zeros(n)
    for name in ("title", "journal", "volume", "issue", "pages", "doi", "pmid"):
        if name in frame:
            col = frame[name]
            filled += (col.notna() & (col.astype(object) != "")).to_numpy(dtype=float)
    filled += np.fromiter((a is not None for a in first_authors), float, n)
    filled += ~np.isnan(years)
    if "abstract_len" in frame:  # the store sends lengths, not texts
        abstract_len = frame["abstract_len"].fillna(0).to_numpy(dtype=float)
    else:
        abstract_len = np.fromiter((len(a) if a else 0 for a in _col(frame, "abstract")),
                                   float, n)
    filled += abstract_len > 0
    title_kind = np.fromiter((nz.kind_from_title(t) for t in titles_raw), np.int64, n)
    info = _per_unique(_types_info, _col(frame, "pub_types"), (-1, True, False))
    type_kind = np.fromiter((k for k, _, _ in info), np.int64, n)
    generic = np.fromiter((g for _, g, _ in info), bool, n)
    abstract_like = np.fromiter((a for _, _, a in info), bool, n)
    for name in ("issue", "volume"):
        abstract_like |= np.array(_per_unique(_in_supplement, _col(frame, name), False),
                                  dtype=bool)
    from_type = (title_kind == nz.KIND_ARTICLE) & (type_kind >= 0)
    kind = np.where(from_type, type_kind, title_kind)
    first_pages = _per_unique(nz.first_page, _col(frame, "pages"), "")
    ranges = _per_unique(nz.page_range, _col(frame, "pages"), "")
    return Prepared(
        ids=np.asarray(frame.index),
        kind=kind,
        untyped=generic & (kind == nz.KIND_ARTICLE),
        by_type=from_type,
        doi=_codes(dois := [nz.norm_doi(d) for d in _col(frame, "doi")]),
        doi_alt=np.fromiter((d.startswith("10.2307/") or d.endswith("2.0.co;2") for d in dois),
                            bool, n),
        pmid=_codes([nz.norm_pmid(p) for p in _col(frame, "pmid")]),
        title=np.array(titles, dtype=object),
        title_len=np.fromiter((len(t) for t in titles), np.int64, n),
        title_digits=_codes([" ".join(_DIGITS.findall(t)) or "-" for t in titles]),
        latin=np.fromiter((t.isascii() for t in titles), bool, n),
        surname=np.array(surnames, dtype=object),
        surname_code=_codes(surnames),
        surname_latin=np.fromiter((s.isascii() for s in surnames), bool, n),
        year=years,
        journal=np.array(journals, dtype=object),
        jsig=_codes(_per_unique(lambda j: "".join(w[0] for w in j.split()), journals, "")),
        volume=_codes(_per_unique(nz.norm_volume, _col(frame, "volume"), "")),
        page=_codes(first_pages),
        page_electronic=np.fromiter((len(f) >= 4 and f[0].isalpha() and f[1:].isdigit()
                                     for f in first_pages), bool, n),
        page_range=_codes(ranges),
        page_span=np.array(_per_unique(nz.range_span, ranges, -1), dtype=np.int64),
        page_one=np.array([f == "1" for f in first_pages], dtype=bool),
        abstract_like=abstract_like,
        completeness=filled + abstract_len / (1.0 + abstract_len.max(initial=0.0)),
    )


# ----------------------------------------------------------------------- blocking
def _window(order: np.ndarray, key: np.ndarray | None, width: int) -> list[np.ndarray]:
    """Pairs of records at most ``width`` apart in ``order`` (with equal ``key``)."""
    out = []
    for d in range(1, min(width, len(order) - 1) + 1):
        a, b = order[:-d], order[d:]
        if key is not None:
            keep = (key[a] == key[b]) & (key[a] >= 0)
            a, b = a[keep], b[keep]
        out.append(np.stack([a, b]))
    return out


def _combined(*codes: np.ndarray) -> np.ndarray:
    """One int code per record for a tuple of codes; -1 if any part is missing."""
    missing = np.zeros(len(codes[0]), bool)
    key = np.zeros(len(codes[0]), np.int64)
    for c in codes:
        missing |= c < 0
        key = key * (int(c.max(initial=0)) + 2) + (c + 1)
    key[missing] = -1
    return key


def candidate_pairs(p: Prepared, *, title_window: int = 6, key_window: int = 10
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs ``(i, j)``, ``i < j`` (positions), from all blocking schemes."""
    if p.n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    title_code = _codes(list(p.title))
    rev_code = _codes([t[::-1] for t in p.title])
    year_code = np.where(np.isnan(p.year), -1, np.nan_to_num(p.year, nan=0)).astype(np.int64)
    has_title = title_code >= 0
    by_title = np.lexsort((np.arange(p.n), title_code))
    by_title = by_title[has_title[by_title]]
    by_rev = np.lexsort((np.arange(p.n), rev_code))
    by_rev = by_rev[has_title[by_rev]]
    chunks = _window(by_title, None, title_window) + _window(by_rev, None, title_window // 2)
    for key in (p.doi, p.pmid, _combined(p.surname_code, year_code),
                _combined(year_code, p.volume, p.page), _combined(p.surname_code, p.page),
                _combined(p.jsig, p.volume, p.page), _combined(p.jsig, p.page)):
        order = np.lexsort((title_code, key))
        order = order[key[order] >= 0]
        chunks += _window(order, key, key_window)
    pairs = np.concatenate(chunks, axis=1)
    i, j = np.minimum(pairs[0], pairs[1]), np.maximum(pairs[0], pairs[1])
    flat = np.sort(i * p.n + j)  # sort + compare: much faster than np.unique's hashing
    flat = flat[np.concatenate(([True], flat[1:] != flat[:-1]))]
    return flat // p.n, flat % p.n


# --------------------------------------------------------------------- comparison
@dataclass(frozen=True)
class Thresholds:
    """Cut-offs of :func:`classify_pairs` (similarities on a 0-1 scale)."""

    title_strong: float = 0.95      # title alone (with nothing contradicting) suffices
    title: float = 0.88             # title plus agreeing author and bibliographic detail
    title_with_id: float = 0.60     # title when DOI or PMID agree
    author: float = 0.80            # surname similarity counted as agreement
    min_title_len: int = 30         # shorter titles need more agreement
    truncated_min: int = 40         # a prefix this long of the other title = truncation


def thresholds_from(values: dict[str, str | float | int]) -> Thresholds:
    """:class:`Thresholds` with some cut-offs changed, from text (a form, ``--threshold``).

    Similarities must lie in [0, 1] and lengths be whole numbers of at least 1; an
    unknown name or a bad value raises :class:`~metakit.errors.DataError` naming it.

    Examples
    --------
    >>> thresholds_from({"title": "0.9"}).title, thresholds_from({}).title
    (0.9, 0.88)
    """
    defaults = Thresholds()
    changed: dict[str, float | int] = {}
    for name, raw in values.items():
        if name not in Thresholds.__dataclass_fields__:
            raise DataError(f"no dedup threshold {name!r}; thresholds are "
                            f"{', '.join(Thresholds.__dataclass_fields__)}", column=name)
        kind = type(getattr(defaults, name))
        try:
            value = kind(str(raw).strip())
        except ValueError:
            raise DataError(f"threshold {name} must be a {'whole number' if kind is int else 'number'}, "
                            f"got {raw!r}", column=name) from None
        if kind is float and not 0.0 <= value <= 1.0:
            raise DataError(f"threshold {name} is a similarity between 0 and 1, got {value}", column=name)
        if kind is int and value < 1:
            raise DataError(f"threshold {name} is a length of at least 1, got {value}", column=name)
        changed[name] = value
    return Thresholds(**{**defaults.__dict__, **changed})


_TWO_DOIS = "title+author+journal+year+page (two DOIs)"
_ONLINE_FIRST = "title+author+journal (online-first and issue version)"
_REASONS = np.array(["doi", "pmid", "doi+pmid", "title truncated", "title",
                     "title+author+details", "journal+volume+page+year (translated title?)",
                     "title+year+page", _TWO_DOIS, _ONLINE_FIRST], dtype=object)


def classify_pairs(p: Prepared, i: np.ndarray, j: np.ndarray,
                   t: Thresholds = Thresholds()) -> pd.DataFrame:
    """Compare candidate pairs; return evidence, ``duplicate`` flag, ``score``, ``reason``."""
    from rapidfuzz import fuzz
    from rapidfuzz.distance import Prefix
    from rapidfuzz.process import cpdist

    same_kind = p.kind[i] == p.kind[j]
    # A record without publication types is compatible with one whose kind (erratum,
    # comment ...) only its types tell, if they are the same item: same volume and page.
    maybe_kind = ~same_kind & ((p.untyped[i] & p.by_type[j]) | (p.untyped[j] & p.by_type[i]))
    same_item = ((p.page[i] >= 0) & (p.page[i] == p.page[j])
                 & ((p.volume[i] < 0) | (p.volume[j] < 0) | (p.volume[i] == p.volume[j])))
    same_kind = same_kind | (maybe_kind & same_item)
    doi_eq = (p.doi[i] >= 0) & (p.doi[i] == p.doi[j])
    doi_conf = (p.doi[i] >= 0) & (p.doi[j] >= 0) & (p.doi[i] != p.doi[j])
    pmid_eq = (p.pmid[i] >= 0) & (p.pmid[i] == p.pmid[j])
    pmid_conf = (p.pmid[i] >= 0) & (p.pmid[j] >= 0) & (p.pmid[i] != p.pmid[j])
    live = same_kind & ~doi_conf & ~pmid_conf
    # Conference abstracts of one supplement share journal, volume, year, often the page
    # and even the supplement's DOI: only their titles tell them apart.
    abstracts = p.abstract_like[i] | p.abstract_like[j]
    dy = np.abs(p.year[i] - p.year[j])
    year_missing = np.isnan(dy)
    year_eq = dy == 0
    year_ok = year_missing | (dy <= 1)
    page_eq = (p.page[i] >= 0) & (p.page[i] == p.page[j])
    page_conf = (p.page[i] >= 0) & (p.page[j] >= 0) & ~page_eq
    vol_eq = (p.volume[i] >= 0) & (p.volume[i] == p.volume[j])
    vol_conf = (p.volume[i] >= 0) & (p.volume[j] >= 0) & ~vol_eq
    no_conflict = ~page_conf & ~vol_conf
    id_eq = doi_eq | pmid_eq
    # Every rule but the identifier rule needs years within one and, unless the first
    # pages agree, no page or volume conflict: other pairs skip the string comparisons.
    # Two DOIs (a JSTOR/SICI DOI and the publisher's) may name one article when all else
    # agrees; an online-first version may be two years and all its pages off.
    # With a JSTOR or SICI DOI on one side (registries that gave older articles a second
    # DOI), a missing page or year does not hold the match back.
    alt_pair = p.doi_alt[i] | p.doi_alt[j]
    two_dois = (same_kind & doi_conf & ~pmid_conf & ~vol_conf
                & ((page_eq & year_eq) | (alt_pair & ~page_conf & year_ok)))
    near_year = year_missing | (dy <= 2)
    span_i, span_j = p.page_span[i], p.page_span[j]
    restarted = ((p.page_one[i] | p.page_one[j]) & (span_i == span_j) & (span_i >= 0))
    need = ((live & (id_eq | (year_ok & (no_conflict | (page_eq & ~vol_conf)))
                     | (near_year & ~vol_conf & (~page_conf | restarted)))) | two_dois)
    n = len(i)
    title_sim = np.zeros(n)
    prefix = np.zeros(n)
    author_sim = np.zeros(n)
    journal_sim = np.zeros(n)
    if need.any():
        lv = np.flatnonzero(need)
        ti, tj = p.title[i[lv]].tolist(), p.title[j[lv]].tolist()
        title_sim[lv] = cpdist(ti, tj, scorer=fuzz.ratio, workers=-1) / 100.0
        prefix[lv] = cpdist(ti, tj, scorer=Prefix.similarity, workers=-1)
        # surnames and journals only where their codes differ (equal codes: equal text)
        sa, sb = p.surname_code[i[lv]], p.surname_code[j[lv]]
        author_sim[lv] = (sa == sb) & (sa >= 0)
        dv = lv[(sa != sb) & (sa >= 0) & (sb >= 0)]
        author_sim[dv] = cpdist(p.surname[i[dv]].tolist(), p.surname[j[dv]].tolist(),
                                scorer=fuzz.ratio, workers=-1) / 100.0
        ja, jb = p.jsig[i[lv]], p.jsig[j[lv]]
        journal_sim[lv] = (ja == jb) & (ja >= 0)
        dj = lv[(ja != jb) & (ja >= 0) & (jb >= 0)]
        journal_sim[dj] = cpdist(p.journal[i[dj]].tolist(), p.journal[j[dj]].tolist(),
                                 scorer=fuzz.token_set_ratio, workers=-1) / 100.0
    li, lj = p.title_len[i], p.title_len[j]
    has_titles = (li > 0) & (lj > 0)
    shorter = np.minimum(li, lj)
    truncated = has_titles & (shorter >= t.truncated_min) & (prefix >= shorter - 1)
    title_sim[~has_titles] = 0.0

    sa, sb = p.surname_code[i], p.surname_code[j]
    # Names in different scripts (王 vs Wang) cannot be compared: treated as missing.
    author_missing = (sa < 0) | (sb < 0) | (p.surname_latin[i] != p.surname_latin[j])
    author_eq = ~author_missing & ((sa == sb) | (author_sim >= t.author))
    author_ok = author_missing | author_eq
    jsig_eq = (p.jsig[i] >= 0) & (p.jsig[i] == p.jsig[j])
    journal_eq = jsig_eq | (journal_sim >= 0.9)
    journal_missing = (p.jsig[i] < 0) | (p.jsig[j] < 0)
    script_differs = has_titles & (p.latin[i] != p.latin[j])
    # A Chinese or Japanese character carries about a word: count it as three letters.
    shorter_eff = np.minimum(np.where(p.latin[i], li, 3 * li), np.where(p.latin[j], lj, 3 * lj))
    long_title = shorter_eff >= t.min_title_len

    by_id = live & id_eq & (
        (title_sim >= np.where(abstracts & ~script_differs, t.title, t.title_with_id))
        | truncated | ~has_titles
        | (year_ok & ~page_conf & (page_eq | script_differs | author_eq)
           & (~abstracts | script_differs)))
    title_match = (title_sim >= t.title_strong) | truncated
    by_title_strong = (live & title_match & long_title & author_ok & year_ok & no_conflict
                       & (author_eq | year_eq | page_eq | (vol_eq & journal_eq)))
    detail = page_eq | (vol_eq & (journal_eq | journal_missing)) | (year_eq & journal_eq)
    by_title = (live & (title_sim >= t.title) & author_eq & year_ok & no_conflict & detail
                & (long_title | (year_eq & (page_eq | journal_eq))))
    # Same journal, volume, first page and year: the same item, whatever the title says
    # (translations); first authors must agree unless written in different scripts.
    # A full page range or an electronic article number pins an item down in a journal
    # year even without the volume.
    range_eq = ((p.page_range[i] >= 0) & (p.page_range[i] == p.page_range[j])
                | (page_eq & p.page_electronic[i]))
    # Translated titles in one script (German and English) are told from two abstracts
    # on one supplement page by the abstracts rule, and from other papers by the full
    # page range where a volume is missing.
    by_biblio = live & year_ok & page_eq & journal_eq & (~abstracts | script_differs) & (
        (vol_eq & (author_eq | (author_missing & script_differs)))
        | (range_eq & year_eq & ~vol_conf & (author_eq | (author_missing & script_differs))))
    # Near-identical long title in the same year on the same page: a garbled first
    # author ("C?t?" for "Côté") does not make it another paper.
    by_title_page = live & (title_sim >= 0.97) & long_title & year_eq & page_eq & ~vol_conf
    # Annual guidelines ("... in Diabetes-2019", "-2021") differ only in their numbers.
    title_match_any = (title_match & long_title & author_eq & journal_eq & ~abstracts
                       & (p.title_digits[i] == p.title_digits[j]))
    by_two_dois = two_dois & title_match_any
    # Online-first and issue versions: pages 1-12 against 455-466 (same length), or no
    # page conflict at all, within two years.
    by_online_first = (live & title_match_any & near_year & ~vol_conf
                       & (~page_conf | restarted) & ~(year_ok & no_conflict))
    duplicate = (by_id | by_title_strong | by_title | by_biblio | by_title_page
                 | by_two_dois | by_online_first)

    reason_code = np.select(
        [doi_eq & pmid_eq & by_id, doi_eq & by_id, pmid_eq & by_id,
         by_title_strong & truncated & (title_sim < t.title_strong), by_title_strong,
         by_title, by_biblio, by_title_page, by_two_dois, by_online_first],
        [2, 0, 1, 3, 4, 5, 6, 7, 8, 9], default=-1)
    score = np.where(
        id_eq & by_id, np.maximum(title_sim, 0.99),
        0.6 * np.maximum(title_sim, truncated.astype(float)) + 0.15 * author_sim
        + 0.1 * year_eq + 0.15 * (page_eq | vol_eq))
    return pd.DataFrame({
        "i": i, "j": j, "duplicate": duplicate, "score": np.round(score, 4),
        "reason": np.where(reason_code >= 0, _REASONS[np.maximum(reason_code, 0)], ""),
        "title_sim": title_sim, "truncated": truncated, "author_sim": author_sim,
        "year_diff": dy, "doi_eq": doi_eq, "pmid_eq": pmid_eq, "page_eq": page_eq,
        "kind_differs": ~same_kind, "id_conflict": doi_conf | pmid_conf,
        "abstracts": abstracts,
    })


# ------------------------------------------------------------------------ grouping
_ID_REASONS = ("doi", "pmid", "doi+pmid")


def _group(p: Prepared, pairs: pd.DataFrame,
           distinct: Sequence[tuple[int, int]]) -> np.ndarray:
    """Group label of each record: connected components of the accepted pairs.

    A component holding two DOIs, two PMIDs, two first pages or two volumes, or a pair
    marked distinct, was chained together through records that lack those fields; it
    is rebuilt by :func:`_constrained_union`, strongest pair first, so that it splits.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if pairs.empty:
        return np.arange(p.n)
    a, b = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(p.n, p.n))
    _, comp = connected_components(graph, directed=False)
    fields = {"doi": p.doi, "pmid": p.pmid, "page": p.page, "volume": p.volume}
    ids = pd.DataFrame({"comp": comp, **fields})
    bad: set[int] = set()
    for col in fields:
        known = ids[ids[col] >= 0]
        per = known.groupby("comp")[col].nunique()
        bad.update(per.index[per > 1].tolist())
    bad.update(int(comp[x]) for x, y in distinct if comp[x] == comp[y])
    if not bad:
        return comp
    labels = comp.copy()
    in_bad = np.isin(comp[a], list(bad))
    sub = _constrained_union(p, pairs[in_bad], distinct)
    members = np.flatnonzero(np.isin(comp, list(bad)))
    labels[members] = p.n + sub[members]  # offset keeps the labels apart
    return labels


def _constrained_union(p: Prepared, pairs: pd.DataFrame,
                       distinct: Iterable[tuple[int, int]]) -> np.ndarray:
    """Union-find over accepted pairs, strongest first, under cannot-link constraints.

    Two groups never join when they hold different DOIs or PMIDs or a pair marked
    distinct; nor, unless the joining pair shares an identifier, when their first pages
    or their volumes disagree. Returns the root position of each record. Only the
    pairs of conflicting components come here, so the Python loop stays short.
    """
    parent = np.arange(p.n)
    single = {"doi": p.doi, "pmid": p.pmid}
    soft = {"page": p.page, "volume": p.volume}
    held: dict[str, dict[int, set[int]]] = {
        k: {int(x): {int(v[x])} for x in np.flatnonzero(v >= 0)}
        for k, v in {**single, **soft}.items()}
    members: dict[int, set[int]] = {}
    forbid: dict[int, set[int]] = {}
    for a, b in distinct:
        forbid.setdefault(a, set()).add(b)
        forbid.setdefault(b, set()).add(a)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def clash(key: str, ra: int, rb: int, disjoint: bool) -> bool:
        va, vb = held[key].get(ra), held[key].get(rb)
        if va is None or vb is None:
            return False
        return va.isdisjoint(vb) if disjoint else va != vb

    order = pairs.sort_values(["score", "i", "j"], ascending=[False, True, True])
    reasons = order["reason"].to_numpy()
    by_id = np.isin(reasons, _ID_REASONS)
    # The rule that accepted a pair despite two DOIs (or two first pages) lets that pair,
    # and only it, join groups holding them.
    two_dois = reasons == _TWO_DOIS
    online_first = reasons == _ONLINE_FIRST
    for a, b, id_edge, dois_ok, pages_ok in zip(order["i"].to_numpy(), order["j"].to_numpy(),
                                                by_id, two_dois, online_first):
        ra, rb = find(int(a)), find(int(b))
        if ra == rb:
            continue
        ma, mb = members.get(ra, {ra}), members.get(rb, {rb})
        if len(ma) < len(mb):  # union by size keeps the member sets cheap
            ra, rb, ma, mb = rb, ra, mb, ma
        if ((not dois_ok and clash("doi", ra, rb, True)) or clash("pmid", ra, rb, True)
                or (ra in forbid and forbid[ra] & mb)
                or (not (id_edge or pages_ok) and clash("page", ra, rb, True))
                or (not id_edge and clash("volume", ra, rb, True))):
            continue
        parent[rb] = ra
        members[ra] = ma | mb
        members.pop(rb, None)
        for table in held.values():
            if rb in table:
                table.setdefault(ra, set()).update(table.pop(rb))
        if rb in forbid:
            forbid[ra] = forbid.get(ra, set()) | forbid.pop(rb)
    return np.array([find(k) for k in range(p.n)])


# ----------------------------------------------------------------------- results
@dataclass(frozen=True)
class DedupResult:
    """Duplicates found among a set of records (nothing stored).

    Attributes
    ----------
    decisions
        One row per removed record: ``record_id``, ``duplicate_of`` (the kept record),
        ``reason``, ``score``, ``matched`` (the record its strongest match was with).
    pairs
        Every compared candidate pair with its evidence (record ids in ``id_i``,
        ``id_j``).
    n_records, n_candidates
        Records considered and candidate pairs compared.
    seconds
        Wall time of the search.
    """

    decisions: pd.DataFrame
    pairs: pd.DataFrame
    n_records: int
    n_candidates: int
    seconds: float

    def duplicate_pairs(self) -> set[tuple[Any, Any]]:
        """All pairs of records in the same group, as ``(smaller id, larger id)``."""
        out: set[tuple[Any, Any]] = set()
        for keeper, grp in self.decisions.groupby("duplicate_of"):
            ids = sorted([keeper, *grp["record_id"]])
            out.update((a, b) for k, a in enumerate(ids) for b in ids[k + 1:])
        return out


def find_duplicates(frame: pd.DataFrame, *, distinct: Iterable[tuple[Any, Any]] = (),
                    thresholds: Thresholds = Thresholds(), title_window: int = 6,
                    key_window: int = 10) -> DedupResult:
    """Find duplicate records in a frame (index = record id).

    Parameters
    ----------
    frame
        Columns title, authors (list or JSON), year, journal, volume, issue, pages, doi,
        pmid, abstract (or its length, ``abstract_len``), pub_types (list or JSON);
        missing columns count as empty.
    distinct
        Pairs of record ids that must not end up in the same group.
    thresholds, title_window, key_window
        Rule cut-offs and blocking window widths.
    """
    start = time.perf_counter()
    frame = frame[~frame.index.duplicated()]
    p = prepare(frame)
    i, j = candidate_pairs(p, title_window=title_window, key_window=key_window)
    pairs = classify_pairs(p, i, j, thresholds)
    pos = {rid: k for k, rid in enumerate(p.ids)}
    distinct_pos = [(pos[a], pos[b]) for a, b in distinct if a in pos and b in pos]
    accepted = pairs[pairs["duplicate"]]
    roots = _group(p, accepted, distinct_pos)
    decisions = _decisions(p, accepted, roots)
    pairs = pairs.assign(id_i=p.ids[pairs["i"].to_numpy()], id_j=p.ids[pairs["j"].to_numpy()])
    return DedupResult(decisions, pairs, p.n, len(i), time.perf_counter() - start)


def _decisions(p: Prepared, accepted: pd.DataFrame, roots: np.ndarray) -> pd.DataFrame:
    cols = ["record_id", "duplicate_of", "reason", "score", "matched"]
    if accepted.empty:
        return pd.DataFrame(columns=cols)
    groups = pd.DataFrame({"pos": np.arange(p.n), "root": roots,
                           "completeness": p.completeness})
    sizes = groups.groupby("root")["pos"].transform("size")
    groups = groups[sizes > 1]
    # Keeper: most complete, then first imported (smallest position).
    best = groups.sort_values(["root", "completeness", "pos"], ascending=[True, False, True])
    keeper = best.drop_duplicates("root").set_index("root")["pos"]
    groups = groups.assign(keeper=keeper.reindex(groups["root"]).to_numpy())
    removed = groups[groups["pos"] != groups["keeper"]]
    # Strongest accepted match of each removed record within its group.
    both = pd.concat([
        accepted[["i", "j", "score", "reason"]].rename(columns={"i": "pos", "j": "other"}),
        accepted[["j", "i", "score", "reason"]].rename(columns={"j": "pos", "i": "other"})])
    both = both[roots[both["pos"].to_numpy()] == roots[both["other"].to_numpy()]]
    both = both.assign(to_keeper=both["other"].to_numpy()
                       == keeper.reindex(roots[both["pos"].to_numpy()]).to_numpy())
    strongest = (both.sort_values(["pos", "to_keeper", "score"], ascending=[True, False, False])
                 .drop_duplicates("pos").set_index("pos"))
    ev = strongest.reindex(removed["pos"])
    return pd.DataFrame({
        "record_id": p.ids[removed["pos"].to_numpy()],
        "duplicate_of": p.ids[removed["keeper"].to_numpy()],
        "reason": ev["reason"].to_numpy(),
        "score": ev["score"].to_numpy(),
        "matched": p.ids[ev["other"].to_numpy().astype(np.int64)],
    }).sort_values("record_id", ignore_index=True)


@dataclass(frozen=True)
class DedupReport:
    """What one deduplication run stored in a project."""

    run_id: int
    n_records: int
    n_candidates: int
    n_duplicates: int
    n_groups: int
    seconds: float
    decisions: pd.DataFrame = field(repr=False)

    def summary(self) -> str:
        by_reason = self.decisions["reason"].value_counts().to_dict() if self.n_duplicates else {}
        lines = [f"{self.n_duplicates} duplicates removed in {self.n_groups} groups "
                 f"({self.n_records} records, {self.n_candidates} pairs compared, "
                 f"{self.seconds:.2f} s)"]
        lines += [f"  {reason}: {n}" for reason, n in by_reason.items()]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        return self.decisions.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "n_records": self.n_records,
                "n_candidates": self.n_candidates, "n_duplicates": self.n_duplicates,
                "n_groups": self.n_groups, "seconds": self.seconds,
                "decisions": self.decisions.to_dict(orient="records")}
