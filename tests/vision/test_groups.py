"""FRS's 0.93 on real faces of several groups of people, with the default
embedder: the same person above, different people of one group below, and a
reduced UTKFace check (bench/demographic.py's own code) that fails clearly
when a group's false-match rate rises above the floor."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.conftest import DATASETS, dataset_file

# LFW people by broad group (public figures; LFW names them, not their group).
GROUPS = {
    "East and South-East Asian": ["Junichiro_Koizumi", "Jiang_Zemin", "Hu_Jintao", "Roh_Moo-hyun",
                                  "Kim_Dae-jung", "Gloria_Macapagal_Arroyo", "Megawati_Sukarnoputri",
                                  "Zhu_Rongji"],
    "Black": ["Colin_Powell", "Serena_Williams", "Kofi_Annan", "Condoleezza_Rice", "Venus_Williams",
              "Thabo_Mbeki", "Nelson_Mandela"],
    "South Asian": ["Atal_Bihari_Vajpayee", "Pervez_Musharraf"],
    "Latin American": ["Hugo_Chavez", "Luiz_Inacio_Lula_da_Silva", "Vicente_Fox", "Alvaro_Uribe"],
}


def lfw_vectors(engine, load, name, n=3):
    dataset_file("lfw", "images", name)
    out = []
    for i in range(1, n + 1):
        image = load("lfw", "images", name, f"{name}_{i:04d}.jpg")
        h, w = image.shape[:2]
        faces = engine.detect(image)
        # LFW centres the labelled person.
        face = min(faces, key=lambda f: abs(f.box[0] + f.box[2] / 2 - w / 2)
                   + abs(f.box[1] + f.box[3] / 2 - h / 2))
        out.append(engine.embed(image, face))
    return out


@pytest.fixture(scope="module")
def vectors(engine, load):
    return {name: lfw_vectors(engine, load, name) for names in GROUPS.values() for name in names}


@pytest.mark.parametrize("group", list(GROUPS))
def test_different_people_of_one_group_are_below_093(engine, vectors, group):
    for a, b in itertools.combinations(GROUPS[group], 2):
        for va in vectors[a]:
            for vb in vectors[b]:
                assert engine.similarity(float(va @ vb)) < 0.93, (a, b)


@pytest.mark.parametrize("group", list(GROUPS))
def test_the_same_person_is_mostly_above_093(engine, vectors, group):
    """0.93 is strict (it must hold for the worst group): a few same-person
    pairs fall below it (LFW: the FRR at 0.93 in docs/vision.md)."""
    sims = [engine.similarity(float(va @ vb)) for name in GROUPS[group]
            for va, vb in itertools.combinations(vectors[name], 2)]
    assert np.mean(np.array(sims) > 0.93) >= 0.75, sorted(sims)[:5]


def test_reduced_utkface_false_matches_stay_under_the_floor(engine):
    """150 adult chips of each group, every pair within a group (pairs of
    chips labelled as one person dropped, as the benchmark does): at most
    1e-3 false matches per pair at 0.93 (the floor; the full run is
    ``make bench-demographic``)."""
    dataset_file("distractors", "utkface")
    from bench._common import Pipeline, embed_files, utk_chips
    from bench.demographic import ADULT_GROUPS, api_no_face, group_row, same_person_labels
    pipe = Pipeline()
    chips = [c for c in utk_chips() if c.band == "18-60"]
    picked = [c for g in ADULT_GROUPS for c in [c for c in chips if c.race == g][::2][:150]]
    vecs = embed_files(pipe, [c.path for c in picked], progress=False)
    missed = api_no_face(pipe, picked)
    for g in ADULT_GROUPS:
        row = group_row(pipe, [c for c in picked if c.race == g], vecs, missed, same_person_labels())
        assert row["no_face_rate"] <= 0.02, (g, row["no_face_rate"])
        assert row["all"]["pairs"] >= 10_000
        assert row["all"]["fmr_at_0.93"] <= 1e-3, (g, row["all"])
    assert DATASETS.exists()
