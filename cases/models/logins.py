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
