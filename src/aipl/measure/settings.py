"""The `[measure]` section of aipl.toml: the 新客 window and the balance threshold of observational lift."""

from __future__ import annotations

from dataclasses import dataclass

from aipl.attribution import NEW_CUSTOMER_DAYS
from aipl.config import check_section, register_section
from aipl.warehouse import Warehouse


@dataclass(frozen=True)
class MeasureSettings:
    """`new_customer_days`: a consumer is a new customer (新客) of a campaign with no purchase of the brand in
    that many days before it starts (DOMAIN.md §11 [P]: 365). `balance_threshold`: an observational estimate is
    presented only when every covariate's standardised mean difference after weighting is below it (0.1).

    >>> MeasureSettings.from_config({"new_customer_days": 180})
    MeasureSettings(new_customer_days=180, balance_threshold=0.1)
    >>> MeasureSettings.from_config({"new_customer_days": 0})
    Traceback (most recent call last):
    ...
    ValueError: aipl.toml [measure]: new_customer_days must be a whole number of days ≥ 1, not 0
    """

    new_customer_days: int = NEW_CUSTOMER_DAYS
    balance_threshold: float = 0.1

    @classmethod
    def from_config(cls, section: dict | None) -> MeasureSettings:
        """The settings of an `aipl.toml` [measure] table (defaults for what it leaves out).

        >>> MeasureSettings.from_config(None).new_customer_days
        365
        """
        s = check_section("measure", cls, section)
        if s.new_customer_days < 1:
            raise ValueError(f"aipl.toml [measure]: new_customer_days must be a whole number of days ≥ 1, not "
                             f"{s.new_customer_days}")
        if not 0 < s.balance_threshold < 1:
            raise ValueError(f"aipl.toml [measure]: balance_threshold must be between 0 and 1, not "
                             f"{s.balance_threshold}")
        return s

    @classmethod
    def of(cls, wh: Warehouse) -> MeasureSettings:
        """The workspace's settings.

        >>> from aipl.simulate import sample_warehouse
        >>> MeasureSettings.of(sample_warehouse()).new_customer_days
        365
        """
        return cls.from_config(wh.config.raw.get("measure"))


register_section("measure", MeasureSettings.from_config)  # checked whenever a workspace is loaded
