import os

from django.core.wsgi import get_wsgi_application

from config.keepalive import drain_unread_body

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = drain_unread_body(get_wsgi_application())
