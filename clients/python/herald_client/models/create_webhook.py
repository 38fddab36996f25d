from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="CreateWebhook")


@_attrs_define
class CreateWebhook:
    """A webhook to register.

    Attributes:
        event_types (list[str]): `delivery.published`, `delivery.failed`, ... (one per delivery state),
            `post.completed`, `connection.needs_reconnect`, `connection.expiring`, or `*`.
        url (str): Where to POST events (http or https, not inside Herald's network unless the operator
            lists the host in `outbound.allow`).
    """

    event_types: list[str]
    url: str

    def to_dict(self) -> dict[str, Any]:
        event_types = self.event_types

        url = self.url

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "event_types": event_types,
                "url": url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        event_types = cast(list[str], d.pop("event_types"))

        url = d.pop("url")

        create_webhook = cls(
            event_types=event_types,
            url=url,
        )

        return create_webhook
