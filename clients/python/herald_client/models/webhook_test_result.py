from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="WebhookTestResult")


@_attrs_define
class WebhookTestResult:
    """What the receiver answered to a test event.

    Attributes:
        body (str): The start of its body (at most 1024 bytes, as text).
        duration_ms (int): From sending the request to the end of the part of the body read.
        message_id (str): The `webhook-id` the test was sent with.
        status (int): The receiver's HTTP status (any: a non-2xx answer is reported, not an error).
        truncated (bool): Whether `body` was cut.
    """

    body: str
    duration_ms: int
    message_id: str
    status: int
    truncated: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        body = self.body

        duration_ms = self.duration_ms

        message_id = self.message_id

        status = self.status

        truncated = self.truncated

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "body": body,
                "duration_ms": duration_ms,
                "message_id": message_id,
                "status": status,
                "truncated": truncated,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        body = d.pop("body")

        duration_ms = d.pop("duration_ms")

        message_id = d.pop("message_id")

        status = d.pop("status")

        truncated = d.pop("truncated")

        webhook_test_result = cls(
            body=body,
            duration_ms=duration_ms,
            message_id=message_id,
            status=status,
            truncated=truncated,
        )

        webhook_test_result.additional_properties = d
        return webhook_test_result

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
