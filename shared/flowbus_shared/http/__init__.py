"""What every flowbus HTTP API shares: problem-details errors and bearer authentication."""

from flowbus_shared.http.problems import ApiError, install_problem_handlers
from flowbus_shared.http.security import Authenticator

__all__ = ["ApiError", "Authenticator", "install_problem_handlers"]
