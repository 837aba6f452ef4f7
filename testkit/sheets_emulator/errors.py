"""Errors in Google's JSON shape: {"error": {"code", "message", "status"}}."""

STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

DEFAULT_MESSAGES = {
    404: "Requested entity was not found.",
    403: "The caller does not have permission",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
    401: ("Request is missing required authentication credential. Expected OAuth 2 access token, "
          "login cookie or other valid authentication credential. "
          "See https://developers.google.com/identity/sign-in/web/devconsole-project."),
}


class ApiError(Exception):
    def __init__(self, code, message=None, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.headers = headers or {}
        self.message = message if message is not None else DEFAULT_MESSAGES.get(code, "Error")
        self.details = details

    def body(self):
        err = {"code": self.code, "message": self.message,
               "status": STATUS_BY_CODE.get(self.code, "UNKNOWN")}
        if self.details:
            err["details"] = self.details
        return {"error": err}


def bad_request(message):
    return ApiError(400, message)


def field_violation(field, message):
    """400 for a body that does not match the proto schema (Google adds a BadRequest detail)."""
    details = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field, "description": message}]}]
    return ApiError(400, message, details)
