from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ConnectOut")


@_attrs_define
class ConnectOut:
    """Where to send the user.

    Attributes:
        authorize_url (str): The platform's consent page.
        expires_at (datetime.datetime):
        start_url (str): The same, started at Herald: sets the `oauth_state_{platform}` cookie first, binding
            the flow to the browser that opens it.
    """

    authorize_url: str
    expires_at: datetime.datetime
    start_url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        authorize_url = self.authorize_url

        expires_at = self.expires_at.isoformat()

        start_url = self.start_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "authorize_url": authorize_url,
                "expires_at": expires_at,
                "start_url": start_url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        authorize_url = d.pop("authorize_url")

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        start_url = d.pop("start_url")

        connect_out = cls(
            authorize_url=authorize_url,
            expires_at=expires_at,
            start_url=start_url,
        )

        connect_out.additional_properties = d
        return connect_out

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
