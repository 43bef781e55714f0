"""Training protocols: named, versioned recipes that say how every row of a generated table was made.

:data:`PROTOCOLS` is the registry. A protocol's name (with its version, e.g.
``digits-v1``) is the ``protocol`` of the store rows it produces, and its full
description is stored beside them (table ``protocols``), so a table carries its recipe.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from zcdb.errors import ZcdbError


@dataclass(frozen=True)
class Protocol:
    """A training recipe for one dataset of one search space."""

    name: str
    version: int
    space: str
    dataset: str
    description: str
    #: Keyword arguments of the space's network builder (the skeleton; nb201: ``C`` channels of
    #: the first stage, ``N`` cells per stage), as ``(name, value)`` pairs.
    network: tuple[tuple[str, Any], ...]
    epochs: int
    batch_size: int
    optimizer: str
    lr: float
    momentum: float
    nesterov: bool
    weight_decay: float
    #: Learning-rate schedule: cosine annealing from ``lr`` to 0 over all steps.
    schedule: str
    augmentation: str
    #: How the data is split into train/val/test (fractions and the split seed).
    split: str
    data_source: str

    @property
    def network_kwargs(self) -> dict[str, Any]:
        """:attr:`network` as a dict, for ``space.network(arch, dataset, **kwargs)`` and ``space.cost``."""
        return dict(self.network)

    def to_json(self) -> str:
        """The protocol as a JSON object (stored with the results)."""
        return json.dumps(self.as_dict(), sort_keys=True)

    def as_dict(self) -> dict[str, Any]:
        """The protocol as a plain dict; the network arguments sit at the top level, as stored recipes have them."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "network"}
        clash = set(d) & set(self.network_kwargs)
        if clash:
            raise ZcdbError(f"protocol {self.name}: network arguments {sorted(clash)} clash with recipe fields")
        return {**d, **self.network_kwargs}


PROTOCOLS: dict[str, Protocol] = {
    "digits-v1": Protocol(
        name="digits-v1",
        version=1,
        space="nb201",
        dataset="digits",
        description=(
            "NAS-Bench-201 cells in a reduced skeleton (C=8, one cell per stage) trained on "
            "scikit-learn's 8x8 handwritten digits, NAS-Bench-201's optimizer and schedule scaled "
            "down to 12 epochs; val and test evaluated after every epoch"
        ),
        network=(("C", 8), ("N", 1)),
        epochs=12,
        batch_size=64,
        optimizer="sgd",
        lr=0.1,
        momentum=0.9,
        nesterov=True,
        weight_decay=5e-4,
        schedule="cosine-per-step",
        augmentation="none",
        split="stratified 50% train / 25% val / 25% test, split seed 0 (zcdb.datasets digits)",
        data_source="sklearn.datasets.load_digits (1,797 images, shipped with scikit-learn)",
    ),
}


def get_protocol(name: str) -> Protocol:
    """The protocol called ``name``; :class:`ZcdbError` listing the known ones otherwise."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ZcdbError(f"unknown protocol {name!r}: known protocols are {', '.join(PROTOCOLS)}") from None
