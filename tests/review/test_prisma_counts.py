"""PrismaCounts: validation names the inconsistent box; YAML round trip."""

from __future__ import annotations

import pytest

from metakit.errors import DataError
from metakit.review.prisma_counts import PrismaCounts

# A consistent flow, checked by hand:
#   identified = 600 + 400 + 50 (register) = 1050
#   screened   = 1050 - 200 duplicates - 30 automation - 20 other = 800
#   sought     = 800 - 760 excluded = 40; assessed = 40 - 2 not retrieved = 38
#   included reports = 38 - (20 + 8) + (other column: 5 - 1) = 14
GOOD = dict(
    databases={"MEDLINE": 600, "Embase": 400}, registers={"CT.gov": 50},
    duplicates_removed=200, removed_by_automation=30, removed_other=20,
    records_screened=800, records_excluded=760, reports_sought=40,
    reports_not_retrieved=2, reports_assessed=38,
    reports_excluded={"not randomised": 20, "wrong population": 8},
    other_sources={"Citation searching": 7}, other_reports_sought=7,
    other_reports_not_retrieved=2, other_reports_assessed=5,
    other_reports_excluded={"not randomised": 1},
    studies_included=12, reports_included=14,
)


def test_consistent_counts_and_totals():
    c = PrismaCounts(**GOOD)
    assert c.records_identified == 1050
    assert c.removed_before_screening == 250
    assert c.uses_other_methods


@pytest.mark.parametrize("change, box", [
    ({"records_screened": 801}, "records_screened"),
    ({"records_excluded": 801, "records_screened": 800}, "records_excluded"),
    ({"reports_sought": 41}, "reports_sought"),
    ({"reports_assessed": 37}, "reports_assessed"),
    ({"reports_not_retrieved": 41, "reports_sought": 40}, "reports_not_retrieved"),
    ({"reports_excluded": {"a": 39}}, "reports_excluded"),
    ({"reports_included": 15}, "reports_included"),
    ({"studies_included": 15}, "studies_included"),
    ({"other_reports_assessed": 6}, "other_reports_assessed"),
    ({"duplicates_removed": -1}, "duplicates_removed"),
    ({"records_excluded": 2.5}, "records_excluded"),
])
def test_inconsistent_counts_name_the_box(change, box):
    with pytest.raises(DataError) as err:
        PrismaCounts(**{**GOOD, **change})
    assert err.value.column == box


def test_not_reported_counts_skip_their_checks():
    c = PrismaCounts(databases={"Six databases": 12939}, duplicates_removed=None,
                     removed_by_automation=None, removed_other=None,
                     records_screened=4846, records_excluded=None, reports_sought=None,
                     reports_not_retrieved=None, reports_assessed=None,
                     reports_excluded=None, studies_included=10, reports_included=None)
    assert c.removed_before_screening is None
    assert c.records_screened == 4846


def test_yaml_round_trip_and_unknown_box():
    c = PrismaCounts(**GOOD)
    back = PrismaCounts.from_yaml(c.to_yaml())
    assert back == c
    with pytest.raises(DataError) as err:
        PrismaCounts.from_dict({**GOOD, "records_screend": 3})
    assert err.value.column == "records_screend"


def test_frame_lists_every_reason():
    frame = PrismaCounts(**GOOD).to_frame()
    reasons = frame[frame.box == "reports_excluded"].set_index("item")["n"].to_dict()
    assert reasons == {"not randomised": 20, "wrong population": 8}
