"""Template context every page's header needs."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.models import Membership
from accounts.selectors import memberships_of


def space_choices(request: HttpRequest) -> dict[str, object]:
    """The signed-in user's memberships for the space switcher, queried only when a page shows them.

    Lazy through and through, the user included: a page that shows no switcher (the error pages, the
    503 page while the database is down) never looks the user up.
    """

    def choices() -> list[Membership]:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return []
        return list(memberships_of(user))

    return {"space_choices": SimpleLazyObject(choices)}
