"""Chosen staff passwords: length limits only, no composition rules; common passwords and the person's own
words refused (ASVS 6.2.1, 6.2.4, 6.2.5, 6.2.9, 6.2.11)."""

import pytest

from app.domain import auth


@pytest.mark.parametrize(
    ("password", "refused"),
    [
        ("correct horse battery staple", False),
        ("kissa koira auto talo", False),
        ("Password123!", True),  # a common password with a digit and a mark
        ("qwertyuiop123", True),
        ("aino.virtanen2026", True),  # the person's own name
        ("Esimerkkila2026!", True),  # the organisation
        ("kotopolku kotopolku", True),  # the service
        ("x" * 11, True),
        ("x" * 1025, True),
    ],
)
def test_password_policy(password, refused):
    context = ["Aino Virtanen", "aino.virtanen@esimerkkila.fi", "Esimerkkilän kaupunki"]
    assert (auth.password_problem(password, context) is not None) == refused
