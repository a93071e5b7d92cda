"""``FaceSetStore`` on OpenSearch k-NN (Amazon OpenSearch Service in AWS).

* Registry: one document per project (``project:<id>``) listing its face sets,
  changed only with optimistic concurrency (``if_seq_no``/``if_primary_term``)
  so the name check and the face-set limit hold under concurrent creates.
  Each entry keeps the set's metadata, including ``embedding_model`` (absent
  in entries written before it was recorded, read back as "").
* Faces: one k-NN index per face set (custom fields typed per set, dimension
  fixed per index, deleting a set is one index delete). Document id = face id.
* Capacity: a counter document per face set (``counter:<index>``) whose
  ``reserved`` is reserved before indexing (OCC) and released on failure or
  delete, so concurrent adds cannot overshoot. ``next_seq`` hands out the
  insertion sequence used by ``list_faces``.
* Visibility: face writes use ``refresh=true`` by default (next read sees
  them); registry and counters are read by realtime GET and need no refresh.
* Delete by filter: ids collected with ``search_after`` then ``_bulk`` deleted,
  so no reindex module is needed and the counter is released by exactly the
  number of documents the bulk reports deleted.
"""
from __future__ import annotations

import copy
import functools
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

import numpy as np
from opensearchpy.exceptions import ConflictError, NotFoundError, RequestError, TransportError
from opensearchpy.exceptions import ConnectionError as TransportConnectionError

from chalicelib import errors
from chalicelib.errors import FrsError
from chalicelib.query.ast import Node
from chalicelib.store.base import FaceRecord, FaceSetInfo, FaceSetStore, SearchHit, SortKey
from chalicelib.store.opensearch_client import OpenSearchSettings, make_client
from chalicelib.store.opensearch_mapping import (
    face_index,
    face_index_body,
    registry_body,
    registry_index,
    vector_mapping,
)
from chalicelib.store.opensearch_query import EXT, cosine_to_score, score_to_cosine, to_dsl

