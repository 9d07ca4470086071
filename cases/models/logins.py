from django.db import models


class LoginCounter(models.Model):
    """Login attempts in one window, counted before the password is checked
    (cases/lockout.py; docs/architecture.md#login-lockout).

    One row per user name from one address, per address ("" user name) and per user name from
    every address ("" address). User names are kept casefolded; an address is an IPv4 address
    or an IPv6 /64 network."""

    username = models.CharField(max_length=150, blank=True)
    address = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    started = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["username", "address"],
                                               name="cases_login_counter_key")]

    def __str__(self) -> str:
        return f"{self.username or '*'}@{self.address or '*'}: {self.attempts}"


class LoginPlace(models.Model):
    """A browser and network a user logged in from (cases/login_places.py): a keyed hash of the
    address's /24 (IPv6: /48) and the browser family, never the address itself."""

    user = models.ForeignKey("cases.User", on_delete=models.CASCADE, related_name="+",
                             db_index=False)  # the unique constraint's index starts with it
    key = models.CharField(max_length=64)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"],
                                               name="cases_login_place_key")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.key[:8]}"
