"""zcdb.surrogates."""
