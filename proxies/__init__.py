"""zcdb.proxies."""
