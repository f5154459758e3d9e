"""Background jobs: the outbox worker that delivers notifications (push, e-mail, SMS)."""
