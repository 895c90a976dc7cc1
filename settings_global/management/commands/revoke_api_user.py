from django.core.management.base import BaseCommand, CommandError

from config.outages import REDIS_AWAY, REDIS_AWAY_CHANGE
from settings_global.services import api_user_revoke


class Command(BaseCommand):
    help = (
        "Revoke every active key of an API user, effective from the next request in every worker."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name: str, **options):
        try:
            count = api_user_revoke(name=name)
        except REDIS_AWAY as exc:
            raise CommandError(f"{REDIS_AWAY_CHANGE} ({exc})") from None
        if not count:
            raise CommandError(f"No active API credentials for {name!r}")
        self.stdout.write(f"Revoked {count} credential(s) of {name}.")
