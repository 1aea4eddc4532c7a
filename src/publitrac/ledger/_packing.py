"""The last accepted body of a lead, as the ledger keeps it: compact JSON, deflated with a preset dictionary.

A body is a few hundred bytes of JSON whose keys repeat from lead to lead; deflate alone saves little on so
short a text, but with a preset dictionary (`zlib`'s `zdict`) holding the keys and the usual pieces of a body,
the repeated parts cost a few bits each. Raw deflate (no zlib header or checksum: the database keeps its own
integrity) saves six more bytes a lead. Measured: 86 bytes for a typical 196-byte body (see
`benchmarks/ledger.py`). zlib is in every Python's standard library (zstd only from 3.14), and with a preset
dictionary it packs these short texts as small as zstd would without a trained dictionary.

Each body is packed by a copy of one compressor already primed with the dictionary (cheaper than a new one), with
a 2 KiB window and little hash memory: a body is a few hundred bytes.

The first byte says the format; format 1's dictionary below must never change (a new one is format 2), or
stored bodies could not be read back.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["pack_body", "unpack_body"]

_FORMAT_1: Final = 1
# Format 1's preset dictionary: the most common strings last (deflate finds the nearest match first).
_DICTIONARY_1: Final = (
    b'"country":"","city":"","phone":"","company":"","website":"","source":"","industry":"",'
    b'"Plan":"","Segment":"","Region":"","Owner":"","Status":"","Source":"","Industry":"",'
    b'"Country":"","City":"","Phone":"","Website":"","Notes":"","Score":,"Company":"",'
    b".co.uk.de.fr.es.it.nl.io.org.net@outlook.com@hotmail.com@yahoo.com@gmail.com.com"
    b'true,false,null,"crmLeadId":"00Q","crmLeadId":,"jobTitle":"","lastName":"","firstName":"",'
    b'},"leadCustomField":{"'
    b'{"leadInfo":{"email":"'
)


_PRIMED_1: Final = zlib.compressobj(9, zlib.DEFLATED, -11, 1, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_1)


def pack_body(body: Mapping[str, Any]) -> bytes:
    """A body as stored: format byte, then compact JSON deflated with format 1's dictionary.

    Example:
        >>> body = {"leadInfo": {"email": "ana@exemple.fr", "firstName": "Ana"}}
        >>> unpack_body(pack_body(body)) == body, len(pack_body(body)) < len(json.dumps(body))
        (True, True)
    """
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    packer = _PRIMED_1.copy()
    return bytes((_FORMAT_1,)) + packer.compress(text) + packer.flush()


def unpack_body(packed: bytes) -> dict[str, Any]:
    """The body `pack_body` stored.

    Raises:
        ValueError: an unknown format (a newer toolkit wrote it) or damaged data.
    """
    if not packed or packed[0] != _FORMAT_1:
        raise ValueError(f"unknown stored body format {packed[:1]!r}")
    try:
        unpacker = zlib.decompressobj(-15, _DICTIONARY_1)
        text = unpacker.decompress(packed[1:]) + unpacker.flush()
        body = json.loads(text)
    except (zlib.error, ValueError) as exc:
        raise ValueError(f"damaged stored body: {exc}") from exc
    if not isinstance(body, dict):
        raise ValueError("damaged stored body: not an object")
    return body
