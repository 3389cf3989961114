"""Checkpoints that are enough to resume, and that never unpickle anything.

A checkpoint is a directory:
  weights.safetensors      model weights (trainable ones only for LoRA: the base is reloaded)
  optimizer.safetensors    optimizer tensors (AdamW moments, step counts)
  rng-rank<r>.safetensors  torch RNG and the data sampler's generator, per process
  state.json               step, config, scheduler, optimizer structure, Python/NumPy RNG,
                           counters, and the SHA-256 of every file above
It is written to a temporary directory and swapped in with renames, so a process killed mid-write
leaves the previous checkpoint intact. Loading checks every hash first: a truncated or flipped
file, or a pickle (torch.save) file where safetensors is expected, is refused with a clear message.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

STATE_FILE = "state.json"
WEIGHTS_FILE = "weights.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
PICKLE_SUFFIXES = {".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt"}
FORMAT = "opplab-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be trusted or read; the message says why and what to do."""


@dataclass
class Checkpoint:
    step: int
    config: dict
    weights: dict[str, torch.Tensor]
    optimizer: dict | None
    scheduler: dict | None
    rng: dict[str, Any]
    extra: dict = field(default_factory=dict)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def refuse_pickle(path: Path) -> None:
    """Raise if path looks like a pickle / torch.save archive (by suffix or magic bytes)."""
    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(
            f"{path.name} is a pickle-based file ({path.suffix}); Opportunity Lab never unpickles "
            "files because that can run arbitrary code. Convert it to safetensors first.")
    with open(path, "rb") as f:
        head = f.read(9)
    # A safetensors file starts with an 8-byte little-endian header length, then a JSON "{".
    if len(head) == 9 and head[8:9] == b"{":
        return
    if head[:1] == b"\x80" or head[:4] == b"PK\x03\x04":  # pickle protocol 2+ / torch.save zip
        raise CheckpointError(
            f"{path.name} is a pickle or torch.save archive, not safetensors; it is refused because "
            "unpickling can run arbitrary code. Convert it to safetensors first.")


def load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file, refusing pickles and turning parse errors into CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    refuse_pickle(path)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path.name} is corrupt or not a safetensors file ({exc})") from exc


