"""The Python comparison of scripts/bench: a matrix-nio bot doing Syndic's `!user` lookup.

It answers `!user <id>` in the benchmark's encrypted room with the same four Admin API reads
Syndic makes (the account, its devices, its joined rooms, its sessions; concurrently) and a short
m.notice reply. Run by the benchmark as its own process from the bench's venv
(target/bench/nio-venv, matrix-nio[e2e]): `python nio_bot.py <config.json>`. Says ": ready" on
stderr once it is in the room and synced. No secret is printed.
"""

import asyncio
import json
import sys
import urllib.parse

import aiohttp
from nio import AsyncClient, AsyncClientConfig, LoginResponse, RoomMessageText


async def main(config_path: str) -> None:
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    homeserver = config["homeserver"].rstrip("/")
    client = AsyncClient(
        homeserver,
        config["user_id"],
        store_path=config["store_path"],
        config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
    )
    login = await client.login(config["password"], device_name="nio bot (bench)")
    if not isinstance(login, LoginResponse):
        sys.exit(f"nio bot: login failed: {type(login).__name__}")
    if client.should_upload_keys:
        await client.keys_upload()
    await client.join(config["room_id"])
    await client.sync(timeout=0, full_state=True)
    if client.should_query_keys:
        await client.keys_query()

    http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {client.access_token}"})

    async def get(path: str) -> dict:
        async with http.get(f"{homeserver}/_synapse/admin{path}") as response:
            response.raise_for_status()
            return await response.json()

    async def on_message(room, event) -> None:
        if room.room_id != config["room_id"] or event.sender == client.user_id:
            return
        words = event.body.split()
        if len(words) != 2 or words[0] != "!user":
            return
        user_id = words[1]
        quoted = urllib.parse.quote(user_id, safe="")
        details, devices, rooms, whois = await asyncio.gather(
            get(f"/v2/users/{quoted}"),
            get(f"/v2/users/{quoted}/devices"),
            get(f"/v1/users/{quoted}/joined_rooms"),
            get(f"/v1/whois/{quoted}"),
        )
        seen = [
            c.get("last_seen") or 0
            for d in whois.get("devices", {}).values()
            for s in d.get("sessions", [])
            for c in s.get("connections", [])
        ]
        last_seen = max([details.get("last_seen_ts") or 0, *seen]) or "never"
        body = "\n".join(
            [
                details.get("name", user_id),
                f"display name: {details.get('displayname') or '-'}",
                f"admin: {'yes' if details.get('admin') else 'no'}",
                f"deactivated: {'yes' if details.get('deactivated') else 'no'}",
                f"devices: {devices.get('total', 0)}",
                f"rooms: {rooms.get('total', 0)}",
                f"last seen: {last_seen}",
            ]
        )
        content = {
            "msgtype": "m.notice",
            "body": body,
            "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
            "m.mentions": {},
        }
        await client.room_send(
            room.room_id, "m.room.message", content, ignore_unverified_devices=True
        )

    client.add_event_callback(on_message, RoomMessageText)
    print(f"nio bot {config['user_id']}: ready", file=sys.stderr, flush=True)
    try:
        await client.sync_forever(timeout=30000)
    finally:
        await http.close()
        await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
