"""What a use case costs (core.estimate, nothing new): fine-tune vs from scratch, and serving at the
user's traffic.

    FLOPs = 6·N·D (Kaplan et al. 2020); GPU-hours = FLOPs / (peak × MFU); from scratch on 20·N tokens
    (Hoffmann et al. 2022); serving memory and bandwidth-bound decode speed from
    core.estimate.inference; always-on accelerators = ceil(tokens per day / (tok/s × 86,400)); the
    estimator's own median error against published runs from core.estimate.validation.
"""
from __future__ import annotations

import math

import pandas as pd

from core.estimate import catalogue, validation
from core.estimate.architecture import shape_from_params
from core.estimate.compare import inference_across_accelerators, inference_on
from core.estimate.training import chinchilla_optimal_tokens, estimate_training
from core.estimate.units import human
from core.i18n import t
from core.pitch.types import Cost, CostLine, Fact, Kind, PitchSettings, usd, yours

DAYS_PER_MONTH = 30.0
SECONDS_PER_DAY = 86_400.0


def _duration(hours: float, count: int, lang: str) -> str:
    if hours < 24:
        return t("pitch.hours", lang, n=f"{hours:,.2g}" if hours < 1 else f"{hours:,.1f}", k=count)
    return t("pitch.days", lang, n=f"{hours / 24:,.1f}", k=count)


def _training_line(key: str, params: float, tokens: float, tokens_src: str, tokens_kind: Kind,
                   settings: PitchSettings, lang: str) -> CostLine:
    acc = catalogue.accelerator(settings.train_accelerator)
    est = estimate_training(params, tokens, acc.bf16_tflops_dense, settings.train_count, settings.mfu,
                            acc.usd_per_accelerator_hour, acc.board_power_w)
    f = lambda k, v, text, src, kind="formula": Fact(f"{key}.{k}", t(f"pitch.fact.{k}", lang), v, text, src, kind)  # noqa: E731
    return CostLine(
        key=key, label=t(f"pitch.cost.{key}", lang),
        params=f("params", params, human(params), t("pitch.src.model_size", lang), "catalogue"),
        tokens=f("tokens", tokens, human(tokens), tokens_src, tokens_kind),
        flops=f("flops", est.flops, f"{est.flops:.3g}", t("pitch.src.flops", lang)),
        accelerator_hours=f("accelerator_hours", est.accelerator_hours, human(est.accelerator_hours),
                            t("pitch.src.hours", lang, peak=f"{acc.bf16_tflops_dense:g}", mfu=f"{settings.mfu:.0%}")),
        days=f("days", est.wall_clock_days, _duration(est.wall_clock_hours, settings.train_count, lang),
               t("pitch.src.days", lang, k=settings.train_count, name=acc.name)),
        cost_usd=f("cost_usd", est.cost_usd, usd(est.cost_usd),
                   t("pitch.src.cost", lang, usd=f"{acc.usd_per_accelerator_hour or 0:.3g}", provider=acc.price_provider or "—")),
    )


def _accelerator_url(accelerator_id: str) -> str:
    table = catalogue.accelerators()
    urls = table.loc[table["accelerator_id"] == accelerator_id, "source_url"].dropna()
    return str(urls.iloc[0]) if not urls.empty else ""


def serving_accelerators_needed(tokens_per_day: float, tokens_per_second: float) -> int:
    """Always-on accelerators that serve the average daily load (at least one)."""
    return max(1, math.ceil(tokens_per_day / (tokens_per_second * SECONDS_PER_DAY)))


def _serving(params: float, settings: PitchSettings, tokens_per_day: float):
    """(accelerator, estimate) for serving: the chosen one, or the one with the lowest monthly bill at this
    traffic among those that fit (ties: lower $ per 1M tokens)."""
    arch = shape_from_params(params)
    knobs = dict(batch=settings.batch, prompt_tokens=settings.prompt_tokens, output_tokens=settings.output_tokens)
    if settings.serve_accelerator:
        acc = catalogue.accelerator(settings.serve_accelerator)
        return acc, inference_on(arch, acc, **knobs)
    table = inference_across_accelerators(arch, **knobs)
    prices = catalogue.accelerators().set_index("accelerator_id")["usd_per_accelerator_hour"]
    table = table.assign(price=table["accelerator_id"].map(prices))
    ok = table[table["fits"] & table["price"].notna()].copy()
    if ok.empty:
        pick = table.sort_values("capacity_gib").iloc[-1]["accelerator_id"]
    else:
        ok["monthly"] = [serving_accelerators_needed(tokens_per_day, tps) * price
                         for tps, price in zip(ok["tokens_per_second"], ok["price"])]
        pick = ok.sort_values(["monthly", "cost_per_million_tokens_usd"]).iloc[0]["accelerator_id"]
    acc = catalogue.accelerator(pick)
    return acc, inference_on(arch, acc, **knobs)


