"""In-memory columnar copy of one face set, for exact search and filtering.

The embedded store keeps a ``FaceColumns`` per face set and per process:
vectors in one contiguous float32 matrix and every filterable field as a numpy
column, so a filter is a handful of vectorised comparisons and a search one
matrix-vector product. Rows are only ever appended; buffers grow by doubling
and a reader works on a ``View`` frozen at a row count, so appends by another
thread never change what a running search sees (rows below ``n`` are never
rewritten, vocabularies only grow). A deleted face is marked dead; an updated
one is marked dead and appended again. The store rebuilds the object when
dead rows pile up.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from chalicelib.query.ast import And, Match, Node, Not, Or, Range
from chalicelib.store.evaluate import matches

_NUMPY_TYPE = {"integer": np.int64, "long": np.int64, "float": np.float64,
               "double": np.float64, "boolean": np.bool_}


# Value classes that need no per-value check (an int beyond int64 makes numpy
# raise OverflowError, and that batch takes the per-value path).
_EXACT: dict[str, set[type]] = {"integer": {int}, "long": {int}, "float": {int, float},
                                "double": {int, float}, "boolean": {bool}}


def _grow(arr: np.ndarray, need: int) -> np.ndarray:
    """``arr`` with room for ``need`` rows plus 1/8 spare: appends stay amortised
    O(1), and the first add after loading a large set does not copy it all."""
    if need <= len(arr):
        return arr
    new = np.empty((max(need + need // 8, 256),) + arr.shape[1:], dtype=arr.dtype)
    new[:len(arr)] = arr
    return new


# A column frozen at a row count: ("string", codes, index, vocabulary size,
# vocabulary) or (kind, values, presence mask); see ``frozen``.
Frozen = tuple


def _fits(kind: str, value: object) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind in ("integer", "long"):
        return isinstance(value, int) and -2**63 <= value < 2**63
    return isinstance(value, (int, float))


class _StringColumn:
    """Dictionary-encoded strings: a code per row, -1 when absent."""

    def __init__(self) -> None:
        self.codes = np.empty(0, dtype=np.int32)
        self.vocab: list[str] = []
        self.index: dict[str, int] = {}

    def append(self, start: int, values: list) -> None:
        self.codes = _grow(self.codes, start + len(values))
        index, vocab = self.index, self.vocab
        # setdefault hands out the next code to a new string in one C call; a
        # new string's first occurrence carries the code len(vocab).
        codes = [index.setdefault(v, len(index)) if v.__class__ is str else -1 for v in values]
        if len(index) > len(vocab):
            for v, c in zip(values, codes, strict=True):
                if c == len(vocab):
                    vocab.append(v)
        self.codes[start:start + len(values)] = codes

    def frozen(self, n: int) -> Frozen:
        # No copies: the vocabulary only grows, so codes < len(vocab) stay valid.
        return ("string", self.codes[:n], self.index, len(self.vocab), self.vocab)


class _ValueColumn:
    """A typed numpy column plus a presence mask."""

    def __init__(self, kind: str):
        self.kind = kind
        self.values: np.ndarray = np.empty(0, dtype=_NUMPY_TYPE[kind])
        self.present = np.empty(0, dtype=np.bool_)

    def append(self, start: int, values: list) -> None:
        end = start + len(values)
        self.values = _grow(self.values, end)
        self.present = _grow(self.present, end)
        classes = set(map(type, values))
        if classes <= _EXACT[self.kind]:  # the common case: every value well typed
            try:
                self.values[start:end] = values
                self.present[start:end] = True
                return
            except OverflowError:
                pass
        ok = [_fits(self.kind, v) for v in values]
        self.present[start:end] = ok
        self.values[start:end] = [v if good else 0 for v, good in zip(values, ok, strict=True)]

    def frozen(self, n: int) -> Frozen:
        return (self.kind, self.values[:n], self.present[:n])


class FaceColumns:
    """All faces of one face set as of ``version``."""

    def __init__(self, schema: dict[str, str], dim: int | None):
        self.schema = dict(schema)
        self.dim = dim
        self.n = 0
        self.max_id = 0
        self.version = -1
        self.dead = 0
        self.position: dict[int, int] = {}  # row id -> live row index
        self.alive = np.empty(0, dtype=np.bool_)
        self.ids = np.empty(0, dtype=np.int64)
        self.matrix = np.empty((0, dim or 0), dtype=np.float32)
        self.boxes = np.empty((0, 4), dtype=np.int32)
        self.fields_json: list[str] = []  # as stored; parsed only for returned hits
        self.columns: dict[str, _StringColumn | _ValueColumn] = {
            "face_id": _StringColumn(), "external_image_id": _StringColumn()}
        for name, kind in self.schema.items():
            self.columns[name] = _StringColumn() if kind == "string" else _ValueColumn(kind)

    def append(self, rows: list[tuple]) -> None:
        """Append rows ``(id, face_id, external_image_id, x, y, w, h, fields_json, vector_blob)``."""
        if rows:
            self.append_columns([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                                [r[3:7] for r in rows], [r[7] for r in rows],
                                b"".join(r[8] for r in rows))

    def append_columns(self, ids: list[int], face_ids: list, ext_ids: list, boxes: list | np.ndarray,
                       fields_json: list, blob: bytes) -> None:
        """Append ``k`` faces given column-wise: ids, strings, (k, 4) boxes,
        JSON texts and the concatenated float32 vectors."""
        start, k = self.n, len(ids)
        if k == 0:
            return
        if self.dim is None:
            self.dim = len(blob) // 4 // k
            self.matrix = np.empty((0, self.dim), dtype=np.float32)
        if len(blob) != 4 * self.dim * k:
            raise ValueError("stored vectors of different dimensions in one face set")
        self.matrix = _grow(self.matrix, start + k)
        self.matrix[start:start + k] = np.frombuffer(blob, dtype=np.float32).reshape(k, self.dim)
        self.ids = _grow(self.ids, start + k)
        self.ids[start:start + k] = ids
        ids = self.ids[start:start + k].tolist()
        self.alive = _grow(self.alive, start + k)
        self.alive[start:start + k] = True
        self.position.update(zip(ids, range(start, start + k), strict=True))
        self.boxes = _grow(self.boxes, start + k)
        self.boxes[start:start + k] = boxes
        self.fields_json.extend(fields_json)
        self.columns["face_id"].append(start, face_ids)
        self.columns["external_image_id"].append(start, ext_ids)
        # One parse of a JSON array is several times faster than a loads() per row.
        parsed = json.loads("[" + ",".join(fields_json) + "]")
        for name in self.schema:
            self.columns[name].append(start, [p.get(name) for p in parsed])
        self.max_id = max(self.max_id, max(ids))
        self.n = start + k  # publish last: a View taken meanwhile ignores the new rows

    def kill(self, ids: list[int]) -> None:
        """Mark the rows with these ids (deleted or about to be re-appended) dead."""
        for i in ids:
            p = self.position.pop(i, None)
            if p is not None:
                self.alive[p] = False
                self.dead += 1

    def view(self) -> "View":
        n = self.n
        # Copied because kill() writes below n; not needed while nothing is dead.
        alive = self.alive[:n].copy() if self.dead else None
        # fields_json is shared, not copied: entries below n are never rewritten.
        return View(n, alive, self.ids[:n], self.matrix[:n], self.boxes[:n], self.fields_json,
                    {name: col.frozen(n) for name, col in self.columns.items()})


class View:
    """An immutable snapshot of a ``FaceColumns`` at ``n`` rows."""

    def __init__(self, n: int, alive: np.ndarray | None, ids: np.ndarray, matrix: np.ndarray,
                 boxes: np.ndarray, fields_json: list[str], columns: dict[str, Frozen]) -> None:
        self.n = n
        self.alive = alive  # None when every row is alive
        self.ids = ids
        self.matrix = matrix
        self.boxes = boxes
        self.fields_json = fields_json
        self.columns = columns

    # -- filtering -------------------------------------------------------------
    def live_rows(self, where: Node | None = None) -> np.ndarray | None:
        """Indices of the live rows matching ``where``; None means all rows."""
        if where is None:
            return None if self.alive is None else np.flatnonzero(self.alive)
        m = self.mask(where)
        if self.alive is not None:
            m &= self.alive
        return np.flatnonzero(m)

    def mask(self, node: Node) -> np.ndarray:
        """Rows matching a filter AST (same semantics as ``evaluate.matches``),
        dead rows included: see ``live_rows``."""
        if isinstance(node, And):
            out = np.ones(self.n, dtype=np.bool_)
            for item in node.items:
                out &= self.mask(item)
            return out
        if isinstance(node, Or):
            out = np.zeros(self.n, dtype=np.bool_)
            for item in node.items:
                out |= self.mask(item)
            return out
        if isinstance(node, Not):
            return ~self.mask(node.item)
        if isinstance(node, (Match, Range)):
            col = self.columns.get(node.field)
            if col is None:  # undefined field: nothing has it
                return np.zeros(self.n, dtype=np.bool_)
            if col[0] == "string":
                return self._string_mask(col, node)
            return self._value_mask(col, node)
        raise TypeError(f"not a filter node: {node!r}")

    def _string_mask(self, col: Frozen, node: Match | Range) -> np.ndarray:
        _, codes, index, nvocab, vocab = col
        if isinstance(node, Match):
            code = index.get(node.value) if isinstance(node.value, str) else None
            if code is None or code >= nvocab:
                return np.zeros(self.n, dtype=np.bool_)
            return codes == code
        # A range over strings compares each distinct value once, then maps
        # codes through that table; the extra False slot catches code -1.
        table = np.zeros(nvocab + 1, dtype=np.bool_)
        table[:nvocab] = [matches(node, {node.field: v}) for v in vocab[:nvocab]]
        return table[codes]

    def _value_mask(self, col: Frozen, node: Match | Range) -> np.ndarray:
        kind, values, present = col
        is_bool = kind == "boolean"
        bounds = [node.value] if isinstance(node, Match) else [node.low, node.high]
        for b in bounds:
            if b is None:
                continue
            if isinstance(b, str) or (isinstance(b, bool) != is_bool):
                return np.zeros(self.n, dtype=np.bool_)
        if isinstance(node, Match):
            return present & (values == node.value)
        out = present.copy()
        if node.low is not None:
            out &= (values >= node.low) if node.include_low else (values > node.low)
        if node.high is not None:
            out &= (values <= node.high) if node.include_high else (values < node.high)
        return out

    # -- reading rows back ----------------------------------------------------------
    def string_at(self, name: str, i: int) -> str:
        _, codes, _, _, vocab = self.columns[name]
        return vocab[codes[i]]

    def value_at(self, name: str, i: int) -> Any:  # numpy's .item(): int, float or bool
        """A numeric field of row ``i`` as Python, or None when absent (sort keys)."""
        col = self.columns.get(name)
        if col is None or col[0] == "string" or not col[2][i]:
            return None
        return col[1][i].item()
