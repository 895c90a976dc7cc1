from django.apps import AppConfig


class ListsHopperConfig(AppConfig):
    name = "lists_hopper"
    verbose_name = "Lists, campaigns and hopper"
