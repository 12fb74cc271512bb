"""``kpirules run``: evaluate, write results next to each rule, keep History, raise alerts.

Made for unattended runs (cron, systemd timers, GitHub Actions): one line per rule on
stdout, problems on stderr, no secrets in either, and exit statuses a scheduler can act on.
"""

from __future__ import annotations

import sys

import click

from kpirules.cli.common import (data_option, DATE, config_option, connector_options, echo, echo_json, format_option,
                                 settings_used, source_errors, source_options, status_text, use_color,
                                 verbosity_options)
from kpirules.cli.main import EXIT_ERROR
from kpirules.errors import shown
from kpirules.i18n import _, ngettext


@click.command("run")
@click.argument("source")
@click.option("--as-of", type=DATE, default=None, metavar="YYYY-MM-DD",
              help="Evaluate as of this date (default: today in the sheet's time zone).")
@click.option("--dry-run", is_flag=True,
              help="Print every cell and row that would be written; write and send nothing.")
@click.option("--restate", type=click.IntRange(0, 366), default=None, metavar="N",
              help="Re-evaluate the N periods before the current one for late data "
                   "(default: restate_periods in the settings, 3).")
@click.option("--no-notify", is_flag=True, help="Write Alerts rows but send no notifications.")
@click.option("--out", "out", type=click.Path(dir_okay=False), metavar="COPY.xlsx",
              help="Write into a copy of SOURCE (an .xlsx file), made afresh as COPY.xlsx; "
                   "SOURCE is only read.")
@format_option()
@config_option
@verbosity_options
@source_options
@data_option
@source_errors
def command(source, as_of, dry_run, restate, no_notify, out, fmt, config, quiet, verbose, data_tab, rules_tab,
            connector, credentials):
    """Evaluate SOURCE's rules and write the results back into it.

    SOURCE is an .xlsx workbook or a Google Sheets URL or key with a Rules tab. Next to
    each rule go its Status, Value, Target, Period, Checked and Message; every result is
    kept in the History tab (one row per rule, segment and period); a status change adds
    a row to the Alerts tab and is sent to the configured channels.

    \b
    Exit status (docs/running.md): 0 all good, 1 some rule fails, 2 some rule has an
                 error (or bad settings), 3 the source could not be read or nothing
                 was written, 5 some alert is still owed (the next run sends it),
                 6 the data are late, 7 another run holds the sheet (nothing changed).

    \b
    Examples:
      kpirules run examples/marketing.xlsx --as-of 2026-11-26
      kpirules run https://docs.google.com/spreadsheets/d/KEY/edit --dry-run
    """
    from kpirules.cli.main import internal_error
    from kpirules.config import ConfigError
    from kpirules.errors import SourceError
    from kpirules.exitcodes import Exit
    from kpirules.writeback.lease import LeaseHeld
    from kpirules.writeback.runner import run

    settings_used(config, verbose)
    if out and not dry_run:
        source = copy_workbook(source, out)
    from kpirules.bulk import kept_bulk

    try:
        with kept_bulk():
            outcome = run(source, as_of=as_of, dry_run=dry_run, config=config, data_tab=data_tab,
                          rules_tab=rules_tab, restate=restate, connector=connector, notify=not no_notify,
                          **connector_options(credentials))
    except ConfigError as exc:
        for problem in exc.problems:
            echo(f"{_('error')}: {problem.render()}", err=True)
        sys.exit(EXIT_ERROR)
    except LeaseHeld as exc:
        echo(f"{_('error')}: {exc}", err=True)
        sys.exit(int(Exit.LOCKED))
    except SourceError:
        raise  # exit status 3, with its hint (source_errors)
    except Exception as exc:  # noqa: BLE001
        # A crash must not exit 1, which schedulers read as "some KPI fails" and ignore.
        internal_error(exc, _("kpirules run stopped; nothing was written after it"))
    if fmt == "json":
        echo_json(outcome_json(outcome))
        sys.exit(outcome.exit_status)
    color = use_color()
    if not quiet:
        print_rules(outcome, color=color)
    warning, error = _("warning"), _("error")
    for line in outcome.report.warning_lines():
        echo(f"{warning}: {line}", err=True)
    if outcome.not_checked is not None:
        echo(f"{error}: {outcome.not_checked.message}", err=True)
        if outcome.not_checked.hint:
            echo(_("hint: {hint}").format(hint=outcome.not_checked.hint), err=True)
    if dry_run:
        echo("\n" + _("dry run: nothing was written or sent. It would write:"))
        for line in outcome.plan.describe() or [_("(nothing)")]:
            echo("  " + line)
        for record in outcome.alerts:
            echo(f"  alert: {_alert_line(record)}")
        due = [r for r in outcome.earlier if r.owed and not r.hold]
        if due:
            # English says "alert(s)" whatever the number; Polish has its three forms.
            echo("  " + ngettext("and deliver {n} alert(s) owed by earlier runs (oldest raised {raised})",
                                       "and deliver {n} alert(s) owed by earlier runs (oldest raised {raised})",
                                       len(due)).format(n=len(due), raised=due[0].raised))
    else:
        for record in outcome.alerts:
            echo(f"alert: {_alert_line(record)}")
        delivered = [r for r in outcome.earlier if r.deliveries and not r.owed]
        if delivered:
            echo(ngettext("delivered {n} alert(s) owed by earlier runs (raised {raised} or later)",
                                "delivered {n} alert(s) owed by earlier runs (raised {raised} or later)",
                                len(delivered)).format(n=len(delivered), raised=min(r.raised for r in delivered)))
        for d in outcome.failed_deliveries:
            echo(_("{error}: notification {delivery}").format(error=error, delivery=d.describe()), err=True)
        if outcome.owed:
            echo(f"{warning}: " + ngettext("{n} alert(s) still owed: the next run sends them",
                                                  "{n} alert(s) still owed: the next run sends them",
                                                  outcome.owed).format(n=outcome.owed), err=True)
        if outcome.state_not_recorded:
            echo(f"{warning}: {outcome.state_not_recorded}", err=True)
    echo(summary_line(outcome))
    sys.exit(outcome.exit_status)


