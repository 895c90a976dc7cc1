from __future__ import annotations

import pytest

from settings_global.services import global_settings_update
from tests.factories import CampaignFactory, ListFactory

TOKEN = "token-ak_vendor"  # the clear auth_token of the `credential` fixture


@pytest.fixture
def convoso(client, credential):
    """POST (or GET) a Convoso call with the test credential's auth_token as a form parameter."""

    def call(path, data=None, method="post", token=TOKEN, **kwargs):
        params = dict(data or {})
        if token is not None:
            params.setdefault("auth_token", token)
        if method == "get":
            return client.get(path, params, **kwargs)
        return client.post(path, params, **kwargs)

    return call


@pytest.fixture
def campaign(db):
    return CampaignFactory(name="Solar")


@pytest.fixture
def lst(campaign):
    return ListFactory(name="Solar March", campaign=campaign)


def rules(**changes):
    global_settings_update(changes=changes, user=None, via="test")
