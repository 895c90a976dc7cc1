"""A factory per model (factory-boy)."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from injectionlogs.models import FailedInjection
from leads.models import Account, Activity, ActivityType, CaptureRequest, Lead, Visitor
from leads.vocabulary import Family, ReasonCode
from lists_hopper.models import Campaign, DncEntry, HopperEntry, List, WorkflowRule
from settings_global.models import ApiCredential, GlobalSettings, GlobalSettingsChange, hash_secret


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pw")


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class ApiCredentialFactory(factory.django.DjangoModelFactory):
    """Keys whose clear values are known to the test: "<kind>-<n>"."""

    class Meta:
        model = ApiCredential

    user = factory.SubFactory(UserFactory)
    name = factory.LazyAttribute(lambda o: o.user.username)
    access_key = factory.Sequence(lambda n: f"ak_test{n}")
    secret_key_hash = factory.LazyAttribute(lambda o: hash_secret(f"secret-{o.access_key}"))
    api_key_hash = factory.LazyAttribute(lambda o: hash_secret(f"apikey-{o.access_key}"))
    auth_token_hash = factory.LazyAttribute(lambda o: hash_secret(f"token-{o.access_key}"))
    aninja_apikey_hash = factory.LazyAttribute(lambda o: hash_secret(f"aninja-{o.access_key}"))


class GlobalSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GlobalSettings
        django_get_or_create = ("id",)

    id = 1


class GlobalSettingsChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GlobalSettingsChange

    global_settings = factory.SubFactory(GlobalSettingsFactory)
    field = "bulk_row_limit"
    old_value = "25"
    new_value = "10"


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n}")


class VisitorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visitor

    source = "Website"


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")


class ListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = List

    name = factory.Sequence(lambda n: f"List {n}")
    campaign = factory.SubFactory(CampaignFactory)


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    first_name = "Ann"
    last_name = factory.Sequence(lambda n: f"Lee{n}")
    contact_name = factory.LazyAttribute(lambda o: f"{o.first_name} {o.last_name}")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    email_normalized = factory.LazyAttribute(lambda o: o.email.strip().casefold())
    phone = ""
    phone_normalized = ""


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    lead = factory.SubFactory(LeadFactory)
    type = ActivityType.LEAD_CAPTURE


class CaptureRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaptureRequest

    body = factory.LazyFunction(lambda: [{"Attribute": "EmailAddress", "Value": "a@example.com"}])


class HopperEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HopperEntry

    lead = factory.SubFactory(LeadFactory)
    campaign = factory.SubFactory(CampaignFactory)
    priority = 99


class DncEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DncEntry

    phone = "+12015550199"


class WorkflowRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkflowRule

    name = factory.Sequence(lambda n: f"Rule {n}")


class FailedInjectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FailedInjection

    reason_code = ReasonCode.MISSING_CONTACT_NAME
    reason = "Missing required fields (contact_name)"
    data = factory.LazyFunction(lambda: {"contact_email1": "x@example.com"})
    family = Family.ANINJA
    endpoint = "/api/v1/contactform/"
