// The migrant app: read aloud, push subscription, service worker registration.
