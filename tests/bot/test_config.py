"""Settings: read once from a mapping, every bad key named, the token never shown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError, default_database
from bot.discord_app.runner import main

TOKEN = "MTIzNDU2Nzg5.secret-token-value"


def test_only_the_token_is_required_and_defaults_fill_the_rest() -> None:
    settings = Settings.from_env({"DISCORD_TOKEN": TOKEN})

    assert settings == Settings(token=TOKEN)
    assert settings.database == default_database()
    assert settings.log_level == logging.INFO
    assert settings.owner_ids == frozenset()
    assert (settings.dev_guild_id, settings.shard_count, settings.shard_ids) == (None, None, None)
    assert (settings.api_base, settings.gateway_url) == (None, None)


def test_every_key_is_parsed() -> None:
    settings = Settings.from_env(
        {
            "DISCORD_TOKEN": TOKEN,
            "STORYBOT_DB": "/tmp/story.db",
            "LOG_LEVEL": "debug",
            "OWNER_IDS": "111111111111111111, 222222222222222222",
            "DEV_GUILD_ID": "333333333333333333",
            "SHARD_COUNT": "4",
            "SHARD_IDS": "0,2",
            "DISCORD_API_BASE": "http://127.0.0.1:8080/api/v10/",
            "DISCORD_GATEWAY_URL": "ws://127.0.0.1:8080/",
        }
    )

    assert settings.database == Path("/tmp/story.db")
    assert settings.log_level == logging.DEBUG
    assert settings.owner_ids == {111111111111111111, 222222222222222222}
    assert settings.dev_guild_id == 333333333333333333
    assert (settings.shard_count, settings.shard_ids) == (4, (0, 2))
    assert settings.api_base == "http://127.0.0.1:8080/api/v10"
    assert settings.gateway_url == "ws://127.0.0.1:8080/"


def test_empty_values_count_as_unset_like_in_env_example() -> None:
    blank = dict.fromkeys(
        ["STORYBOT_DB", "LOG_LEVEL", "OWNER_IDS", "DEV_GUILD_ID", "SHARD_COUNT", "SHARD_IDS"], ""
    )
    assert Settings.from_env({"DISCORD_TOKEN": TOKEN, **blank}) == Settings(token=TOKEN)


@pytest.mark.parametrize("environ", [{}, {"DISCORD_TOKEN": ""}, {"DISCORD_TOKEN": "   "}])
def test_a_missing_token_is_a_clear_error(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=r"DISCORD_TOKEN: is required \(copy \.env\.example to \.env"):
        Settings.from_env(environ)


def test_every_bad_key_is_named_in_one_error() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(
            {
                "DISCORD_TOKEN": TOKEN,
                "LOG_LEVEL": "LOUD",
                "OWNER_IDS": "12,abc",
                "DEV_GUILD_ID": "-5",
                "SHARD_COUNT": "0",
                "DISCORD_API_BASE": "https://discord.com/api/v9",
                "DISCORD_GATEWAY_URL": "http://127.0.0.1/",
            }
        )

    message = str(raised.value)
    for key in (
        "LOG_LEVEL",
        "OWNER_IDS",
        "DEV_GUILD_ID",
        "SHARD_COUNT",
        "DISCORD_API_BASE",
        "DISCORD_GATEWAY_URL",
    ):
        assert f"{key}: " in message
    assert "DISCORD_TOKEN" not in message


@pytest.mark.parametrize(
    ("shards", "problem"),
    [
        ({"SHARD_IDS": "0"}, "SHARD_IDS: needs SHARD_COUNT"),
        ({"SHARD_IDS": "0,2", "SHARD_COUNT": "2"}, "SHARD_IDS: every shard id must be below SHARD_COUNT (2)"),
        ({"SHARD_IDS": "1,1", "SHARD_COUNT": "2"}, "SHARD_IDS: lists a shard twice"),
        ({"SHARD_IDS": "one", "SHARD_COUNT": "2"}, "SHARD_IDS: must be comma-separated shard numbers"),
    ],
)
def test_shard_ids_must_fit_the_shard_count(shards: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"DISCORD_TOKEN": TOKEN, **shards})
    assert problem in str(raised.value)


def test_the_token_is_never_in_repr_or_in_errors() -> None:
    settings = Settings.from_env({"DISCORD_TOKEN": TOKEN})
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)

    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"DISCORD_TOKEN": "secret with spaces"})
    assert "secret" not in str(raised.value)
    assert "DISCORD_TOKEN: must be the bot token" in str(raised.value)


def test_storybot_run_without_a_token_exits_with_one_line() -> None:
    with pytest.raises(SystemExit) as exited:
        main({"LOG_LEVEL": "INFO"})

    assert str(exited.value).startswith(
        "storybot: bad settings in the environment or .env: DISCORD_TOKEN: is required"
    )


def test_the_posting_cache_size_is_read_in_megabytes_and_zero_turns_it_off() -> None:
    assert Settings.from_env({"DISCORD_TOKEN": "t"}).cache_bytes == 256 * 1024 * 1024
    assert Settings.from_env({"DISCORD_TOKEN": "t", "STORYBOT_CACHE_MB": "0"}).cache_bytes == 0
    assert Settings.from_env({"DISCORD_TOKEN": "t", "STORYBOT_CACHE_MB": "1.5"}).cache_bytes == 1572864
    for bad in ("-1", "lots", "nan", "inf"):
        with pytest.raises(SettingsError, match="STORYBOT_CACHE_MB: must be a number of megabytes"):
            Settings.from_env({"DISCORD_TOKEN": "t", "STORYBOT_CACHE_MB": bad})


def test_the_time_zone_of_dates_is_an_iana_name_defaulting_to_utc() -> None:
    assert Settings.from_env({"DISCORD_TOKEN": "t"}).time_zone == "UTC"
    assert Settings.from_env({"DISCORD_TOKEN": "t", "STORYBOT_TIME_ZONE": "Europe/Berlin"}).time_zone == (
        "Europe/Berlin"
    )
    with pytest.raises(SettingsError, match="STORYBOT_TIME_ZONE: unknown time zone 'Mars/Base'"):
        Settings.from_env({"DISCORD_TOKEN": "t", "STORYBOT_TIME_ZONE": "Mars/Base"})


def test_the_log_format_is_text_or_json() -> None:
    assert Settings.from_env({"DISCORD_TOKEN": TOKEN}).log_format == "text"
    assert Settings.from_env({"DISCORD_TOKEN": TOKEN, "LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match=r"LOG_FORMAT: must be one of text, json, not 'xml'"):
        Settings.from_env({"DISCORD_TOKEN": TOKEN, "LOG_FORMAT": "xml"})
