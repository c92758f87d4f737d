"""Typed results of the simulator (`aipl.results.Result` subclasses): dicts whose fields also read as attributes,
with a one-line repr."""

from __future__ import annotations

from aipl.results import Result


class MarketTruth(Result):
    """The hidden ground truth of a simulated market (what `simulate_market` returns and `find_truth` reads back
    from `truth.json`): the `spec`, the ad `channels`, the campaign `calendar`, the funnel and ad-response
    parameters, per brand its category, response curves, exposures and true incremental purchases (`brands`), and
    the randomised holdout's size.

    >>> t = MarketTruth(spec={"consumers": 200, "days": 20, "seed": 7}, channels=["search", "display"],
    ...                 brands={"B01": {"category": "skincare"}, "B02": {"category": "snacks"}}, holdout_consumers=25)
    >>> t
    MarketTruth(200 consumers over 20 days, seed 7: 2 brands, 2 channels, 25 held out)
    >>> t.brands["B01"]["category"]
    'skincare'
    """

    spec: dict
    channels: list[str]
    calendar: list[dict]
    funnel_per_view: dict
    view_given_exposure: dict[str, float]
    ctr: dict[str, float]
    adstock_theta: dict[str, float]
    brands: dict[str, dict]
    holdout_consumers: int

    def __repr__(self) -> str:
        s = self["spec"]
        return (f"MarketTruth({s['consumers']:,} consumers over {s['days']} days, seed {s['seed']}: "
                f"{len(self['brands'])} brands, {len(self['channels'])} channels, "
                f"{self['holdout_consumers']:,} held out)")
