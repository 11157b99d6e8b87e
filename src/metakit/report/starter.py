"""What ``metakit init`` writes: a commented starter review file and extraction templates.

The starter file parses under the schema of :mod:`metakit.report.spec` (a test checks it).

>>> sorted(TEMPLATES)
['binary.csv', 'characteristics.csv', 'continuous.csv']
"""

from __future__ import annotations

STARTER_YAML = """\
# metakit review file. Run:  metakit run review.yaml -o out/   (add --pdf, --docx for those files)
# Paths are relative to this file. Unknown keys are errors (with their line number).
title: My systematic review            # required
question: >-                           # optional: the review question, one sentence
  Does the intervention reduce the risk of the outcome compared with control?
intervention: The intervention         # the subject of the result sentences
note: ''                               # shown under the title (say here what is illustrative)

sheets:                                # extraction sheets, CSV or XLSX: name -> file
  binary: binary.csv
  continuous: continuous.csv
study: [study, year]                   # columns joined into the study label

characteristics:                       # optional: one row per study
  file: characteristics.csv
  totals: [n_t, n_c]                   # summed per study and checked against each outcome's totals

outcomes:                              # one entry per pairwise analysis
  - id: primary                        # letters, digits, - and _ (used in file names)
    name: Primary outcome              # heading in the report
    noun: the primary outcome          # the outcome inside a sentence
    sheet: binary                      # a key of 'sheets'
    where: {outcome: primary}          # keep rows whose column equals the value
    measure: OR                        # OR, RR, RD, PETO (events/totals); MD, SMD, ROM (means/SDs/Ns)
    columns: {events: [e_t, e_c], totals: [n_t, n_c]}
    model: random                      # random or common
    method: MH                         # inverse, MH (Mantel-Haenszel) or Peto; default inverse
    tau2: DL                           # DL, REML, ML, PM, SJ, HE, HS, HSk, EB, PMM
    ci: z                              # z (Wald) or hk (Hartung-Knapp) or hk-adhoc
    prediction: true                   # prediction interval under random effects
    convention: revman                 # revman or metafor numerical conventions
    subgroups: [allocation]            # columns to split by (one analysis each)
    moderators: [mean_age]             # meta-regression, one moderator at a time
    funnel: true
    better: lower                      # lower or higher values favour the intervention
    labels: {experimental: Intervention, control: Control}
  - id: function
    name: Function score
    noun: the function score
    sheet: continuous
    where: {outcome: function}
    measure: MD
    columns: {means: [m_t, m_c], sds: [sd_t, sd_c], ns: [n_t, n_c]}
    tau2: REML
    better: higher

output:                                # report files; report.html is always written
  formats: [html]                      # add pdf (pip install 'metakit[pdf]'), docx (pip install 'metakit[docx]')
  docx_figures: false                  # true: the DOCX holds the figures (PNG) too, not only the tables

# Uncomment when you have them:
# rob:                                 # risk-of-bias answers (CSV/XLSX/YAML); see examples/rob/
#   file: rob2.csv
#   tool: rob2                         # rob2, robins-i or quadas2
#   note: ''                           # shown with the figures
# prisma:                              # give 'counts' (YAML of PRISMA 2020 boxes) or 'store'
#   counts: prisma.yaml                # or:  store: review.db
"""

#: extraction templates: file name -> CSV text (header and one example row to overwrite)
TEMPLATES = {
    "binary.csv": "study,year,outcome,e_t,n_t,e_c,n_c,allocation,mean_age,source,certainty\n"
                  "Author,2020,primary,10,50,20,50,Randomised,40.5,doi or URL,exact\n",
    "continuous.csv": "study,year,outcome,m_t,sd_t,n_t,m_c,sd_c,n_c,scale_note,source,certainty\n"
                      "Author,2020,function,80.1,9.5,50,75.3,10.2,50,score 0-100,doi or URL,exact\n",
    "characteristics.csv": "study,year,country,design,n_t,n_c,mean_age,followup_months,source\n"
                           "Author,2020,Country,RCT,50,50,40.5,24,doi or URL\n",
}
