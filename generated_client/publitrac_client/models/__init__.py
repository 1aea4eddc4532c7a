"""Contains all the data models used in inputs/outputs"""

from .error_response import ErrorResponse
from .lead_custom_field import LeadCustomField
from .lead_info import LeadInfo
from .lead_sync_request import LeadSyncRequest
from .sync_response import SyncResponse
from .token_response import TokenResponse

__all__ = (
    "ErrorResponse",
    "LeadCustomField",
    "LeadInfo",
    "LeadSyncRequest",
    "SyncResponse",
    "TokenResponse",
)
