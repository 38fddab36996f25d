import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.list_posts_metadata import ListPostsMetadata
from ...models.post_page import PostPage
from ...models.post_state import PostState
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    state: PostState | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    metadata: ListPostsMetadata | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_state: str | Unset = UNSET
    if not isinstance(state, Unset):
        json_state = state.value

    params["state"] = json_state

    json_since: str | Unset = UNSET
    if not isinstance(since, Unset):
        json_since = since.isoformat()
    params["since"] = json_since

    json_until: str | Unset = UNSET
    if not isinstance(until, Unset):
        json_until = until.isoformat()
    params["until"] = json_until

    json_metadata: dict[str, Any] | Unset = UNSET
    if not isinstance(metadata, Unset):
        json_metadata = metadata.to_dict()
    if not isinstance(json_metadata, Unset):
        params.update(json_metadata)

    params["cursor"] = cursor

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/posts",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> PostPage | Problem | None:
    if response.status_code == 200:
        response_200 = PostPage.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[PostPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    state: PostState | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    metadata: ListPostsMetadata | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
) -> Response[PostPage | Problem]:
    """Posts of the caller's tenant with their deliveries, newest first.

    Args:
        state (PostState | Unset): Where a post stands, derived from its deliveries' states (a
            post stores none of its
            own): see [`PostState::of`].
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        metadata (ListPostsMetadata | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PostPage | Problem]
    """

    kwargs = _get_kwargs(
        state=state,
        since=since,
        until=until,
        metadata=metadata,
        cursor=cursor,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    state: PostState | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    metadata: ListPostsMetadata | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
) -> PostPage | Problem | None:
    """Posts of the caller's tenant with their deliveries, newest first.

    Args:
        state (PostState | Unset): Where a post stands, derived from its deliveries' states (a
            post stores none of its
            own): see [`PostState::of`].
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        metadata (ListPostsMetadata | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PostPage | Problem
    """

    return sync_detailed(
        client=client,
        state=state,
        since=since,
        until=until,
        metadata=metadata,
        cursor=cursor,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    state: PostState | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    metadata: ListPostsMetadata | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
) -> Response[PostPage | Problem]:
    """Posts of the caller's tenant with their deliveries, newest first.

    Args:
        state (PostState | Unset): Where a post stands, derived from its deliveries' states (a
            post stores none of its
            own): see [`PostState::of`].
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        metadata (ListPostsMetadata | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PostPage | Problem]
    """

    kwargs = _get_kwargs(
        state=state,
        since=since,
        until=until,
        metadata=metadata,
        cursor=cursor,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    state: PostState | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    metadata: ListPostsMetadata | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
) -> PostPage | Problem | None:
    """Posts of the caller's tenant with their deliveries, newest first.

    Args:
        state (PostState | Unset): Where a post stands, derived from its deliveries' states (a
            post stores none of its
            own): see [`PostState::of`].
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        metadata (ListPostsMetadata | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PostPage | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            state=state,
            since=since,
            until=until,
            metadata=metadata,
            cursor=cursor,
            limit=limit,
        )
    ).parsed
