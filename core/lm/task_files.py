"""Task data files for fine-tuning: the bundled splits under data/tasks/<task>/, an uploaded file
checked by the task parser before it is stored, previews, and paths shown in commands."""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pandas as pd

from core.config import get_settings

TASK_SUFFIX = {"sentiment": ".csv", "qa": ".jsonl", "translation": ".tsv", "generation": ".txt"}


def bundled_task_files(task: str) -> list[Path]:
    root = get_settings().data_dir / "tasks" / task
    suffix = TASK_SUFFIX.get(task, "")
    return sorted(p for p in root.glob(f"*{suffix}")) if root.is_dir() else []


def default_val_file(data: Path) -> Path | None:
    """validation.<ext> next to a bundled train.<ext>."""
    candidate = data.with_name("validation" + data.suffix)
    return candidate if data.stem == "train" and candidate.is_file() else None


def save_task_upload(task: str, filename: str, raw: bytes | BinaryIO) -> tuple[Path, list[dict]]:
    """Check an uploaded task file with the task parser; store it only when it parses."""
    from core.lm import tasks
    from core.uploads import UploadError, read_upload

    if task not in TASK_SUFFIX:
        raise tasks.TaskDataError(f"unknown task {task!r}; choose one of {', '.join(TASK_SUFFIX)}")
    try:
        upload = read_upload(raw, filename, (TASK_SUFFIX[task],))
    except UploadError as exc:
        raise tasks.TaskDataError(str(exc)) from None
    examples = tasks.parse_task_text(task, upload.text)
    # Named after the content, never after the client's file name.
    target = get_settings().state_dir / "task_uploads" / task / f"{upload.stored_name()}{upload.suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(upload.text, encoding="utf-8")
    tmp.replace(target)
    return target, examples


def preview_task_file(task: str, path: Path, n: int = 5) -> pd.DataFrame:
    from core.lm import tasks

    return pd.DataFrame(tasks.load_task_examples(task, path)[:n])


def display_path(path: Path) -> str:
    """A path relative to the repository when inside it (commands stay short and portable)."""
    from core.config import REPO_ROOT

    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
