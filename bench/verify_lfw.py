"""LFW verification benchmark (standard 10-fold protocol on pairs.txt).

    python -m bench.verify_lfw [--folds N] [--embedder NAME] [--all-pairs]

Every image named in the evaluated folds goes through the same path as the
API (decode, detect, align, embed); the face nearest the image centre is the
subject. For each test fold the accuracy-maximising cosine threshold is
chosen on the other evaluated folds (with ``--folds 1``: on one half of the
fold, tested on the other half, and swapped). Also reported over the
evaluated pairs: TAR at FAR 1e-3 / 1e-4 / 1e-5 (thresholds over the official
impostor pairs only resolve 1e-3; ``--all-pairs`` measures them over every
impostor pair of all 13,233 LFW images) and FAR / FRR at calibrated
similarity 0.93. ``--embedder`` runs any registered embedder. Vectors live
only in memory for the run unless ``--cache DIR`` keeps them (a private
directory). The last line is a one-line JSON summary.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from bench._common import (
    LFW,
    best_threshold,
    embed_lfw_images,
    pair_scores,
    print_summary,
    read_pairs,
    require,
    tar_at_far,
)
from chalicelib.errors import FrsError


def fold_accuracies(scores, labels, folds, rng_seed=0):
    uniq = sorted(set(folds.tolist()))
    accs, thresholds = [], []
    if len(uniq) == 1:
        # One fold: two-way split inside it, same-person/different balanced.
        rng = np.random.default_rng(rng_seed)
        half = np.zeros(len(scores), bool)
        for lab in (True, False):
            idx = np.flatnonzero(labels == lab)
            half[rng.permutation(idx)[: len(idx) // 2]] = True
        parts = [half, ~half]
        for tune, test in (parts, parts[::-1]):
            t = best_threshold(scores[tune], labels[tune])
            accs.append(float(((scores[test] > t) == labels[test]).mean()))
            thresholds.append(t)
        return accs, thresholds
    for f in uniq:
        test = folds == f
        t = best_threshold(scores[~test], labels[~test])
        accs.append(float(((scores[test] > t) == labels[test]).mean()))
        thresholds.append(t)
    return accs, thresholds


def evaluate(engine, folds: int = 10, progress: bool = True, cache_dir=None) -> dict:
    """Run the protocol on the first ``folds`` folds; answer the summary."""
    pairs = [p for p in read_pairs(require(LFW / "pairs.txt", "LFW pairs.txt")) if p.fold < folds]
    keys = sorted({p.a for p in pairs} | {p.b for p in pairs})
    t0 = time.time()
    if cache_dir:
        # Repeated runs share the vectors of every LFW image with the other benches.
        from bench._common import embed_files
        every = sorted((LFW / "images").glob("*/*.jpg"))
        by_path = embed_files(engine, every, cache_dir, tag="lfw_all", progress=progress)
        vectors = {k: by_path.get(LFW / "images" / k[0] / f"{k[0]}_{k[1]:04d}.jpg") for k in keys}
        missing = sum(v is None for v in vectors.values())
        counts = {"default": len(keys) - missing, "low_threshold": 0, "no_face": missing}
    else:
        vectors, counts = embed_lfw_images(engine, keys, progress=progress, cache_dir=cache_dir)
    elapsed = time.time() - t0
    scores = pair_scores(pairs, vectors)
    labels = np.array([p.same for p in pairs])
    fold_ids = np.array([p.fold for p in pairs])
    accs, thresholds = fold_accuracies(scores, labels, fold_ids)
    tar3, thr3 = tar_at_far(scores, labels, 1e-3)
    tar4, thr4 = tar_at_far(scores, labels, 1e-4)
    tar5, _ = tar_at_far(scores, labels, 1e-5)
    try:
        cos93 = engine.cosine_for_similarity(0.93)
        sim = engine.similarity(scores)
    except FrsError:  # not calibrated yet (bench/fit_calibration.py)
        cos93, sim = float("nan"), np.full(len(scores), np.nan)
    imp, gen = sim[~labels], sim[labels]
    return {
        "benchmark": "lfw_verification",
        "model": engine.model_id,
        "folds": len(set(fold_ids.tolist())),
        "pairs": len(pairs),
        "accuracy_mean": round(float(np.mean(accs)), 5),
        "accuracy_std": round(float(np.std(accs)), 5),
        "fold_accuracies": [round(a, 4) for a in accs],
        "cosine_threshold_mean": round(float(np.mean(thresholds)), 4),
        "tar_at_far_1e-3": round(tar3, 5),
        "tar_at_far_1e-4": round(tar4, 5),
        "tar_at_far_1e-5": round(tar5, 5),
        "far_resolution": round(1.0 / max(int((~labels).sum()), 1), 6),
        "cosine_at_similarity_0.93": round(float(cos93), 4),
        "far_at_0.93": round(float((imp > 0.93).mean()), 6),
        "frr_at_0.93": round(float((gen <= 0.93).mean()), 5),
        "images": len(keys),
        "face_found_default": counts["default"],
        "face_found_low_threshold": counts["low_threshold"],
        "no_face": counts["no_face"],
        "seconds_per_image": round(elapsed / max(len(keys), 1), 4),
    }


def all_pairs(pipe, cache_dir=None) -> dict:
    """TAR at FAR 1e-3..1e-5 and FAR/FRR at 0.93 over every pair of all LFW
    images (genuine: same identity; impostor: ~87 million pairs)."""
    from bench._common import embed_files
    from bench.fit_calibration import lfw_pair_scores, quantile_from_top
    lfw = sorted((LFW / "images").glob("*/*.jpg"))
    vectors = embed_files(pipe, lfw, cache_dir, tag="lfw_all")
    top, n_imp, genuine = lfw_pair_scores(lfw, vectors)
    out = {"all_impostor_pairs": int(n_imp), "all_genuine_pairs": int(genuine.size)}
    for far in (1e-3, 1e-4, 1e-5):
        thr = quantile_from_top(top, n_imp, far)
        out[f"all_pairs_tar_at_far_{far:g}"] = round(float((genuine > thr).mean()), 5)
    try:
        cos93 = float(pipe.cosine_for_similarity(0.93))
        out["all_pairs_far_at_0.93"] = float(np.sum(top > cos93) / n_imp)
        out["all_pairs_frr_at_0.93"] = round(float((genuine <= cos93).mean()), 5)
    except FrsError:
        pass
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folds", type=int, default=10, help="evaluate the first N folds (CI: 1)")
    ap.add_argument("--embedder", help="registered embedder family (default: the service's default)")
    ap.add_argument("--all-pairs", action="store_true",
                    help="also score every pair of all 13,233 LFW images")
    ap.add_argument("--cache", metavar="TMPDIR",
                    help="reuse/keep this model's LFW vectors in a temp dir between runs")
    args = ap.parse_args()
    from bench._common import Pipeline
    pipe = Pipeline(args.embedder)
    summary = evaluate(pipe, folds=max(1, min(10, args.folds)), cache_dir=args.cache)
    if args.all_pairs:
        summary.update(all_pairs(pipe, args.cache))
    print(f"LFW {summary['folds']} folds: accuracy {summary['accuracy_mean'] * 100:.2f}% "
          f"± {summary['accuracy_std'] * 100:.2f}, TAR@FAR1e-3 {summary['tar_at_far_1e-3'] * 100:.2f}%, "
          f"FAR@0.93 {summary['far_at_0.93'] * 100:.3f}%, FRR@0.93 {summary['frr_at_0.93'] * 100:.2f}%")
    print_summary(summary)


if __name__ == "__main__":
    main()
