"""Credential checks. Each is one indexed query; secrets are compared as hashes in constant time."""

from __future__ import annotations

import hmac

from settings_global.models import ApiCredential, hash_secret

_CREDENTIALS = ApiCredential.objects.select_related("user")


def credential_by_keys(access_key: str | None, secret_key: str | None) -> ApiCredential | None:
    """LeadSquared: the public access key finds the row, the secret key proves it."""
    if not access_key or not secret_key:
        return None
    credential = _CREDENTIALS.filter(access_key=access_key, is_active=True).first()
    if credential is None or not credential.check_secret_key(secret_key):
        return None
    if not credential.user.is_active:
        return None
    return credential


def _by_token(field: str, token: str | None) -> ApiCredential | None:
    if not token:
        return None
    digest = hash_secret(token)
    credential = _CREDENTIALS.filter(**{field: digest, "is_active": True}).first()
    if credential is None or not credential.user.is_active:
        return None
    if not hmac.compare_digest(getattr(credential, field), digest):
        return None
    return credential


def credential_by_api_key(api_key: str | None) -> ApiCredential | None:
    """LeadSquared async: the x-api-key header."""
    return _by_token("api_key_hash", api_key)


def credential_by_auth_token(token: str | None) -> ApiCredential | None:
    """Convoso: auth_token."""
    return _by_token("auth_token_hash", token)


def credential_by_aninja_apikey(apikey: str | None) -> ApiCredential | None:
    """aNinja: apikey."""
    return _by_token("aninja_apikey_hash", apikey)
