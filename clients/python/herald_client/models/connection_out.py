from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.connection_status import ConnectionStatus
from ..models.platform import Platform
from ..models.post_target_type import PostTargetType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.account_out import AccountOut
    from ..models.rate_budget import RateBudget


T = TypeVar("T", bound="ConnectionOut")


@_attrs_define
class ConnectionOut:
    """A connected account, without its tokens.

    Attributes:
        account (AccountOut):
        created_at (datetime.datetime):
        id (UUID):
        platform (Platform):
        post_target_type (PostTargetType): Where a connection posts: the account itself, or a page it administers (a
            Facebook Page,
            a LinkedIn organization).
        scopes (list[str]):
        status (ConnectionStatus): Whether a connection can be published to.
        target (str): LinkedIn: the app (`personal` or `company`); elsewhere where it posts (`personal`
            or `page`).
        updated_at (datetime.datetime):
        last_error (None | str | Unset):
        page_id (None | str | Unset):
        rate_budget (None | RateBudget | Unset):
        token_expires_at (datetime.datetime | None | Unset):
        user (None | str | Unset): The producer's end user this connection belongs to.
    """

    account: AccountOut
    created_at: datetime.datetime
    id: UUID
    platform: Platform
    post_target_type: PostTargetType
    scopes: list[str]
    status: ConnectionStatus
    target: str
    updated_at: datetime.datetime
    last_error: None | str | Unset = UNSET
    page_id: None | str | Unset = UNSET
    rate_budget: None | RateBudget | Unset = UNSET
    token_expires_at: datetime.datetime | None | Unset = UNSET
    user: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.rate_budget import RateBudget  # noqa: PLC0415

        account = self.account.to_dict()

        created_at = self.created_at.isoformat()

        id = str(self.id)

        platform = self.platform.value

        post_target_type = self.post_target_type.value

        scopes = self.scopes

        status = self.status.value

        target = self.target

        updated_at = self.updated_at.isoformat()

        last_error: None | str | Unset
        if isinstance(self.last_error, Unset):
            last_error = UNSET
        else:
            last_error = self.last_error

        page_id: None | str | Unset
        if isinstance(self.page_id, Unset):
            page_id = UNSET
        else:
            page_id = self.page_id

        rate_budget: dict[str, Any] | None | Unset
        if isinstance(self.rate_budget, Unset):
            rate_budget = UNSET
        elif isinstance(self.rate_budget, RateBudget):
            rate_budget = self.rate_budget.to_dict()
        else:
            rate_budget = self.rate_budget

        token_expires_at: None | str | Unset
        if isinstance(self.token_expires_at, Unset):
            token_expires_at = UNSET
        elif isinstance(self.token_expires_at, datetime.datetime):
            token_expires_at = self.token_expires_at.isoformat()
        else:
            token_expires_at = self.token_expires_at

        user: None | str | Unset
        if isinstance(self.user, Unset):
            user = UNSET
        else:
            user = self.user

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "account": account,
                "created_at": created_at,
                "id": id,
                "platform": platform,
                "post_target_type": post_target_type,
                "scopes": scopes,
                "status": status,
                "target": target,
                "updated_at": updated_at,
            }
        )
        if last_error is not UNSET:
            field_dict["last_error"] = last_error
        if page_id is not UNSET:
            field_dict["page_id"] = page_id
        if rate_budget is not UNSET:
            field_dict["rate_budget"] = rate_budget
        if token_expires_at is not UNSET:
            field_dict["token_expires_at"] = token_expires_at
        if user is not UNSET:
            field_dict["user"] = user

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.account_out import AccountOut  # noqa: PLC0415
        from ..models.rate_budget import RateBudget  # noqa: PLC0415

        d = dict(src_dict)
        account = AccountOut.from_dict(d.pop("account"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        id = UUID(d.pop("id"))

        platform = Platform(d.pop("platform"))

        post_target_type = PostTargetType(d.pop("post_target_type"))

        scopes = cast(list[str], d.pop("scopes"))

        status = ConnectionStatus(d.pop("status"))

        target = d.pop("target")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        def _parse_last_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_error = _parse_last_error(d.pop("last_error", UNSET))

        def _parse_page_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        page_id = _parse_page_id(d.pop("page_id", UNSET))

        def _parse_rate_budget(data: object) -> None | RateBudget | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                rate_budget_type_0 = RateBudget.from_dict(data)

                return rate_budget_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RateBudget | Unset, data)

        rate_budget = _parse_rate_budget(d.pop("rate_budget", UNSET))

        def _parse_token_expires_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                token_expires_at_type_0 = datetime.datetime.fromisoformat(data)

                return token_expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        token_expires_at = _parse_token_expires_at(d.pop("token_expires_at", UNSET))

        def _parse_user(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        user = _parse_user(d.pop("user", UNSET))

        connection_out = cls(
            account=account,
            created_at=created_at,
            id=id,
            platform=platform,
            post_target_type=post_target_type,
            scopes=scopes,
            status=status,
            target=target,
            updated_at=updated_at,
            last_error=last_error,
            page_id=page_id,
            rate_budget=rate_budget,
            token_expires_at=token_expires_at,
            user=user,
        )

        connection_out.additional_properties = d
        return connection_out

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
