"""What the official NAS-Bench-201 / NATS-Bench APIs answer, as zcdb rows, to check importers against.

Both APIs expose the same per-trial objects: ``query_meta_info_by_index(index, hp)`` gives
an ``ArchResults``; its ``query(dataset, seed)`` a ``ResultsCount`` with ``get_train(e)``
and ``get_eval(set, e)``; ``get_compute_costs(dataset)`` the costs (:func:`api_rows`).
NATS-Bench's public queries, ``get_more_info(index, dataset, iepoch, hp, is_random=seed)``
and ``get_cost_info(index, dataset, hp)``, give the same values by name
(:func:`more_info_rows`). An entry the API cannot answer (it raises) is a row the importer
must not write.
"""

from __future__ import annotations

import math

SPLITS = {
    "cifar10-valid": {"val": "x-valid", "test": "ori-test"},
    "cifar10": {"test": "ori-test"},
    "cifar100": {"val": "x-valid", "test": "x-test", "valtest": "ori-test"},
    "ImageNet16-120": {"val": "x-valid", "test": "x-test", "valtest": "ori-test"},
}
PROTOCOLS = {"200": "200ep", "12": "12ep"}


def api_rows(api, indices, protocols=PROTOCOLS) -> dict[tuple, float]:
    """``{(dataset, protocol, metric, epoch, seed, arch_index): value}`` as the API reports them.

    ``protocols`` maps the API's ``hp`` to the zcdb protocol.
    """
    rows: dict[tuple, float] = {}
    for index in indices:
        for hp, protocol in protocols.items():
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
                                if ev["all_time"] is not None:
                                    rows[(ds, protocol, f"{kind}_time", e + 1, seed, index)] = ev["all_time"]
                costs = info.get_compute_costs(dataset)
                rows[(dataset, protocol, "params", 0, -1, index)] = costs["params"]
                rows[(dataset, protocol, "flops", 0, -1, index)] = costs["flops"]
                if costs["latency"] is not None:
                    rows[(dataset, protocol, "latency_gpu", 0, -1, index)] = 1000 * costs["latency"]
    return {k: float(v) for k, v in rows.items() if not math.isnan(v)}


#: ``get_more_info``'s keys -> zcdb metrics (valid: x-valid; test: ori-test for the cifar10
#: settings, x-test otherwise; valtest: ori-test of cifar100 and ImageNet16-120, as the API
#: picks them; *-all-time: the cumulative seconds up to the epoch).
MORE_INFO = {"train-loss": "train_loss", "train-accuracy": "train_acc", "train-all-time": "train_time",
             "valid-loss": "val_loss", "valid-accuracy": "val_acc", "valid-all-time": "val_time",
             "test-loss": "test_loss", "test-accuracy": "test_acc", "test-all-time": "test_time",
             "valtest-loss": "valtest_loss", "valtest-accuracy": "valtest_acc", "valtest-all-time": "valtest_time"}
#: What it also answers and zcdb does not store as rows: the per-epoch times, which the API
#: derives (``*-per-time`` is ``*-all-time / (iepoch + 1)``), and a fixed comment text.
MORE_INFO_NOT_STORED = {"comment", "train-per-time", "valid-per-time", "test-per-time", "valtest-per-time"}


def more_info_rows(api, indices, protocols) -> dict[tuple, float]:
    """The rows of :func:`api_rows`, from NATS-Bench's public queries: ``get_more_info`` for
    every (hp, dataset, seed, epoch) the API lists and ``get_cost_info`` per (hp, dataset).

    Every key either query answers is a stored metric or in an explicit not-stored list, so
    a value the API has and the mapping forgets fails here.
    """
    rows: dict[tuple, float] = {}
    for index in indices:
        for hp, protocol in protocols.items():
            meta = api.query_meta_info_by_index(index, hp)
            for dataset in meta.get_dataset_names():
                for seed in meta.get_dataset_seeds(dataset):
                    for e in range(meta.query(dataset, seed).get_total_epoch()):
                        try:
                            info = api.get_more_info(index, dataset, iepoch=e, hp=hp, is_random=seed)
                        except (KeyError, ValueError, TypeError):
                            continue
                        unknown = set(info) - set(MORE_INFO) - MORE_INFO_NOT_STORED
                        assert not unknown, f"get_more_info answers {unknown}, which the comparison does not map"
                        for key in info.keys() & {"train-per-time", "valid-per-time", "test-per-time",
                                                  "valtest-per-time"}:
                            all_time = info[key.replace("-per-", "-all-")]
                            assert info[key] == (None if all_time is None else all_time / (e + 1)), key
                        for key, metric in MORE_INFO.items():
                            if key not in info or info[key] is None:
                                continue
                            also_cifar10 = dataset == "cifar10-valid" and metric.startswith("val_")
                            targets = [dataset] + (["cifar10"] if also_cifar10 else [])
                            for ds in targets:
                                rows[(ds, protocol, metric, e + 1, seed, index)] = info[key]
                costs = api.get_cost_info(index, dataset, hp=hp)
                unknown = {k for k in costs if not k.startswith("T-")} - {"params", "flops", "latency"}
                assert not unknown, f"get_cost_info answers {unknown}, which the comparison does not map"
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
    """Same keys; values equal up to summation order (``rel``; 0: exactly equal)."""
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    assert not missing and not extra, f"missing {missing[:5]} ({len(missing)}), extra {extra[:5]} ({len(extra)})"
    if rel == 0:
        bad = [(k, got[k], want[k]) for k in want if got[k] != want[k]]
    else:
        bad = [(k, got[k], want[k]) for k in want if not math.isclose(got[k], want[k], rel_tol=rel, abs_tol=1e-12)]
    assert not bad, f"{len(bad)} values differ, e.g. {bad[:3]}"
