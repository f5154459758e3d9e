"""The migrant app at /me/: one module per area, each with its own Router.

access   — sign-in with a passkey, enrolment with an invitation, sign-out (no session needed)
pages    — home, my plan (programme texts and officers' text in the client's language)
appointments — upcoming and past, .ics, confirm / cancel / ask for another time
messages — threads with the officers, reply, the original one tap away
approve  — approving a plan version with a fresh passkey assertion bound to the version's hash
data     — my data (readable and JSON), who has viewed my data, feedback
settings — language, passkeys (add/remove), push notifications (subscribe/unsubscribe)
pwa      — web app manifest, service worker, offline page, read-aloud audio (espeak-ng)

Every handler reads the client from current_client(request) and never takes a client id from the
request: a client can only ever reach their own data. Other ids (appointment, thread, plan version) are
looked up within that client's own records; someone else's id gives 404.
"""

from __future__ import annotations

from litestar import Router

from app.routes.me import access, appointments, approve, data, messages, pages, pwa, settings

# Pages of one person: never in the public API schema.
router = Router(
    path="/",
    include_in_schema=False,
    route_handlers=[
        access.router,
        pages.router,
        appointments.router,
        messages.router,
        approve.router,
        data.router,
        settings.router,
        pwa.router,
    ],
)
