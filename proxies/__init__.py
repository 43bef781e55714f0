"""Zero-cost proxies: one pure function per proxy, an explicit registry, and an engine that shares work.

* :data:`REGISTRY` (in :mod:`zcdb.proxies.registry`): proxy name -> :class:`ProxySpec`
  (function, group, data needs, paper);
* each proxy's function, e.g. ``zcdb.proxies.REGISTRY["snip"].fn(model, (x, y), seed)``,
  returns a float (NaN when the score is undefined) and never changes the model nor the
  global torch state;
* :func:`compute_proxies` computes many proxies over many architectures, sharing the
  passes their definitions allow, with per-proxy times;
* :func:`user_proxy` wraps a function of yours into a :class:`ProxySpec`, computed beside the
  built-ins when passed as ``extra=`` (never added to :data:`REGISTRY`);
* :func:`tenas_rank` combines ``tenas_ntk`` and ``tenas_lr`` over a set of architectures.

Importing this package computes nothing and reads no file.
"""

from __future__ import annotations

from .engine import ProxyScore, add_to_import, build_seeded, compute_proxies, resolve_device, score_table, spec_table
from .registry import GROUPS, REGISTRY, ProxySpec, get_proxy
from .tenas import tenas_rank
from .user import load_proxy, user_proxy

__all__ = [
    "REGISTRY", "GROUPS", "ProxySpec", "get_proxy", "compute_proxies", "resolve_device", "ProxyScore", "build_seeded",
    "score_table", "add_to_import", "spec_table", "tenas_rank",
    "user_proxy", "load_proxy",
]