OCC_ATTEMPTS = 200
BULK_CHUNK = 1000
PAGE = 1000
MAX_WINDOW = 10000  # index.max_result_window default: beyond it page with search_after
MAX_K = 10000  # k-NN's limit on k
SCORE_SLACK = 1e-5  # float32 scoring noise around a min_score threshold
_SOURCE_NO_VECTOR = ["face_id", "external_image_id", "bounding_box", EXT]


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _cluster_errors(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """The cluster failing under a call becomes ``FrsError(FRS.0018)``, never a hang or a
    bare transport exception: no node reachable or the client timeout
    (``FRS_OPENSEARCH_TIMEOUT``) passed (``ConnectionError``/``ConnectionTimeout``), or
    the cluster answered 5xx/429 (no active copy of a shard, a cluster manager election)."""
    @functools.wraps(fn)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return fn(*args, **kwargs)
        except TransportConnectionError as e:  # includes ConnectionTimeout
            raise FrsError(errors.INTERNAL, "The face store is unavailable (no OpenSearch node "
                           f"answered: {type(e).__name__}); retry later.") from e
        except TransportError as e:
            status = e.status_code
            if isinstance(status, int) and (status >= 500 or status == 429):
                raise FrsError(errors.INTERNAL, f"The face store is unavailable (OpenSearch {status} "
                               f"{e.error}); retry later.") from e
            raise
    return call


OPS_KEPT = 64  # counter operations remembered per counter document (idempotent retries)


def _op_token() -> str:
    return f"{random.getrandbits(64):016x}"


def _remember(doc: dict, op: str, value: int) -> None:
    """Record ``op`` in a counter document so a retry of it is recognised; keeps the last
    OPS_KEPT (a retry follows its attempt within milliseconds)."""
    ops = doc.get("ops", {})
    ops[op] = value
    while len(ops) > OPS_KEPT:
        del ops[next(iter(ops))]
    doc["ops"] = ops


class _Gone(Exception):  # the counter document vanished: its face set was deleted meanwhile
    pass


class OpenSearchStore(FaceSetStore):
    def __init__(self, client: Any, settings: OpenSearchSettings | None = None) -> None:
        self.client = client
        self.s = settings or OpenSearchSettings()
        self.registry = registry_index(self.s)
        self._registry_ready = False
        self._dims: dict[str, int] = {}  # face index -> mapped vector dimension

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "OpenSearchStore":
        return cls(make_client(env), OpenSearchSettings.from_env(env))

    def close(self) -> None:
        self.client.close()

    # -- registry helpers ------------------------------------------------------
    def _ensure_registry(self) -> None:
        if self._registry_ready:
            return
        if not self.client.indices.exists(index=self.registry):
            try:
                self.client.indices.create(index=self.registry, body=registry_body(self.s))
            except RequestError as e:
                if e.error != "resource_already_exists_exception":
                    raise
        # Another thread or process may have just created it: reads fail (503) until its
        # shard is started, and health already says "yellow" before that, so poll primaries.
        for _ in range(300):
            if self.client.cluster.health(index=self.registry)["active_primary_shards"] >= 1:
                self._registry_ready = True
                return
            time.sleep(0.1)
        raise FrsError(errors.INTERNAL, f"registry index {self.registry} did not become active")

    def _get(self, doc_id: str) -> dict | None:
        try:
            return self.client.get(index=self.registry, id=doc_id)
        except NotFoundError:
            return None

    def _occ(self, doc_id: str, mutate: Callable[[dict | None], dict | None]) -> dict | None:
        """Read-modify-write of one registry document with optimistic concurrency.
        ``mutate`` gets the current source (None if absent) and returns the new
        one (None deletes it); it may raise to abort. A ``new`` equal to the current
        source is not written: mutations recognise their own earlier write that way
        (below), since a write can land and still answer a conflict or a dropped
        connection when a node fails under it (the retry on the promoted replica or on
        another node then conflicts with the write itself)."""
        dropped = 0
        for attempt in range(OCC_ATTEMPTS):
            cur = self._get(doc_id)
            new = mutate(copy.deepcopy(cur["_source"]) if cur else None)
            if cur is not None and new == cur["_source"]:
                return new
            try:
                if cur is None:
                    if new is not None:
                        self.client.index(index=self.registry, id=doc_id, body=new, op_type="create")
                elif new is None:
                    self.client.delete(index=self.registry, id=doc_id,
                                       if_seq_no=cur["_seq_no"], if_primary_term=cur["_primary_term"])
                else:
                    self.client.index(index=self.registry, id=doc_id, body=new,
                                      if_seq_no=cur["_seq_no"], if_primary_term=cur["_primary_term"])
                return new
            except TransportConnectionError:
                # No answer (a timeout, a node gone): the write may or may not have landed.
                # Re-read and let ``mutate`` tell, a few times; then the cluster is unavailable.
                dropped += 1
                if dropped > 2:
                    raise
            except (ConflictError, NotFoundError):
                time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 20)))
        raise FrsError(errors.INTERNAL, f"too much contention on {doc_id}")

    @staticmethod
    def _project_doc(project_id: str) -> str:
        return f"project:{project_id}"

    @staticmethod
    def _counter_doc(index: str) -> str:
        return f"counter:{index}"

    def _entry(self, project_id: str, name: str) -> dict:
        self._ensure_registry()
        cur = self._get(self._project_doc(project_id))
        entry = cur and cur["_source"]["face_sets"].get(name)
        if not entry:
            raise FrsError(errors.FACE_SET_NOT_FOUND, f"face set {name} not found")
        return entry

    def _count(self, index: str) -> int:
        try:
            return int(self.client.count(index=index)["count"])
        except NotFoundError:  # set deleted meanwhile
            return 0

    @staticmethod
    def _info(project_id: str, name: str, e: dict, count: int) -> FaceSetInfo:
        return FaceSetInfo(project_id=project_id, face_set_name=name, face_set_id=e["face_set_id"],
                           create_date=e["create_date"], face_set_capacity=e["capacity"],
                           external_fields=dict(e["external_fields"]), face_number=count,
                           # Absent in entries written before it was recorded: unknown.
                           embedding_model=e.get("embedding_model") or "")

    # -- face sets -------------------------------------------------------------
    @_cluster_errors
    def create_face_set(self, info: FaceSetInfo, max_face_sets: int) -> FaceSetInfo:
        self._ensure_registry()
        pid, name = info.project_id, info.face_set_name
        self._check_can_create(self._get(self._project_doc(pid)), name, max_face_sets)
        index = face_index(self.s, pid, name)
        self.client.indices.create(index=index,
                                   body=face_index_body(self.s, info.external_fields, self.s.dim))
        try:
            self.client.index(index=self.registry, id=self._counter_doc(index),
                              body={"kind": "counter", "reserved": 0, "next_seq": 0})
            entry = self._register(info, index, max_face_sets)
        except BaseException:
            self._drop_face_index(index)
            raise
        if self.s.dim:
            self._dims[index] = self.s.dim
        return self._info(pid, name, entry, 0)

    def _register(self, info: FaceSetInfo, index: str, max_face_sets: int) -> dict:
        """Enter the set (its index made) in the project's registry document:
        from here on it exists. Answers the entry."""
        pid, name = info.project_id, info.face_set_name
        entry = {"face_set_id": info.face_set_id, "create_date": info.create_date,
                 "capacity": int(info.face_set_capacity),
                 "external_fields": dict(info.external_fields), "index": index,
                 "embedding_model": str(info.embedding_model or "")}

        def add(doc: dict | None) -> dict:
            doc = doc or {"kind": "project", "project_id": pid, "face_sets": {}, "next_order": 0}
            mine = doc["face_sets"].get(name)
            if mine and mine.get("face_set_id") == entry["face_set_id"] and mine.get("index") == index:
                entry["order"] = mine["order"]  # our own earlier attempt landed
                return doc
            self._check_can_create({"_source": doc}, name, max_face_sets)
            entry["order"] = doc["next_order"]
            doc["next_order"] += 1
            doc["face_sets"][name] = entry
            return doc

        self._occ(self._project_doc(pid), add)
        return entry

    @staticmethod
    def _check_can_create(cur: dict | None, name: str, max_face_sets: int) -> None:
        sets = cur["_source"]["face_sets"] if cur else {}
        if name in sets:
            raise FrsError(errors.FACE_SET_EXISTS, f"face set {name} already exists")
        if len(sets) >= max_face_sets:
            raise FrsError(errors.FACE_SET_LIMIT, f"at most {max_face_sets} face sets per project")

    def _drop_face_index(self, index: str) -> None:
        self._dims.pop(index, None)
        self.client.indices.delete(index=index, ignore_unavailable=True)
        try:
            self.client.delete(index=self.registry, id=self._counter_doc(index))
        except NotFoundError:
            pass

    @_cluster_errors
    def list_face_sets(self, project_id: str) -> list[FaceSetInfo]:
        self._ensure_registry()
        cur = self._get(self._project_doc(project_id))
        if not cur:
            return []
        sets = sorted(cur["_source"]["face_sets"].items(), key=lambda kv: kv[1]["order"])
        return [self._info(project_id, n, e, self._count(e["index"])) for n, e in sets]

    @_cluster_errors
    def get_face_set(self, project_id: str, name: str) -> FaceSetInfo:
        e = self._entry(project_id, name)
        return self._info(project_id, name, e, self._count(e["index"]))

    @_cluster_errors
    def delete_face_set(self, project_id: str, name: str) -> None:
        self._ensure_registry()
        removed: dict[str, dict] = {}

        def remove(doc: dict | None) -> dict:
            if not doc or name not in doc["face_sets"]:
                raise FrsError(errors.FACE_SET_NOT_FOUND, f"face set {name} not found")
            removed["entry"] = doc["face_sets"].pop(name)
            return doc

        self._occ(self._project_doc(project_id), remove)
        self._drop_face_index(removed["entry"]["index"])

    @_cluster_errors
    def delete_project(self, project_id: str) -> int:
        self._ensure_registry()
        gone: dict[str, list[dict]] = {}

        def drop(doc: dict | None) -> None:
            gone["sets"] = list((doc or {}).get("face_sets", {}).values())
            return None

        self._occ(self._project_doc(project_id), drop)
        for e in gone["sets"]:
            self._drop_face_index(e["index"])
        return len(gone["sets"])

    # -- capacity counter --------------------------------------------------------
    def _reserve(self, index: str, n: int, capacity: int, name: str) -> int:
        """Reserve ``n`` slots; answer the first insertion sequence number."""
        first: dict[str, int] = {}
        op = _op_token()

        def take(doc: dict | None) -> dict:
            if doc is None:
                raise FrsError(errors.FACE_SET_NOT_FOUND, f"face set {name} not found")
            done = doc.get("ops", {})
            if op in done:  # an earlier attempt of this very reservation landed
                first["seq"] = int(done[op])
                return doc
            if doc["reserved"] + n > capacity:
                raise FrsError(errors.FACE_SET_FULL, f"face set {name} is full ({capacity} faces)")
            first["seq"] = doc["next_seq"]
            doc["reserved"] += n
            doc["next_seq"] += n
            _remember(doc, op, first["seq"])
            return doc

        self._occ(self._counter_doc(index), take)
        return first["seq"]

    def _release(self, index: str, n: int) -> None:
        if n <= 0:
            return

        op = _op_token()

        def give(doc: dict | None) -> dict:
            if doc is None:  # set deleted meanwhile: nothing to release
                raise _Gone
            if op in doc.get("ops", {}):  # an earlier attempt landed
                return doc
            doc["reserved"] = max(0, doc["reserved"] - n)
            _remember(doc, op, -1)
            return doc

        try:
            self._occ(self._counter_doc(index), give)
        except _Gone:
            pass

    # -- faces -------------------------------------------------------------------
    def _ensure_vector_field(self, index: str, dim: int) -> None:
        if self._dims.get(index) == dim:
            return
        mapped = self._mapped_dim(index)
        if mapped is None:
            # Same body from concurrent adders is idempotent; a different dim fails.
            self.client.indices.put_mapping(
                index=index, body={"properties": {"vector": vector_mapping(self.s, dim)}})
            mapped = dim
        if mapped != dim:
            raise FrsError(errors.INTERNAL, f"vector dimension {dim} != face set dimension {mapped}")
        self._dims[index] = dim

    def _mapped_dim(self, index: str) -> int | None:
        m = self.client.indices.get_mapping(index=index)
        props = next(iter(m.values()))["mappings"].get("properties", {})
        v = props.get("vector")
        return int(v["dimension"]) if v else None

    @_cluster_errors
    def add_faces(self, project_id: str, name: str, faces: Sequence[FaceRecord]) -> None:
        if not faces:
            return
        e = self._entry(project_id, name)
        index = e["index"]
        if any(f.vector is None for f in faces):
            raise ValueError("add_faces needs a vector for every face")
        # Stored exactly as given (already L2-normalised per base.py): get_face must return them bit for bit.
        vectors = np.stack([np.asarray(f.vector, dtype=np.float32).ravel() for f in faces])
        self._ensure_vector_field(index, vectors.shape[1])
        first = self._reserve(index, len(faces), int(e["capacity"]), name)
        created: list[str] = []
        try:
            for start in range(0, len(faces), BULK_CHUNK):
                chunk = faces[start:start + BULK_CHUNK]
                body: list[dict] = []
                for i, f in enumerate(chunk, start):
                    body.append({"create": {"_index": index, "_id": f.face_id}})
                    body.append({"face_id": f.face_id, "external_image_id": f.external_image_id,
                                 "bounding_box": dict(f.bounding_box), "seq": first + i,
                                 EXT: dict(f.external_fields or {}), "vector": vectors[i].tolist()})
                last = start + BULK_CHUNK >= len(faces)
                resp = self.client.bulk(body=body, refresh=self.s.refresh if last else "false")
                failed = None
                for i, item in enumerate(resp["items"], start):
                    r = item["create"]
                    status = r.get("status", 500)
                    if status < 300 or (status == 409 and self._is_ours(index, r["_id"], first + i)):
                        created.append(r["_id"])
                    elif failed is None:
                        failed = r.get("error", {})
                if failed is not None:
                    raise self._bulk_error(failed)
        except BaseException:
            self._delete_ids(index, created)
            self._release(index, len(faces))
            raise

    def _is_ours(self, index: str, face_id: str, seq: int) -> bool:
        """A create that answers 409 may have been created by this very add: a bulk retried
        after its node failed (client retry on another node, or the primary moving) conflicts
        with its own first attempt. The reserved sequence number tells ours from a face that
        happens to carry the same id."""
        try:
            r = self.client.get(index=index, id=face_id, _source_includes=["seq"])
        except NotFoundError:
            return False
        return bool(r["_source"].get("seq") == seq)

    @staticmethod
    def _bulk_error(err: dict) -> FrsError:
        kind = err.get("type", "")
        reason = err.get("reason", "")
        if kind in ("mapper_parsing_exception", "strict_dynamic_mapping_exception",
                    "illegal_argument_exception"):
            return FrsError(errors.FIELD_TYPE_MISMATCH, f"field value rejected: {reason}")
        if kind == "index_not_found_exception":
            return FrsError(errors.FACE_SET_NOT_FOUND, "face set deleted during the add")
        return FrsError(errors.INTERNAL, f"indexing failed: {kind}: {reason}")

    def _delete_ids(self, index: str, ids: list[str]) -> int:
        """Bulk-delete ids; answer how many documents were actually deleted."""
        deleted = 0
        for start in range(0, len(ids), BULK_CHUNK):
            chunk = ids[start:start + BULK_CHUNK]
            last = start + BULK_CHUNK >= len(ids)
            try:
                resp = self.client.bulk(body=[{"delete": {"_index": index, "_id": i}} for i in chunk],
                                        refresh=self.s.refresh if last else "false")
            except NotFoundError:
                return deleted
            deleted += sum(1 for it in resp["items"] if it["delete"].get("result") == "deleted")
        return deleted

    @staticmethod
    def _record(src: dict, with_vector: bool = False) -> FaceRecord:
        vec = src.get("vector") if with_vector else None
        return FaceRecord(face_id=src["face_id"], external_image_id=src.get("external_image_id", ""),
                          bounding_box=dict(src.get("bounding_box") or {}),
                          external_fields=dict(src.get(EXT) or {}),
                          vector=None if vec is None else np.asarray(vec, dtype=np.float32))

    @_cluster_errors
    def list_faces(self, project_id: str, name: str, offset: int, limit: int) -> list[FaceRecord]:
        index = self._entry(project_id, name)["index"]
        if limit <= 0:
            return []
        base = {"_source": _SOURCE_NO_VECTOR, "sort": [{"seq": "asc"}], "track_total_hits": False}
        if offset + limit <= MAX_WINDOW:
            hits = self._search(index, dict(base, **{"from": offset, "size": limit}))
            return [self._record(h["_source"]) for h in hits]
        # Deep pages: walk the sequence with search_after (gaps from deletes rule out ranges).
        out: list[FaceRecord] = []
        skip, after = offset, None
        while len(out) < limit:
            body = dict(base, size=min(PAGE * 10, skip + limit - len(out)))
            if after is not None:
                body["search_after"] = after
            hits = self._search(index, body)
            if not hits:
                break
            after = hits[-1]["sort"]
            take = hits[skip:] if skip else hits
            skip = max(0, skip - len(hits))
            out.extend(self._record(h["_source"]) for h in take[: limit - len(out)])
        return out

    # -- transfer ------------------------------------------------------------------
    @_cluster_errors
    def export_faces(self, project_id: str, name: str, after: str,
                     limit: int) -> tuple[list[FaceRecord], str]:
        index = self._entry(project_id, name)["index"]
        body: dict = {"_source": _SOURCE_NO_VECTOR + ["vector", "seq"], "sort": [{"seq": "asc"}],
                      "size": int(limit), "track_total_hits": False}
        if after.isdigit():  # the insertion sequence number of the last face sent
            body["search_after"] = [int(after)]
        hits = self._search(index, body)
        faces = [self._record(h["_source"], with_vector=True) for h in hits]
        return faces, (str(hits[-1]["_source"]["seq"]) if hits else after)

    @_cluster_errors
    def restore_face_set(self, info: FaceSetInfo, faces: Sequence[FaceRecord],
                         max_face_sets: int) -> FaceSetInfo:
        """Index every face into a fresh index first and enter the set in the
        registry last: a failure (or a crash) before that leaves at most an
        unregistered index, which no call reads (and a failure drops)."""
        self._ensure_registry()
        pid, name = info.project_id, info.face_set_name
        if len(faces) > info.face_set_capacity:
            raise FrsError(errors.FACE_SET_FULL, f"face set {name} would hold {len(faces)} faces, "
                           f"more than its capacity of {info.face_set_capacity}")
        if any(f.vector is None for f in faces):
            raise ValueError("restore_face_set needs a vector for every face")
        self._check_can_create(self._get(self._project_doc(pid)), name, max_face_sets)
        dim = int(np.asarray(faces[0].vector).size) if faces else self.s.dim
        index = face_index(self.s, pid, name)
        # The default periodic refresh stays on while loading: with refresh_interval -1
        # restoring 20,000 faces took 2.3x as long (53-59 s against 23-24 s, load 12-15).
        self.client.indices.create(index=index, body=face_index_body(self.s, info.external_fields, dim))
        try:
            self.client.index(index=self.registry, id=self._counter_doc(index),
                              body={"kind": "counter", "reserved": len(faces), "next_seq": len(faces)})
            for start in range(0, len(faces), BULK_CHUNK):
                body: list[dict] = []
                for i, f in enumerate(faces[start:start + BULK_CHUNK], start):
                    body.append({"create": {"_index": index, "_id": f.face_id}})
                    body.append({"face_id": f.face_id, "external_image_id": f.external_image_id,
                                 "bounding_box": dict(f.bounding_box), "seq": i,
                                 EXT: dict(f.external_fields or {}),
                                 "vector": np.asarray(f.vector, dtype=np.float32).ravel().tolist()})
                resp = self.client.bulk(body=body, refresh="false")
                # 409 in this fresh index: a bulk the client retried after a node failed
                # (face ids are unique, the caller checked); the count below tells.
                failed = [it["create"] for it in resp["items"]
                          if it["create"].get("status", 500) >= 300 and it["create"].get("status") != 409]
                if failed:
                    raise self._bulk_error(failed[0].get("error", {}))
            self.client.indices.refresh(index=index)
            if self._count(index) != len(faces):
                raise FrsError(errors.INTERNAL, f"restoring {name}: the index does not hold every face")
            entry = self._register(info, index, max_face_sets)
        except BaseException:
            self._drop_face_index(index)
            raise
        if dim:
            self._dims[index] = dim
        return self._info(pid, name, entry, len(faces))

    def _search(self, index: str, body: dict) -> list[dict]:
        try:
            return self.client.search(index=index, body=body)["hits"]["hits"]
        except NotFoundError:
            raise FrsError(errors.FACE_SET_NOT_FOUND, "face set not found") from None

    @_cluster_errors
    def get_face(self, project_id: str, name: str, face_id: str,
                 with_vector: bool = False) -> FaceRecord | None:
        index = self._entry(project_id, name)["index"]
        try:
            r = self.client.get(index=index, id=face_id,
                                _source_includes=_SOURCE_NO_VECTOR + (["vector"] if with_vector else []))
        except NotFoundError:
            return None
        return self._record(r["_source"], with_vector)

    @_cluster_errors
    def update_face(self, project_id: str, name: str, face_id: str,
                    external_image_id: str | None, external_fields: dict | None) -> FaceRecord:
        index = self._entry(project_id, name)["index"]
        doc: dict = {}
        if external_image_id is not None:
            doc["external_image_id"] = external_image_id
        if external_fields:
            doc[EXT] = dict(external_fields)  # objects merge: other fields stay
        if not doc:
            face = self.get_face(project_id, name, face_id)
            if face is None:
                raise FrsError(errors.FACE_ID_NOT_FOUND, f"face {face_id} not found")
            return face
        try:
            r = self.client.update(index=index, id=face_id, body={"doc": doc},
                                   refresh=self.s.refresh, retry_on_conflict=5,
                                   _source_includes=",".join(_SOURCE_NO_VECTOR))
        except NotFoundError:
            raise FrsError(errors.FACE_ID_NOT_FOUND, f"face {face_id} not found") from None
        except RequestError as e:
            raise FrsError(errors.FIELD_TYPE_MISMATCH, f"field value rejected: {e.info}") from None
        return self._record(r["get"]["_source"])

    @_cluster_errors
    def delete_faces(self, project_id: str, name: str, where: Node) -> int:
        index = self._entry(project_id, name)["index"]
        query = {"bool": {"filter": [to_dsl(where)]}} if where is not None else {"match_all": {}}
        ids: list[str] = []
        after = None
        while True:
            body = {"query": query, "_source": False, "size": PAGE, "sort": [{"seq": "asc"}],
                    "track_total_hits": False}
            if after is not None:
                body["search_after"] = after
            hits = self._search(index, body)
            ids.extend(h["_id"] for h in hits)
            if len(hits) < PAGE:
                break
            after = hits[-1]["sort"]
        deleted = self._delete_ids(index, ids)
        self._release(index, deleted)
        return deleted

    @_cluster_errors
    def search(self, project_id: str, name: str, vector: np.ndarray, top_n: int,
               min_score: float | None = None, where: Node | None = None,
               sort: Sequence[SortKey] = ()) -> list[SearchHit]:
        index = self._entry(project_id, name)["index"]
        if top_n <= 0:
            return []
        k = min(int(top_n), MAX_K)
        knn: dict = {"vector": np.asarray(vector, dtype=np.float32).ravel().tolist(), "k": k,
                     "method_parameters": {"ef_search": max(self.s.ef_search, k)}}
        if where is not None:
            knn["filter"] = to_dsl(where)  # efficient filtering: top k among matching faces
        body: dict = {"size": k, "_source": _SOURCE_NO_VECTOR, "track_total_hits": False,
                      "query": {"knn": {"vector": knn}}}
        if min_score is not None:
            body["min_score"] = cosine_to_score(self.s.space, max(-1.0, min_score - SCORE_SLACK))
        try:
            resp = self.client.search(index=index, body=body)
        except NotFoundError:
            raise FrsError(errors.FACE_SET_NOT_FOUND, f"face set {name} not found") from None
        except RequestError as e:
            if "knn_vector" in str(e.info) and self._mapped_dim(index) is None:
                return []  # no face was ever added, so there is no vector field yet
            raise
        hits = [SearchHit(face=self._record(h["_source"]),
                          score=min(1.0, max(-1.0, score_to_cosine(self.s.space, h["_score"]))))
                for h in resp["hits"]["hits"]]
        hits.sort(key=lambda h: -h.score)
        for key in reversed(sort):  # stable sorts: first key wins, score breaks ties
            present = [h for h in hits if h.face.external_fields.get(key.field) is not None]
            missing = [h for h in hits if h.face.external_fields.get(key.field) is None]
            present.sort(key=lambda h: h.face.external_fields[key.field], reverse=key.descending)
            hits = present + missing
        return hits
