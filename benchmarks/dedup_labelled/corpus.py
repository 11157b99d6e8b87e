"""A labelled corpus of search exports: the same publications from several databases.

Publications are generated (seeded), then each is "found" in one to six databases and
written in that database's export format (PubMed MEDLINE, Embase RIS, Scopus CSV, Web of
Science RIS, CNKI RIS, CENTRAL BibTeX, a co-author's EndNote XML library), with the
corruptions that real exports carry:

* case (Web of Science upper case), punctuation and trailing full stops, HTML tags,
  Greek letters spelled out, British/American spelling;
* missing DOI, DOI with resolver prefix or upper case; missing pages, volume, year;
* truncated titles (at 100 or 250 characters), titles losing their subtitle;
* authors as "Smith J", "Smith, J.", "John Smith", "Smith J et al.", diacritics lost
  or mangled (Müller -> Muller, Mueller, M?ller);
* Excel-mangled pages ("3-12" -> "12-Mar"), abbreviated page ranges ("345-52");
* year one off (online-first vs print);
* translated titles: MEDLINE's bracketed English title, CNKI's Chinese title, the
  original-language title in another database.

Issue 11's categories are added on top:

* one article under two DOIs (a JSTOR ``10.2307`` or SICI DOI in Web of Science and
  Scopus, the publisher's elsewhere);
* online-first and issue versions (the online-first record one or two years earlier,
  without volume, its pages missing or counted from 1);
* volume and page notations ("35 (Pt 1)", "P63 [tp 104]", "viii108", Excel's day-month
  "01-Sep" for 1-9, the parts of a multi-part article listed in another order);
* never to merge: conference abstracts of one supplement, three by the same first
  author, on the same or the next page, sharing the supplement's DOI.

Base publications are real records (``--base real``, the default): 5,022 Web of
Science records of capture-recapture studies (``wos_capture_recapture.csv.gz``, read
with metakit from the ``data/savedrecs*.txt`` exports of
github.com/oliviergimenez/capture-recapture-review, first three authors kept). Their
titles, authors, journals, years, volumes, pages and DOIs are real; errata, comments,
companion papers, supplements and every database's version of a record are made by
the rules above. ``--base synthetic`` generates the publications instead.

Hard negatives that must not be merged: errata, corrections, retraction notices,
comments and replies that share their article's title (some with exactly the same
title), companion papers (protocol vs results, part 1 vs part 2, same author and
topic), generic titles ("Editorial", "Reply") across journals, and re-used titles.

``truth.csv`` maps each record (file, line where its entry starts) to its publication
and the publication's category.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

SURNAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
    "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green",
    "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter",
    "Roberts", "Müller", "Schröder", "Weiß", "Jäger", "Köhler", "Groß", "Böhm", "Krüger",
    "García-López", "Fernández", "Martínez-Sánchez", "Núñez", "Peña", "Jiménez", "Gómez",
    "Lefèvre", "Gauthier", "Bérubé", "Côté", "Hernigou", "Rossi", "Russo", "Ferrari",
    "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Wang", "Li", "Zhang", "Liu",
    "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo",
    "He", "Lin", "Luo", "Gao", "Kim", "Park", "Choi", "Jung", "Kang", "Tanaka", "Suzuki",
    "Sato", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi", "Singh", "Kumar",
    "Sharma", "Patel", "Gupta", "Andersen", "Nielsen", "Hansen", "Pedersen", "Larsen",
    "Johansson", "Karlsson", "Nilsson", "Eriksson", "Ødegaard", "Åberg", "O'Brien",
    "O'Connor", "McDonald", "MacLeod", "van der Berg", "de Vries", "van Dijk", "Jansen",
    "Kowalski", "Nowak", "Wiśniewski", "Dąbrowski", "Novák", "Dvořák", "Horváth", "Yılmaz",
    "Kaya", "Demir", "Şahin", "Öztürk", "Papadopoulos", "Silva", "Santos", "Oliveira",
    "Souza", "Costa", "Pereira", "Almeida", "Ivanov", "Petrov", "Smirnov",
]
GIVEN = "ABCDEFGHJKLMNOPRSTWYZ"

INTERVENTIONS = [
    "aspirin", "clopidogrel", "ticagrelor", "apixaban", "rivaroxaban", "warfarin",
    "atorvastatin", "rosuvastatin", "metformin", "empagliflozin", "dapagliflozin",
    "semaglutide", "liraglutide", "insulin glargine", "sitagliptin", "dexamethasone",
    "methylprednisolone", "tranexamic acid", "vitamin D supplementation",
    "omega-3 fatty acids", "zoledronic acid", "denosumab", "teriparatide", "alendronate",
    "core decompression", "bone marrow concentrate", "mesenchymal stem cells",
    "platelet-rich plasma", "hyaluronic acid injection", "total hip arthroplasty",
    "early mobilisation", "physiotherapy", "cognitive behavioural therapy",
    "mindfulness-based stress reduction", "acupuncture", "electroacupuncture",
    "tai chi", "high-intensity interval training", "resistance training",
    "remote ischaemic conditioning", "hypothermia", "ketamine", "dexmedetomidine",
    "propofol", "sevoflurane", "regional anaesthesia", "nerve block", "probiotics",
    "fecal microbiota transplantation", "proton pump inhibitors", "nivolumab",
    "pembrolizumab", "trastuzumab", "bevacizumab", "radiotherapy", "chemoradiotherapy",
    "TNF-α inhibitors", "interleukin-6 blockade", "β-blockers", "ACE inhibitors",
    "sacubitril/valsartan", "spironolactone", "colchicine", "allopurinol",
    "intravenous iron", "erythropoietin", "hydroxychloroquine", "remdesivir",
    "extracorporeal shockwave therapy", "low-intensity pulsed ultrasound",
]
CONDITIONS = [
    "recurrent stroke", "atrial fibrillation", "acute coronary syndrome", "heart failure",
    "type 2 diabetes", "obesity", "osteoporosis", "hip fracture", "knee osteoarthritis",
    "osteonecrosis of the femoral head", "avascular necrosis", "rheumatoid arthritis",
    "ankylosing spondylitis", "chronic low back pain", "major depressive disorder",
    "generalised anxiety disorder", "postoperative delirium", "septic shock", "ARDS",
    "COVID-19 pneumonia", "community-acquired pneumonia", "chronic kidney disease",
    "non-alcoholic fatty liver disease", "ulcerative colitis", "Crohn's disease",
    "irritable bowel syndrome", "gastric cancer", "colorectal cancer",
    "non-small-cell lung cancer", "HER2-positive breast cancer", "prostate cancer",
    "hepatocellular carcinoma", "glioblastoma", "multiple sclerosis", "Parkinson's disease",
    "Alzheimer's disease", "migraine", "epilepsy", "neonatal sepsis", "preeclampsia",
    "gestational diabetes", "polycystic ovary syndrome", "anaemia in pregnancy",
    "paediatric asthma", "COPD exacerbations", "tendinopathy", "rotator cuff tears",
    "plantar fasciitis", "carpal tunnel syndrome", "cancer-related fatigue",
]
POPULATIONS = [
    "adults", "older adults", "children", "adolescents", "women", "postmenopausal women",
    "patients undergoing cardiac surgery", "patients on haemodialysis",
    "critically ill patients", "outpatients", "nursing home residents",
    "patients with diabetes", "young adults", "Chinese patients", "veterans",
    "elite athletes", "pregnant women", "preterm infants", "smokers", "obese adults",
]
DESIGNS = [
    "a randomised controlled trial", "a randomized, double-blind, placebo-controlled trial",
    "a multicentre randomised trial", "a pilot randomized trial", "a cluster randomised trial",
    "a systematic review and meta-analysis", "a network meta-analysis",
    "a prospective cohort study", "a retrospective cohort study", "a case-control study",
    "a cross-sectional study", "a cost-effectiveness analysis", "a secondary analysis",
    "results of a phase III trial", "a pragmatic trial", "a non-inferiority trial",
]
TEMPLATES = [
    "{I} for {C} in {P}: {D}",
    "Effect of {I} on {C} in {P}: {D}",
    "{I} versus {I2} for {C}: {D}",
    "Efficacy and safety of {I} in {P} with {C}: {D}",
    "Comparison of {I} and {I2} in the treatment of {C}",
    "Long-term outcomes of {I} for {C}: {D}",
    "Does {I} reduce the risk of {C} in {P}? {D}",
    "{I} and risk of {C} among {P}",
    "Association between {I} and {C}: {D}",
    "Impact of {I} on quality of life in {P} with {C}",
    "{I} plus {I2} compared with {I2} alone for {C} in {P}",
    "Timing of {I} after {C}: {D}",
]
JOURNALS = [
    ("The Lancet", "Lancet"), ("The Lancet Neurology", "Lancet Neurol"),
    ("The New England Journal of Medicine", "N Engl J Med"), ("JAMA", "JAMA"),
    ("BMJ", "BMJ"), ("Annals of Internal Medicine", "Ann Intern Med"),
    ("Journal of Clinical Oncology", "J Clin Oncol"), ("Stroke", "Stroke"),
    ("Circulation", "Circulation"), ("European Heart Journal", "Eur Heart J"),
    ("Diabetes Care", "Diabetes Care"), ("Osteoporosis International", "Osteoporos Int"),
    ("International Orthopaedics", "Int Orthop"),
    ("Journal of Orthopaedic Surgery and Research", "J Orthop Surg Res"),
    ("The Journal of Bone and Joint Surgery. American Volume", "J Bone Joint Surg Am"),
    ("The Bone & Joint Journal", "Bone Joint J"), ("Orthopaedic Surgery", "Orthop Surg"),
    ("Arthritis & Rheumatology", "Arthritis Rheumatol"), ("Pain", "Pain"),
    ("Anesthesiology", "Anesthesiology"), ("British Journal of Anaesthesia", "Br J Anaesth"),
    ("Critical Care Medicine", "Crit Care Med"), ("Intensive Care Medicine", "Intensive Care Med"),
    ("Gastroenterology", "Gastroenterology"), ("Gut", "Gut"), ("Hepatology", "Hepatology"),
    ("Journal of Psychiatric Research", "J Psychiatr Res"), ("PLoS One", "PLoS One"),
    ("Scientific Reports", "Sci Rep"), ("Medicine (Baltimore)", "Medicine (Baltimore)"),
    ("Trials", "Trials"), ("BMJ Open", "BMJ Open"),
    ("Frontiers in Pharmacology", "Front Pharmacol"),
    ("Chinese Medical Journal", "Chin Med J (Engl)"), ("Der Orthopäde", "Orthopade"),
    ("Revista Española de Cirugía Ortopédica y Traumatología", "Rev Esp Cir Ortop Traumatol"),
    ("Zhonghua Yi Xue Za Zhi", "Zhonghua Yi Xue Za Zhi"),
]
DOI_PREFIX = ["10.1016", "10.1056", "10.1001", "10.1136", "10.7326", "10.1200", "10.1161",
              "10.1093", "10.2337", "10.1007", "10.1186", "10.2106", "10.1302", "10.1111",
              "10.1002", "10.1097", "10.1371", "10.1038", "10.3389", "10.1213", "10.1080"]
GERMAN = {"for": "für", "in": "bei", "and": "und", "of": "von", "the": "die",
          "patients": "Patienten", "treatment": "Behandlung", "effect": "Wirkung",
          "with": "mit", "versus": "gegenüber", "outcomes": "Ergebnisse",
          "randomised": "randomisierte", "randomized": "randomisierte", "trial": "Studie",
          "study": "Studie", "a": "eine", "adults": "Erwachsene", "children": "Kinder"}
CJK = ("研究治疗患者临床效果分析影响比较随机对照试验系统评价荟萃"
       "股骨头坏死髓芯减压干细胞骨折关节炎糖尿病中风心房颤动"
       "阿司匹林儿童老年女性安全性有效性长期结局风险质量生活")


@dataclass
class Pub:
    """One publication (the truth)."""

    key: int
    title: str
    authors: list[tuple[str, str]]        # (surname, initials)
    year: int
    journal: tuple[str, str]
    volume: str
    issue: str
    pages: tuple[str, str]
    doi: str | None
    pmid: str | None
    abstract: str
    pub_type: str = "Journal Article"    # or Erratum, Retraction, Comment, Reply, Editorial
    language: str = "eng"
    original_title: str | None = None    # for non-English publications
    category: str = "article"            # what the corpus makes of it (see module doc)
    alt_doi: str | None = None           # a second DOI (JSTOR/SICI) some databases use
    online_first: bool = False           # some databases hold the online-first version
    notation: str | None = None          # "pt", "tp", "roman", "excel_dm", "parts"
    more_pages: str | None = None        # second part of a multi-part article


@dataclass
class Rec:
    """One exported record (a publication as one database shows it)."""

    pub: int
    title: str | None
    authors: list[str]
    year: str | None
    journal: str | None
    volume: str | None
    issue: str | None
    pages: str | None
    doi: str | None
    pmid: str | None
    abstract: str | None
    pub_types: list[str] = field(default_factory=list)
    language: str | None = None


def _title(rng: random.Random) -> str:
    i1, i2 = rng.sample(INTERVENTIONS, 2)
    t = rng.choice(TEMPLATES).format(I=i1, I2=i2, C=rng.choice(CONDITIONS),
                                     P=rng.choice(POPULATIONS), D=rng.choice(DESIGNS))
    return t[0].upper() + t[1:]


def _authors(rng: random.Random, k: int | None = None) -> list[tuple[str, str]]:
    k = k or rng.choice([1, 2, 3, 3, 4, 5, 6, 8])
    return [(rng.choice(SURNAMES), "".join(rng.sample(GIVEN, rng.choice([1, 1, 2]))))
            for _ in range(k)]


def _german(title: str) -> str:
    return " ".join(GERMAN.get(w.lower(), w) for w in title.split())


def _chinese(title: str, rng: random.Random) -> str:
    r = random.Random(title)
    return "".join(r.choice(CJK) for _ in range(10 + len(title) % 14))


REAL_BASE = Path(__file__).with_name("wos_capture_recapture.csv.gz")
_STOP = {"and", "of", "the", "in", "for", "de", "la", "et"}


def _real_rows(rng: random.Random) -> list[dict]:
    with gzip.open(REAL_BASE, "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rng.shuffle(rows)
    return rows


def _real_authors(cell: str) -> list[tuple[str, str]]:
    out = []
    for name in cell.split("; "):
        surname, _, given = name.partition(",")
        initials = "".join(p[0] for p in given.replace("-", " ").replace(".", " ").split()
                           if p[:1].isalpha()).upper()
        out.append((surname.strip(), initials or "A"))
    return out


def _real_journal(name: str) -> tuple[str, str]:
    full = name.title() if name.isupper() else name
    abbrev = " ".join(w[:5] if len(w) > 5 else w for w in full.split()
                      if w.lower() not in _STOP)
    return full, abbrev


def _real_pages(cell: str) -> tuple[str, str] | None:
    start, _, end = cell.partition("-")
    return (start, end) if start else None


def make_publications(n: int, seed: int, base: str = "real") -> list[Pub]:
    """``n`` base articles plus their errata, comments, replies and companion papers."""
    rng = random.Random(seed)
    pubs: list[Pub] = []
    used: set[str] = set()
    next_pmid = 20_000_000 + seed * 1_000_000
    rows = _real_rows(rng) if base == "real" else []
    if len(rows) < n and base == "real":
        raise ValueError(f"--n {n}: the real base has {len(rows)} records")

    def new(**kw) -> Pub:
        nonlocal next_pmid
        next_pmid += rng.randint(1, 40)
        year = kw.pop("year", rng.randint(1995, 2024))
        journal = kw.pop("journal", rng.choice(JOURNALS))
        start = kw.pop("start", rng.randint(1, 2500))
        electronic = rng.random() < 0.15
        pages = (f"e{rng.randint(1000, 99999)}", "") if electronic else \
            (str(start), str(start + rng.randint(0, 14)))
        p = Pub(key=len(pubs), title=kw.pop("title"), authors=kw.pop("authors", _authors(rng)),
                year=year, journal=journal, volume=str(kw.pop("volume", rng.randint(1, 400))),
                issue=str(kw.pop("issue", rng.randint(1, 12))), pages=kw.pop("pages", pages),
                doi=kw.pop("doi", f"{rng.choice(DOI_PREFIX)}/{rng.choice('jsabcx')}"
                                  f"{rng.randint(10**5, 10**8)}.{year}"),
                pmid=kw.pop("pmid", str(next_pmid) if rng.random() < 0.85 else None),
                abstract=kw.pop("abstract", f"Background: {rng.choice(CONDITIONS)} is common. "
                                            f"Methods: {rng.randint(20, 3000)} participants."),
                **kw)
        pubs.append(p)
        return p

    real: dict = {}
    for k in range(n):
        if rows:
            row = rows[k]
            t = row["title"].capitalize() if row["title"].isupper() else row["title"]
            real = {"authors": _real_authors(row["authors"]), "year": int(row["year"]),
                    "journal": _real_journal(row["journal"])}
            if row["volume"]:
                real["volume"] = row["volume"]
            if _real_pages(row["pages"]):
                real["pages"] = _real_pages(row["pages"])
            real["doi"] = row["doi"] or None
        else:
            t = _title(rng)
            while t in used:
                t = _title(rng)
        used.add(t)
        lang = rng.choices(["eng", "chi", "ger"], [0.9, 0.07, 0.03])[0]
        base = new(title=t, language=lang,
                   original_title=(_chinese(t, rng) if lang == "chi" else
                                   _german(t) if lang == "ger" else None), **real)
        _issue11_category(base, rng)
        u = rng.random()
        if u < 0.04:  # erratum, sometimes titled exactly like the article
            new(title=rng.choice([f"Erratum: {t}", f"Correction to: {t}", t,
                                  f"Corrigendum to \"{t}\""]),
                authors=base.authors[:1], year=base.year + rng.choice([0, 0, 1]),
                journal=base.journal, pages=(f"{rng.randint(1, 2500)}", ""),
                abstract="", pub_type="Erratum")
        elif u < 0.06:  # comment and the authors' reply
            c = new(title=rng.choice([f"Comment on: {t}", f"Re: {t}", t]),
                    year=base.year, journal=base.journal, abstract="", pub_type="Comment")
            new(title=rng.choice([f"Reply to: {c.title}", f"Authors' reply: {t}", t]),
                authors=base.authors[:2], year=base.year, journal=base.journal,
                abstract="", pub_type="Reply")
        elif u < 0.07:  # retraction notice
            new(title=rng.choice([f"Retraction notice to \"{t}\"", f"Retraction: {t}", t]),
                authors=[], year=base.year + rng.randint(1, 3), journal=base.journal,
                abstract="", pub_type="Retraction")
        elif u < 0.10:  # companion paper: protocol, part 2, or long-term follow-up
            variant = rng.choice([f"{t}: study protocol", f"{t}. Part 2",
                                  f"{t}: 5-year follow-up", t.replace(":", " in Asia:")])
            if variant not in used:
                used.add(variant)
                new(title=variant, authors=base.authors[:1] + _authors(rng, 2),
                    year=base.year + rng.choice([-2, -1, 1, 2, 3]))
        elif u < 0.115:  # the same title reused by other authors in another year
            new(title=t, year=base.year + rng.choice([-3, -2, 2, 3, 4]))
    # Conference abstracts of one supplement: must never be merged with each other.
    spare = rows[n:] if rows else []
    for _ in range(max(1, n // 150)):
        host = pubs[rng.randrange(len(pubs))]
        first = _authors(rng, 1)[0]
        page = rng.randint(1, 400)
        doi = f"10.1186/s{rng.randint(10**5, 10**6)}-{host.year}-supp"
        volume, issue = host.volume, f"Suppl {rng.randint(1, 3)}"
        for a in range(4):
            if spare:
                title = spare.pop()["title"]
            else:
                title = _title(rng)
            if title in used:
                continue
            used.add(title)
            new(title=title, authors=[first, *_authors(rng, 2)] if a < 3 else _authors(rng),
                year=host.year, journal=host.journal, volume=volume, issue=issue,
                pages=(f"S{page + a // 2}", ""), doi=doi, pmid=None, abstract="",
                pub_type="Conference Abstract", category="conference abstract")
    for g in ["Editorial", "Introduction", "Reply", "Erratum", "Letter to the editor",
              "In this issue", "Commentary", "Correction"][: max(1, n // 500)]:
        for _ in range(3):
            new(title=g, authors=_authors(rng, 1), abstract="",
                pub_type={"Editorial": "Editorial", "Reply": "Reply", "Erratum": "Erratum",
                          "Correction": "Erratum"}.get(g, "Editorial"))
    return pubs


def _issue11_category(p: Pub, rng: random.Random) -> None:
    """Give a base publication one of issue 11's duplicate categories (or none)."""
    u = rng.random()
    if u < 0.04:
        p.category = "two DOIs"
        p.alt_doi = rng.choice([
            f"10.2307/{rng.randint(10**6, 10**7)}",
            f"10.1890/0012-9658({p.year}){int(p.volume) if p.volume.isdigit() else 1:03d}"
            f"[{p.pages[0]}:{''.join(rng.sample('ABCDEFGHIJKLMNOPRSTW', 4))}]2.0.CO;2"])
    elif u < 0.08:
        p.category = "online first"
        p.online_first = True
    elif u < 0.13:
        p.notation = rng.choice(["pt", "tp", "roman", "excel_dm", "parts"])
        p.category = f"notation {p.notation}"
        if p.notation == "excel_dm":  # pages Excel can turn into a day-month date
            start = rng.randint(1, 8)
            p.pages = (str(start), str(rng.randint(start + 1, 12)))
        elif p.notation == "parts":
            start = rng.randint(100, 900)
            p.more_pages = f"{start}-{start + rng.randint(2, 9)}"
            first = start - rng.randint(50, 90)
            p.pages = (str(first), str(first + rng.randint(1, 5)))
        elif not p.pages[0].isdigit():
            p.pages = (str(rng.randint(20, 900)), "")


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _issue11_export(pub: Pub, db: str, rng: random.Random, rec: Rec) -> Rec:
    """Apply what ``pub``'s category does to ``db``'s record."""
    if pub.alt_doi and db in ("WoS", "Scopus"):
        rec.doi = pub.alt_doi
    if pub.online_first and db in ("Embase", "EndNote", "CENTRAL"):
        start, end = pub.pages
        rec.year = str(pub.year - rng.choice([1, 2]))
        rec.volume = rec.issue = None
        own = (f"1-{int(end) - int(start) + 1}" if start.isdigit() and end.isdigit()
               else None)
        rec.pages = rng.choice([None, own])
    start, end = pub.pages
    if pub.notation == "pt" and db in ("PubMed", "Embase") and rec.volume:
        rec.volume = f"{rec.volume} (Pt {rng.randint(1, 3)})"
    elif pub.notation == "tp" and db == "Embase":
        rec.pages = f"P{start} [tp {rng.randint(50, 300)}]"
    elif pub.notation == "roman" and db in ("Scopus", "WoS"):
        rec.pages = f"{rng.choice(['viii', 'xii', 'iv'])}{start}"
    elif pub.notation == "excel_dm" and db in ("Scopus", "CENTRAL"):
        rec.pages = f"{int(start):02d}-{_MONTHS[int(end) - 1]}"
    elif pub.notation == "parts" and rec.pages:
        parts = [f"{start}-{end}", pub.more_pages]
        rec.pages = ", ".join(reversed(parts) if db in ("PubMed", "Embase") else parts)
    return rec


