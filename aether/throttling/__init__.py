"""Throttles whose counts live in the database, shared by every worker and replica.

``counter`` keeps the counts (one statement per counted request), ``throttles`` turns them into DRF
throttle classes that views declare the DRF way, and ``auth_failures`` slows down a client sending bad
bearer tokens.
"""
