"""PyTorch networks of the search spaces, and their exact costs.

* :func:`build_nb201`: the NAS-Bench-201 network of an architecture (a ``torch.nn.Module``
  whose forward returns logits);
* :func:`count_cost`: its ``(params_millions, mflops)`` by formula, under one of
  :data:`CONVENTIONS` (``"naslib"``: NAS-Bench-Suite-Zero's counts, the default;
  ``"nb201"``: NAS-Bench-201's own), see :mod:`zcdb.models.counting`;
* :func:`profile`: the same counts measured with forward hooks on any model.
"""

from __future__ import annotations

from .cost import CONVENTIONS, count_cost
from .counting import profile
from .nb201 import NB201Network, build_nb201

__all__ = ["build_nb201", "NB201Network", "count_cost", "profile", "CONVENTIONS"]
