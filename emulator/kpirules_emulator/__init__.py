"""Test helpers shipped with kpirules: the Sheets API v4 emulator."""
