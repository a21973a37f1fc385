"""Template context every page's header needs."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.selectors import memberships_of


def space_choices(request: HttpRequest) -> dict[str, object]:
    """The signed-in user's memberships for the space switcher, queried only when a page shows them."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"space_choices": SimpleLazyObject(lambda: list(memberships_of(user)))}
