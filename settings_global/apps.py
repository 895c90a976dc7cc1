from django.apps import AppConfig


class SettingsGlobalConfig(AppConfig):
    name = "settings_global"
    verbose_name = "Settings"
