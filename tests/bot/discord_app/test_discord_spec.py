"""The fake Discord checks what it receives against Discord's OpenAPI description (tests/fakediscord/spec/).

Every e2e test ends with that check (conftest's `requests_match_discords_spec`); these tests prove the check
catches what it should, that it knows every route the fake serves, and that the repository's trimmed copy of
the spec is whole. The limits the spec leaves out are the fake's own (`tests.fakediscord.limits`).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.fakediscord import FakeDiscord
from tests.fakediscord.httputil import API_PREFIX
from tests.fakediscord.limits import FormErrors, check_choices, check_message
from tests.fakediscord.spec.trim import OPERATIONS, SOURCE, TRIMMED, trim
from tests.fakediscord.spec.validator import discord_spec

CHANNEL = "/channels/1234567890123456789/messages"
CALLBACK = "/interactions/1234567890123456789/a-token/callback"


def problems(method: str, path: str, body: Any = None, **query: str) -> list[str]:
    found = discord_spec().check_request(method, path, query, body, has_body=body is not None)
    return [problem.problem for problem in found]


def test_a_well_formed_message_and_callback_pass() -> None:
    message = {"content": "Hi", "embeds": [{"title": "A", "fields": [{"name": "n", "value": "v"}]}]}
    assert problems("POST", CHANNEL, {**message, "allowed_mentions": {"parse": []}}) == []
    assert problems("POST", CALLBACK, {"type": 5, "data": {"flags": 64}}, with_response="true") == []
    assert problems("POST", CALLBACK, {"type": 8, "data": {"choices": [{"name": "a", "value": "b"}]}}) == []
    assert problems("PATCH", "/webhooks/1/a-token/messages/@original", {"content": "Done"}) == []
    assert problems("GET", CHANNEL, limit="50") == []
    # What discord.py sends and Discord accepts, though the spec leaves it out (validator.ACCEPTED_EXTRAS).
    command = {"name": "ask", "description": "Ask", "type": 1, "nsfw": False}
    assert problems("PUT", "/applications/1/commands", [command]) == []
    assert (
        problems("PATCH", "/webhooks/1/a-token/messages/@original", {"tts": False, "embeds": [{"flags": 0}]})
        == []
    )


def test_what_the_spec_refuses_is_named() -> None:
    template = "/channels/{channel_id}/messages"
    assert problems("POST", CHANNEL, {"content": 5}) == [
        f'{template}: body: content: breaks type=["string", "null"] with 5'
    ]
    assert problems("POST", CHANNEL, {"embeds": [{"title": ["x"]}]}) == [
        f'{template}: body: embeds/0/title: breaks type=["string", "null"] with ["x"] (length 1)'
    ]
    assert problems("POST", CHANNEL, {"content": "x" * 4001})[0].endswith("(length 4001)")
    assert problems("POST", "/channels/general/messages", {"content": "x"}) == [
        f'{template}: path channel_id: (root): breaks pattern="^(0|[1-9][0-9]*)$" with "general" (length 7)'
    ]
    assert problems("GET", CHANNEL, limit="500") == [
        f"{template}: query limit: (root): breaks maximum=100 with 500"
    ]
    assert problems("GET", CHANNEL, limt="5") == [
        f"{template}: query 'limt' is not a parameter of this route"
    ]
    assert problems("POST", CHANNEL, {"content": "hi", "contnet": "hi"}) == [
        f"{template}: body: (root): 'contnet' was unexpected"
    ]
    assert problems("POST", CHANNEL, {"embeds": [{"title": "A", "colour": 1}]}) == [
        f"{template}: body: embeds/0: 'colour' was unexpected"
    ]
    assert problems("POST", CHANNEL) == [f"{template}: no body, where the route requires one"]
    assert problems("PUT", CHANNEL) == [f"{template} has no PUT"]
    assert problems("POST", "/channels/1/mesages", {}) == ["no such route in Discord's API"]
    assert problems("POST", CALLBACK, {"type": 4, "data": {"flags": "ephemeral"}}) != []
    assert problems("POST", CALLBACK, {"type": 99}) != []


@pytest.mark.spec_problems_expected
async def test_the_fake_records_a_bad_json_body_and_a_bad_multipart_payload_json() -> None:
    async with FakeDiscord() as fake, aiohttp.ClientSession() as http:
        guild = fake.add_guild("Story Club")
        path = f"/channels/{guild.text_channels[0].id}/messages"
        headers = {"Authorization": f"Bot {fake.token}"}
        await http.post(fake.api_base + path, json={"content": "hi", "tts": "yes"}, headers=headers)
        form = aiohttp.FormData()
        form.add_field("payload_json", json.dumps({"content": "hi", "flags": "64"}))
        form.add_field("files[0]", b"text", filename="a.txt", content_type="text/plain")
        await http.post(fake.api_base + path, data=form, headers=headers)

        assert [str(problem) for problem in fake.spec_problems] == [
            f'POST {path}: /channels/{{channel_id}}/messages: body: tts: breaks type=["boolean", "null"] '
            'with "yes" (length 3)',
            f'POST {path}: /channels/{{channel_id}}/messages: body: flags: breaks type=["integer", "null"] '
            'with "64" (length 2)',
        ]
        assert fake.spec_checked == 2


async def test_every_route_the_fake_serves_is_in_the_spec() -> None:
    async with FakeDiscord() as fake:
        app = fake._runner.app if fake._runner is not None else None
        assert app is not None
        served = [
            (route.method, route.resource.canonical[len(API_PREFIX) :])
            for route in app.router.routes()
            if route.resource is not None
            and route.resource.canonical.startswith(API_PREFIX)
            and route.method != "HEAD"
        ]
    assert len(served) >= 25
    for method, canonical in served:
        concrete = canonical.replace("{token}", "a-token")
        for name in ("application_id", "channel_id", "message_id", "user_id", "guild_id", "command_id"):
            concrete = concrete.replace("{" + name + "}", "1234")
        concrete = concrete.replace("{interaction_id}", "1234")
        found = discord_spec().check_request(method, concrete, {}, None, has_body=False)
        assert all("no such route" not in p.problem and " has no " not in p.problem for p in found), found


def test_the_copy_is_whole_and_says_where_it_came_from() -> None:
    copy = json.loads(TRIMMED.read_text(encoding="utf-8"))
    copied = copy["info"]["x-copied-from"]
    assert copied["source"] == SOURCE and copied["commit"] == "74fda0fad044407ea280043a03ffc9bc64c4e49e"
    # Trimming the copy again keeps everything: every schema it refers to is in it.
    again = trim(copy, copied["commit"], copied["sha256"])
    assert again["paths"] == copy["paths"] and again["components"] == copy["components"]
    assert sorted(copy["paths"]) == sorted(OPERATIONS)


def test_the_fake_adds_the_limits_the_spec_lacks() -> None:
    choices = FormErrors()
    check_choices({"choices": [{"name": "A feed", "value": "https://example.com/" + "f" * 81}]}, choices)
    link = FormErrors()
    button = {"type": 2, "style": 5, "label": "Open", "url": "https://example.com", "custom_id": "x"}
    check_message({"components": [{"type": 1, "components": [button]}]}, link)
    plain = FormErrors()
    button = {"type": 2, "style": 1, "label": "More", "custom_id": "more", "url": "https://example.com"}
    check_message({"components": [{"type": 1, "components": [button]}]}, plain)
    over = FormErrors()
    check_message(
        {"content": "x" * 2001, "embeds": [{"description": "d" * 4000}, {"title": "t" * 2001}]}, over
    )

    assert choices.tree == {
        "choices": {
            "0": {
                "value": {
                    "_errors": [
                        {"code": "BASE_TYPE_BAD_LENGTH", "message": "Must be between 1 and 100 in length."}
                    ]
                }
            }
        }
    }
    assert "custom_id" in link.tree["components"]["0"]["components"]["0"]
    assert "url" in plain.tree["components"]["0"]["components"]["0"]
    assert set(over.tree) == {"content", "embeds"}
    assert over.tree["embeds"]["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"
