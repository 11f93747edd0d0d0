"""Every statistic a report stores has a human name, a definition and advice on trust."""

import pytest

from apps.reliability.statistic_names import STATISTICS, statistic
from apps.reliability.stats.bands import ALPHA, ICC, KAPPA_LIKE, NO_BAND, UnknownStatistic


@pytest.mark.parametrize("key", sorted(KAPPA_LIKE | ALPHA | ICC | NO_BAND))
def test_every_banded_statistic_is_named(key):
    s = statistic(key)
    assert s.key == key
    assert s.name and s.short and s.definition and s.explanation and s.trust


def test_icc_forms_name_model_type_and_unit():
    assert statistic("ICC2").name == (
        "ICC(A,1), two-way random effects, absolute agreement, single rater"
    )
    assert statistic("ICC3").model == "two-way mixed effects, consistency, single rater"
    assert "mean of k raters" in statistic("ICC2k").name


def test_criterion_keys_resolve_through_aliases():
    assert statistic("kappa") is STATISTICS["cohen_kappa"]
    assert statistic("ac1") is STATISTICS["gwet_ac1"]
    for key in ("sensitivity", "specificity", "ppv", "npv", "auc", "spearman"):
        assert statistic(key).key == key


def test_unknown_key_fails_loudly():
    with pytest.raises(UnknownStatistic):
        statistic("kappa_of_my_own")
