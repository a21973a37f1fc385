"""Request body parsers of the JSON API."""

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing nesting too deep for Python's recursive decoder with a 400.

    ``json.loads`` raises ``RecursionError`` (not ``ValueError``) on a body such as 100,000 ``[``,
    which DRF's parser lets through as a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, refusing a form of too many parts with a 400 that says which limit.

    Django stops reading a form past ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` fields or
    ``DATA_UPLOAD_MAX_NUMBER_FILES`` files with a ``SuspiciousOperation``, which would reach Django's
    handler as a bare "Bad request." (logged as a security error, with a traceback).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except TooManyFieldsSent:
            limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
            raise ParseError(f"Multipart form parse error - more than {limit} fields.") from None
        except TooManyFilesSent:
            limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
            raise ParseError(f"Multipart form parse error - more than {limit} files.") from None
