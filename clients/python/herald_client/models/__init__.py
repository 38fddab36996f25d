"""Contains all the data models used in inputs/outputs"""

from .account_out import AccountOut
from .cancel_out import CancelOut
from .connect_out import ConnectOut
from .connect_request import ConnectRequest
from .connect_telegram import ConnectTelegram
from .connection_expiring_data import ConnectionExpiringData
from .connection_expiring_event import ConnectionExpiringEvent
from .connection_needs_reconnect_data import ConnectionNeedsReconnectData
from .connection_needs_reconnect_event import ConnectionNeedsReconnectEvent
from .connection_out import ConnectionOut
from .connection_page import ConnectionPage
from .connection_status import ConnectionStatus
from .create_post import CreatePost
from .create_post_metadata_type_0 import CreatePostMetadataType0
from .create_webhook import CreateWebhook
from .delivery_detail import DeliveryDetail
from .delivery_error_out import DeliveryErrorOut
from .delivery_event import DeliveryEvent
from .delivery_event_data import DeliveryEventData
from .delivery_event_data_detail import DeliveryEventDataDetail
from .delivery_out import DeliveryOut
from .delivery_page import DeliveryPage
from .delivery_state import DeliveryState
from .error_class import ErrorClass
from .event_out import EventOut
from .event_out_detail import EventOutDetail
from .field_error import FieldError
from .fit import Fit
from .list_posts_metadata import ListPostsMetadata
from .media_from_url import MediaFromUrl
from .media_out import MediaOut
from .media_schema import MediaSchema
from .media_upload import MediaUpload
from .not_cancelled import NotCancelled
from .page_list import PageList
from .page_out import PageOut
from .platform import Platform
from .post_completed_data import PostCompletedData
from .post_completed_delivery import PostCompletedDelivery
from .post_completed_event import PostCompletedEvent
from .post_out import PostOut
from .post_out_metadata import PostOutMetadata
from .post_page import PostPage
from .post_state import PostState
from .post_target_type import PostTargetType
from .problem import Problem
from .rate_budget import RateBudget
from .resolve import Resolve
from .resolve_outcome import ResolveOutcome
from .select_page import SelectPage
from .step_out import StepOut
from .step_out_detail_type_0 import StepOutDetailType0
from .step_state import StepState
from .target_schema import TargetSchema
from .webhook_delivery_out import WebhookDeliveryOut
from .webhook_delivery_out_payload import WebhookDeliveryOutPayload
from .webhook_delivery_page import WebhookDeliveryPage
from .webhook_delivery_state import WebhookDeliveryState
from .webhook_out import WebhookOut
from .webhook_page import WebhookPage
from .webhook_test_data import WebhookTestData
from .webhook_test_event import WebhookTestEvent
from .webhook_test_result import WebhookTestResult

__all__ = (
    "AccountOut",
    "CancelOut",
    "ConnectionExpiringData",
    "ConnectionExpiringEvent",
    "ConnectionNeedsReconnectData",
    "ConnectionNeedsReconnectEvent",
    "ConnectionOut",
    "ConnectionPage",
    "ConnectionStatus",
    "ConnectOut",
    "ConnectRequest",
    "ConnectTelegram",
    "CreatePost",
    "CreatePostMetadataType0",
    "CreateWebhook",
    "DeliveryDetail",
    "DeliveryErrorOut",
    "DeliveryEvent",
    "DeliveryEventData",
    "DeliveryEventDataDetail",
    "DeliveryOut",
    "DeliveryPage",
    "DeliveryState",
    "ErrorClass",
    "EventOut",
    "EventOutDetail",
    "FieldError",
    "Fit",
    "ListPostsMetadata",
    "MediaFromUrl",
    "MediaOut",
    "MediaSchema",
    "MediaUpload",
    "NotCancelled",
    "PageList",
    "PageOut",
    "Platform",
    "PostCompletedData",
    "PostCompletedDelivery",
    "PostCompletedEvent",
    "PostOut",
    "PostOutMetadata",
    "PostPage",
    "PostState",
    "PostTargetType",
    "Problem",
    "RateBudget",
    "Resolve",
    "ResolveOutcome",
    "SelectPage",
    "StepOut",
    "StepOutDetailType0",
    "StepState",
    "TargetSchema",
    "WebhookDeliveryOut",
    "WebhookDeliveryOutPayload",
    "WebhookDeliveryPage",
    "WebhookDeliveryState",
    "WebhookOut",
    "WebhookPage",
    "WebhookTestData",
    "WebhookTestEvent",
    "WebhookTestResult",
)
