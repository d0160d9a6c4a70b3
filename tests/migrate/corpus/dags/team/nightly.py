"""The middle of a chain: derives from an imported subclass and never names the Docker operator."""
from .base import TeamBaseOperator


class NightlyOperator(TeamBaseOperator):
    def execute(self, context):
        context["ti"].log.info("nightly run")
        return super().execute(context)
