"""What a file is by its first bytes, for the error of a file that is not what its name
says: an .xlsx workbook renamed .csv, a CSV file saved with an .xlsx name, an Excel 97-2003
file or a password-protected workbook (both OLE containers), or a spreadsheet format
kpirules does not read. Each gets what it is and how to fix it, not a reader's complaint
about NUL bytes or a missing zip directory."""

from __future__ import annotations

import os

from kpirules.errors import SourceError
from kpirules.i18n import _

ZIP = b"PK\x03\x04"  # .xlsx (and .ods, .numbers)
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, .xlsb's elder; also an encrypted .xlsx
# Spreadsheet formats that are not read, by their suffix: what to call them.
OTHER_FORMATS = {".xls": "Excel 97-2003 (.xls)", ".xlsb": "Excel binary (.xlsb)",
                 ".ods": "OpenDocument (.ods)", ".numbers": "Numbers (.numbers)"}


def _save_as_xlsx() -> str:
    return _("open it in Excel, LibreOffice or Google Sheets and save it as .xlsx (without a password), "
             "or export the tab as CSV")


def not_csv(path: str, head: bytes) -> SourceError | None:
    """The error for a file read as CSV whose first bytes say it is a workbook, else None."""
    if head.startswith(ZIP):
        return SourceError(_("{path} is an .xlsx workbook (a zip file), not a CSV file").format(path=path),
                           hint=_("rename it to .xlsx, or export the tab as CSV"))
    if head.startswith(OLE):
        return SourceError(_("{path} is an Excel 97-2003 (.xls) file or a password-protected workbook, "
                             "not a CSV file").format(path=path), hint=_save_as_xlsx())
    return None


def not_xlsx(path: str) -> SourceError | None:
    """The error for a file read as .xlsx that is empty, an OLE container or text, else None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    if not head:
        return SourceError(_("{path} is empty (0 bytes)").format(path=path),
                           hint=_("save it again from Excel or Google Sheets as .xlsx"))
    if head.startswith(OLE):
        return SourceError(_("{path} is an Excel 97-2003 (.xls) file or a password-protected workbook; "
                             "kpirules reads .xlsx workbooks").format(path=path), hint=_save_as_xlsx())
    if head and not head.startswith(ZIP) and b"\x00" not in head:
        return SourceError(_("{path} holds text (a CSV file?), not an .xlsx workbook").format(path=path),
                           hint=_("rename it to .csv"))
    return None


def other_format(source: str) -> SourceError | None:
    """The error for a spreadsheet file of a format kpirules does not read, else None."""
    kind = OTHER_FORMATS.get(os.path.splitext(source)[1].lower())
    if kind is None:
        return None
    return SourceError(_("{path}: {kind} files are not read; kpirules reads .xlsx workbooks and CSV "
                         "files").format(path=source, kind=kind), hint=_save_as_xlsx())
