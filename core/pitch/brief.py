"""The one-page PDF brief: an HTML page (built here, every text escaped) printed by Chromium
(core.pitch.render.pdf). A4 portrait, one page: header, why this (with every market figure and its
source), two charts (PNGs of the page's Plotly figures, inlined), cost, demo, next steps, sources.
CJK text uses WenQuanYi Zen Hei (installed by scripts/setup), so the Chinese brief has no missing glyphs.
"""
from __future__ import annotations

from html import escape

from core.i18n import t
from core.pitch.charts import figures
from core.pitch.types import Fact, Pitch
from core.pitch.render import data_uri, pdf, png

CSS = """
@page { size: A4; margin: 0; }
body { font-family: 'DejaVu Sans', 'WenQuanYi Zen Hei', sans-serif; font-size: 8.4pt; color: #1f2a37; margin: 0; }
h1 { font-size: 17pt; color: #1f4e79; margin: 0 0 1mm 0; }
h2 { font-size: 10pt; color: #1f4e79; margin: 2.2mm 0 0.8mm 0; border-bottom: 0.3mm solid #c9d6e3; }
.sub { color: #5f6b7a; margin-bottom: 1mm; }
.cols { display: flex; gap: 4mm; } .cols > div { flex: 1; min-width: 0; }
ul { margin: 0; padding-left: 4mm; } li { margin: 0.3mm 0; }
.src { color: #5f6b7a; }
table { border-collapse: collapse; width: 100%; } td, th { border: 0.2mm solid #c9d6e3; padding: 0.6mm 1.2mm; text-align: left; }
th { background: #eef3f8; }
img { width: 100%; }
.small { font-size: 6.8pt; color: #5f6b7a; }
pre { white-space: pre-wrap; font-size: 7.4pt; background: #f4f6f8; padding: 1mm; margin: 0.5mm 0; }
"""


def _fact(f: Fact) -> str:
    return f"<li><b>{escape(f.label)}:</b> {escape(f.text)} <span class='src'>— {escape(f.source)}</span></li>"


def build_html(p: Pitch, images: dict[str, bytes] | None = None) -> str:
    lang = p.lang
    images = images or {k: png(fig, width=900) for k, fig in figures(p).items() if k in ("market", "cost")}
    w, c, d, n = p.why, p.cost, p.demo, p.next
    scenario = t("pitch.scenario", lang, name=p.scenario) if p.scenario else t("pitch.scenario.none", lang)
    figs = "".join(f"<li>{escape(f.text)} <span class='src'>— {escape(f.citation)} · "
                   f"{escape(t('pitch.confidence', lang, c=f.confidence))}</span></li>" for f in w.figures)
    rng = (f"<li>{escape(t('pitch.market.range', lang, low=f'{w.market_low_usd_b:,.2f}', high=f'{w.market_high_usd_b:,.2f}', n=w.n_sized))}</li>"
           if w.market_low_usd_b is not None else "")
    risks = "".join(f"<li>{escape(r.line(lang))}</li>" for r in w.risks)
    moves = "".join(f"<li>{escape(t('pitch.sens.line', lang, criterion=r.label, weight=f'{r.weight:g}', best=r.best_rank, worst=r.worst_rank))}</li>"
                    for r in w.sensitivity[:3])
    rows = "".join(f"<tr><td>{escape(a.label)}</td><td>{escape(a.text)}</td><td>{escape(b.text)}</td></tr>"
                   for a, b in ((getattr(c.finetune, k), getattr(c.scratch, k))
                                for k in ("params", "tokens", "accelerator_hours", "days", "cost_usd")))
    serving = "".join(_fact(f) for f in (c.validation_error, c.memory, c.tokens_per_second, c.usd_per_million,
                                         c.traffic_tokens_per_day, c.monthly_usd))
    if d.available and d.transcript is not None:
        tr_ = d.transcript
        speed = (t("pitch.demo.speed", lang, tps=f"{tr_.tokens_per_second:.1f}") if tr_.tokens_per_second
                 else t("pitch.demo.latency", lang, ms=f"{tr_.latency_ms:.0f}"))
        demo = (f"<div>{escape(t('pitch.demo.model', lang, model=d.model_id, name=d.model_name))} · {escape(speed)}</div>"
                f"<pre>{escape(t('pitch.demo.prompt', lang))} {escape(tr_.prompt)}\n"
                f"{escape(t('pitch.demo.answer', lang))} {escape(tr_.answer or '—')}</pre>")
    elif d.available:
        demo = f"<div>{escape(t('pitch.demo.model', lang, model=d.model_id, name=d.model_name))}</div>"
    else:
        demo = (f"<div>{escape(t('pitch.demo.none', lang, task=t('explorer.task.' + p.task, lang)))}</div>"
                f"<pre>{escape(d.studio_command)}</pre>")
    edits = "".join(f"<li>{escape(t('pitch.next.edit', lang, label=e.label, shipped=f'{e.shipped:g}', yours=f'{e.yours:g}'))}</li>"
                    for e in n.edits) or f"<li>{escape(t('pitch.next.no_edits', lang))}</li>"
    sources = " · ".join(escape(s.label) + (f" ({escape(s.url)})" if s.url else "") for s in p.sources)
    imgs = "".join(f"<div><img alt='{k}' src='{data_uri(v)}'></div>" for k, v in images.items())
    return f"""<!doctype html><html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{escape(p.name)}</title><style>{CSS}</style></head><body><div style="padding: 10mm 12mm;">
<h1>{escape(p.name)}</h1>
<div class="sub">{escape(p.domain)} · {escape(t('explorer.task.' + p.task, lang))} · {escape(scenario)} · {escape(p.generated_on)}</div>
<div>{escape(p.description)}</div>
<div class="cols"><div><h2>{escape(t('pitch.section.why', lang))}</h2><ul>{_fact(w.score)}{_fact(w.rank)}{moves}</ul>
<h2>{escape(t('pitch.section.risks', lang))}</h2><ul>{risks}</ul><div class="small">{escape(w.rationale)}</div></div>
<div><h2>{escape(t('pitch.section.market', lang))}</h2><ul>{_fact(w.market)}{_fact(w.growth)}{rng}{figs}</ul></div></div>
<div class="cols">{imgs}</div>
<div class="cols"><div><h2>{escape(t('pitch.section.cost', lang))}</h2>
<div class="small">{escape(t('pitch.cost.on', lang, name=c.accelerator, k=c.count))}</div>
<table><tr><th></th><th>{escape(c.finetune.label)}</th><th>{escape(c.scratch.label)}</th></tr>{rows}</table>
<div class="small">{escape(c.finetune.accelerator_hours.source)} · {escape(c.scratch.tokens.source)}</div></div>
<div><h2>{escape(t('pitch.cost.serving', lang, name=c.serve_accelerator))}</h2><ul>{serving}</ul></div></div>
<div class="cols"><div><h2>{escape(t('pitch.section.demo', lang))}</h2>{demo}</div>
<div><h2>{escape(t('pitch.section.next', lang))}</h2><ul>{_fact(n.time_to_mvp)}{_fact(n.data_tokens)}{edits}</ul></div></div>
<h2>{escape(t('pitch.section.sources', lang))}</h2><div class="small">{sources}</div>
</div></body></html>"""


def build_pdf(p: Pitch, images: dict[str, bytes] | None = None) -> bytes:
    return pdf(build_html(p, images))
