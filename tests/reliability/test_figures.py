"""The report figures as files: forest plot, AAI confusion heat map, agreement over time.

Pure (no database): hand-made results in the stored shapes (figure_cases.py) go in, SVG and
PNG bytes come out. The SVG must parse as XML, carry a <title> and <desc>, and hold the
labels a reader needs (matplotlib writes each text it draws as glyph paths preceded by a
comment with the text, which is what the label checks read); the PNG must be a PNG of the
paper size; the same input must give the same bytes.
"""

from __future__ import annotations

import copy
import html
import struct

import pytest
from lxml import etree

from apps.reliability.figures import (
    FigureInputError,
    catalogue,
    confusion_plot,
    drift_plot,
    forest_plot,
)
from tests.reliability import figure_cases as cases

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def parse_svg(content: bytes):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(content, parser)


def drawn_texts(root) -> list[str]:
    # matplotlib escapes the comment's text as XML (& becomes &amp;).
    return [html.unescape(c.text.strip()) for c in root.iter(etree.Comment)]


def png_size(content: bytes) -> tuple[int, int]:
    # The IHDR chunk follows the signature: length (4), type (4), then width and height.
    assert content[:8] == PNG_SIGNATURE
    assert content[12:16] == b"IHDR"
    return struct.unpack(">II", content[16:24])


def forest(**options) -> bytes:
    return forest_plot(cases.OCCURRENCE, fmt=options.pop("fmt", "svg"), **options)


def pooled_heat_map(fmt: str = "svg") -> bytes:
    return confusion_plot(
        cases.criterion_results()["pooled"]["three_way"],
        fmt=fmt,
        mapping=cases.CRITERION_PARAMETERS["mapping"],
        category_names={"secure": "Secure", "avoidant": "Avoidant (dismissing)"},
        classification_name="Attachment classification",
    )


# Forest plot -------------------------------------------------------------------------------


def test_forest_plot_svg_has_title_description_and_every_row_with_its_n():
    root = parse_svg(forest(system_name="PACS"))

    title, desc = root[0], root[1]
    assert title.tag == f"{SVG}title" and desc.tag == f"{SVG}desc"
    assert title.text == "PACS: marker occurrence per turn, Cohen's κ"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "figure-title figure-desc"
    texts = drawn_texts(root)
    for label in (
        "Scales",
        "Proximity Seeking (n = 420)",
        "Avoidance (n = 410)",
        "Markers",
        "m01 Asks for help (n = 420)",
        "m25 Fails to respond to inquiry about distress (n = 12)",
        "0.71 [0.60, 0.80]",
        "Cohen's κ with 95% confidence interval",
    ):
        assert label in texts, label
    # A long marker name is shortened on the plot (the description keeps the row).
    assert "m06 Gives a vivid narrative of a past distressf… (n = 418)" in texts
    assert "Proximity Seeking (n = 420): 0.71, CI 0.60 to 0.80." in desc.text


def test_forest_plot_marks_the_landis_koch_bands_and_zero():
    texts = drawn_texts(parse_svg(forest()))

    # m06's interval reaches -0.35, so the axis starts at -0.4 and the "poor" band shows.
    for word in ("poor", "slight", "fair", "moderate", "substantial", "almost perfect"):
        assert word in texts, word
    assert "−0.4" in texts and "0.0" in texts and "1.0" in texts
    assert "Bands: Landis & Koch (1977)." in " ".join(texts)


def test_an_undefined_kappa_is_shown_as_undefined_not_dropped():
    root = parse_svg(forest())
    texts = drawn_texts(root)

    assert "m25 Fails to respond to inquiry about distress (n = 12)" in texts
    assert "undefined" in texts  # the value column
    assert "only one category was used by both coders" in texts  # the reason, on its row
    assert (
        "m25 Fails to respond to inquiry about distress (n = 12): undefined "
        f"({cases.ONE_CATEGORY})." in root[1].text
    )


def test_forest_plot_of_ac1_and_of_fleiss_kappa_names_its_statistic():
    ac1 = parse_svg(forest(statistic="ac1"))
    assert ac1[0].text == "Marker occurrence per turn, Gwet's AC1"
    assert "0.95 [0.90, 1.00]" in drawn_texts(ac1)
    # An unstable estimate is said so in the description.
    assert "(n = 12): 0.95, CI 0.90 to 1.00. Unstable." in ac1[1].text

    three_coders = copy.deepcopy(cases.OCCURRENCE)
    for row in three_coders["scales"] + three_coders["markers"]:
        row["statistics"]["fleiss_kappa"] = row["statistics"].pop("cohen_kappa")
    fleiss = parse_svg(forest_plot(three_coders, fmt="svg"))
    assert "Fleiss' κ with 95% confidence interval" in drawn_texts(fleiss)