# ------------------------------------------------------------------- corruptions
def _name(rng: random.Random, surname: str, initials: str, style: str) -> str:
    if rng.random() < 0.08:  # diacritics lost or mangled by an export
        surname = rng.choice([
            _strip_accents(surname),
            surname.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae"),
            "".join(c if c.isascii() else "?" for c in surname)])
    if style == "medline":
        return f"{surname} {initials}"
    if style == "dotted":
        return f"{surname}, {'.'.join(initials)}."
    if style == "given_first":
        return f"{'. '.join(initials)}. {surname}"
    return f"{surname}, {initials}"


def _strip_accents(s: str) -> str:
    s = s.replace("ß", "ss").replace("ø", "o").replace("ł", "l").replace("ı", "i")
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def _excel(start: str, end: str) -> str:
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    if start.isdigit() and 1 <= int(start) <= 12 and end.isdigit() and 1 <= int(end) <= 31:
        return f"{end}-{months[int(start) - 1]}"
    return f"{start}-{end}"


def export(pub: Pub, db: str, rng: random.Random) -> Rec:
    """``pub`` as database ``db`` would export it, with that database's habits."""
    t = pub.title
    if pub.language != "eng" and pub.original_title:
        if db == "PubMed":
            t = f"[{t}]."
        elif db == "CNKI" and pub.language == "chi":
            t = pub.original_title
        elif db in ("Embase", "CENTRAL") and rng.random() < 0.5:
            t = pub.original_title
    elif db == "PubMed" and not t.endswith((".", "?")):
        t += "."
    if db == "WoS" and rng.random() < 0.6:
        t = t.upper()
    r = rng.random()
    if r < 0.05:
        t = t[:100] if len(t) > 100 else t[: max(30, len(t) - 12)]   # truncated
    elif r < 0.08 and ":" in t:
        t = t.split(":")[0]                                          # subtitle lost
    elif r < 0.12:
        t = t.replace(",", "").replace(":", " -").replace("'", "’")  # punctuation
    elif r < 0.15:
        t = t.replace("α", "alpha").replace("β", "beta").replace("randomised", "randomized")
    elif r < 0.17:
        words = t.split()
        k = rng.randrange(len(words))
        words[k] = f"<i>{words[k]}</i>"
        t = " ".join(words)
    elif r < 0.19:
        t = t.lower()
    style = {"PubMed": "medline", "Embase": "dotted", "Scopus": "dotted", "WoS": "plain",
             "CNKI": "plain", "CENTRAL": "plain", "EndNote": "given_first"}[db]
    authors = [_name(rng, s, i, style) for s, i in pub.authors]
    if db == "CNKI" and pub.language == "chi":
        authors = [_chinese(s, rng)[:2] for s, _ in pub.authors]
    if authors and rng.random() < 0.05:
        authors = [authors[0] + " et al."]
    if db == "WoS":
        authors = [a.upper() if rng.random() < 0.3 else a for a in authors]
    start, end = pub.pages
    if not end:
        pages = start
    elif db == "PubMed" and len(end) == len(start) and end[:-2] == start[:-2]:
        pages = f"{start}-{end[-2:]}" if len(end) > 2 else f"{start}-{end}"
    else:
        pages = f"{start}-{end}"
    if db in ("Scopus", "CENTRAL") and rng.random() < 0.15:
        pages = _excel(start, end)
    if rng.random() < 0.08:
        pages = None
    year = pub.year + (rng.choice([-1, 1]) if db in ("Embase", "Scopus") and
                       rng.random() < 0.07 else 0)
    doi = pub.doi
    miss = {"PubMed": 0.15, "Embase": 0.25, "Scopus": 0.08, "WoS": 0.12, "CNKI": 0.5,
            "CENTRAL": 0.45, "EndNote": 0.3}[db]
    if doi and rng.random() < miss:
        doi = None
    if doi and rng.random() < 0.1:
        doi = rng.choice([f"https://doi.org/{doi}", doi.upper(), f"doi:{doi}", f"{doi}."])
    journal = pub.journal[1] if db in ("PubMed", "EndNote") or rng.random() < 0.2 \
        else pub.journal[0]
    if db == "WoS":
        journal = journal.upper()
    types = {"Journal Article": [], "Erratum": ["Erratum"], "Retraction": ["Retraction"],
             "Comment": ["Comment"], "Reply": ["Comment"], "Editorial": ["Editorial"],
             "Conference Abstract": ["Conference Abstract"]}[pub.pub_type]
    if db == "PubMed":
        types = {"Erratum": ["Published Erratum"], "Retraction": ["Retraction of Publication"],
                 }.get(pub.pub_type, ["Journal Article", *types])
    if rng.random() < 0.3:  # many exports carry no publication type at all
        types = []
    rec = Rec(pub.key, t, authors, str(year) if rng.random() > 0.02 else None,
              journal, pub.volume if rng.random() > 0.05 else None, pub.issue, pages, doi,
              pub.pmid if db in ("PubMed", "EndNote") else None,
              pub.abstract if db != "WoS" or rng.random() < 0.5 else None, types,
              pub.language)
    return _issue11_export(pub, db, rng, rec)


