import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from settings_global.models import ApiCredential
from settings_global.services import api_user_create, global_settings_get

DEMO_USER = "admin"
DEMO_PASSWORD = "admin"
DEMO_API_USER = "demo-vendor"


class Command(BaseCommand):
    help = "Create the demo superuser and demo API credential for `make run`, and print them."

    def handle(self, *args, **options):
        User = get_user_model()
        if not User.objects.filter(username=DEMO_USER).exists():
            User.objects.create_superuser(DEMO_USER, "admin@example.com", DEMO_PASSWORD)
        global_settings_get()
        from lists_hopper.models import Campaign, List

        if not Campaign.objects.exists():
            campaign = Campaign.objects.create(name="Demo campaign")
            List.objects.create(name="Demo list", campaign=campaign)
        demo_list = List.objects.select_related("campaign").order_by("id").first()
        keys_file = settings.BASE_DIR / "var" / "demo_api_credential.json"
        active = ApiCredential.objects.filter(user__username=DEMO_API_USER, is_active=True)
        keys = _saved_keys(keys_file, active)
        if keys is None:
            active.update(is_active=False)
            keys = api_user_create(name=DEMO_API_USER).as_dict()
            keys_file.parent.mkdir(exist_ok=True)
            keys_file.write_text(json.dumps(keys, indent=2))
            keys_file.chmod(0o600)
        self.stdout.write("")
        self.stdout.write("Admin:   http://127.0.0.1:8000/admin/  user admin, password admin")
        self.stdout.write("API docs: http://127.0.0.1:8000/api/docs/")
        if demo_list is not None:
            self.stdout.write(
                f"Dialer: list_id={demo_list.id} in campaign_id={demo_list.campaign_id}"
            )
        self.stdout.write(f"Demo API credential (also in {keys_file}):")
        for key, value in keys.items():
            self.stdout.write(f"  {key}: {value}")
        self.stdout.write("")


def _saved_keys(keys_file, active) -> dict | None:
    """The saved keys, if they are an active demo credential of this database: the file outlives
    a database (another DATABASE_URL, a deleted SQLite file), and its keys must not."""
    try:
        keys = json.loads(keys_file.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(keys, dict) or not active.filter(access_key=keys.get("access_key")).exists():
        return None
    return keys
