"""The native int8 decode step (decode.c): compiled once per machine, loaded with ctypes.

`library()` returns the loaded library, or None when it cannot be had (no C compiler, a CPU this
build does not support, OPPLAB_NATIVE_DECODE=0); callers then fall back to the torch int8 path.
`build()` compiles it into $OPPLAB_STATE_DIR/native/ under a name made of the source's hash and
the compiler flags, so an edited source or another CPU gets its own file; `python -m core setup`
calls it, and the first model load does when set-up has not. The compiler writes to a temporary
file that is renamed into place, so concurrent processes never load a half-written library.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from core.config import get_settings

SOURCE = Path(__file__).with_name("decode.c")
_lock = threading.Lock()
_loaded: dict[str, ctypes.CDLL | None] = {}
_last_error: list[str] = [""]


class Model(ctypes.Structure):
    """Mirror of `opl_model` in decode.c (same field order and types)."""

    _fields_ = [(name, ctypes.c_int32) for name in ("n_layer", "n_head", "n_kv", "d", "hd", "ffn", "vocab", "max_pos")] + [
        ("eps", ctypes.c_float),
        ("embed", ctypes.c_void_p), ("final_norm", ctypes.c_void_p), ("lm_q", ctypes.c_void_p), ("lm_s", ctypes.c_void_p),
        ("ln1", ctypes.c_void_p), ("ln2", ctypes.c_void_p),
        ("qkv_q", ctypes.c_void_p), ("qkv_s", ctypes.c_void_p), ("o_q", ctypes.c_void_p), ("o_s", ctypes.c_void_p),
        ("gu_q", ctypes.c_void_p), ("gu_s", ctypes.c_void_p), ("dn_q", ctypes.c_void_p), ("dn_s", ctypes.c_void_p),
        ("cos_t", ctypes.c_void_p), ("sin_t", ctypes.c_void_p), ("scratch", ctypes.c_void_p),
        ("qkv_b", ctypes.c_void_p),
    ]


def enabled() -> bool:
    return get_settings().native_decode


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def compile_flags() -> list[str]:
    flags = ["-O3", "-std=c11", "-fPIC", "-shared", "-fopenmp"]
    if {"avx2", "fma"} <= cpu_flags():
        flags += ["-mavx2", "-mfma"]
    return flags


def library_path() -> Path:
    flags = compile_flags()
    digest = hashlib.sha256(SOURCE.read_bytes() + " ".join(flags).encode()).hexdigest()[:16]
    return get_settings().state_dir / "native" / f"opl_decode-{digest}.so"


def compiler() -> str | None:
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def build(force: bool = False) -> Path:
    """Compile decode.c (if needed) and return the library's path. Raises RuntimeError."""
    target = library_path()
    if target.exists() and not force:
        return target
    cc = compiler()
    if cc is None:
        raise RuntimeError("no C compiler (cc, gcc or clang) found; the torch int8 decoder is used instead")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        proc = subprocess.run([cc, *compile_flags(), str(SOURCE), "-o", tmp, "-lm"],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"compiling {SOURCE.name} failed: {proc.stderr.strip()[-800:]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def library() -> ctypes.CDLL | None:
    """The loaded native library, built on first use; None when unavailable (see last_error())."""
    if not enabled():
        _last_error[0] = "disabled by OPPLAB_NATIVE_DECODE=0"
        return None
    with _lock:
        key = str(library_path())
        if key not in _loaded:
            try:
                import torch  # noqa: F401  (load torch's libgomp first: the library shares it)

                lib = ctypes.CDLL(str(build()))
                lib.opl_step.restype = ctypes.c_int
                lib.opl_step.argtypes = [ctypes.POINTER(Model), ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32,
                                         ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, ctypes.c_void_p]
                lib.opl_step_batch.restype = ctypes.c_int
                lib.opl_step_batch.argtypes = [ctypes.POINTER(Model), ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p,
                                               ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32,
                                               ctypes.c_void_p, ctypes.c_void_p]
                lib.opl_max_batch.restype = ctypes.c_int32
                lib.opl_scratch_floats.restype = ctypes.c_int64
                lib.opl_scratch_floats.argtypes = [ctypes.c_int32] * 6
                _loaded[key] = lib
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                _last_error[0] = str(exc)
                _loaded[key] = None
        return _loaded[key]


def last_error() -> str:
    return _last_error[0]


def pointer_array(tensors) -> ctypes.Array:
    """A C array of the tensors' data pointers (the caller keeps the tensors alive)."""
    return (ctypes.c_void_p * len(tensors))(*[t.data_ptr() for t in tensors])