def copy_workbook(source: str, out: str) -> str:
    """``--out``: SOURCE copied to ``out`` (replacing it), the path to run on. A try-out of
    the bundled example then leaves the tracked workbook as it was."""
    import os
    import shutil

    from kpirules.errors import SourceError, without_passwords

    if not source.lower().endswith((".xlsx", ".xlsm")) or not os.path.isfile(source):
        raise SourceError(_("--out copies an .xlsx workbook; {source} is not one").format(
            source=without_passwords(source)), hint=_("for a Google Sheet, make a copy in Google Sheets and run on that"))
    if not out.lower().endswith((".xlsx", ".xlsm")):
        raise SourceError(_("--out {out}: the copy must be an .xlsx file too").format(out=out))
    if os.path.abspath(out) == os.path.abspath(source):
        return source
    try:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        shutil.copyfile(source, out)
    except OSError as exc:
        raise SourceError(_("cannot copy {source} to {out}: {reason}").format(
            source=source, out=out, reason=exc.strerror)) from None
    return out


def outcome_json(outcome) -> dict:
    """``run --format json``: check's document (as_of, results) plus what run did."""
    from kpirules.rulesfile import enabled

    history = outcome.plan.tabs[1].counts if len(outcome.plan.tabs) > 1 else {}
    entries = [s.entry for s in outcome.summaries]
    return outcome.report.to_json() | {
        "rules": [{"name": s.entry.name, "status": s.status, "period": s.period or None,
                   "message": s.message, "enabled": enabled(s.entry)} for s in outcome.summaries],
        "counts": {"rules": sum(map(enabled, entries)), "disabled": sum(not enabled(e) for e in entries)},
        "written": outcome.written,
        "would_write": outcome.plan.describe() if not outcome.written else [],
        "history": {k: history.get(k, 0) for k in ("new", "updated", "restated")},
        "alerts": [{"name": a.result.name, "segment": a.result.segment, "previous": a.previous,
                    "status": a.status} for a in outcome.alerts],
        "notifications": [{"channel": getattr(d, "channel", None), "ok": d.ok, "detail": d.describe()}
                          for d in outcome.deliveries],
        "exit_status": outcome.exit_status,
    } | ({"not_checked": outcome.not_checked.message} if outcome.not_checked is not None else {})


def print_rules(outcome, *, color: bool) -> None:
    """One line per rule: status, name and the message's first line, which carries the
    value, the target and the numbers (for a rule with ``by``, the period goes first)."""
    for s in outcome.summaries:
        message = s.message.splitlines()[0] if s.message else ""
        segmented = len(s.results) > 1 or any(r.segment for r in s.results)
        status = _status(outcome, s)
        head = f"{status_text(_('not checked') if status == 'not checked' else status, color)} {shown(s.entry.name)}"
        if segmented and s.period:
            head += f" ({s.period})"
        echo(f"{head}: {shown(message)}" if message else head)


def _status(outcome, summary) -> str:
    """A rule's status as the run's lines count it: "not checked" for every rule when the
    data could not be read (its Status cell says why, and so does its message)."""
    return "not checked" if outcome.not_checked is not None and summary.status != "OFF" else summary.status


def _alert_line(record) -> str:
    from kpirules.writeback.summary import segment_key

    if record.event:
        return shown(f"{record.result.message} ({record.event})")
    seg = segment_key(record.result.segment)
    head = f"{record.result.name}" + (f" [{seg}]" if seg else "")
    return shown(f"{head}: {record.previous or _('new')} -> {record.status}")


def summary_line(outcome) -> str:
    from kpirules.i18n import date_text
    from kpirules.rulesfile import count_text
    from kpirules.writeback.plan import count_of

    counts: dict[str, int] = {}
    for s in outcome.summaries:
        status = _status(outcome, s)
        counts[status] = counts.get(status, 0) + 1
    # Disabled rules are counted as every command counts them: "13 rules (1 disabled)".
    order = ["PASS", "WARN", "FAIL", "INCONCLUSIVE", "NO_DATA", "ERROR"]
    statuses = ", ".join(f"{counts[k]} {k}" for k in order if k in counts) or _("no rules")
    if counts.get("not checked"):
        statuses = _("{n} not checked (the data could not be read)").format(n=counts["not checked"])
    history = outcome.plan.tabs[1].counts if len(outcome.plan.tabs) > 1 else {}
    sent = sum(1 for d in outcome.deliveries if d.ok)
    # The counts in words ("136 new"), each in the form its number asks for in Polish.
    text = (_("{rules} as of {date}: {statuses}; would write history {new} / {updated} ({restated}), {alerts}")
            if not outcome.written else
            _("{rules} as of {date}: {statuses}; wrote history {new} / {updated} ({restated}), {alerts}")).format(
        rules=count_text([s.entry for s in outcome.summaries]),
        date=date_text(outcome.report.as_of), statuses=statuses, new=count_of("new", history.get("new", 0)),
        updated=count_of("updated", history.get("updated", 0)),
        restated=count_of("restated", history.get("restated", 0)),
        alerts=ngettext("{n} alert", "{n} alerts", len(outcome.alerts)).format(n=len(outcome.alerts)))
    if outcome.deliveries:
        text += ", " + _("{sent}/{total} notifications sent").format(sent=sent, total=len(outcome.deliveries))
    return text
