"""A Google Sheets API v4 emulator on loopback (``python -m kpirules_emulator``)."""