DATABASES = ["PubMed", "Embase", "Scopus", "WoS", "CNKI", "CENTRAL", "EndNote"]
COVERAGE = {"PubMed": 0.75, "Embase": 0.8, "Scopus": 0.7, "WoS": 0.55, "CNKI": 0.12,
            "CENTRAL": 0.3, "EndNote": 0.1}


def make_records(pubs: list[Pub], seed: int) -> dict[str, list[Rec]]:
    """Which databases find which publication, and how each exports it."""
    rng = random.Random(seed + 1)
    out: dict[str, list[Rec]] = {db: [] for db in DATABASES}
    for p in pubs:
        cover = dict(COVERAGE)
        if p.language == "chi":
            cover["CNKI"] = 0.95
        found = [db for db in DATABASES if rng.random() < cover[db]]
        if not found:
            found = [rng.choice(DATABASES[:4])]
        for db in found:
            out[db].append(export(p, db, rng))
    for recs in out.values():
        rng.shuffle(recs)
    return out


# ------------------------------------------------------------------------ writers
def _medline(recs: list[Rec]) -> tuple[str, list[int]]:
    lines, starts = [], []
    for r in recs:
        starts.append(len(lines) + 1)
        pmid = r.pmid or str(90_000_000 + len(starts))
        lines.append(f"PMID- {pmid}")
        if r.year:
            lines.append(f"DP  - {r.year} Mar")
        if r.title:
            words, cur = r.title.split(), ""
            first = True
            for w in words:  # wrap at ~80 characters with 6-space continuations
                if len(cur) + len(w) > 70:
                    lines.append(("TI  - " if first else "      ") + cur.strip())
                    first, cur = False, ""
                cur += " " + w
            lines.append(("TI  - " if first else "      ") + cur.strip())
        if r.pages:
            lines.append(f"PG  - {r.pages}")
        if r.doi:
            lines.append(f"LID - {r.doi} [doi]")
        if r.abstract:
            lines.append(f"AB  - {r.abstract}")
        for a in r.authors:
            lines.append(f"AU  - {a}")
        if r.language:
            lines.append(f"LA  - {r.language}")
        for t in r.pub_types:
            lines.append(f"PT  - {t}")
        if r.journal:
            lines.append(f"TA  - {r.journal}")
        if r.volume:
            lines.append(f"VI  - {r.volume}")
        if r.issue:
            lines.append(f"IP  - {r.issue}")
        lines.append("")
    return "\n".join(lines) + "\n", starts


