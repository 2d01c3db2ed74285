"""What every flowbus HTTP API shares: problem-details errors, bearer authentication, request
ids and settings. The application itself comes from `flowbus_shared.http.service_app`."""

from flowbus_shared.http.problems import ApiError, install_problem_handlers
from flowbus_shared.http.request_ids import current_request_id
from flowbus_shared.http.security import Authenticator, TokenVerifier
from flowbus_shared.http.settings import HttpSettings

__all__ = [
    "ApiError",
    "Authenticator",
    "HttpSettings",
    "TokenVerifier",
    "current_request_id",
    "install_problem_handlers",
]