def test_forest_plot_png_is_paper_sized():
    # 6.5 in at 300 dpi is 1950 px. Height: 1.7 in plus 0.21 in for each of 7 rows
    # (2 headings, 2 scales, 3 markers) = 3.17 in -> 951 px.
    assert png_size(forest(fmt="png")) == (1950, 951)


def test_forest_plot_refuses_an_unknown_statistic_and_empty_input():
    with pytest.raises(FigureInputError, match="statistic must be 'kappa' or 'ac1'"):
        forest(statistic="alpha")
    with pytest.raises(FigureInputError, match="no scales and no markers"):
        forest_plot({"scales": [], "markers": []}, fmt="svg")
    with pytest.raises(FigureInputError, match="marker occurrence has no 'markers'"):
        forest_plot({"scales": []}, fmt="svg")
    with pytest.raises(FigureInputError, match="format must be one of svg, png"):
        forest(fmt="pdf")


# Confusion matrix heat map -------------------------------------------------------------------


def test_heat_map_has_counts_totals_and_axes_in_words():
    root = parse_svg(pooled_heat_map())
    texts = drawn_texts(root)

    assert root[0].text == "Attachment classification against the AAI, 3-way: all coders pooled"
    assert "Criterion: AAI classification" in texts
    assert "Coded: Attachment classification (the coder's choice)" in texts
    for label in ("F", "(secure/autonomous)", "Ds", "(dismissing)", "E", "(preoccupied)"):
        assert label in texts, label
    # Row names from the codebook where given, else the category code capitalised.
    for label in ("Secure", "Avoidant (dismissing)", "Preoccupied", "Total"):
        assert label in texts, label
    cells = [t for t in texts if t.isdigit()]
    # Reading order: each row's 3 counts then its total, then the column totals and n.
    # Row totals 10+2+1 = 13, 1+8+2 = 11, 0+1+5 = 6; column totals 10+1+0 = 11, 2+8+1 = 11,
    # 1+2+5 = 8; n = 30.
    assert cells == ["10", "2", "1", "13", "1", "8", "2", "11", "0", "1", "5", "6"] + [
        "11",
        "11",
        "8",
        "30",
    ]
    assert "n = 30 coder-session pairs (2 coders) · κ = 0.64 (0.42 to 0.86) · AC1 = 0.67" in (
        " ".join(texts)
    )
    assert "Excluded: 2 (U/CC excluded: 1; no classification: 1)." in texts
    assert "Coded Secure (13): 10 F (secure/autonomous), 2 Ds (dismissing), 1 E" in root[1].text


def test_two_way_heat_map_names_the_collapsed_aai_classes():
    results = cases.criterion_results()
    texts = drawn_texts(
        parse_svg(
            confusion_plot(
                results["per_coder"]["4"]["two_way"],
                fmt="svg",
                mapping=cases.CRITERION_PARAMETERS["mapping"],
                collapse=cases.CRITERION_PARAMETERS["collapse"],
                coder_label="Ana Ruiz",
            )
        )
    )

    assert "Coded classification against the AAI, 2-way: Ana Ruiz" in texts
    assert "Ds or E" in texts and "(insecure)" in texts
    assert "Insecure" in texts
    assert "n = 15 sessions · κ = 0.64 (0.42 to 0.86) · AC1 = 0.67 · agreement 77%" in texts


def test_heat_map_refuses_counts_that_do_not_fit_the_categories():
    bad = copy.deepcopy(cases.criterion_results()["pooled"]["three_way"])
    bad["confusion"]["counts"] = [[1, 2], [3, 4]]
    with pytest.raises(FigureInputError, match="confusion counts must be 3 x 3"):
        confusion_plot(bad, fmt="svg", mapping=cases.CRITERION_PARAMETERS["mapping"])


def test_heat_map_png_is_paper_sized():
    # 6.5 in x (3.4 in + 0.45 in per class x 3 classes = 4.75 in) at 300 dpi.
    assert png_size(pooled_heat_map("png")) == (1950, 1425)


# Agreement over time -------------------------------------------------------------------------


def test_drift_plot_has_title_axes_legend_and_periods_in_order():
    root = parse_svg(drift_plot(cases.drift(), fmt="svg"))
    texts = drawn_texts(root)

    assert root[0].text == "Agreement over time: Cohen's κ per month"
    assert "Month" in texts and "Cohen's κ" in texts
    assert "Ana Ruiz · Ben Cho" in texts and "Ana Ruiz against the AAI" in texts
    periods = [t for t in texts if t.startswith("2026-")]
    assert periods == ["2026-01", "2026-02", "2026-03", "2026-04"]
    desc = root[1].text
    assert "2026-03: undefined, n = 3" in desc
    assert "2026-02: 0.71 (CI 0.50 to 0.90), n = 14" in desc


