"""Settings: kpirules.toml / pyproject.toml, the Settings tab, env references, errors, merging."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from kpirules.config import (
    ConfigError,
    EmailChannel,
    MissingEnv,
    Settings,
    SlackChannel,
    WebhookChannel,
    load_settings,
    merge_settings,
    resolve_env,
    settings_from_tab,
)
from kpirules.connectors.base import RawTable
from kpirules.errors import SourceError

FULL = """\
data_tab = "Daily"
rules_tab = "KPIs"
restate_periods = 2
sheet_url = "https://docs.google.com/spreadsheets/d/abc"
timezone = "Europe/Warsaw"

[[notifications]]
name = "team"
type = "slack"
webhook_url = "${SLACK_WEBHOOK_URL}"
on = ["fail", "warn", "recovery"]
rules = ["conversion*", "!conversion_test"]

[[notifications]]
name = "bi"
type = "webhook"
url = "https://hooks.example.com/kpi"
headers = { Authorization = "Bearer ${BI_TOKEN}" }
secret = "${BI_SIGNING_KEY}"

[[notifications]]
name = "mail"
type = "email"
host = "smtp.example.com"
username = "kpi@example.com"
password_env = "SMTP_PASSWORD"
from = "kpirules <kpi@example.com>"
to = ["anna@example.com", "ben@example.com"]
"""


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def test_no_file_and_no_tab_gives_the_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert (s.data_tab, s.rules_tab, s.history_tab, s.alerts_tab) == ("Data", "Rules", "History", "Alerts")
    assert s.date_column == "date" and s.restate_periods == 3 and s.notifications == []


def test_kpirules_toml_in_the_current_directory(tmp_path, monkeypatch):
    write(tmp_path, "kpirules.toml", FULL)
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert (s.data_tab, s.rules_tab, s.restate_periods, s.timezone) == ("Daily", "KPIs", 2, "Europe/Warsaw")
    team, bi, mail = s.notifications
    assert isinstance(team, SlackChannel) and team.on == ["fail", "warn", "recovery"]
    assert isinstance(bi, WebhookChannel) and bi.headers["Authorization"].get_secret_value() == "Bearer ${BI_TOKEN}"
    assert isinstance(mail, EmailChannel) and mail.from_ == "kpirules <kpi@example.com>"
    assert mail.on == ["fail", "recovery"] and mail.rules == ["*"]  # the defaults
    assert mail.use_starttls and not mail.use_ssl and mail.smtp_port == 587
    assert s.channel("bi") is bi


def test_pyproject_tool_table_is_used_when_there_is_no_kpirules_toml(tmp_path, monkeypatch):
    write(tmp_path, "pyproject.toml", """\
        [project]
        name = "x"

        [tool.kpirules]
        data_tab = "Raw"

        [[tool.kpirules.notifications]]
        name = "slack"
        webhok_url = "https://hooks.slack.com/services/T/B/x"
        """)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_settings()
    # the line inside pyproject.toml, the key as written, and the suggestion
    assert str(err.value).startswith("pyproject.toml:9: config: unknown setting `notifications[0] (slack).webhok_url`")
    assert "did you mean `webhook_url`?" in str(err.value)
    write(tmp_path, "kpirules.toml", 'data_tab = "FromFile"\n')
    assert load_settings().data_tab == "FromFile"  # kpirules.toml comes first


def test_a_pyproject_without_our_table_is_not_a_settings_file(tmp_path, monkeypatch):
    write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings() == Settings()


def test_missing_explicit_file_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        load_settings(str(tmp_path / "nope.toml"))


def test_unknown_keys_name_the_line_and_suggest(tmp_path):
    path = write(tmp_path, "kpirules.toml", """\
        data_tab = "Daily"
        restate_period = 2

        [[notifications]]
        name = "team"
        type = "slak"

        [[notifications]]
        name = "hook"
        type = "webhook"
        url = "https://example.com/x"
        port = 25
        on = ["failure"]
        """)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    lines = str(err.value).splitlines()
    assert lines[0].endswith("kpirules.toml:2: config: unknown setting `restate_period`")
    assert "hint: did you mean `restate_periods`?" in lines[1]
    text = str(err.value)
    assert "kpirules.toml:6: config: channel 'team' has unknown type 'slak'" in text
    assert "did you mean `slack`?" in text
    assert "kpirules.toml:12: config: unknown setting `notifications[1] (hook).port`" in text
    assert "`port` belongs to email channels" in text
    assert "kpirules.toml:13: config: `notifications[1] (hook).on[0]`" in text and "did you mean `fail`?" in text
    assert len(err.value.problems) == 4  # every problem at once, not only the first


def test_toml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, "kpirules.toml", 'data_tab = "x"\nrestate_periods = \n')
    with pytest.raises(ConfigError, match=r"kpirules.toml:2:\d+: config: not valid TOML"):
        load_settings(path)


def test_invalid_values_are_reported_without_the_secret(tmp_path):
    path = write(tmp_path, "kpirules.toml", """\
        [[notifications]]
        name = "hook"
        type = "webhook"
        url = "ftp://example.com/tok-8f3a9c1e77"
        """)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert "kpirules.toml:4" in str(err.value) and "http:// or https://" in str(err.value)
    assert "tok-8f3a9c1e77" not in str(err.value)
    broken = write(tmp_path, "broken.toml", 'sheet_url = "https://x.example/tok-8f3a9c1e77\n')
    with pytest.raises(ConfigError) as err:
        load_settings(broken)
    assert "broken.toml:1" in str(err.value) and "tok-8f3a9c1e77" not in str(err.value)


def test_secrets_are_hidden_in_repr(tmp_path):
    s = load_settings(write(tmp_path, "kpirules.toml", FULL.replace("${SLACK_WEBHOOK_URL}",
                                                                    "https://hooks.slack.com/services/T1/B2/sekret99")))
    assert "sekret99" not in repr(s) and "sekret99" not in str(s)


def test_email_password_needs_tls_except_to_a_local_relay():
    base = {"name": "m", "type": "email", "host": "smtp.example.com", "from": "a@b.c", "to": ["x@y.z"],
            "password": "pw", "starttls": False}
    with pytest.raises(ValueError, match="unencrypted"):
        Settings.model_validate({"notifications": [base]})
    Settings.model_validate({"notifications": [base | {"host": "127.0.0.1"}]})
    ssl = Settings.model_validate({"notifications": [base | {"starttls": None, "ssl": True}]}).notifications[0]
    assert ssl.smtp_port == 465 and not ssl.use_starttls


# ---------------------------------------------------------------------------- env references

def test_env_references_resolve_when_used_not_when_loaded(tmp_path):
    s = load_settings(write(tmp_path, "kpirules.toml", FULL))  # no secret set: still loads
    assert s.unresolved_secrets({}) == [
        "channel 'team': SLACK_WEBHOOK_URL is not set",
        "channel 'bi': BI_TOKEN is not set",
        "channel 'bi': BI_SIGNING_KEY is not set",
        "channel 'mail': SMTP_PASSWORD is not set",
    ]
    env = {"SLACK_WEBHOOK_URL": "u", "BI_TOKEN": "t", "BI_SIGNING_KEY": "k", "SMTP_PASSWORD": "p"}
    assert s.unresolved_secrets(env) == []
    assert s.channel("mail").password_text(env) == "p"
    assert resolve_env("Bearer ${BI_TOKEN}", env) == "Bearer t"
    with pytest.raises(MissingEnv) as err:
        resolve_env("${NOPE}", env)
    assert err.value.name == "NOPE"


# ---------------------------------------------------------------------------- the Settings tab

TAB = [
    ["Key", "Value", "Note"],
    ["data_tab", "Daily", "the tab with the numbers"],
    ["restate_periods", 2.0, None],  # sheets give numbers as floats
    ["# a comment row", "ignored", None],
    [None, None, None],
    ["notify.slack.webhook_url", "${KPIRULES_SLACK_URL}", None],
    ["notify.slack.on", "fail, no data; recovery", None],
    ["notify.ops.type", "email", None],
    ["notify.ops.host", "smtp.example.com", None],
    ["notify.ops.port", 465.0, None],
    ["notify.ops.ssl", True, None],
    ["notify.ops.from", "kpi@example.com", None],
    ["notify.ops.to", "anna@example.com, ben@example.com", None],
    ["notify.ops.rules", "conversion, ctr_*", None],
    ["notify.bi.type", "webhook", None],
    ["notify.bi.url", "https://bi.example.com/in", None],
    ["notify.bi.headers.X-Team", "growth", None],
    ["sheet_url", "", None],  # empty value: not set
]


def test_settings_tab_rows():
    s = settings_from_tab(TAB)
    assert s.data_tab == "Daily" and s.restate_periods == 2 and s.sheet_url is None
    slack, ops, bi = s.notifications
    assert slack.type == "slack" and slack.on == ["fail", "no_data", "recovery"]  # type from its name
    assert ops.ssl and ops.smtp_port == 465 and ops.to == ["anna@example.com", "ben@example.com"]
    assert ops.rules == ["conversion", "ctr_*"]
    assert bi.headers["X-Team"].get_secret_value() == "growth"
    assert "sheet_url" not in s.model_fields_set


def test_settings_tab_as_rawtable_and_as_mapping():
    raw = RawTable(headers=["data_tab", "Daily"], rows=[["date_column", "Day"]], sheet="Config")
    s = settings_from_tab(raw)
    assert (s.data_tab, s.date_column) == ("Daily", "Day")
    with pytest.raises(ConfigError, match=r"Config!A2: config: unknown setting `date_colum`"):
        settings_from_tab(RawTable(headers=["Key", "Value"], rows=[["date_colum", "x"]], sheet="Config"))
    assert settings_from_tab({"alerts_tab": "Alarms"}).alerts_tab == "Alarms"


def test_settings_tab_errors_name_cells():
    rows = [
        ["date_colum", "day"],
        ["notify.team.type", "slack"],
        ["notify.team.url", "https://hooks.slack.com/services/x"],
        ["notify.ops.type", "email"],
        ["notify.ops.host", "smtp.example.com"],
        ["notify.ops.port", "twenty-five"],
        ["notify.ops.from", "a@example.com"],
        ["notify.ops.to", "anna@example.com"],
        ["date_colum", "again"],
    ]
    with pytest.raises(ConfigError) as err:
        settings_from_tab(rows)
    text = str(err.value)
    assert "Settings!A1: config: unknown setting `date_colum`\n    hint: did you mean `date_column`?" in text
    assert "Settings!A3: config: unknown setting `notify.team.url` for a slack channel" in text
    assert "Settings!B6: config: `notify.ops.port`: Input should be a valid integer" in text
    assert "Settings!A9: config: `date_colum` is set twice (first at Settings!A1)" in text


def test_settings_tab_may_only_reference_kpirules_variables():
    rows = [["notify.bi.type", "webhook"], ["notify.bi.url", "https://evil.example/?t=${GITHUB_TOKEN}"],
            ["notify.m.type", "email"], ["notify.m.host", "smtp.example.com"], ["notify.m.from", "a@b.c"],
            ["notify.m.to", "x@y.z"], ["notify.m.password_env", "AWS_SECRET_ACCESS_KEY"]]
    with pytest.raises(ConfigError) as err:
        settings_from_tab(rows)
    assert "Settings!B2" in str(err.value) and "GITHUB_TOKEN" in str(err.value)
    assert "Settings!B7" in str(err.value) and "KPIRULES_AWS_SECRET_ACCESS_KEY" in str(err.value)
    rows[1][1] = "https://bi.example.com/?t=${KPIRULES_BI_TOKEN}"
    rows[6][1] = "KPIRULES_SMTP_PASSWORD"
    assert settings_from_tab(rows).unresolved_secrets({}) == [
        "channel 'bi': KPIRULES_BI_TOKEN is not set", "channel 'm': KPIRULES_SMTP_PASSWORD is not set"]


@hsettings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.text(max_size=30), st.floats(allow_nan=False), st.booleans(),
                                   st.sampled_from(["data_tab", "notify.x.type", "notify.x.to", "notify.slack.on",
                                                    "notify.email.port", "restate_periods", "webhook"])),
                         max_size=3), max_size=6))
def test_any_tab_gives_settings_or_a_config_error(rows):
    try:
        assert isinstance(settings_from_tab(rows), Settings)
    except ConfigError as err:
        assert err.problems and all(p.cell or p.file for p in err.problems)


# ---------------------------------------------------------------------------- precedence

def test_file_wins_over_tab_and_channels_are_defined_in_one_place(tmp_path, caplog):
    path = write(tmp_path, "kpirules.toml", """\
        data_tab = "FromFile"

        [[notifications]]
        name = "mail"
        type = "email"
        host = "smtp.example.com"
        password_env = "SMTP_PASSWORD"
        from = "kpi@example.com"
        to = ["anna@example.com"]
        """)
    tab = [["data_tab", "FromTab"], ["history_tab", "Log"],
           # a sheet editor must not be able to send the file's password to another host
           ["notify.mail.host", "smtp.evil.example"], ["notify.mail.to", "mallory@evil.example"],
           ["notify.team.webhook_url", "https://hooks.slack.com/services/T/B/x"], ["notify.team.type", "slack"]]
    s = load_settings(path, tab=tab)
    assert s.data_tab == "FromFile"  # file over tab
    assert s.history_tab == "Log"  # the tab fills what the file leaves open
    assert s.rules_tab == "Rules"  # neither: the default
    mail = s.channel("mail")
    assert mail.host == "smtp.example.com" and mail.to == ["anna@example.com"]
    assert s.channel("team").type == "slack"
    assert "its rows in the Settings tab are ignored" in caplog.text


def test_merge_settings_counts_only_keys_a_layer_set():
    low = Settings.model_validate({"data_tab": "A", "restate_periods": 5})
    high = Settings.model_validate({"data_tab": "B"})
    merged = merge_settings(low, high)
    assert merged.data_tab == "B" and merged.restate_periods == 5  # high's default 3 does not count


# ---------------------------------------------------------------------------- channel filters

@pytest.mark.parametrize("rule, kind, expected", [
    ("conversion", "fail", True),
    ("Conversion_Weekly", "warn", True),  # globs ignore case
    ("conversion_test", "fail", False),  # excluded by "!conversion_test"
    ("ctr", "fail", False),  # not matched by any pattern
    ("conversion", "no_data", False),  # kind not in `on`
])
def test_channel_covers(rule, kind, expected):
    ch = SlackChannel(name="t", type="slack", webhook_url="https://hooks.slack.com/x",
                      on=["fail", "warn", "recovery"], rules=["conversion*", "!conversion_test"])
    assert ch.covers(rule, kind) is expected
