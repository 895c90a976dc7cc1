"""The OpenAPI schema, generated once per process and language, then served from memory.

drf-spectacular builds the schema on every request by default, and the generator is not thread-safe
(drf-spectacular issue 1123): under gunicorn's threaded workers, concurrent requests to /api/schema/
could answer 500. The schema only changes with the code, so one build per process is enough.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.utils import translation
from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response

_lock = threading.Lock()
_schemas: dict[str, dict] = {}


def _language() -> str:
    # Only configured languages get a build of their own: any ?lang= must not grow the cache.
    code = translation.get_language() or settings.LANGUAGE_CODE
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return translation.get_supported_language_variant(settings.LANGUAGE_CODE)


def schema_get(*, generator_class, urlconf=None, patterns=None, public: bool = True) -> dict:
    """The schema for the active language, built on first use, under a lock, and kept."""
    language = _language()
    schema = _schemas.get(language)
    if schema is None:
        with _lock:
            schema = _schemas.get(language)
            if schema is None:
                with translation.override(language):
                    generator = generator_class(urlconf=urlconf, patterns=patterns)
                    schema = generator.get_schema(request=None, public=public)
                _schemas[language] = schema
    return schema


class CachedSpectacularAPIView(SpectacularAPIView):
    """SpectacularAPIView with the schema built once; JSON, YAML and ?lang= as before."""

    def _get_schema_response(self, request):
        schema = schema_get(
            generator_class=self.generator_class,
            urlconf=self.urlconf,
            patterns=self.patterns,
            public=self.serve_public,
        )
        filename = self._get_filename(request, None)
        return Response(
            data=schema, headers={"Content-Disposition": f'inline; filename="{filename}"'}
        )
