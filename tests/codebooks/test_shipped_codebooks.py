"""The three coding systems we ship load cleanly and say what the literature says."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.codebooks.derivation import derive_classification, scale_ratings
from apps.codebooks.format import CodebookSpec, dump_codebook, load_codebook

DATA = Path(__file__).resolve().parents[2] / "apps" / "codebooks" / "data"
FILES = ["pacs-2.0.yaml", "3rs-2015.yaml", "rupture-short-8.yaml"]

# Marker numbers and names as given in docs/domain (the instruments' own labels).
PACS_MARKERS = {
    1: ("proximity_seeking", "Asks for help"),
    5: ("proximity_seeking", "Discloses distressful emotions experienced in the present"),
    6: ("proximity_seeking", "Gives a vivid narrative of a past distressful event"),
    8: ("proximity_seeking", "Discloses unmet relational needs"),
    11: ("contact_maintaining", "Praises therapist's ability to establish closeness"),
    16: ("exploring", "Expresses independent will"),
    17: ("exploring", "Proposes tasks or goals for therapy"),
    18: ("exploring", "Expresses misgivings about the therapeutic tasks"),
    24: (
        "exploring",
        "Reflects in the present, assuming an alternate perspective on self/other experience",
    ),
    25: ("avoidance", "Fails to respond to inquiry about distress"),
    28: ("avoidance", "Dismisses offer of support"),
    35: ("avoidance", "Attributes distress to an external cause"),
    36: ("avoidance", "Rejects own complaints as pointless"),
    41: (
        "resistance",
        "Does not respond to therapist's support and changes to another distressing topic",
    ),
    44: ("resistance", "Enlists other's opinion to reinforce one's own"),
    52: ("resistance", "Changes topic abruptly"),
    54: ("resistance", "Speaks in a vague and confusing way"),
}
PACS_SCALES = {
    "proximity_seeking": ("secure", range(1, 11)),
    "contact_maintaining": ("secure", range(11, 16)),
    "exploring": ("secure", range(16, 25)),
    "avoidance": ("avoidant", range(25, 41)),
    "resistance": ("preoccupied", range(41, 60)),
}


def load(name: str) -> CodebookSpec:
    return load_codebook((DATA / name).read_bytes(), filename=name)


@pytest.mark.parametrize("name", FILES)
def test_shipped_file_loads_round_trips_and_says_it_is_a_starting_point(name):
    spec = load(name)
    for fmt in ("yaml", "json"):
        assert load_codebook(dump_codebook(spec, format=fmt), filename=f"x.{fmt}") == spec
    assert "starting point" in spec.licence and "new version" in spec.licence
    assert spec.source and spec.description
    every = [*spec.scales, *spec.markers, *spec.rating_items, *spec.classifications]
    assert all(item.description.strip() for item in every), "every item explains itself"


def test_pacs_is_partial_with_the_published_markers_under_their_numbers():
    spec = load("pacs-2.0.yaml")
    assert (spec.key, spec.version, spec.partial) == ("pacs", "2.0", True)
    assert "59" in spec.description and "new version" in spec.description
    assert {s.code: s.group for s in spec.scales} == {k: g for k, (g, _) in PACS_SCALES.items()}
    assert {m.number: (m.scale, m.name) for m in spec.markers} == PACS_MARKERS
    for marker in spec.markers:
        assert marker.number in PACS_SCALES[marker.scale][1]
        assert marker.code == f"m{marker.number:02d}"
        assert (marker.unit, marker.value_kind) == ("patient_turn", "presence")


def test_pacs_rates_every_scale_1_to_9_per_session_with_anchors():
    spec = load("pacs-2.0.yaml")
    assert [r.scale for r in spec.rating_items] == list(PACS_SCALES)
    for item in spec.rating_items:
        assert (item.level, item.min, item.max, item.required) == ("session", 1, 9, True)
        assert sorted(item.anchors) == [1, 5, 9]


def test_pacs_derives_attachment_from_the_highest_scale_with_ties_unclassified():
    spec = load("pacs-2.0.yaml")
    (attachment,) = spec.classifications
    assert [c.code for c in attachment.categories] == ["secure", "avoidant", "preoccupied"]
    derivation = attachment.derivation
    assert derivation is not None
    assert (derivation.rule, derivation.source, derivation.tie) == (
        "highest_scale",
        "ratings",
        "unclassified",
    )
    # Scale groups are named after the category their scale decides.
    assert derivation.scale_to_category == {k: g for k, (g, _) in PACS_SCALES.items()}
    assert "not published" in attachment.description

    names = {s.code: s.name for s in spec.scales}
    ratings = {"proximity_seeking_score": 3, "contact_maintaining_score": 2}
    ratings |= {"exploring_score": 4, "avoidance_score": 7, "resistance_score": 5}
    scores = scale_ratings(spec.rating_items, ratings)
    assert derive_classification(attachment, scores, scale_names=names) == (
        "avoidant",
        "Avoidance highest (7)",
    )


def test_3rs_codes_five_minute_segments_with_rated_ruptures_and_strategies():
    spec = load("3rs-2015.yaml")
    assert (spec.key, spec.version, spec.segment_length_seconds) == ("3rs", "2015", 300)
    by_scale: dict[str, list] = {}
    for marker in spec.markers:
        by_scale.setdefault(marker.scale, []).append(marker)
        assert marker.unit == "segment" and marker.number is None
    assert {k: len(v) for k, v in by_scale.items()} == {
        "withdrawal": 7,
        "confrontation": 7,
        "resolution_immediate": 4,
        "resolution_exploratory": 5,
    }
    for rupture in by_scale["withdrawal"] + by_scale["confrontation"]:
        assert (rupture.value_kind, rupture.rating_min, rupture.rating_max) == ("rating", 1, 5)
    strategies = by_scale["resolution_immediate"] + by_scale["resolution_exploratory"]
    assert all(s.value_kind == "presence" for s in strategies)
    immediate = {m.name for m in by_scale["resolution_immediate"]}
    assert {"Clarifies a misunderstanding", "Changes tasks or goals"} <= immediate
    assert "Illustrates tasks or provides a rationale" in immediate
    assert {s.group for s in spec.scales} == {"rupture", "resolution"}
    assert "Denial" in {m.name for m in by_scale["withdrawal"]}
    assert "Efforts to control/pressure the therapist" in {
        m.name for m in by_scale["confrontation"]
    }


def test_3rs_rates_segment_significance_and_session_globals_1_to_5():
    spec = load("3rs-2015.yaml")
    assert [(r.code, r.level, r.min, r.max) for r in spec.rating_items] == [
        ("rupture_significance", "segment", 1, 5),
        ("therapist_contribution", "session", 1, 5),
        ("resolution_degree", "session", 1, 5),
    ]
    assert spec.classifications == []


def test_short_form_has_eight_numbered_patient_turn_markers():
    spec = load("rupture-short-8.yaml")
    assert [m.number for m in spec.markers] == list(range(1, 9))
    assert [m.scale for m in spec.markers] == ["withdrawal"] * 4 + ["confrontation"] * 4
    assert [m.name for m in spec.markers] == [
        "Denial",
        "Minimal response",
        "Content/affect split",
        "Overly compliant",
        "Complaints about therapist as a person",
        "Complaints about therapy",
        "Complaints about therapy activities",
        "Controls/defends against therapist",
    ]
    assert all((m.unit, m.value_kind) == ("patient_turn", "presence") for m in spec.markers)
    assert [m.shortcut for m in spec.markers] == [str(n) for n in range(1, 9)]
    assert spec.rating_items == [] and spec.classifications == []
