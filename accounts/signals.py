"""Signals sent by the accounts app.

``user_authenticated`` is sent after every successful OpenID Connect authentication, in the browser
and with a bearer token, with ``user``, ``claims`` (the verified claims) and ``created`` (whether this
authentication created the user). Receivers run synchronously, before the response is sent. The
accounts app never imports its receivers: they connect in their own ``AppConfig.ready()``.
"""

from django.dispatch import Signal

user_authenticated = Signal()
