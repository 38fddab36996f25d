from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define

from ..models.fit import Fit
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.create_post_metadata_type_0 import CreatePostMetadataType0
    from ..models.media_schema import MediaSchema
    from ..models.target_schema import TargetSchema


T = TypeVar("T", bound="CreatePost")


@_attrs_define
class CreatePost:
    """The body of `POST /v1/posts`. Every optional field may be absent or `null`, the same.

    Attributes:
        targets (list[TargetSchema | UUID]): Connection ids, or objects with a connection id and this target's own
            content.
        first_comment (None | str | Unset): A comment published under the post once it is up: a reply on X and Threads,
            a
            comment on LinkedIn, Facebook and Instagram, a reply in a Telegram channel's linked
            discussion group. Its failure never takes the post down; the delivery reports it.
            Null or absent: none.
        fit (Fit | None | Unset):
        media (list[MediaSchema] | None | Unset): Images and videos: `{"url": ...}` fetched by the worker before any
            platform call, or
            `{"media_id": ...}` from POST /v1/media. Null or absent: none.
        metadata (CreatePostMetadataType0 | None | Unset): Anything the producer wants back (stored, never interpreted).
            Null or absent: `{}`.
        publish_at (datetime.datetime | None | Unset): An RFC 3339 time, e.g. `2026-12-03T09:00:00Z`. Null, absent or in
            the past: now.
        text (None | str | Unset): The text (for an X thread, the first post). Null or absent: no text.
        thread (list[str] | None | Unset): Further thread parts (X), posted as a reply chain. Null or absent: none.
    """

    targets: list[TargetSchema | UUID]
    first_comment: None | str | Unset = UNSET
    fit: Fit | None | Unset = UNSET
    media: list[MediaSchema] | None | Unset = UNSET
    metadata: CreatePostMetadataType0 | None | Unset = UNSET
    publish_at: datetime.datetime | None | Unset = UNSET
    text: None | str | Unset = UNSET
    thread: list[str] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.create_post_metadata_type_0 import CreatePostMetadataType0  # noqa: PLC0415

        targets = []
        for targets_item_data in self.targets:
            targets_item: dict[str, Any] | str
            if isinstance(targets_item_data, UUID):
                targets_item = str(targets_item_data)
            else:
                targets_item = targets_item_data.to_dict()

            targets.append(targets_item)

        first_comment: None | str | Unset
        if isinstance(self.first_comment, Unset):
            first_comment = UNSET
        else:
            first_comment = self.first_comment

        fit: None | str | Unset
        if isinstance(self.fit, Unset):
            fit = UNSET
        elif isinstance(self.fit, Fit):
            fit = self.fit.value
        else:
            fit = self.fit

        media: list[dict[str, Any]] | None | Unset
        if isinstance(self.media, Unset):
            media = UNSET
        elif isinstance(self.media, list):
            media = []
            for media_type_0_item_data in self.media:
                media_type_0_item = media_type_0_item_data.to_dict()
                media.append(media_type_0_item)

        else:
            media = self.media

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, CreatePostMetadataType0):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        publish_at: None | str | Unset
        if isinstance(self.publish_at, Unset):
            publish_at = UNSET
        elif isinstance(self.publish_at, datetime.datetime):
            publish_at = self.publish_at.isoformat()
        else:
            publish_at = self.publish_at

        text: None | str | Unset
        if isinstance(self.text, Unset):
            text = UNSET
        else:
            text = self.text

        thread: list[str] | None | Unset
        if isinstance(self.thread, Unset):
            thread = UNSET
        elif isinstance(self.thread, list):
            thread = self.thread

        else:
            thread = self.thread

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "targets": targets,
            }
        )
        if first_comment is not UNSET:
            field_dict["first_comment"] = first_comment
        if fit is not UNSET:
            field_dict["fit"] = fit
        if media is not UNSET:
            field_dict["media"] = media
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if publish_at is not UNSET:
            field_dict["publish_at"] = publish_at
        if text is not UNSET:
            field_dict["text"] = text
        if thread is not UNSET:
            field_dict["thread"] = thread

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.create_post_metadata_type_0 import CreatePostMetadataType0  # noqa: PLC0415
        from ..models.media_schema import MediaSchema  # noqa: PLC0415
        from ..models.target_schema import TargetSchema  # noqa: PLC0415

        d = dict(src_dict)
        targets = []
        _targets = d.pop("targets")
        for targets_item_data in _targets:

            def _parse_targets_item(data: object) -> TargetSchema | UUID:
                try:
                    if not isinstance(data, str):
                        raise TypeError()
                    componentsschemas_target_type_0 = UUID(data)

                    return componentsschemas_target_type_0
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_target_type_1 = TargetSchema.from_dict(data)

                return componentsschemas_target_type_1

            targets_item = _parse_targets_item(targets_item_data)

            targets.append(targets_item)

        def _parse_first_comment(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        first_comment = _parse_first_comment(d.pop("first_comment", UNSET))

        def _parse_fit(data: object) -> Fit | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                fit_type_0 = Fit(data)

                return fit_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Fit | None | Unset, data)

        fit = _parse_fit(d.pop("fit", UNSET))

        def _parse_media(data: object) -> list[MediaSchema] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                media_type_0 = []
                _media_type_0 = data
                for media_type_0_item_data in _media_type_0:
                    media_type_0_item = MediaSchema.from_dict(media_type_0_item_data)

                    media_type_0.append(media_type_0_item)

                return media_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[MediaSchema] | None | Unset, data)

        media = _parse_media(d.pop("media", UNSET))

        def _parse_metadata(data: object) -> CreatePostMetadataType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_0 = CreatePostMetadataType0.from_dict(data)

                return metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CreatePostMetadataType0 | None | Unset, data)

        metadata = _parse_metadata(d.pop("metadata", UNSET))

        def _parse_publish_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                publish_at_type_0 = datetime.datetime.fromisoformat(data)

                return publish_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        publish_at = _parse_publish_at(d.pop("publish_at", UNSET))

        def _parse_text(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        text = _parse_text(d.pop("text", UNSET))

        def _parse_thread(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                thread_type_0 = cast(list[str], data)

                return thread_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        thread = _parse_thread(d.pop("thread", UNSET))

        create_post = cls(
            targets=targets,
            first_comment=first_comment,
            fit=fit,
            media=media,
            metadata=metadata,
            publish_at=publish_at,
            text=text,
            thread=thread,
        )

        return create_post
