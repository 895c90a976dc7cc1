import json

from django.core.management.base import BaseCommand, CommandError

from config.outages import REDIS_AWAY, REDIS_AWAY_CHANGE
from settings_global.models import ApiCredential
from settings_global.services import api_user_create


class Command(BaseCommand):
    help = "Create an API user and its keys. The secrets are printed once and stored only hashed."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--json", action="store_true", help="print the keys as one JSON object")

    def handle(self, *args, name: str, json: bool = False, **options):
        name = name.strip()
        if not name:
            raise CommandError("NAME must not be empty")
        if ApiCredential.objects.filter(user__username=name, is_active=True).exists():
            raise CommandError(
                f"API user {name!r} already has active keys; revoke them first "
                f"(manage.py revoke_api_user {name})"
            )
        try:
            issued = api_user_create(name=name)
        except REDIS_AWAY as exc:
            raise CommandError(f"{REDIS_AWAY_CHANGE} ({exc})") from None
        if json:
            self.stdout.write(_dumps(issued.as_dict()))
            return
        for key, value in issued.as_dict().items():
            self.stdout.write(f"{key}: {value}")
        self.stdout.write("Keep these now: the secrets are stored only as hashes.")


def _dumps(data: dict) -> str:
    return json.dumps(data)
