"""The OpenAPI schema of the JSON API: drf-spectacular's, plus what every route shares.

Each operation lists the error answers it can give (as ``{"detail": ...}``, or field errors for 400)
and, when it works in a space, the ``X-Space-ID`` header. Views declare only what is particular to
them in ``extra_error_statuses``.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from accounts.api.scoping import SPACE_HEADER_PARAMETER

WRITE_METHODS = {"POST", "PUT", "PATCH"}

ERROR_DESCRIPTIONS = {
    400: "Invalid input: field errors, or a detail for a malformed header or parameter.",
    401: "Not authenticated: no or an invalid bearer token.",
    403: "Not allowed: not signed in (session), CSRF failure, or a role that may not do this.",
    404: "Not found, or in a space the caller is not a member of (the same answer).",
    409: "Conflicts with the current state.",
    413: "The document is larger than DOCUMENT_MAX_BYTES.",
    429: "Over a throttle (API_THROTTLE, ONBOARDING_RETRY_THROTTLE, AUTH_FAILURE_THROTTLE): "
    "Retry-After says in how many seconds to try again.",
}

# 400 bodies are DRF's field errors ({"field": ["message"]}, nested by index or key for the items of
# lists and objects: {"tags": {"3": ["message"]}}) or {"detail": "message"}.
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {
        "description": "A field's messages: a list of strings, or an object of them per item or key.",
        "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}],
    },
}


class ErrorSerializer(serializers.Serializer):
    """An error answer."""

    detail = serializers.CharField()


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """``Authorization: Bearer <access token>`` from the OpenID Connect provider."""

    target_class = "accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An access token from the OpenID Connect provider (OIDC_ISSUER).",
        }


class AetherAutoSchema(AutoSchema):
    def _is_space_scoped(self) -> bool:
        return getattr(self.view, "space_scoped", False)

    def get_override_parameters(self) -> list:
        parameters = super().get_override_parameters()
        if self._is_space_scoped():
            parameters = [*parameters, SPACE_HEADER_PARAMETER]
        return parameters

    def _error_statuses(self) -> set[int]:
        statuses = {401, 403, 429, *getattr(self.view, "extra_error_statuses", {}).get(self.method, ())}
        if self._is_space_scoped() or self.method in WRITE_METHODS:
            statuses.add(400)
        paginated = self.method == "GET" and getattr(self.view, "pagination_class", None) is not None
        if self._is_space_scoped() or "{" in self.path or paginated:
            statuses.add(404)  # paginated lists answer 404 for a page past the end
        return statuses

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in sorted(self._error_statuses()):
            if str(code) in responses:
                continue
            body = VALIDATION_ERROR_SCHEMA if code == 400 else ErrorSerializer
            response = self._get_response_for_code(body, str(code), ["application/json"], direction)
            response["description"] = ERROR_DESCRIPTIONS[code]
            responses[str(code)] = response
        return responses