# ------------------------------------------------------------------ optimizer (de)flattening
def _flatten_optimizer(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, per_param in state_dict["state"].items():
        for name, value in per_param.items():
            if torch.is_tensor(value):
                tensors[f"{idx}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[name] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    for idx, values in meta.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(values)
    return {"state": state, "param_groups": meta["param_groups"]}


# ------------------------------------------------------------------ RNG
def capture_rng(data_generator: torch.Generator | None) -> tuple[dict[str, torch.Tensor], dict]:
    tensors = {"torch": torch.get_rng_state()}
    if data_generator is not None:
        tensors["data"] = data_generator.get_state()
    if torch.cuda.is_available():
        tensors["cuda"] = torch.cuda.get_rng_state()
    py = random.getstate()
    np_state = np.random.get_state()
    meta = {"python": [py[0], list(py[1]), py[2]],
            "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])]}
    return tensors, meta


def restore_rng(tensors: dict[str, torch.Tensor], meta: dict, data_generator: torch.Generator | None) -> None:
    torch.set_rng_state(tensors["torch"])
    if data_generator is not None and "data" in tensors:
        data_generator.set_state(tensors["data"])
    if "cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["cuda"])
    if meta.get("python"):
        v, st, g = meta["python"]
        random.setstate((v, tuple(st), g))
    if meta.get("numpy"):
        name, keys, pos, has_gauss, cached = meta["numpy"]
        np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


# ------------------------------------------------------------------ save / load
def save_checkpoint(directory: Path, *, step: int, config: dict, weights: dict[str, torch.Tensor],
                    optimizer: torch.optim.Optimizer | None, scheduler: Any | None,
                    data_generator: torch.Generator | None, rank: int = 0, world_size: int = 1,
                    extra: dict | None = None, barrier=None) -> Path:
    """Write a checkpoint atomically. Under DDP every rank calls this (each writes its own RNG);
    rank 0 writes the rest and swaps the directory in. `barrier` synchronises the ranks."""
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    if rank == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    if barrier:
        barrier()
    rng_tensors, rng_meta = capture_rng(data_generator)
    save_file(rng_tensors, str(tmp / f"rng-rank{rank}.safetensors"))
    (tmp / f"rng-rank{rank}.json").write_text(json.dumps(rng_meta))
    if barrier:
        barrier()
    if rank == 0:
        save_file({k: v.detach().cpu().contiguous() for k, v in weights.items()}, str(tmp / WEIGHTS_FILE))
        opt_meta = None
        if optimizer is not None:
            opt_tensors, opt_meta = _flatten_optimizer(optimizer.state_dict())
            save_file(opt_tensors, str(tmp / OPTIMIZER_FILE))
        files = sorted(p.name for p in tmp.iterdir())
        state = {
            "format": FORMAT, "step": step, "config": config, "world_size": world_size,
            "optimizer": opt_meta, "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "extra": extra or {}, "sha256": {name: _sha256(tmp / name) for name in files},
        }
        (tmp / STATE_FILE).write_text(json.dumps(state, default=_json_default))
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            os.replace(directory, old)
        os.replace(tmp, directory)
        shutil.rmtree(old, ignore_errors=True)
    if barrier:
        barrier()
    return directory


def _json_default(value: Any) -> Any:
    if torch.is_tensor(value):
        return value.item() if value.numel() == 1 else value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def find_checkpoint(directory: Path) -> Path | None:
    """The checkpoint to resume from: the directory, or its .old twin if a swap was interrupted."""
    directory = Path(directory)
    for candidate in (directory, directory.with_name(directory.name + ".old")):
        if (candidate / STATE_FILE).is_file():
            return candidate
    return None


def checkpoint_step(directory: Path) -> int | None:
    """The step a resume would continue from (read from state.json alone), or None without a checkpoint."""
    found = find_checkpoint(directory)
    if found is None:
        return None
    try:
        return int(json.loads((found / STATE_FILE).read_text())["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_checkpoint(directory: Path, rank: int = 0) -> Checkpoint:
    """Verify and load a checkpoint directory; CheckpointError with a clear reason otherwise."""
    directory = Path(directory)
    state_path = directory / STATE_FILE
    if not state_path.is_file():
        for p in directory.iterdir() if directory.is_dir() else []:
            if p.suffix.lower() in PICKLE_SUFFIXES:
                refuse_pickle(p)
        raise CheckpointError(f"{directory} holds no checkpoint ({STATE_FILE} missing)")
    try:
        state = json.loads(state_path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{state_path} is corrupt: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{directory} is not an Opportunity Lab checkpoint ({FORMAT})")
    for name, digest in state.get("sha256", {}).items():
        path = directory / name
        if not path.is_file():
            raise CheckpointError(f"checkpoint file {name} is missing from {directory}")
        if name.endswith(".safetensors"):
            refuse_pickle(path)
        if _sha256(path) != digest:
            raise CheckpointError(f"checkpoint file {name} is corrupt (its SHA-256 does not match); "
                                  "delete the checkpoint to start again")
    weights = load_safetensors(directory / WEIGHTS_FILE)
    optimizer = None
    if state.get("optimizer") is not None:
        optimizer = _unflatten_optimizer(load_safetensors(directory / OPTIMIZER_FILE), state["optimizer"])
    rng_file = directory / f"rng-rank{rank}.safetensors"
    if not rng_file.is_file():
        rng_file = directory / "rng-rank0.safetensors"
    rng = {"tensors": load_safetensors(rng_file),
           "meta": json.loads(rng_file.with_suffix(".json").read_text())}
    return Checkpoint(step=int(state["step"]), config=state["config"], weights=weights,
                      optimizer=optimizer, scheduler=state.get("scheduler"), rng=rng,
                      extra=state.get("extra", {}))
