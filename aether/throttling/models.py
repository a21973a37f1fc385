from django.db import models


class ThrottleCount(models.Model):
    """How many requests one client made in one window of one throttle.

    A window is ``period`` seconds of wall-clock time, numbered from the Unix epoch; ``key`` names the
    throttle, its period and the client (``api/60:user:<id>``). A row is of use for two windows (its own,
    then as the previous one), after which ``expires_at`` lets it be deleted.
    """

    pk = models.CompositePrimaryKey("key", "window_number")
    key = models.CharField(max_length=200)
    window_number = models.BigIntegerField()
    hits = models.PositiveIntegerField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key} #{self.window_number}: {self.hits}"
