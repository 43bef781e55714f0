"""Importers: each turns one foreign format into store rows, in one transaction.

Every importer is a function ``import_<format>(store, path, **options) -> ImportBatch``
listed in :data:`IMPORTERS`; the CLI's ``zcdb import <format>`` calls it. Importers are
idempotent (re-importing changes nothing), atomic (an error leaves the store as it
was), strict (a malformed row fails the whole import, naming the file and line) and
recorded in the store's provenance table.
"""
