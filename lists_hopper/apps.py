from django.apps import AppConfig


class ListsHopperConfig(AppConfig):
    name = "lists_hopper"
    verbose_name = "Lists, campaigns and hopper"

    def ready(self) -> None:
        # The dialer as a stage of the intake pipeline (leads.stages), and the Convoso
        # family's replayer for "Retry injection".
        from lists_hopper import dialer, upload_replay  # noqa: F401
        from lists_hopper.api import replay  # noqa: F401
