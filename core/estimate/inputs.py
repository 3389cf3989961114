"""Typed, bounded inputs for every estimate: the pages, the CLI and tests validate through these.

A bad value never reaches a formula: `parse(Model, data)` returns the model or raises InputError,
whose `errors` map each field to a readable message to show next to its widget.
"""
from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError


class InputError(ValueError):
    """errors: field -> English message (CLI); codes: field -> (pydantic error type, context)."""

    def __init__(self, errors: dict[str, str], codes: dict[str, tuple[str, dict]] | None = None):
        self.errors = errors
        self.codes = codes or {}
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


# Error types with a translated message in core/locales/estimate.json (estimate.err.<type>).
TRANSLATED_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number",
                     "literal_error", "string_too_short", "string_too_long", "int_parsing", "float_parsing",
                     "int_from_float", "missing", "plain_text"}


def _plain_text(value: str) -> str:
    """Names shown in tables and charts: letters, digits, spaces and a little punctuation."""
    value = value.strip()
    if not _ID_TEXT.match(value):
        raise PydanticCustomError("plain_text", "use letters, digits, spaces and . , + ( ) / - only")
    return value


def messages(exc: Exception, lang: str | None = None) -> list[str]:
    """One readable line per bad field, in the UI language: "<field label>: <what is wrong>"."""
    from core.i18n import t

    if not isinstance(exc, InputError):
        return [str(exc)]
    out = []
    for field, message in exc.errors.items():
        kind, ctx = exc.codes.get(field, ("", {}))
        text = t(f"estimate.err.{kind}", lang, **ctx) if kind in TRANSLATED_ERRORS else message
        out.append(t("estimate.bad_input", lang, field=t(f"estimate.field.{field}", lang), message=text))
    return out


class _Inputs(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class TrainingInputs(_Inputs):
    params: float = Field(gt=0, le=1e14, description="parameters N")
    tokens: float = Field(gt=0, le=1e15, description="training tokens D")
    accelerator_id: str = Field(min_length=1, max_length=64)
    count: int = Field(ge=1, le=1_000_000)
    mfu: float = Field(default=0.4, gt=0, le=1)
    usd_per_accelerator_hour: float | None = Field(default=None, ge=0, le=10_000)
    pue: float = Field(default=1.2, ge=1, le=3)
    recompute: bool = False
    tokens_per_second_per_accelerator: float | None = Field(default=None, gt=0, le=1e9)


class InferenceInputs(_Inputs):
    accelerator_id: str = Field(min_length=1, max_length=64)
    count: int = Field(default=1, ge=1, le=4096)
    dtype: Literal["fp32", "bf16", "fp16", "int8", "int4"] = "bf16"
    kv_dtype: Literal["fp32", "bf16", "fp16", "int8", "int4"] = "bf16"
    batch: int = Field(default=1, ge=1, le=65_536)
    prompt_tokens: int = Field(default=512, ge=1, le=10_000_000)
    output_tokens: int = Field(default=256, ge=1, le=10_000_000)
    efficiency: float = Field(default=0.7, gt=0, le=1)
    usd_per_accelerator_hour: float | None = Field(default=None, ge=0, le=10_000)


class MemoryInputs(_Inputs):
    method: Literal["full", "lora", "qlora"] = "full"
    seq_len: int = Field(default=2048, ge=1, le=10_000_000)
    micro_batch: int = Field(default=1, ge=1, le=65_536)
    recompute: Literal["none", "selective", "full"] = "none"
    zero_stage: int = Field(default=0, ge=0, le=3)
    count: int = Field(default=1, ge=1, le=1_000_000)
    tensor_parallel: int = Field(default=1, ge=1, le=1024)
    pipeline_parallel: int = Field(default=1, ge=1, le=1024)
    lora_rank: int = Field(default=16, ge=1, le=4096)


class ArchitectureInputs(_Inputs):
    layers: int = Field(ge=1, le=1000)
    hidden: int = Field(ge=1, le=1_000_000)
    heads: int = Field(ge=1, le=10_000)
    kv_heads: int = Field(ge=1, le=10_000)
    ffn_hidden: int = Field(ge=1, le=10_000_000)
    vocab: int = Field(ge=1, le=10_000_000)
    context: int = Field(ge=1, le=100_000_000)
    gated_mlp: bool = True
    tied_embeddings: bool = False


_ID_TEXT = re.compile(r"^[\w .,+()/-]+$")
PlainName = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_plain_text)]


class UserAcceleratorInput(_Inputs):
    name: PlainName
    bf16_tflops_dense: float = Field(gt=0, le=100_000)
    memory_gib: float = Field(gt=0, le=100_000)
    bandwidth_tbs: float = Field(gt=0, le=1_000)
    board_power_w: float | None = Field(default=None, gt=0, le=100_000)
    usd_per_accelerator_hour: float | None = Field(default=None, ge=0, le=10_000)
    source: str = Field(default="", max_length=500)


class UserRunInput(_Inputs):
    model: PlainName
    params_b: float = Field(gt=0, le=100_000)
    tokens_b: float = Field(gt=0, le=1_000_000)
    accelerator_id: str = Field(min_length=1, max_length=64)
    accelerator_count: int | None = Field(default=None, ge=1, le=10_000_000)
    reported_accelerator_hours: float | None = Field(default=None, gt=0, le=1e12)
    reported_days: float | None = Field(default=None, gt=0, le=100_000)
    reported_mfu: float | None = Field(default=None, gt=0, le=1)
    reported_tokens_per_s_per_accelerator: float | None = Field(default=None, gt=0, le=1e9)
    source: str = Field(default="", max_length=500)


def parse(model: type[_Inputs], data: dict) -> _Inputs:
    """Validate data into model, or raise InputError({field: message})."""
    try:
        return model(**data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        codes: dict[str, tuple[str, dict]] = {}
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "input"
            if field not in errors:
                errors[field] = err["msg"]
                ctx = {k: (", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
                       for k, v in (err.get("ctx") or {}).items()}
                codes[field] = (err["type"], ctx)
        raise InputError(errors, codes) from None
