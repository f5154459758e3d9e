"""The ASGI application object for servers: `uvicorn app.asgi:app`."""

import logging
import re

from app.main import create_app

INVITATION_LINK = re.compile(r"^/me/join/[^/?#]+")
GUIDANCE_SEARCH = re.compile(r"^/guidance/search\?.*")


class RedactInvitationLinks(logging.Filter):
    """The access log never keeps an invitation's secret: /me/join/<token> is logged as /me/join/…; nor
    what a visitor searched the public guidance for: /guidance/search?q=… is logged as /guidance/search?…"""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access record: (client address, method, path with query, HTTP version, status)
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = GUIDANCE_SEARCH.sub(
                "/guidance/search?…", INVITATION_LINK.sub("/me/join/…", str(args[2]))
            )
            record.args = tuple(args)
        return True


logging.getLogger("uvicorn.access").addFilter(RedactInvitationLinks())
app = create_app()
