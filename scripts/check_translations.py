"""Fail when the .pot is stale or a required translation is missing.

- messages.pot must equal a fresh extraction (ids and the files they come from; the header is ignored);
- every .po must hold exactly the .pot's messages (run `make extract` after changing strings);
- fi, sv and en (the back office) translate every message;
- ar, fa, ru, uk and so translate every message clients read: public and migrant pages, the plan
  printout and notifications.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "app" / "locales"
COMPLETE = ("fi", "sv", "en")
PUBLIC_ONLY = ("ar", "fa", "ru", "uk", "so")
PUBLIC_SURFACE = re.compile(
    # Everything a client or a visitor reads: public pages, the migrant app (templates, routes and its
    # domain modules), e-mails and notifications, the printed plan and invitation, and enum labels.
    r"^app/(templates/(base\.html|error\.html|public/|me/|email/|officer/plans/print\.html"
    r"|officer/clients/invitation\.html)|jobs/|routes/me/|routes/(public_feedback|guidance|referral)\.py|labels\.py"
    r"|domain/(my_\w+|feedback|client_passkeys|invitations|speech|pwa|knowledge\w*|referrals)\.py)"
)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def load(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def messages(catalog: Catalog) -> dict[str, set[str]]:
    # Files only: a string that moves within its file must not make the catalogs stale.
    return {str(m.id): {f for f, _n in m.locations} for m in catalog if m.id}


def main() -> int:
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "messages.pot"
        subprocess.run(
            [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "N_",
             "--sort-by-file", "--add-location=file", "--no-wrap", "-o", str(fresh), "--project=Kotopolku", "app"],
            check=True, capture_output=True, cwd=ROOT,
        )  # fmt: skip
        template = load(LOCALES / "messages.pot")
        if messages(load(fresh)) != messages(template):
            problems.append(
                "app/locales/messages.pot is stale: run `make extract` and translate the new strings."
            )
    wanted = set(messages(template))
    for code in COMPLETE + PUBLIC_ONLY:
        catalog = load(LOCALES / code / "LC_MESSAGES" / "messages.po")
        have = {str(m.id) for m in catalog if m.id}
        if have != wanted:
            problems.append(f"{code}: catalog differs from messages.pot ({len(wanted - have)} missing, "
                            f"{len(have - wanted)} obsolete): run `make extract`.")  # fmt: skip
        for message in catalog:
            if not message.id:
                continue
            required = code in COMPLETE or any(PUBLIC_SURFACE.match(f) for f, _n in message.locations)
            text = message.string if isinstance(message.string, str) else "".join(message.string or ())
            if required and (not text or message.fuzzy):
                problems.append(f"{code}: untranslated: {message.id!r}")
            # Sets, not counts: a language with more plural forms repeats the same placeholder.
            elif text and set(PLACEHOLDER.findall(str(message.id))) != set(PLACEHOLDER.findall(text)):
                problems.append(f"{code}: placeholders differ: {message.id!r}")
    for problem in problems:
        print(problem)
    if not problems:
        print(f"Translations complete: {len(wanted)} messages; {', '.join(COMPLETE + PUBLIC_ONLY)}.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
