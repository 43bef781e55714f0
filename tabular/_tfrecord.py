"""TFRecord files without TensorFlow: the framing, its masked CRC-32C checks, and a tiny
protocol-buffer reader.

A TFRecord file is a sequence of records, each::

    uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data[length] | uint32 masked_crc32c(data)

where ``masked_crc32c(x) = ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2**32)`` of the CRC-32C
(Castagnoli polynomial, reflected, as iSCSI uses) ``c`` of ``x``. The CRCs are checked for
many records at once with numpy (one table lookup per byte column), so a multi-gigabyte
file is checked in seconds, not the hours a per-byte Python loop would take.

The protocol-buffer reader decodes the wire format (varints, 64-bit, length-delimited and
32-bit fields) into ``{field number: [values]}``; messages are decoded by their readers.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Iterator

import numpy as np

_POLY = 0x82F63B78
_MASK_DELTA = 0xA282EAD8


def _table() -> np.ndarray:
    t = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t = np.where(t & 1, (t >> 1) ^ np.uint32(_POLY), t >> 1).astype(np.uint32)
    return t


_TABLE = _table()
_TABLE_LIST = _TABLE.tolist()


def crc32c(data: bytes) -> int:
    """The CRC-32C of ``data`` (one record; :func:`crc32c_many` checks many at once)."""
    c = 0xFFFFFFFF
    t = _TABLE_LIST
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def mask(crc: "int | np.ndarray") -> "int | np.ndarray":
    """TFRecord's masking of a CRC (so that a CRC of data holding CRCs is not degenerate)."""
    if isinstance(crc, np.ndarray):
        c = crc.astype(np.uint64)
        return ((((c >> np.uint64(15)) | (c << np.uint64(17))) + np.uint64(_MASK_DELTA)) & np.uint64(0xFFFFFFFF)
                ).astype(np.uint32)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def crc32c_many(items: list[bytes]) -> np.ndarray:
    """CRC-32C of each of ``items``, vectorized over them (uint32 array)."""
    n = len(items)
    if n == 0:
        return np.zeros(0, dtype=np.uint32)
    lengths = np.fromiter(map(len, items), dtype=np.int64, count=n)
    order = np.argsort(-lengths, kind="stable")  # longest first: the rows still running are a prefix
    width = int(lengths.max())
    buf = np.zeros((n, width), dtype=np.uint8)
    flat = np.frombuffer(b"".join(items[i] for i in order.tolist()), dtype=np.uint8)
    srt = lengths[order]
    rows = np.repeat(np.arange(n), srt)
    cols = np.arange(flat.size) - np.repeat(np.cumsum(srt) - srt, srt)
    buf[rows, cols] = flat
    running = n - np.searchsorted(srt[::-1], np.arange(width), side="right")  # rows longer than each column
    crc = np.full(n, 0xFFFFFFFF, dtype=np.uint32)
    eight = np.uint32(8)
    for col in range(width):
        k = int(running[col])
        c = crc[:k]
        crc[:k] = _TABLE[(c ^ buf[:k, col]) & np.uint32(0xFF)] ^ (c >> eight)
    out = np.empty(n, dtype=np.uint32)
    out[order] = crc ^ np.uint32(0xFFFFFFFF)
    return out


class TFRecordError(ValueError):
    """A damaged TFRecord file: the message says where (the importer adds the file and the fix)."""


def read_records(fh: BinaryIO, batch: int = 65_536) -> Iterator[list[bytes]]:
    """The records of a TFRecord file, in batches, each batch's CRCs checked.

    Raises :class:`TFRecordError` for a truncated record or a CRC that does not match,
    naming the record's position (0-based).
    """
    done = 0
    while True:
        heads: list[bytes] = []
        datas: list[bytes] = []
        footers: list[int] = []
        head_crcs: list[int] = []
        while len(datas) < batch:
            head = fh.read(12)
            if not head:
                break
            k = done + len(datas)
            if len(head) < 12:
                raise TFRecordError(f"record {k} is truncated in its header ({len(head)} of 12 bytes)")
            length, head_crc = struct.unpack("<QI", head)
            if length > 1 << 30:
                raise TFRecordError(f"record {k} claims {length} bytes (a damaged length field)")
            body = fh.read(length + 4)
            if len(body) < length + 4:
                raise TFRecordError(f"record {k} is truncated: {len(body)} of {length + 4} bytes")
            heads.append(head[:8])
            head_crcs.append(head_crc)
            datas.append(body[:length])
            footers.append(struct.unpack("<I", body[length:])[0])
        if not datas:
            return
        bad_head = np.flatnonzero(mask(crc32c_many(heads)) != np.array(head_crcs, dtype=np.uint32))
        if bad_head.size:
            raise TFRecordError(f"record {done + int(bad_head[0])}: the CRC of its length field does not match")
        bad = np.flatnonzero(mask(crc32c_many(datas)) != np.array(footers, dtype=np.uint32))
        if bad.size:
            raise TFRecordError(f"record {done + int(bad[0])}: the CRC of its data does not match")
        done += len(datas)
        yield datas
        if len(datas) < batch:
            return


def frame(data: bytes) -> bytes:
    """One TFRecord record holding ``data`` (length, masked CRCs)."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", mask(crc32c(length))) + data + struct.pack("<I", mask(crc32c(data)))


# --------------------------------------------------------------------------- protocol buffers
class ProtobufError(ValueError):
    """Bytes that are not a protocol buffer message (truncated, or an unknown wire type)."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("a varint runs past the end of the message")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ProtobufError("a varint longer than 10 bytes")


def decode_fields(buf: bytes) -> dict[int, list]:
    """``{field number: [values]}`` of a message: ints for varints, ``bytes`` of 8 or 4 for the
    fixed-width types (read them with :func:`as_double` / ``struct``), ``bytes`` for length-delimited."""
    out: dict[int, list] = {}
    pos = 0
    n = len(buf)
    while pos < n:
        key = buf[pos]
        if key < 0x80:  # one-byte keys (fields 1..15): every field of these messages
            pos += 1
        else:
            key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise ProtobufError("field number 0")
        if wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size = buf[pos] if pos < n else 0x80
            if size < 0x80:
                pos += 1
            else:
                size, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ProtobufError(f"wire type {wire} (groups are not used by these messages)")
        if pos > n:
            raise ProtobufError(f"field {field} runs past the end of the message")
        lst = out.get(field)
        if lst is None:
            out[field] = [value]
        else:
            lst.append(value)
    return out


def as_double(value: object) -> float:
    """A 64-bit field as a double (:class:`ProtobufError` if it is not one)."""
    if not isinstance(value, bytes) or len(value) != 8:
        raise ProtobufError("a double field of the wrong wire type")
    return struct.unpack("<d", value)[0]
