from django.core.management.base import BaseCommand, CommandError

from settings_global.services import api_user_revoke


class Command(BaseCommand):
    help = (
        "Revoke every active key of an API user, effective from the next request in every worker."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name: str, **options):
        count = api_user_revoke(name=name)
        if not count:
            raise CommandError(f"No active API credentials for {name!r}")
        self.stdout.write(f"Revoked {count} credential(s) of {name}.")
