"""What the official NAS-Bench-201 / NATS-Bench APIs answer, as zcdb rows, to check importers against.

Both APIs expose the same per-trial objects: ``query_meta_info_by_index(index, hp)`` gives
an ``ArchResults``; its ``query(dataset, seed)`` a ``ResultsCount`` with ``get_train(e)``
and ``get_eval(set, e)``; ``get_compute_costs(dataset)`` the costs. An entry the API cannot
answer (it raises) is a row the importer must not write.
"""

from __future__ import annotations

import math

SPLITS = {
    "cifar10-valid": {"val": "x-valid", "test": "ori-test"},
    "cifar10": {"test": "ori-test"},
    "cifar100": {"val": "x-valid", "test": "x-test"},
    "ImageNet16-120": {"val": "x-valid", "test": "x-test"},
}
PROTOCOLS = {"200": "200ep", "12": "12ep"}


def api_rows(api, indices) -> dict[tuple, float]:
    """``{(dataset, protocol, metric, epoch, seed, arch_index): value}`` as the API reports them."""
    rows: dict[tuple, float] = {}
    for index in indices:
        for hp, protocol in PROTOCOLS.items():
            info = api.query_meta_info_by_index(index, hp)
            for dataset in info.get_dataset_names():
                for seed in info.get_dataset_seeds(dataset):
                    run = info.query(dataset, seed)
                    for e in range(run.get_total_epoch()):
                        _train_rows(rows, run, (dataset, protocol), e, seed, index)
                        for kind, set_name in SPLITS[dataset].items():
                            try:
                                ev = run.get_eval(set_name, e)
                            except (KeyError, ValueError):
                                continue
                            targets = [dataset] + (["cifar10"] if dataset == "cifar10-valid" and kind == "val" else [])
                            for ds in targets:
                                rows[(ds, protocol, f"{kind}_acc", e + 1, seed, index)] = ev["accuracy"]
                                rows[(ds, protocol, f"{kind}_loss", e + 1, seed, index)] = ev["loss"]
                costs = info.get_compute_costs(dataset)
                rows[(dataset, protocol, "params", 0, -1, index)] = costs["params"]
                rows[(dataset, protocol, "flops", 0, -1, index)] = costs["flops"]
                if costs["latency"] is not None:
                    rows[(dataset, protocol, "latency_gpu", 0, -1, index)] = 1000 * costs["latency"]
    return {k: float(v) for k, v in rows.items() if not math.isnan(v)}


def _train_rows(rows, run, where, e, seed, index) -> None:
    try:
        tr = run.get_train(e)
    except (KeyError, ValueError):
        return
    rows[(*where, "train_acc", e + 1, seed, index)] = tr["accuracy"]
    rows[(*where, "train_loss", e + 1, seed, index)] = tr["loss"]
    if tr["all_time"] is not None:
        rows[(*where, "train_time", e + 1, seed, index)] = tr["all_time"]


def store_rows(store) -> dict[tuple, float]:
    """Every evaluation row of ``store`` in the same keys as :func:`api_rows`."""
    cur = store.conn.execute(
        "SELECT dataset, protocol, metric, epoch, seed, arch_index, value FROM evaluations_view")
    return {tuple(r[:6]): r[6] for r in cur}


def assert_rows_equal(got: dict, want: dict, rel: float = 1e-12) -> None:
    """Same keys; values equal up to summation order (``rel``)."""
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    assert not missing and not extra, f"missing {missing[:5]} ({len(missing)}), extra {extra[:5]} ({len(extra)})"
    bad = [(k, got[k], want[k]) for k in want if not math.isclose(got[k], want[k], rel_tol=rel, abs_tol=1e-12)]
    assert not bad, f"{len(bad)} values differ, e.g. {bad[:3]}"
