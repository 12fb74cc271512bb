"""The Google Sheets add-on (Apps Script: Code.gs, Sidebar.html, appsscript.json), shipped
as package data for ``kpirules init --addon`` (``kpirules.serve.addon_files``)."""
