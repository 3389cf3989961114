"""Every setting comes from an environment variable with a default, in one place: `VARIABLES`
below is the list (docs/configuration.md shows it, and a test checks that the two agree), and
`get_settings()` reads them all.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Variable:
    name: str
    default: str  # as documented
    meaning: str


VARIABLES: tuple[Variable, ...] = (
    Variable("OPPLAB_DATA_DIR", "`data/`", "shipped catalogue CSVs, data cards, small artefacts"),
    Variable("OPPLAB_STATE_DIR", "`.state/`", "everything the app writes"),
    Variable("OPPLAB_CATALOG_PATH", "`$OPPLAB_STATE_DIR/catalog.duckdb`",
             "DuckDB file built from `data/*.csv` (rebuilt when a CSV changes)"),
    Variable("DATABASE_URL", "`sqlite:///$OPPLAB_STATE_DIR/opplab.db`",
             "user store; any SQLAlchemy URL, e.g. `postgresql+psycopg://…`"),
    Variable("OPPLAB_MODELS_DIR", "`$OPPLAB_STATE_DIR/models`", "trained / registered models"),
    Variable("OPPLAB_RUNS_DIR", "`$OPPLAB_STATE_DIR/runs`", "training runs and checkpoints"),
    Variable("OPPLAB_BASE_MODEL_DIR", "`$OPPLAB_STATE_DIR/base/SmolLM2-135M-Instruct`", "converted bundled base model"),
    Variable("OPPLAB_MAX_UPLOAD_MB", "`20`", "largest accepted upload (read in 1 MiB chunks; refused at the limit, "
             "before parsing)"),
    Variable("OPPLAB_MAX_UPLOAD_ROWS", "`250000`", "most lines in an accepted upload (the demo batch forms cap lower)"),
    Variable("OPPLAB_MAX_TRAINING_JOBS", "`1`", "training runs with a process at once; more are queued and start "
             "when one ends"),
    Variable("OPPLAB_TRAINING_NICE", "`10`", "niceness of training processes the app starts (0 = none), so "
             "decoding keeps the CPU"),
    Variable("OPPLAB_TORCH_THREADS", "`2`", "torch threads for inference"),
    Variable("OPPLAB_NATIVE_DECODE", "`1`", "`0`: the demos decode with torch ops instead of the compiled kernel "
             "`core/lm/native/decode.c`"),
    Variable("OPPLAB_MAX_DECODE_BATCH", "`8`", "generation requests on one model decoded together in one batched "
             "step (1–32); more wait in a queue that the page shows"),
    Variable("OPPLAB_BEAMS", "`4`", "beams for the QA and translation answers of version-2 task models (1–8; "
             "1 = greedy)"),
    Variable("OPPLAB_MAX_BATCH_MB", "`1024`", "activation memory budget of one batched forward (sentiment label "
             "scoring, evaluation): batch sizes follow it"),
    Variable("OPPLAB_PREFILL_DTYPE", "measured", "`fp32` or `bf16` for the prompt-side products; unset: measured "
             "once per machine (kept in `$OPPLAB_STATE_DIR/calibration.json`), bf16 only where it is ≥ 1.5× "
             "faster and the prompt long enough"),
    Variable("OPPLAB_CHROMIUM", "`/usr/bin/chromium`", "the Chromium that renders the pitch's charts and PDF"),
    Variable("OPPLAB_USER", "`local`", "the acting user without sign-in: the app without `[auth]`, the CLI "
             "without `--user`"),
    Variable("OPPLAB_ADMINS", "(none)", "comma-separated user ids (e-mails) who see and manage everyone's items"),
)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    state_dir: Path
    catalog_path: Path
    database_url: str
    models_dir: Path
    runs_dir: Path
    base_model_dir: Path
    max_upload_mb: int
    max_upload_rows: int
    max_training_jobs: int
    torch_threads: int
    native_decode: bool
    max_batch_mb: int
    max_decode_batch: int = 8
    training_nice: int = 10
    beams: int = 4
    local_user: str = "local"
    admins: frozenset[str] = frozenset()
    prefill_dtype: str = ""  # "" (measure), "fp32" or "bf16"
    chromium: str = "/usr/bin/chromium"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


def _int_env(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _choice_env(name: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name, "").strip().lower()
    if raw and raw not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)} or unset, got {raw!r}")
    return raw


def get_settings() -> Settings:
    """Read the environment now (not at import), so tests can point it elsewhere."""
    data_dir = Path(os.environ.get("OPPLAB_DATA_DIR", REPO_ROOT / "data"))
    state_dir = Path(os.environ.get("OPPLAB_STATE_DIR", REPO_ROOT / ".state"))
    return Settings(
        data_dir=data_dir,
        state_dir=state_dir,
        catalog_path=Path(os.environ.get("OPPLAB_CATALOG_PATH", state_dir / "catalog.duckdb")),
        database_url=os.environ.get("DATABASE_URL", f"sqlite:///{state_dir / 'opplab.db'}"),
        models_dir=Path(os.environ.get("OPPLAB_MODELS_DIR", state_dir / "models")),
        runs_dir=Path(os.environ.get("OPPLAB_RUNS_DIR", state_dir / "runs")),
        base_model_dir=Path(os.environ.get("OPPLAB_BASE_MODEL_DIR", state_dir / "base" / "SmolLM2-135M-Instruct")),
        max_upload_mb=_int_env("OPPLAB_MAX_UPLOAD_MB", 20, 1, 2048),
        max_upload_rows=_int_env("OPPLAB_MAX_UPLOAD_ROWS", 250_000, 1, 100_000_000),
        max_training_jobs=_int_env("OPPLAB_MAX_TRAINING_JOBS", 1, 1, 64),
        torch_threads=_int_env("OPPLAB_TORCH_THREADS", 2, 1, 256),
        native_decode=bool(_int_env("OPPLAB_NATIVE_DECODE", 1, 0, 1)),
        max_batch_mb=_int_env("OPPLAB_MAX_BATCH_MB", 1024, 16, 1 << 20),
        max_decode_batch=_int_env("OPPLAB_MAX_DECODE_BATCH", 8, 1, 32),
        training_nice=_int_env("OPPLAB_TRAINING_NICE", 10, 0, 19),
        beams=_int_env("OPPLAB_BEAMS", 4, 1, 8),
        local_user=(os.environ.get("OPPLAB_USER") or "").strip() or "local",
        admins=frozenset(a.strip().lower() for a in os.environ.get("OPPLAB_ADMINS", "").split(",") if a.strip()),
        prefill_dtype=_choice_env("OPPLAB_PREFILL_DTYPE", ("fp32", "bf16")),
        chromium=os.environ.get("OPPLAB_CHROMIUM", "").strip() or "/usr/bin/chromium",
    )
