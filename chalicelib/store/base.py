"""The storage contract every backend implements.

The service layer (``chalicelib.services.faces``) validates requests, runs the vision
engine and generates identifiers; a store only keeps face sets and faces and
answers exact or approximate nearest-neighbour queries. Stores raise
``FrsError`` for the conditions they alone can see (duplicate name, face-set
limit, capacity, unknown face set or face id).

Scores: a store works on raw cosine similarity of L2-normalised vectors
(-1..1). The service maps it to FRS's calibrated 0..1 similarity; thresholds
arrive here already converted back to raw cosine, so every backend can apply
them inside its own query.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from chalicelib.query.ast import Node


@dataclass
class FaceSetInfo:
    project_id: str
    face_set_name: str
    face_set_id: str
    create_date: str  # "YYYY-MM-DD HH:MM:SS", UTC
    face_set_capacity: int
    external_fields: dict[str, str]  # field name -> FRS type name
    face_number: int = 0
    # Which embedding model produced the set's vectors (the vision engine's
    # ``model_id``), recorded at creation. "" = unknown: a set created before
    # the model was recorded. Vectors of different models must never be compared.
    embedding_model: str = ""


@dataclass
class FaceRecord:
    face_id: str
    external_image_id: str
    bounding_box: dict[str, int]  # top_left_x, top_left_y, width, height
    external_fields: dict = field(default_factory=dict)
    vector: np.ndarray | None = None  # float32, L2-normalised; None when not asked for


@dataclass
class SearchHit:
    face: FaceRecord
    score: float  # raw cosine similarity


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool


class FaceSetStore(abc.ABC):
    """Face sets and faces of every project; all methods are project-scoped."""

    # -- face sets ---------------------------------------------------------
    @abc.abstractmethod
    def create_face_set(self, info: FaceSetInfo, max_face_sets: int) -> FaceSetInfo:
        """Create atomically. FRS.0301 if the name exists in the project,
        FRS.0305 if the project already has ``max_face_sets``."""

    @abc.abstractmethod
    def list_face_sets(self, project_id: str) -> list[FaceSetInfo]:
        """All face sets of the project, oldest first, with current counts."""

    @abc.abstractmethod
    def get_face_set(self, project_id: str, name: str) -> FaceSetInfo:
        """FRS.0302 when absent."""

    @abc.abstractmethod
    def delete_face_set(self, project_id: str, name: str) -> None:
        """Delete the set and all its faces. FRS.0302 when absent."""

    # -- faces ---------------------------------------------------------------
    @abc.abstractmethod
    def add_faces(self, project_id: str, name: str, faces: Sequence[FaceRecord]) -> None:
        """All or nothing. FRS.0306 when count + len(faces) > capacity, also
        under concurrent adds. Vectors are required."""

    @abc.abstractmethod
    def list_faces(self, project_id: str, name: str, offset: int, limit: int) -> list[FaceRecord]:
        """Faces in insertion order, without vectors."""

    @abc.abstractmethod
    def get_face(self, project_id: str, name: str, face_id: str,
                 with_vector: bool = False) -> FaceRecord | None:
        """One face or None."""

    @abc.abstractmethod
    def update_face(self, project_id: str, name: str, face_id: str,
                    external_image_id: str | None, external_fields: dict | None) -> FaceRecord:
        """Replace the external image id and/or merge the given fields.
        FRS.0403 when the face id is unknown."""

    @abc.abstractmethod
    def delete_faces(self, project_id: str, name: str, where: Node) -> int:
        """Delete the faces matching a bound filter AST (``chalicelib.query.ast``);
        answer how many were deleted (0 is not an error here)."""

    @abc.abstractmethod
    def search(self, project_id: str, name: str, vector: np.ndarray, top_n: int,
               min_score: float | None = None, where: Node | None = None,
               sort: Sequence[SortKey] = ()) -> list[SearchHit]:
        """The ``top_n`` faces most similar to ``vector`` among those matching
        ``where`` with score >= ``min_score``, ordered by score descending.
        When ``sort`` is given, those same hits are then ordered by the sort
        keys (score descending breaks ties)."""

    # -- transfer (export / restore of a whole set, beyond FRS) ---------------
    @abc.abstractmethod
    def export_faces(self, project_id: str, name: str, after: str,
                     limit: int) -> tuple[list[FaceRecord], str]:
        """Up to ``limit`` faces *with vectors*, in insertion order, that come
        after position ``after`` ("" = the start); answer them and the position
        of the last one (an opaque cursor for the next call; ``after`` itself
        when none is left). FRS.0302 when the set is absent."""

    @abc.abstractmethod
    def restore_face_set(self, info: FaceSetInfo, faces: Sequence[FaceRecord],
                         max_face_sets: int) -> FaceSetInfo:
        """Create ``info`` holding ``faces`` (their face ids kept, vectors
        required, in this order), all or nothing: FRS.0301/FRS.0305 as
        ``create_face_set``, FRS.0306 when there are more faces than capacity.
        Until it answers, no other call sees the set; after a failure (or a
        crash) neither the set nor any of its faces is visible."""

    # -- housekeeping --------------------------------------------------------
    @abc.abstractmethod
    def delete_project(self, project_id: str) -> int:
        """Remove every face set and face of a project; answer face sets removed."""

    def close(self) -> None:  # pragma: no cover - optional
        pass
