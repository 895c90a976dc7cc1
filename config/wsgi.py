import os

from django.core.wsgi import get_wsgi_application

from config.keepalive import drain_unread_body

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

# After setup (get_wsgi_application runs django.setup()): the async accept's own path.
from leads.api.accept_wsgi import accept_shortcut  # noqa: E402

application = drain_unread_body(accept_shortcut(django_application))
