"""The rules, free of HTTP: validation, access policy, audit, services per aggregate."""
