from django.apps import AppConfig


class InjectionLogsConfig(AppConfig):
    name = "injectionlogs"
    verbose_name = "Settings > Logs"
