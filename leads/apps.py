from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Manage Leads"

    def ready(self) -> None:
        # Register each family's replayer for "Retry injection".
        from leads.api import aninja_replay, leadsquared_replay  # noqa: F401
