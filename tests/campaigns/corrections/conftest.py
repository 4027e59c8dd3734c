"""The send pipeline's builders serve the corrections' tests too."""

from tests.campaigns.sending.conftest import _no_approval_needed, batch_runner, topic

__all__ = ["_no_approval_needed", "batch_runner", "topic"]
