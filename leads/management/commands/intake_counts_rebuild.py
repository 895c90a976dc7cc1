from django.core.management.base import BaseCommand

from leads.stats import intake_counts_rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the intake rollup behind the dashboard and the vendor scorecards from the "
        "Lead Capture activities and the Failed leads API injection log."
    )

    def handle(self, *args, **options):
        totals = intake_counts_rebuild()
        summary = ", ".join(f"{k} {v}" for k, v in sorted(totals.items())) or "nothing to count"
        self.stdout.write(f"Intake rollup rebuilt: {summary}.")
