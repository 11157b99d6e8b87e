"""Normalising bibliographic fields so that the same publication compares equal.

Each function maps one raw field (as databases export it) to a canonical string, or
``""`` when nothing usable is left. Deduplication compares these, never raw fields.

Examples
--------
>>> norm_doi("https://doi.org/10.1136/BMJ.m512.")
'10.1136/bmj.m512'
>>> norm_title("[Effect of Aspirin on Recurrent Stroke: a Randomised Trial].")
'effect of aspirin on recurrent stroke a randomized trial'
>>> first_author_surname(["García-López, M."]), first_author_surname(["Smith JA"])
('garcialopez', 'smith')
>>> first_page("12-Mar"), first_page("345-52"), first_page("e0012")
('3', '345', 'e12')
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from urllib.parse import unquote

__all__ = [
    "KIND_ARTICLE",
    "KIND_COMMENT",
    "KIND_ERRATUM",
    "KIND_REPLY",
    "KIND_RETRACTION",
    "first_author_surname",
    "kind_from_title",
    "kind_from_types",
    "first_page",
    "norm_doi",
    "page_range",
    "page_span",
    "range_span",
    "norm_journal",
    "norm_pmid",
    "norm_text",
    "norm_title",
    "publication_kind",
]

# ---------------------------------------------------------------------------- text
_TAGS = re.compile(r"<[^>]{1,40}>")
# Everything ASCII but digits and lower-case letters becomes a space (casefold ran
# first); non-ASCII letters (accents already stripped, CJK) are kept.
_ASCII_PUNCT_TO_SPACE = {c: " " for c in range(128)
                         if not (48 <= c <= 57 or 97 <= c <= 122)}
_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon",
          "κ": "kappa", "λ": "lambda", "μ": "mu", "τ": "tau", "ω": "omega"}
_GREEK_RE = re.compile("|".join(_GREEK))
# British and American spellings of the stems that recur in clinical titles.
_SPELLING = {"randomis": "randomiz", "tumour": "tumor", "haem": "hem", "anaem": "anem",
             "paed": "ped", "oedem": "edem", "oesoph": "esoph", "ischaem": "ischem",
             "orthopaed": "orthoped", "behaviour": "behavior", "leukaem": "leukem",
             "anaesth": "anesth", "foet": "fet", "caesar": "cesar", "centre": "center",
             "fibre": "fiber", "organis": "organiz", "utilis": "utiliz",
             "characteris": "characteriz", "optimis": "optimiz", "minimis": "minimiz",
             "hospitalis": "hospitaliz", "immunis": "immuniz", "colour": "color",
             "labour": "labor", "favour": "favor", "programme": "program"}
_SPELLING_RE = re.compile(r"\b(" + "|".join(sorted(_SPELLING, key=len, reverse=True)) + ")")


_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_UNICODE_PUNCT = re.compile("[\u00a0-\u00bf\u00d7\u00f7\u2000-\u206f\u2190-\u2bff"
                            "\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40]")
_LETTERS = str.maketrans({"ß": "ss", "ø": "o", "ł": "l", "đ": "d", "ı": "i", "æ": "ae",
                          "œ": "oe", "þ": "th"})


def norm_text(value: str | None) -> str:
    """Casefold, strip HTML, accents and punctuation; ``&`` -> ``and``; single spaces."""
    if not value:
        return ""
    # Each step is skipped when its trigger character is absent: this runs on every
    # title, journal and author of a 100,000-record review.
    if "<" in value:
        value = _TAGS.sub(" ", value)
    if "&" in value:
        value = html.unescape(value).replace("&", " and ")
    text = value.casefold()
    if not text.isascii():
        text = _GREEK_RE.sub(lambda m: _GREEK[m.group(0)], text)
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text)).translate(_LETTERS)
        text = _UNICODE_PUNCT.sub(" ", text)
    return " ".join(text.translate(_ASCII_PUNCT_TO_SPACE).split())


# Elsevier and Springer watermark the retracted article itself; it is still that article.
_RETRACTED_MARK = re.compile(r"^\s*(retracted( article)?|withdrawn)\s*[:.]\s*", re.I)
_TRAILING_NOTE = re.compile(r"\s*\((author'?s? transl|english abstract|abstract)\)\s*\.?$",
                            re.I)


def norm_title(value: str | None) -> str:
    """A title for comparison: :func:`norm_text` plus spelling variants, no marks.

    MEDLINE's square brackets around translated titles, "RETRACTED:" watermarks and
    "(author's transl)" notes are dropped.
    """
    if not value:
        return ""
    if value[:1] in "RrWw ":
        value = _RETRACTED_MARK.sub("", value)
    if value.rstrip(". ").endswith(")"):
        value = _TRAILING_NOTE.sub("", value)
    return _SPELLING_RE.sub(lambda m: _SPELLING[m.group(1)], norm_text(value))


_JOURNAL_NOISE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_JOURNAL_STOP = {"the", "of", "and", "for", "in", "de", "der", "die", "la", "le", "du"}


def norm_journal(value: str | None) -> str:
    """A journal name for comparison: parenthetical notes and articles dropped.

    >>> norm_journal("BMJ (Clinical research ed.)"), norm_journal("The Lancet. Neurology")
    ('bmj', 'lancet neurology')
    """
    if not value:
        return ""
    words = norm_text(_JOURNAL_NOISE.sub(" ", value)).split()
    return " ".join(w for w in words if w not in _JOURNAL_STOP)


# ----------------------------------------------------------------------- identifiers
_DOI_PREFIX = re.compile(r"^(?:https?://)?(?:dx\.)?(?:doi\.org/|doi:\s*|doi\s+)", re.I)


def norm_doi(value: str | None) -> str:
    """Lower-case DOI without resolver prefix, spaces or trailing punctuation."""
    if not value:
        return ""
    doi = value.strip().lower()
    if "/central/cn-" in doi:  # a Cochrane CENTRAL accession, not the article's DOI
        return ""
    if doi.startswith("10.") and doi[-1].isalnum() and " " not in doi and "%" not in doi:
        return doi if "/" in doi else ""
    doi = unquote(value.strip())
    doi = _DOI_PREFIX.sub("", doi).strip().lower()
    doi = re.sub(r"\s+", "", doi)
    while doi and doi[-1] in ".,;:'\"]":
        doi = doi[:-1]
    if doi.endswith(")") and doi.count("(") < doi.count(")"):
        doi = doi[:-1]
    return doi if doi.startswith("10.") and "/" in doi else ""


def norm_pmid(value: str | None) -> str:
    """PMID digits without leading zeros (``"PMID: 0123"`` -> ``"123"``)."""
    if not value:
        return ""
    digits = re.sub(r"\D", "", str(value)).lstrip("0")
    return digits if 0 < len(digits) <= 9 else ""


# --------------------------------------------------------------------------- authors
_INITIALS = re.compile(r"^[A-Z]{1,3}$|^([A-Z]\.\s?){1,3}$|^([A-Z]\.-?){1,3}$")
_ET_AL = re.compile(r"\bet\.?\s*al\.?|\band others\b", re.I)


def first_author_surname(authors: Sequence[str] | None) -> str:
    """Normalised surname of the first author, whatever the name order.

    Handles "Surname, Given", "Surname AB" (MEDLINE), "Given Surname" and "et al.".
    Spaces and hyphens are removed so "García-López" and "Garcia Lopez" agree.
    """
    for name in authors or ():
        name = _ET_AL.sub("", name).strip(" ,;")
        if not name:
            continue
        if "," in name:
            surname = name.split(",", 1)[0]
        else:
            parts = name.split()
            if len(parts) > 1 and _INITIALS.match(parts[-1]):
                surname = " ".join(parts[:-1])
            elif len(parts) > 1 and _INITIALS.match(parts[0].replace(" ", "")):
                surname = " ".join(parts[1:])
            else:
                surname = parts[-1] if len(parts) > 1 and not _cjk(name) else name
        return norm_text(surname).replace(" ", "")
    return ""


def _cjk(text: str) -> bool:
    return any("\u3040" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" for c in text)


# ----------------------------------------------------------------------------- pages
_MONTHS = {m: str(i) for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_EXCEL_DAY_MONTH = re.compile(r"^(\d{1,2})-([A-Za-z]{3})$")
_EXCEL_MONTH_NUM = re.compile(r"^([A-Za-z]{3})-(\d{1,4})$")


_PAGE_SEP = re.compile(r"\s*[-\u2010-\u2015,]\s*")
_NON_PAGE = re.compile(r"[^0-9a-z]")
_PAGE_NUMBER = re.compile(r"^([a-z]*)0*(\d+)$")


_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# A roman-numeral or "p"/"pp" prefix is a notation, not part of the page ("viii108" is
# page 108 of a supplement numbered in roman pages; "P63" is page 63). Electronic
# article numbers ("e57942") and supplement pages ("S12") keep their letter.
_PAGE_NOTATION = re.compile(r"^(?:pp?|[ivxl]+)(?=\d)")


_SIMPLE_PAGES = re.compile(r"^\s*([a-zA-Z]?\d+)(?:\s*[-\u2010-\u2015]\s*[a-zA-Z]?\d+)?\s*$")


def _excel_date(p: str) -> tuple[int, int] | None:
    """Pages Excel turned into a date ("12-Mar", "Mar-12", "01-Sep") -> (first, last).

    The locale decides whether "3-12" became 12-Mar or 3-Dec; pages run upwards, so
    the smaller number is the first page.
    """
    m = _EXCEL_DAY_MONTH.match(p) or _EXCEL_MONTH_NUM.match(p)
    if not m:
        return None
    day, month = (m.group(1), m.group(2)) if m.re is _EXCEL_DAY_MONTH else (m.group(2),
                                                                              m.group(1))
    if month.lower() not in _MONTHS:
        return None
    a, b = int(_MONTHS[month.lower()]), int(day)
    return min(a, b), max(a, b)


def _page_parts(pages: str) -> list[str]:
    """Comma-separated page ranges, numeric ones first in page order.

    Databases list the parts of a multi-part article in different orders.
    """
    parts = [q.strip() for q in pages.split(",") if q.strip()]
    if len(parts) < 2:
        return parts

    def key(part: str) -> tuple[int, int]:
        digits = re.match(r"\d+", part)
        return (0, int(digits.group(0))) if digits else (1, 0)

    return sorted(parts, key=key)


def first_page(pages: str | None) -> str:
    """The first page, repairing spreadsheet damage ("3-12" shown as "12-Mar").

    Electronic article numbers keep their letter ("e0012" -> "e12"); page-number
    notations do not ("viii108" -> "108", "P63 [tp 104]" -> "63"); of a multi-part
    list, the lowest numeric page.

    >>> first_page("01-Sep"), first_page("viii108"), first_page("P63 [tp 104]")
    ('1', '108', '63')
    >>> first_page("455-466, 12-14"), first_page("12-14, 455-466")
    ('12', '12')
    """
    if not pages:
        return ""
    simple = _SIMPLE_PAGES.match(pages)
    if simple:  # "345-352", "e0012": most pages, without the repairs below
        first = simple.group(1).casefold()
        m = _PAGE_NUMBER.match(first)
        return f"{m.group(1)}{m.group(2)}" if m else first
    p = _BRACKETED.sub(" ", pages).strip()
    excel = _excel_date(p)
    if excel:
        return str(excel[0])
    parts = _page_parts(p)
    if not parts:
        return ""
    first = _PAGE_SEP.split(parts[0], maxsplit=1)[0].casefold()
    if first.isdigit():
        return first.lstrip("0") or "0"
    first = _PAGE_NOTATION.sub("", _NON_PAGE.sub("", first))
    m = _PAGE_NUMBER.match(first)
    return f"{m.group(1)}{m.group(2)}" if m else first


def page_range(pages: str | None) -> str:
    """First and last page, the last written out ("345-52" -> "345-352"); "" if no range.

    >>> page_range("345-52"), page_range("e5"), page_range("1996-2000"), page_range("01-Sep")
    ('345-352', '', '1996-2000', '1-9')
    """
    if not pages:
        return ""
    if not pages.isascii() or any(c.isalpha() for c in pages):
        excel = _excel_date(pages.strip())
        if excel:
            return f"{excel[0]}-{excel[1]}" if excel[1] != excel[0] else ""
    parts = re.split(r"\s*[-\u2010-\u2015]+\s*", pages.strip())
    if len(parts) != 2 or not (parts[0].isdigit() and parts[1].isdigit()):
        return ""
    start, end = parts[0].lstrip("0"), parts[1].lstrip("0")
    if len(end) < len(start):
        end = start[: len(start) - len(end)] + end
    return f"{start}-{end}" if end != start else ""


def page_span(pages: str | None) -> int:
    """Pages a numeric range covers less one ("455-466" -> 11); -1 without a range."""
    return range_span(page_range(pages))


def range_span(rng: str) -> int:
    """:func:`page_span` of a :func:`page_range` result."""
    if not rng:
        return -1
    a, b = rng.split("-")
    return int(b) - int(a) if int(b) >= int(a) else -1


_VOLUME_PREFIX = re.compile(r"^(?:vol(?:ume)?|v|p)\.?\s*(?=\d)", re.I)


def norm_volume(volume: str | None) -> str:
    """Volume digits and letters only, notes dropped ("99-B" -> "99b", "35 (Pt 1)" -> "35").

    >>> norm_volume("35 (Pt 1)"), norm_volume("Vol. 12"), norm_volume("99-B")
    ('35', '12', '99b')
    """
    v = _VOLUME_PREFIX.sub("", _BRACKETED.sub(" ", volume or "").strip())
    return re.sub(r"[^0-9a-z]", "", v.casefold()).lstrip("0")


# ------------------------------------------------------------------- publication kind
KIND_ARTICLE, KIND_ERRATUM, KIND_RETRACTION, KIND_COMMENT, KIND_REPLY = 0, 1, 2, 3, 4

_KIND_TITLE = [
    (KIND_RETRACTION, re.compile(
        r"^\s*(retraction( notice)?|notice of retraction|expression of concern|"
        r"editorial expression of concern|withdrawal)\b", re.I)),
    (KIND_ERRATUM, re.compile(
        r"^\s*(\[?erratum|errata|corrigendum|corrigenda|addendum|"
        r"((author|publisher)('?s)? )?corrections?\s*(to\b|:|\.|notice\b|$))", re.I)),
    (KIND_REPLY, re.compile(
        r"^\s*(in reply\b|reply\b|(the )?authors?['\u2019]?s?['\u2019]? (reply|response)\b|"
        r"(reply|response) to( the)? (comment|letter|correspondence|commentary)|"
        r"response\s*:|in response to\b)", re.I)),
    (KIND_COMMENT, re.compile(
        r"^\s*(comment(ary)? (on|to)\b|comments? ?[:\-\u2013]|re ?[:\-\u2013]|"
        r"letter to the editor\b)", re.I)),
]
_KIND_PUBTYPE = {
    "erratum": KIND_ERRATUM, "published erratum": KIND_ERRATUM, "correction": KIND_ERRATUM,
    "corrected and republished article": KIND_ERRATUM,
    "retraction of publication": KIND_RETRACTION, "retraction": KIND_RETRACTION,
    "retraction notice": KIND_RETRACTION, "expression of concern": KIND_RETRACTION,
    "comment": KIND_COMMENT,
}


# One pattern, one named group per kind, tried in the order of _KIND_TITLE.
_KIND_ANY = re.compile("|".join(f"(?P<k{kind}>{pattern.pattern})"
                                for kind, pattern in _KIND_TITLE), re.I)


def kind_from_title(title: str | None) -> int:
    """The kind a title's opening words announce ("Erratum:", "Reply to ..."), else article."""
    if title:
        m = _KIND_ANY.match(title)
        if m:
            return int(m.lastgroup[1:]) if m.lastgroup else _kind_of_match(m)
    return KIND_ARTICLE


def _kind_of_match(m: re.Match) -> int:
    for kind, _ in _KIND_TITLE:
        if m.group(f"k{kind}") is not None:
            return kind
    return KIND_ARTICLE


def kind_from_types(pub_types: Sequence[str] | None) -> int | None:
    """The kind publication types declare, or None when they declare none."""
    for t in pub_types or ():
        kind = _KIND_PUBTYPE.get(t.strip().casefold())
        if kind is not None:
            return kind
    return None


def publication_kind(title: str | None, pub_types: Sequence[str] | None = ()) -> int:
    """Article, erratum, retraction notice, comment or reply, from title and types.

    These share a title with the article they are about but are other publications;
    deduplication never merges records of different kinds. The title prefix decides
    first ("Reply to ..." is a reply even where the database types it "Comment"), then
    the publication types.

    >>> publication_kind("Erratum: Effect of aspirin", ["Journal Article"])
    1
    >>> publication_kind("Effect of aspirin", ["Comment", "Letter"])
    3
    """
    kind = kind_from_title(title)
    if kind != KIND_ARTICLE:
        return kind
    by_type = kind_from_types(pub_types)
    return KIND_ARTICLE if by_type is None else by_type
