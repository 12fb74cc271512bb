"""The Apps Script add-on's files (the repository's ``addon/`` folder, ``kpirules/addon``
in an installed package), written into a folder for ``clasp push`` by
``kpirules init SHEET --addon DIR --service-url URL``.

Only ``Config.gs`` and the manifest's URL allow-list differ from the shipped files: they
name the service. The URL goes in as a JSON string literal, so no URL can become code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kpirules.errors import SourceError
from kpirules.i18n import _

COPIED = ("Code.gs", "Messages.gs", "Sidebar.html")
WRITTEN = ("Config.gs", "appsscript.json")


def addon_source() -> Path:
    """Where the shipped add-on files are."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "addon", package.parent / "addon"):
        if (candidate / "Code.gs").is_file():
            return candidate
    raise SourceError(_("the add-on's files are not installed with this kpirules"),
                      hint=_("reinstall kpirules, or copy the addon/ folder of its repository"))


def check_service_url(url: str) -> str:
    """An https URL (http only on this machine, for trying the add-on against a local service)."""
    from urllib.parse import urlsplit

    from kpirules.errors import without_passwords

    shown = repr(without_passwords(url))  # the URL goes into messages: never its password
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - a port out of range raises ValueError, as "https://[::1" does
    except ValueError:
        parts = None
    local = parts is not None and parts.hostname in ("localhost", "127.0.0.1", "::1")
    if (parts is None or parts.scheme not in ("https", "http") or not parts.hostname
            or (parts.scheme == "http" and not local)):
        raise SourceError(_("{url} is not an https URL for the kpirules service").format(url=shown),
                          hint=_("give the URL `gcloud run deploy` printed, e.g. https://kpirules-abc123-ew.a.run.app"))
    if parts.username is not None or parts.password is not None:
        # It would be printed in the clasp steps and written into Config.gs and the manifest.
        raise SourceError(_("{url} holds a user name or password").format(url=shown),
                          hint=_("give the service's URL without them: the add-on signs in with the user's "
                                 "Google ID token"))
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SourceError(_("{url} has a path: give the service's root URL").format(url=repr(url)),
                          hint=f"{parts.scheme}://{parts.netloc}")
    return f"{parts.scheme}://{parts.netloc}"


def write_addon(folder: str, service_url: str) -> list[str]:
    """Write the add-on into ``folder`` (created if needed); the paths written."""
    url = check_service_url(service_url)
    source = addon_source()
    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for name in COPIED:
            (target / name).write_text((source / name).read_text(encoding="utf-8"), encoding="utf-8")
            written.append(name)
        manifest = json.loads((source / "appsscript.json").read_text(encoding="utf-8"))
        manifest["urlFetchWhitelist"] = [url + "/"]
        (target / "appsscript.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        (target / "Config.gs").write_text(
            "/** Where the kpirules service runs; written by `kpirules init --addon`. */\n"
            f"var KPIRULES_SERVICE_URL = {json.dumps(url)};\n", encoding="utf-8")
    except OSError as exc:
        raise SourceError(_("cannot write the add-on into {folder}: {reason}").format(
            folder=folder, reason=exc.strerror)) from None
    return [os.path.join(folder, n) for n in (*written, *WRITTEN)]


def clasp_steps(folder: str, spreadsheet_key: str | None, service_url: str) -> list[str]:
    """What to run to put the add-on into the sheet with clasp (Google's Apps Script CLI)."""
    parent = spreadsheet_key or "SPREADSHEET_KEY"
    # The commands as they are; their comments and the sentences in the language of the run.
    return [
        "npm install -g @google/clasp        # " + _("once; needs Node.js"),
        "clasp login                         # " + _("once; first turn on https://script.google.com/home/usersettings"),
        f'clasp create --type sheets --title "KPI rules" --parentId {parent} --rootDir {folder}',
        (f"kpirules init {parent} --addon {folder} --service-url {service_url}"
         "   # " + _("again: clasp create may replace appsscript.json")),
        f"cd {folder} && clasp push --force",
        _("Reload the sheet: the KPI rules menu appears. Use KPI rules > Set up this sheet once."),
        _("The service must allow your account: see docs/serve.md (--audience and --allow)."),
    ]
