"""The Python client against a live Herald (clients/live-test starts one and sets the
environment): connect the simulator's Telegram channel, publish a post, read it back until
it is published, and see a bad request answered as a typed problem document."""

import os
import sys
import time
import uuid

from herald_client import AuthenticatedClient
from herald_client.api.connections import connect_telegram
from herald_client.api.posts import create_post, get_post
from herald_client.models import ConnectionOut, ConnectTelegram, CreatePost, PostOut, PostState, Problem

DEADLINE_SECS = 60


def fail(message: str) -> None:
    print(f"python client: {message}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    url = os.environ["HERALD_URL"]
    admin = AuthenticatedClient(base_url=url, token=os.environ["HERALD_ADMIN_KEY"])
    client = AuthenticatedClient(base_url=url, token=os.environ["HERALD_API_KEY"])

    connected = connect_telegram.sync_detailed(
        client=admin,
        body=ConnectTelegram(
            bot_token=os.environ["HERALD_TELEGRAM_BOT_TOKEN"],
            chat_id=os.environ["HERALD_TELEGRAM_CHAT"],
        ),
    )
    if not isinstance(connected.parsed, ConnectionOut):
        fail(f"connect telegram answered {connected.status_code}: {connected.content!r}")
    connection = connected.parsed

    text = f"Hello from the Python client ({uuid.uuid4().hex[:8]})"
    created = create_post.sync_detailed(
        client=client,
        body=CreatePost(targets=[connection.id], text=text),
        idempotency_key=f"python-{uuid.uuid4()}",
    )
    if created.status_code != 202 or not isinstance(created.parsed, PostOut):
        fail(f"create post answered {created.status_code}: {created.content!r}")
    post_id = created.parsed.id

    deadline = time.monotonic() + DEADLINE_SECS
    while True:
        post = get_post.sync(post_id, client=client)
        if not isinstance(post, PostOut):
            fail(f"get post answered {post!r}")
        if post.state == PostState.PUBLISHED:
            break
        if post.state in (PostState.FAILED, PostState.CANCELLED) or time.monotonic() > deadline:
            fail(f"the post is {post.state.value}: {post.to_dict()}")
        time.sleep(0.2)
    [delivery] = post.deliveries
    if delivery.connection_id != connection.id or not delivery.url:
        fail(f"unexpected delivery: {delivery.to_dict()}")

    missing = get_post.sync_detailed(uuid.uuid4(), client=client)
    if missing.status_code != 404 or not isinstance(missing.parsed, Problem):
        fail(f"an unknown post answered {missing.status_code}: {missing.content!r}")
    if missing.parsed.code != "not_found":
        fail(f"an unknown post's problem code is {missing.parsed.code}")

    print(f"python client: post {post_id} published at {delivery.url}")


if __name__ == "__main__":
    main()