def _ris(recs: list[Rec], db: str, crlf: bool = False) -> tuple[str, list[int]]:
    lines, starts = [], []
    title_tag, au_tag, year_tag, jour_tag = (("T1", "A1", "Y1", "JF") if db == "Embase"
                                            else ("TI", "AU", "PY", "T2"))
    for k, r in enumerate(recs):
        starts.append(len(lines) + 1)
        lines.append("TY  - JOUR")
        lines.append(f"DB  - {db}")
        if r.title:
            lines.append(f"{title_tag}  - {r.title}")
        lines.extend(f"{au_tag}  - {a}" for a in r.authors)
        if r.year:
            lines.append(f"{year_tag}  - {r.year}" + ("//" if db == "Embase" else ""))
        if r.journal:
            lines.append(f"{jour_tag}  - {r.journal}")
        if r.volume:
            lines.append(f"VL  - {r.volume}")
        if r.issue:
            lines.append(f"IS  - {r.issue}")
        if r.pages:
            sp, _, ep = r.pages.partition("-")
            lines.append(f"SP  - {sp}")
            if ep:
                lines.append(f"EP  - {ep}")
        if r.doi:
            lines.append(f"DO  - {r.doi}")
        if r.abstract:
            lines.append(f"AB  - {r.abstract}")
        lines.extend(f"M3  - {t}" for t in r.pub_types)
        lines.append(f"AN  - {db}{k:07d}")
        lines.append("ER  - ")
        lines.append("")
    eol = "\r\n" if crlf else "\n"
    return eol.join(lines) + eol, starts


