"""THE one model loader: `load_model(id_or_path)` for any registry id or local HF directory.

- weights: safetensors only (`use_safetensors=True`; a directory with only pickled *.bin weights
  is refused), `trust_remote_code` never;
- a prompted task model (a card with a `base` and no weights of its own) loads that base;
- a LoRA adapter directory (adapter_config.json + adapter_model.safetensors, e.g. a shipped task
  model in data/models/<id>/) is loaded onto its base and merged, so inference runs at base speed;
- inference: eval mode, fp32 master weights, torch threads from OPPLAB_TORCH_THREADS, and, for
  Llama-architecture models, the fast decoder of core.lm.generate (int8 weight-only decode);
- `for_training=True` returns a trainable fp32 copy (no fast decoder, train mode, no merge of a
  LoRA adapter left undone).
A LoadedModel carries a lock: generation holds it, so concurrent sessions are served one by one.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import get_settings
from core.lm.registry import BASE_MODEL_ID, ModelInfo, get_model


class ModelLoadError(ValueError):
    """The model cannot be loaded; the message is meant for the user."""


@dataclass
class LoadedModel:
    model: Any  # transformers PreTrainedModel (fp32, eval unless for_training)
    tokenizer: Any
    info: ModelInfo
    fast: Any = None  # core.lm.generate.FastDecoder when the architecture supports it
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


_threads_set = False


def set_threads() -> None:
    """Torch intra-op threads once per process (the machine's cores are shared; see config)."""
    global _threads_set
    if not _threads_set:
        import torch

        torch.set_num_threads(get_settings().torch_threads)
        _threads_set = True


def resolve(id_or_path: str | Path, actor=None) -> ModelInfo:
    """A registry id (among the models `actor` may see; core/owner.py), or a local HF directory
    (its model_card.json, when present, is its card)."""
    text = str(id_or_path).strip()
    if not text:
        raise ModelLoadError("no model given")
    try:
        path = Path(text).expanduser()
        is_dir = path.is_dir()
    except (OSError, RuntimeError, ValueError):  # a name too long, ~unknown-user, a NUL byte
        raise ModelLoadError(f"not a usable model directory or id: {text[:80]!r}") from None
    if is_dir:
        card: dict[str, Any] = {}
        card_file = path / "model_card.json"
        if card_file.is_file():
            try:
                card = json.loads(card_file.read_text(encoding="utf-8"))
            except ValueError:
                card = {}
        metrics = card.pop("metrics", {}) if isinstance(card, dict) else {}
        return ModelInfo(id=str(card.pop("id", path.name)), task=str(card.pop("task", "generation")),
                         base=str(card.pop("base", "")), path=path, metrics=metrics or {}, card=card)
    if "/" in text or text.startswith("."):
        raise ModelLoadError(f"no such model directory: {text[:120]!r}")
    try:
        return get_model(text, actor=actor)
    except KeyError as exc:
        raise ModelLoadError(str(exc.args[0])) from None


def _is_adapter(path: Path) -> bool:
    return (path / "adapter_config.json").is_file()


def _check_safetensors(path: Path) -> None:
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"{path} is not a Hugging Face model directory (no config.json)")
    if not (path / "model.safetensors").is_file() and not (path / "model.safetensors.index.json").is_file():
        if any(path.glob("*.bin")) or any(path.glob("*.pt")):
            raise ModelLoadError(f"{path} holds only pickled weights (*.bin/*.pt); only safetensors are loaded")
        raise ModelLoadError(f"{path} has no model.safetensors")


def _load_tokenizer(path: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load the tokenizer in {path}: {exc}") from None


def _load_plain(path: Path):
    import torch
    from transformers import AutoModelForCausalLM

    _check_safetensors(path)
    try:
        return AutoModelForCausalLM.from_pretrained(
            str(path), dtype=torch.float32, use_safetensors=True, trust_remote_code=False
        )
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"cannot load the model in {path}: {exc}") from None


def _adapter_base(info: ModelInfo) -> str:
    if info.base:
        return info.base
    cfg = json.loads((info.path / "adapter_config.json").read_text(encoding="utf-8"))
    return str(cfg.get("base_model_name_or_path") or BASE_MODEL_ID)