def build_cost(row: pd.Series, settings: PitchSettings, lang: str, scenario: str | None, edited: set[str]) -> Cost:
    params = float(row["model_params_b"]) * 1e9
    ft_tokens = float(row["training_tokens_b"]) * 1e9
    mine = lambda col, default: (yours(lang, scenario), "assumption") if col in edited else default  # noqa: E731
    ft_src, ft_kind = mine("training_tokens_b", (t("pitch.src.ft_tokens", lang), "catalogue"))
    finetune = _training_line("finetune", params, ft_tokens, ft_src, ft_kind, settings, lang)
    scratch = _training_line("scratch", params, chinchilla_optimal_tokens(params), t("pitch.src.chinchilla", lang),
                             "formula", settings, lang)
    if "model_params_b" in edited:
        for line in (finetune, scratch):
            line.params = Fact(line.params.key, line.params.label, params, human(params), yours(lang, scenario), "assumption")
    summary = validation.summary(validation.validation_table())["hours_error_pct_default_mfu"]
    err = summary["median_abs_pct"]
    validation_error = Fact("validation_error", t("pitch.fact.validation_error", lang), err,
                            "n/a" if err is None else f"±{err:.0f}%",
                            t("pitch.src.validation", lang, n=summary["runs"], mfu=f"{validation.DEFAULT_MFU:.0%}"), "formula")
    tokens_day = settings.users_per_day * settings.requests_per_user * settings.output_tokens
    acc, est = _serving(params, settings, tokens_day)
    mine_src = yours(lang, None)
    needed = serving_accelerators_needed(tokens_day, est.tokens_per_second)
    price = acc.usd_per_accelerator_hour
    monthly = None if price is None else needed * price * 24 * DAYS_PER_MONTH
    effective = None if monthly is None else monthly / (tokens_day * DAYS_PER_MONTH) * 1e6
    knobs = dict(b=settings.batch, p=settings.prompt_tokens, o=settings.output_tokens)
    f = lambda k, v, text, src, kind="formula": Fact(k, t(f"pitch.fact.{k}", lang), v, text, src, kind)  # noqa: E731
    return Cost(
        accelerator=catalogue.accelerator(settings.train_accelerator).name, count=settings.train_count,
        finetune=finetune, scratch=scratch, validation_error=validation_error, serve_accelerator=acc.name,
        memory=f("memory", est.total_gib, f"{est.total_gib:,.1f} GiB",
                 t("pitch.src.memory", lang, capacity=f"{est.capacity_gib:,.0f}", name=acc.name, **knobs)),
        fits=bool(est.fits),
        tokens_per_second=f("tokens_per_second", est.tokens_per_second, f"{est.tokens_per_second:,.0f} tok/s",
                            t("pitch.src.tps", lang, name=acc.name, **knobs)),
        usd_per_million=f("usd_per_million", est.cost_per_million_tokens_usd,
                          "n/a" if est.cost_per_million_tokens_usd is None else f"${est.cost_per_million_tokens_usd:,.2f}",
                          t("pitch.src.per_million", lang, usd=f"{price or 0:.3g}")),
        traffic_tokens_per_day=f("traffic", tokens_day, human(tokens_day),
                                 t("pitch.src.traffic", lang, users=f"{settings.users_per_day:,}",
                                   req=f"{settings.requests_per_user:g}", o=settings.output_tokens) + " · " + mine_src,
                                 "assumption"),
        serve_accelerators_needed=f("serve_needed", needed, str(needed), t("pitch.src.needed", lang)),
        monthly_usd=f("monthly_usd", monthly, usd(monthly), t("pitch.src.monthly", lang, n=needed)),
        effective_usd_per_million=f("effective_per_million", effective,
                                    "n/a" if effective is None else f"${effective:,.2f}", t("pitch.src.effective", lang)),
        price_source=_accelerator_url(acc.accelerator_id),
    )
