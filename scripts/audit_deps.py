"""`make audit-deps`: pip-audit over the packages installed in .venv, when a vulnerability service answers.

pip-audit asks PyPI's JSON API (`/pypi/NAME/VERSION/json`, which carries the known vulnerabilities) or
OSV. A machine that reaches only a package index (the simple API) gets 404 for every package there, and
pip-audit would then print "No known vulnerabilities found" while it audited nothing. So this script
first asks each service about one known package; when neither answers it says so and exits 0 (an audit
that could not run is not a failure of the build). When one answers, pip-audit runs with --strict: a
package it could not audit fails the run as a vulnerable one does.

    .venv/bin/python scripts/audit_deps.py          # exit 0: audited and clean, or skipped (says which)
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

TIMEOUT = 10
PYPI_PROBE = "https://pypi.org/pypi/jinja2/3.1.2/json"  # a release with published vulnerabilities
OSV_PROBE = "https://api.osv.dev/v1/query"
PIP_AUDIT = Path(sys.executable).with_name("pip-audit")


def _pypi_answers() -> bool:
    try:
        with urllib.request.urlopen(PYPI_PROBE, timeout=TIMEOUT) as response:
            return "vulnerabilities" in json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _osv_answers() -> bool:
    query = json.dumps({"package": {"name": "jinja2", "ecosystem": "PyPI"}, "version": "3.1.2"}).encode()
    request = urllib.request.Request(OSV_PROBE, data=query, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - a fixed https URL
            return "vulns" in json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main() -> int:
    if _pypi_answers():
        service = "pypi"
    elif _osv_answers():
        service = "osv"
    else:
        print(
            "audit-deps: skipped — neither PyPI's JSON API nor OSV answers from this machine, "
            "so pip-audit could audit nothing (it would report every package as not found)."
        )
        return 0
    command = [str(PIP_AUDIT), "--strict", "--skip-editable", "--progress-spinner", "off", "-s", service]
    print("audit-deps:", " ".join(command[1:]), flush=True)
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
