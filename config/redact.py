"""Credentials out of every log line and stored text, with no Django import (gunicorn's master
process loads it before the app).

Names are compared case-insensitively and without separators, after percent- or JSON-decoding, so
secretKey, SECRET_KEY, secret-key, secret%4Bey and "secret\\u004bey" are all one name.
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import unquote_plus

REDACTED = "[redacted]"

# Parameter names that carry credentials in any family (accessKey is public, but goes too).
CREDENTIAL_NAMES = frozenset(
    {
        "accesskey",
        "secretkey",
        "xapikey",
        "apikey",
        "authtoken",
        "token",
        "password",
        "passwd",
        "authorization",
    }
)


def is_credential_name(name: str) -> bool:
    return re.sub(r"[\s_\-]", "", name.lower()) in CREDENTIAL_NAMES


# name=value as in a query string, form body or log line; the name may be percent-encoded.
_PAIR = re.compile(r"(?P<name>[^\s=&?;\"'{}\[\],:<>/]+)=(?P<value>[^&\s\"';]*)")
# "name": value as in JSON (also single-quoted, as in a Python repr); the value a string or a token.
_JSON_PAIR = re.compile(
    r"(?P<q>[\"'])(?P<name>(?:\\.|(?!(?P=q)).){1,64})(?P=q)\s*:\s*"
    r"(?P<value>\"(?:\\.|[^\"\\])*\"?|'(?:\\.|[^'\\])*'?|[^\s,}\]]+)"
)
# name: value as in a header line.
_HEADER = re.compile(r"(?im)^(?P<name>[A-Za-z][\w\-]*)[ \t]*:[ \t]*(?P<value>[^\r\n]*)")


def _pair_name(name: str) -> str:
    try:
        return unquote_plus(name)
    except Exception:  # noqa: BLE001 - a malformed escape is just not a credential name
        return name


def _json_name(name: str, quote: str) -> str:
    if quote == '"':
        try:
            return json.loads(f'"{name}"')
        except ValueError:
            return name
    return name


def redact_text(text: str) -> str:
    """The text with the value of every credential-named parameter replaced."""
    if not text or not isinstance(text, str):
        return text

    def pair(match: re.Match) -> str:
        if is_credential_name(_pair_name(match["name"])):
            return f"{match['name']}={REDACTED}"
        return match[0]

    def json_pair(match: re.Match) -> str:
        if is_credential_name(_json_name(match["name"], match["q"])):
            q = match["q"]
            return f'{q}{match["name"]}{q}: "{REDACTED}"'
        return match[0]

    def header(match: re.Match) -> str:
        if is_credential_name(match["name"]):
            return f"{match['name']}: {REDACTED}"
        return match[0]

    text = _JSON_PAIR.sub(json_pair, text)
    text = _PAIR.sub(pair, text)
    return _HEADER.sub(header, text)


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then redacts the whole line, traceback included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


class RedactingFilter(logging.Filter):
    """For handlers whose formatter is not ours: redacts the message before it is formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True
