from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the background worker of the configured TASKS_BACKEND (db or redis)."

    def handle(self, *args, **options):
        if settings.TASKS_BACKEND == "redis":
            call_command("rqworker", "default", with_scheduler=True)
        else:
            call_command("db_worker", interval=0.5)
