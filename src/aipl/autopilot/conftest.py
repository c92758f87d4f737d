"""The docstring examples share the audience engine's example workspace (`wh`)."""

from aipl.audience.conftest import _examples_see_wh, example_warehouse  # noqa: F401 (fixtures)