def _scopus_csv(recs: list[Rec]) -> tuple[str, list[int]]:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Authors", "Title", "Year", "Source title", "Volume", "Issue", "Page start",
                "Page end", "DOI", "Abstract", "Document Type", "EID"])
    starts = []
    for k, r in enumerate(recs):
        starts.append(k + 2)
        sp, _, ep = (r.pages or "").partition("-")
        w.writerow(["; ".join(r.authors), r.title or "", r.year or "", r.journal or "",
                    r.volume or "", r.issue or "", sp, ep, r.doi or "", r.abstract or "",
                    "; ".join(r.pub_types), f"2-s2.0-{k:011d}"])
    return buf.getvalue(), starts


def _bibtex_escape(s: str) -> str:
    return s.replace("{", "").replace("}", "").replace("&", "\\&").replace("%", "\\%")


def _bibtex(recs: list[Rec]) -> tuple[str, list[int]]:
    lines, starts = [], []
    for k, r in enumerate(recs):
        starts.append(len(lines) + 1)
        lines.append(f"@article{{central{k},")
        if r.title:
            lines.append(f"  title = {{{_bibtex_escape(r.title)}}},")
        if r.authors:
            lines.append(f"  author = {{{_bibtex_escape(' and '.join(r.authors))}}},")
        for name, v in (("year", r.year), ("journal", r.journal), ("volume", r.volume),
                        ("number", r.issue), ("pages", r.pages), ("doi", r.doi)):
            if v:
                lines.append(f"  {name} = {{{_bibtex_escape(v)}}},")
        lines.append("}")
        lines.append("")
    return "\n".join(lines) + "\n", starts


