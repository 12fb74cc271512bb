"""``kpirules serve``: the engine behind an HTTP API, for the Google Sheets add-on and for
anything else that cannot run the CLI.

* ``payload``  - request bodies: checked, with errors a person can act on;
* ``tabs``     - stateless evaluation of tab values (``/v1/evaluate``) and rule validation
                 (``/v1/validate``), no Google credentials needed;
* ``sheets``   - ``/v1/check`` and ``/v1/run`` on sheets shared with the service's account;
* ``guard``    - one run per spreadsheet at a time (where the sheet lease plugs in);
* ``auth``     - Google ID tokens or a static bearer token;
* ``app``      - the Starlette application: routes, limits, JSON errors, logs.

Starlette and uvicorn are imported only here (and only by ``kpirules serve``): the CLI's
other commands never pay for them.
"""
