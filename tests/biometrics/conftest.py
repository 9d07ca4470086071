import pytest

from biometrics import worker


@pytest.fixture(autouse=True)
def _fresh_gallery():
    """Each test starts with a process that has no gallery yet (its database is new)."""
    worker.forget()
    yield
    worker.forget()
