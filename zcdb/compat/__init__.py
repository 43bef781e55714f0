"""Other tools' APIs on a zcdb store, so that code written for them runs once its constructor changes.

* :mod:`zcdb.compat.nats`: NATS-Bench's ``nats_bench.create(...)`` API (topology and size
  spaces) on benchmarks imported with ``zcdb import nats-tss`` / ``nats-sss`` / ``nb201-pth``.

Nothing is imported here: ``import zcdb.compat.nats`` (or ``from zcdb.compat import nats``).
"""
