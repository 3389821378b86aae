"""Writes `discord_openapi_v10.json`: Discord's OpenAPI description cut down to what the fake Discord serves.

The tests must not read outside the repository, so they validate against this copy. It keeps, of each path
the fake implements, the operations it implements (parameters and request bodies; responses are dropped, the
fake writes those itself), and every schema they reach through `$ref`. Regenerate it from a checkout of
discord/discord-api-spec after a spec update, and commit both the copy and the commit it came from:

    python -m tests.fakediscord.spec.trim path/to/discord-api-spec/specs/openapi.json COMMIT
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

TRIMMED = Path(__file__).with_name("discord_openapi_v10.json")
SOURCE = "https://github.com/discord/discord-api-spec, specs/openapi.json"

OPERATIONS: dict[str, tuple[str, ...]] = {
    "/gateway": ("get",),
    "/gateway/bot": ("get",),
    "/users/@me": ("get",),
    "/users/@me/channels": ("post",),
    "/users/{user_id}": ("get",),
    "/oauth2/applications/@me": ("get",),
    "/applications/@me": ("get",),
    "/channels/{channel_id}": ("get",),
    "/channels/{channel_id}/messages": ("get", "post"),
    "/channels/{channel_id}/messages/{message_id}": ("get", "patch", "delete"),
    "/channels/{channel_id}/typing": ("post",),
    "/guilds/{guild_id}": ("get",),
    "/guilds/{guild_id}/channels": ("get",),
    "/guilds/{guild_id}/roles": ("get",),
    "/guilds/{guild_id}/members/{user_id}": ("get",),
    "/applications/{application_id}/commands": ("get", "put", "post"),
    "/applications/{application_id}/commands/{command_id}": ("get", "patch", "delete"),
    "/applications/{application_id}/guilds/{guild_id}/commands": ("get", "put", "post"),
    "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}": ("get", "patch", "delete"),
    "/interactions/{interaction_id}/{interaction_token}/callback": ("post",),
    "/webhooks/{webhook_id}/{webhook_token}": ("post",),
    "/webhooks/{webhook_id}/{webhook_token}/messages/@original": ("get", "patch", "delete"),
    "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}": ("get", "patch", "delete"),
}
"""The routes the fake Discord serves (tests/fakediscord/server_rest.py, server_interactions.py), by the
spec's own names for them."""

_SCHEMAS = "#/components/schemas/"


def trim(spec: dict[str, Any], commit: str, digest: str) -> dict[str, Any]:
    """The parts of `spec` that `OPERATIONS` use, with a note of where they came from."""
    paths: dict[str, Any] = {}
    for path, methods in OPERATIONS.items():
        item = spec["paths"][path]
        kept = {key: item[key] for key in ("parameters",) if key in item}
        for method in methods:
            operation = item[method]
            kept[method] = {
                key: operation[key]
                for key in ("operationId", "parameters", "requestBody")
                if key in operation
            }
        paths[path] = kept
    schemas = spec["components"]["schemas"]
    wanted = _referenced(paths, schemas)
    return {
        "openapi": spec["openapi"],
        "info": {
            **spec["info"],
            "x-copied-from": {
                "source": SOURCE,
                "commit": commit,
                "sha256": digest,
                "trimmed-by": "python -m tests.fakediscord.spec.trim",
                "license": "MIT, Copyright 2023 Discord",
            },
        },
        "paths": paths,
        "components": {"schemas": {name: schemas[name] for name in sorted(wanted)}},
    }


def _referenced(root: Any, schemas: dict[str, Any]) -> set[str]:
    """Every component schema reachable from `root` through `$ref`."""
    found: set[str] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_SCHEMAS):
                name = ref[len(_SCHEMAS) :]
                if name not in found:
                    found.add(name)
                    pending.append(schemas[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def main() -> None:
    """Read the full spec, write the trimmed copy beside this script."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("spec", type=Path, help="specs/openapi.json of discord/discord-api-spec")
    parser.add_argument("commit", help="the discord-api-spec commit it was taken from")
    arguments = parser.parse_args()
    raw = arguments.spec.read_bytes()
    trimmed = trim(json.loads(raw), arguments.commit, hashlib.sha256(raw).hexdigest())
    TRIMMED.write_text(json.dumps(trimmed, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(
        f"wrote {TRIMMED} ({TRIMMED.stat().st_size:,} bytes, {len(trimmed['components']['schemas'])} schemas)"
    )


if __name__ == "__main__":
    main()
