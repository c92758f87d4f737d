"""Every model of aipl follows scikit-learn's estimator contract: parameters in __init__ stored unchanged (so
that clone, get_params and set_params work), fit returns self, learned state only in attributes ending in `_`
and only after fit, NotFittedError before fit, and a readable repr."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pyroaring import BitMap
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.utils import estimator_checks as checks

from aipl.audience.lookalike import Lookalike, lookalike
from aipl.autopilot.response import Curve, ResponseCurve, fit_curve
from aipl.clv import MODELS, BetaGeo, GammaGamma, ParetoNBD
from aipl.clv import NotFittedError as ClvNotFittedError
from aipl.clv.models import sample_histories
from aipl.measure.uplift import LEARNERS, TLearner, XLearner


@dataclass
class Case:
    """An estimator with some parameters changed from their defaults, data to fit it on, and a prediction."""

    estimator: BaseEstimator
    expected_repr: str
    fit_args: tuple
    predict: Any  # fitted estimator → prediction


def _cases() -> dict[str, Case]:
    h = sample_histories()
    freq = (h.frequency, h.recency, h["T"])
    rng = np.random.default_rng(0)
    spend = rng.lognormal(np.log(60), 0.6, 40)
    x = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    xu = rng.normal(size=(400, 2))
    t = rng.random(400) < 0.5
    y = (rng.random(400) < 0.2 + 0.2 * t * (xu[:, 0] > 0)).astype(int)
    base = {"classifier": LogisticRegression(), "regressor": LinearRegression()}
    return {
        "BetaGeo": Case(BetaGeo(penalizer=0.01), "BetaGeo(penalizer=0.01)", freq,
                        lambda m: m.predict(52, *freq)),
        "ParetoNBD": Case(ParetoNBD(penalizer=0.01, maxiter=500), "ParetoNBD(maxiter=500, penalizer=0.01)", freq,
                          lambda m: m.p_alive(*freq)),
        "GammaGamma": Case(GammaGamma(tol=1e-10), "GammaGamma(tol=1e-10)", (h.frequency, h.monetary),
                           lambda m: m.expected_spend(h.frequency, h.monetary)),
        "ResponseCurve": Case(ResponseCurve(thetas=(0.3, 0.6)), "ResponseCurve(thetas=(0.3, 0.6))",
                              (spend, Curve(500.0, 80.0, 1.8, 0.45).predict(spend)), lambda m: m.predict(spend)),
        "Lookalike": Case(Lookalike(k=2.0, classifier=LogisticRegression()),
                          "Lookalike(classifier=LogisticRegression(), k=2.0)", (x, x.index[x.a > 1.0]),
                          lambda m: m.predict_proba(x)),
        "TLearner": Case(TLearner(**base, random_state=1),
                         "TLearner(classifier=LogisticRegression(), random_state=1,\n"
                         "         regressor=LinearRegression())", (xu, t, y), lambda m: m.predict(xu)),
        "XLearner": Case(XLearner(**base), "XLearner(classifier=LogisticRegression(), regressor=LinearRegression())",
                         (xu, t, y), lambda m: m.predict(xu)),
    }


CASES = _cases()


def _learned(est: BaseEstimator) -> set[str]:
    return {k for k in vars(est) if k not in est.get_params(deep=False)}


def _params(est: BaseEstimator) -> dict[str, str]:
    """Parameters compared by value (a base estimator given as a parameter compares by repr)."""
    return {k: repr(v) for k, v in est.get_params(deep=False).items()}


def test_every_registered_model_is_covered():
    assert {cls.__name__ for cls in (*MODELS.values(), *LEARNERS.values())} <= set(CASES)


@pytest.mark.parametrize(
    "check",
    [checks.check_parameters_default_constructible, checks.check_no_attributes_set_in_init,
     checks.check_estimator_cloneable, checks.check_estimator_repr, checks.check_get_params_invariance,
     checks.check_set_params, checks.check_do_not_raise_errors_in_init_or_set_params],
    ids=lambda c: c.__name__,
)
@pytest.mark.parametrize("name", list(CASES))
def test_scikit_learn_api_checks(name, check):
    check(name, clone(CASES[name].estimator))


@pytest.mark.parametrize("name", list(CASES))
def test_clone_and_params_round_trip(name):
    est = clone(CASES[name].estimator)
    params = est.get_params(deep=False)
    twin = clone(est)
    assert twin is not est and type(twin) is type(est)
    assert twin.get_params(deep=False).keys() == params.keys()
    rebuilt = type(est)().set_params(**params)
    assert rebuilt.get_params(deep=False) == params
    assert repr(rebuilt) == repr(est)
    deep = est.get_params(deep=True)
    assert type(est)().set_params(**deep).get_params(deep=False).keys() == params.keys()


@pytest.mark.parametrize("name", list(CASES))
def test_fit_returns_self_and_learns_only_underscored_attributes(name):
    case = CASES[name]
    est = clone(case.estimator)
    assert not [k for k in vars(est) if k.endswith("_")]  # nothing learned before fit
    with pytest.raises(NotFittedError):
        case.predict(est)
    assert est.fit(*case.fit_args) is est
    learned = _learned(est)
    assert learned and all(k.endswith("_") and not k.startswith("_") for k in learned), learned
    assert _params(est) == _params(case.estimator)  # fit leaves parameters alone, base models unfitted
    assert not [k for v in est.get_params(deep=False).values() if isinstance(v, BaseEstimator) for k in vars(v)
                if k.endswith("_")]
    out = np.asarray(case.predict(est))
    assert len(out) and np.all(np.isfinite(out))
    fresh = clone(est)  # a clone of a fitted model is unfitted and learns the same again
    assert not _learned(fresh)
    np.testing.assert_allclose(case.predict(fresh.fit(*case.fit_args)), out, rtol=1e-9)


@pytest.mark.parametrize("name", list(CASES))
def test_readable_repr(name):
    case = CASES[name]
    assert repr(clone(case.estimator)) == case.expected_repr
    assert repr(type(case.estimator)()) == f"{name}()"
    assert repr(clone(case.estimator).fit(*case.fit_args)) == case.expected_repr  # fitting does not change the repr


def test_clv_not_fitted_error_is_scikit_learns():
    assert issubclass(ClvNotFittedError, NotFittedError)
    with pytest.raises(ClvNotFittedError, match="BetaGeo is not fitted yet"):
        BetaGeo().expected([10.0])


def test_fitted_results_are_typed():
    spend, outcome = CASES["ResponseCurve"].fit_args
    m = ResponseCurve().fit(spend, outcome)
    assert isinstance(m.curve_, Curve) and m.params_ == {"reach": m.curve_.reach, "k": m.curve_.k,
                                                         "alpha": m.curve_.alpha, "theta": m.curve_.theta}
    assert m.n_days_ == 40 and m.cost_ >= 0
    x, seed = CASES["Lookalike"].fit_args
    la = clone(CASES["Lookalike"].estimator).fit(x, seed)
    assert isinstance(la.feature_importances_, pd.Series) and list(la.feature_names_in_) == ["a", "b", "c"]
    ranked = la.rank(x)
    assert len(ranked) == len(x) - len(seed) and ranked.is_monotonic_decreasing
    assert la.size_ == 2 * len(seed)


def test_parameters_are_checked_at_fit():
    spend, outcome = CASES["ResponseCurve"].fit_args
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        ResponseCurve(thetas=(1.5,)).fit(spend, outcome)
    with pytest.raises(ValueError, match="days of spend"):
        ResponseCurve().fit(spend, outcome[:-1])
    x, seed = CASES["Lookalike"].fit_args
    with pytest.raises(ValueError, match="k > 0"):
        Lookalike(k=0).fit(x, seed)
    with pytest.raises(ValueError, match="at least 20"):
        Lookalike().fit(x, seed[:5])
    with pytest.raises(TypeError, match="DataFrame"):
        Lookalike().fit(x.to_numpy(), seed)


def test_public_functions_run_on_the_estimators():
    spend, outcome = CASES["ResponseCurve"].fit_args
    assert fit_curve(spend, outcome, thetas=(0.3, 0.6)) == clone(CASES["ResponseCurve"].estimator).fit(
        spend, outcome).curve_
    x, seed = CASES["Lookalike"].fit_args
    summary = lookalike(x, BitMap(seed.tolist()), k=2.0)
    model = Lookalike(k=2.0).fit(x, seed)
    pd.testing.assert_series_equal(summary.scores, model.rank(x))
    assert summary["size"] == model.size_ and summary["c"] == model.c_ and summary["left_out"] == list(model.left_out_)
