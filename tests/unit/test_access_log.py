import logging

from app.asgi import RedactInvitationLinks


def test_the_access_log_never_keeps_an_invitation_secret():
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/me/join/s3cr3t-token_value?x=1", "1.1", 303), None,
    )  # fmt: skip
    RedactInvitationLinks().filter(record)
    assert "s3cr3t" not in record.getMessage()
    assert "/me/join/…" in record.getMessage()