def _endnote(recs: list[Rec]) -> tuple[str, list[int]]:
    from xml.sax.saxutils import escape

    lines = ['<?xml version="1.0" encoding="UTF-8" ?>', "<xml><records>"]
    starts = []
    for k, r in enumerate(recs):
        starts.append(len(lines) + 1)
        au = "".join(f"<author><style face=\"normal\">{escape(a)}</style></author>"
                     for a in r.authors)
        parts = [f"<record><rec-number>{k + 1}</rec-number>"
                 f"<ref-type name=\"Journal Article\">17</ref-type>",
                 f"<contributors><authors>{au}</authors></contributors>",
                 f"<titles><title>{escape(r.title or '')}</title>"
                 f"<secondary-title>{escape(r.journal or '')}</secondary-title></titles>"]
        for tag, v in (("pages", r.pages), ("volume", r.volume), ("number", r.issue),
                       ("electronic-resource-num", r.doi)):
            if v:
                parts.append(f"<{tag}>{escape(v)}</{tag}>")
        if r.year:
            parts.append(f"<dates><year>{r.year}</year></dates>")
        if r.pmid:
            parts.append(f"<accession-num>{r.pmid}</accession-num>"
                         "<remote-database-name>PubMed</remote-database-name>")
        parts.append("</record>")
        lines.extend(parts)
    lines.append("</records></xml>")
    return "\n".join(lines) + "\n", starts


FILES = {"PubMed": ("pubmed.nbib", _medline), "Embase": ("embase.ris", None),
         "Scopus": ("scopus.csv", _scopus_csv), "WoS": ("wos.ris", None),
         "CNKI": ("cnki.ris", None), "CENTRAL": ("central.bib", _bibtex),
         "EndNote": ("library.xml", _endnote)}


def write_corpus(out: Path, n: int, seed: int, base: str = "real") -> Path:
    """Write the exports and ``truth.csv`` (file, line, publication, category) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    pubs = make_publications(n, seed, base)
    by_db = make_records(pubs, seed)
    truth = []
    for db, recs in by_db.items():
        name, writer = FILES[db]
        if writer is None:
            text, starts = _ris(recs, db, crlf=(db == "Embase"))
        else:
            text, starts = writer(recs)
        data = text.encode("utf-8-sig" if db == "Embase" else "utf-8")
        (out / name).write_bytes(data)
        truth.extend((name, line, r.pub, pubs[r.pub].category) for line, r in zip(starts, recs))
    with open(out / "truth.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "line", "publication", "category"])
        w.writerows(truth)
    return out