def _load_weights(info: ModelInfo, depth: int = 0):
    """(model, tokenizer) in fp32; adapters merged onto their base."""
    path = info.path
    if not path.is_dir():
        raise ModelLoadError(f"the files of model {info.id!r} are missing ({path})")
    if not _is_adapter(path):
        if not (path / "config.json").is_file() and info.base and depth <= 3:
            # a prompted task model: its card (prompt version, decoding) over a base's weights
            return _load_weights(resolve(info.base), depth + 1)
        return _load_plain(path), _load_tokenizer(path)
    if depth > 3:
        raise ModelLoadError("adapter chain too deep")
    if not (path / "adapter_model.safetensors").is_file():
        raise ModelLoadError(f"{path} has no adapter_model.safetensors; only safetensors are loaded")
    from peft import PeftModel

    base_model, tokenizer = _load_weights(resolve(_adapter_base(info)), depth + 1)
    if (path / "tokenizer_config.json").is_file():
        tokenizer = _load_tokenizer(path)
    try:
        peft_model = PeftModel.from_pretrained(base_model, str(path), is_trainable=False)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"cannot apply the adapter in {path}: {exc}") from None
    return peft_model.merge_and_unload(), tokenizer


def _is_prompted(info: ModelInfo) -> bool:
    path = info.path
    return bool(info.base) and path.is_dir() and not (path / "config.json").is_file() and not _is_adapter(path)


_shared: dict[tuple[str, bool, str], LoadedModel] = {}
_shared_lock = threading.Lock()


def _shared_base(base: str, fast: bool, device: str, actor=None) -> LoadedModel:
    key = (str(resolve(base, actor=actor).path), fast, resolve_device(device))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = load_model(base, fast=fast, device=device, actor=actor)
        return _shared[key]


@dataclass
class RoutedModel:
    """A task model that sends each input to the model measured best for its language (card
    `"route": {"zh": id, "default": id}`); only sentiment uses it (core.lm.inference)."""
    info: ModelInfo
    routes: dict[str, "LoadedModel"]
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    fast: Any = None

    def for_lang(self, lang: str) -> "LoadedModel":
        return self.routes.get(lang) or self.routes["default"]


def _load_routed(info: ModelInfo, fast: bool, device: str, actor=None) -> RoutedModel:
    route = info.card["route"]
    if "default" not in route:
        raise ModelLoadError(f"model {info.id!r}: a routed card needs a \"default\" route")
    routes = {}
    for lang, ref in route.items():
        if ref == info.id:
            raise ModelLoadError(f"model {info.id!r} routes to itself")
        routes[str(lang)] = load_model(str(ref), fast=fast, device=device, actor=actor)
    return RoutedModel(info=info, routes=routes)


def resolve_device(device: str = "cpu") -> str:
    """"auto" -> "cuda" when a GPU is present, else "cpu"."""
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise ModelLoadError("device must be auto, cpu or cuda")
    return device


def load_model(id_or_path: str | Path, for_training: bool = False, fast: bool = True,
               device: str = "cpu", actor=None) -> LoadedModel:
    """Load a model by registry id or directory. Raises ModelLoadError with a clear message.

    device: "cpu" (the demos: fast int8 decoder), "cuda" or "auto" (evaluation on a GPU)."""
    set_threads()
    info = resolve(id_or_path, actor=actor)
    if not for_training and isinstance(info.card.get("route"), dict):
        return _load_routed(info, fast=fast, device=device, actor=actor)
    if not for_training and _is_prompted(info):
        # a prompted task model shares its base's weights, decoder and lock with every other
        # prompted model on that base: three task pages on one 0.5B base hold one copy, not three
        shared = _shared_base(info.base, fast=fast, device=device, actor=actor)
        return LoadedModel(model=shared.model, tokenizer=shared.tokenizer, info=info, fast=shared.fast, lock=shared.lock)
    model, tokenizer = _load_weights(info)
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    if for_training:
        model.train()
        return LoadedModel(model=model, tokenizer=tokenizer, info=info)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    decoder = None
    if resolve_device(device) == "cuda":
        model.to("cuda")
    elif fast:
        from core.lm.generate import FastDecoder

        if FastDecoder.supports(model):
            decoder = FastDecoder(model)
            if not decoder.native and not FastDecoder.torch_kernel_fits(model.config):
                decoder = None  # plain transformers path rather than torch's int8 kernel at odd widths
    return LoadedModel(model=model, tokenizer=tokenizer, info=info, fast=decoder)
