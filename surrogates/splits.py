"""Which architectures a surrogate may train and be tested on, and seeded disjoint splits of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from zcdb.errors import ZcdbError

from .features import feature_matrix, zc_items, zc_selection

if TYPE_CHECKING:  # pragma: no cover
    from zcdb.store import Benchmark


def pool_of(benchmark: "Benchmark", metric: str, features: Union[str, Sequence[str]] = "onehot",
            epoch: Optional[int] = None, **zc: Any) -> np.ndarray:
    """Official indices a split draws from: the metric is measured and, if the features read proxies, scored.

    Aliases (architectures a generated table answers by another member of their
    isomorphism class, :meth:`~zcdb.store.Benchmark.aliases`) are left out: their value
    is a copy, and a copy on both sides of a split would leak. With ``zc:NAME+...`` the pool
    is the architectures every named proxy scored; with a plain ``zc``, those the widest
    proxy scored (:func:`~zcdb.surrogates.features.zc_selection`; NAS-Bench-Suite-Zero's
    protocol samples the architectures it scored), so that the proxies a fit takes cover it.
    Architectures whose scores are answered by a member of their class (``zc_by_class``) are left out
    too: a copied score on both sides of a split would leak as well.
    ``zc`` takes ``zc_seed``/``zc_batch_size``/``zc_data``/``zc_configs``/``zc_by_class``.
    """
    ok = np.isfinite(benchmark.values(metric, epoch))
    ok[benchmark.aliases()[0]] = False
    for args in zc_items(features):
        if args:
            fm = feature_matrix(benchmark, "zc:" + "+".join(args), **zc)
            ok &= fm.coverage() & fm.own()
        else:
            _, pool = zc_selection(benchmark, metric, epoch, **zc)
            ok &= np.isin(np.arange(ok.size), pool)
    return np.flatnonzero(ok)


def split(pool: Sequence[int], n_train: int, seed: int, n_test: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint ``(train, test)`` official indices drawn from ``pool`` with a seeded generator.

    ``n_test=None`` takes every pool architecture not in the training set.
    """
    pool = np.unique(np.asarray(pool, dtype=np.int64))
    if n_train < 1:
        raise ZcdbError(f"n_train must be at least 1, got {n_train}")
    rest = pool.size - n_train
    if rest < 3 or (n_test is not None and n_test > rest):
        want = f"{n_train} + {n_test}" if n_test is not None else f"{n_train} + at least 3"
        raise ZcdbError(f"the pool has {pool.size} architectures, too few for {want} disjoint train/test ones: "
                        "lower --n-train/--n-test")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(pool)
    train = np.sort(perm[:n_train])
    test = perm[n_train:] if n_test is None else perm[n_train:n_train + n_test]
    return train, np.sort(test)
