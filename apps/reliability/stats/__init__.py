"""Inter-rater reliability statistics: pure numpy/scipy, no Django.

Single-item functions take a units x coders table of labels (None/NaN/'' missing) or an
encoded :class:`Ratings`; vectorised functions take arrays over many items (markers) at
once. Every function returns :class:`StatResult` / :class:`ItemResults` whose undefined
values carry a reason instead of NaN. Formulas, CI methods and sources: docs/statistics.md.
"""

from .agreement import bias_index, pabak, pabak_table, prevalence_index, table_indices
from .alpha import LEVELS, alpha_core, gwet_alpha_se, interval_alpha_many, krippendorff_alpha
from .bands import cicchetti, describe, koo_li, koo_li_ci, krippendorff_band, landis_koch
from .battery import agreement_battery, histograms
from .bootstrap import BootstrapCI, bootstrap_ci, percentile_interval, resample_weights
from .categories import (
    AAI_TO_PACS,
    SECURE_VS_INSECURE,
    Ratings,
    agreement_weights,
    category_counts,
    collapse_categories,
    collapse_codes,
    encode_ratings,
)
from .criterion import (
    PACS_CRITERION,
    CoderComparison,
    CriterionAgreement,
    CriterionMapping,
    CriterionRecord,
    Exclusion,
    ViewAgreement,
    auc_mann_whitney,
    class_accuracy,
    compare_coders_with_criterion,
    criterion_agreement,
    criterion_views,
    pair_with_criterion,
    proportion,
    resolve_criterion,
    resolved_criteria,
    scales_against_criterion,
    view_agreement,
    wilson_interval,
)
from .gwet import brennan_prediger, conger_kappa, gwet_ac1, gwet_core, percent_agreement
from .icc import FORMS as ICC_FORMS
from .icc import icc, icc_many
from .kappa import (
    cohen_core,
    cohen_kappa,
    cohen_kappa_table,
    confusion_matrix,
    contingency_table,
    fleiss_kappa,
    fleiss_kappa_by_category,
    light_kappa,
    scott_pi,
    scott_pi_table,
)
from .results import ItemResults, StatResult

__all__ = [
    "AAI_TO_PACS",
    "PACS_CRITERION",
    "CoderComparison",
    "CriterionMapping",
    "CriterionRecord",
    "Exclusion",
    "ViewAgreement",
    "auc_mann_whitney",
    "compare_coders_with_criterion",
    "criterion_views",
    "pair_with_criterion",
    "resolve_criterion",
    "resolved_criteria",
    "scales_against_criterion",
    "view_agreement",
    "wilson_interval",
    "ICC_FORMS",
    "LEVELS",
    "SECURE_VS_INSECURE",
    "BootstrapCI",
    "CriterionAgreement",
    "ItemResults",
    "Ratings",
    "StatResult",
    "agreement_battery",
    "agreement_weights",
    "alpha_core",
    "bias_index",
    "bootstrap_ci",
    "brennan_prediger",
    "category_counts",
    "cicchetti",
    "class_accuracy",
    "cohen_core",
    "cohen_kappa",
    "cohen_kappa_table",
    "collapse_categories",
    "collapse_codes",
    "confusion_matrix",
    "conger_kappa",
    "contingency_table",
    "criterion_agreement",
    "describe",
    "encode_ratings",
    "fleiss_kappa",
    "fleiss_kappa_by_category",
    "gwet_ac1",
    "gwet_alpha_se",
    "gwet_core",
    "histograms",
    "icc",
    "icc_many",
    "interval_alpha_many",
    "koo_li",
    "koo_li_ci",
    "krippendorff_alpha",
    "krippendorff_band",
    "landis_koch",
    "light_kappa",
    "pabak",
    "pabak_table",
    "percent_agreement",
    "percentile_interval",
    "prevalence_index",
    "proportion",
    "resample_weights",
    "scott_pi",
    "scott_pi_table",
    "table_indices",
]
