"""Request body parsers of the JSON API."""

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