def test_drift_plot_by_blocks_names_the_block_size():
    blocks = cases.drift()
    blocks.update(period="block", block_size=20)
    for s in blocks["series"]:
        for p in s["points"]:
            p["period"] = {"2026-01": "1-20", "2026-02": "21-40"}.get(p["period"], "41-60")
    texts = drawn_texts(parse_svg(drift_plot(blocks, fmt="svg")))

    assert "Block of 20 sessions" in texts
    assert "Agreement over time: Cohen's κ per block of 20 sessions" in texts
    # Blocks keep the order the series give them in (not sorted as text).
    assert [t for t in texts if t[0].isdigit() and "-" in t] == ["1-20", "21-40", "41-60"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("period"), "drift has no 'period'"),
        (lambda d: d.update(period="week"), "drift.period must be 'month' or 'block'"),
        (lambda d: d["series"][0].pop("label"), r"drift.series\[0\] has no 'label'"),
        (
            lambda d: d["series"][1]["points"][0].update(ci=[0.1]),
            r"drift.series\[1\].points\[0\].ci must be \[low, high\] or null",
        ),
        (lambda d: d["series"][0]["points"][2].pop("value"), r"points\[2\] has no 'value'"),
        (lambda d: [s.update(points=[]) for s in d["series"]], "drift.series has no points"),
    ],
)
def test_drift_input_errors_name_the_field(change, message):
    drift = cases.drift()
    change(drift)
    with pytest.raises(FigureInputError, match=message):
        drift_plot(drift, fmt="svg")


def test_drift_png_is_paper_sized():
    assert png_size(drift_plot(cases.drift(), fmt="png")) == (1950, 1260)  # 6.5 x 4.2 in


# All figures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["svg", "png"])
@pytest.mark.parametrize(
    "draw",
    [
        lambda fmt: forest(fmt=fmt),
        lambda fmt: pooled_heat_map(fmt),
        lambda fmt: drift_plot(cases.drift(), fmt=fmt),
    ],
    ids=["forest", "confusion", "drift"],
)
def test_the_same_results_give_the_same_bytes(draw, fmt):
    assert draw(fmt) == draw(fmt)


def test_png_carries_the_title_and_description():
    content = forest(fmt="png")
    assert b"tEXtTitle\x00" in content or b"iTXtTitle\x00" in content
    assert b"Description" in content


def test_reliability_catalogue_lists_forest_plots_of_units_with_markers():
    results = cases.reliability_results()
    specs = catalogue("reliability", results)

    assert list(specs) == ["forest-kappa-turns", "forest-ac1-turns"]  # segments have none
    assert specs["forest-kappa-turns"].title == (
        "Marker occurrence per turn: Cohen's κ by scale and marker"
    )
    assert specs["forest-kappa-turns"].alt == (
        "Forest plot of Cohen's κ per turn for 2 scales and 3 markers, from 0.15 to 0.82; "
        "1 undefined."
    )
    # CSS size at 96 px per inch: 6.5 in = 624 px, 3.17 in = 304 px.
    assert specs["forest-kappa-turns"].css_size == (624, 304)

    results["drift"] = cases.drift()
    assert list(catalogue("reliability", results))[-1] == "drift"
    results["drift"]["series"] = []
    assert "drift" not in catalogue("reliability", results)


def test_criterion_catalogue_lists_pooled_and_per_coder_heat_maps_per_view():
    specs = catalogue(
        "criterion",
        cases.criterion_results(ana_id=4, ben_id=12),
        parameters=cases.CRITERION_PARAMETERS,
        coder_names={"4": "Ana Ruiz", "12": "Ben Cho"},
        classification_name="Attachment classification",
    )

    assert list(specs) == [
        "confusion-3way-pooled",
        "confusion-3way-coder-4",
        "confusion-3way-coder-12",
        "confusion-2way-pooled",
        "confusion-2way-coder-4",
        "confusion-2way-coder-12",
    ]
    assert specs["confusion-3way-coder-12"].title == (
        "Attachment classification against the AAI, 3-way: Ben Cho"
    )
    texts = drawn_texts(parse_svg(specs["confusion-2way-coder-12"].render("svg")))
    assert "Attachment classification against the AAI, 2-way: Ben Cho" in texts


def test_catalogue_refuses_an_unknown_kind_and_results_without_their_fields():
    with pytest.raises(FigureInputError, match="kind must be"):
        catalogue("psq", {})
    with pytest.raises(FigureInputError, match="the results has no 'overall'"):
        catalogue("reliability", {})
    with pytest.raises(FigureInputError, match="the criterion results has no 'pooled'"):
        catalogue("criterion", {}, parameters=cases.CRITERION_PARAMETERS)


def test_a_criterion_report_with_only_the_psq_part_has_no_aai_heat_maps():
    from apps.reliability.figures import catalogue

    assert catalogue("criterion", {"parts": ["psq"], "pooled": None, "psq": {}}) == {}
