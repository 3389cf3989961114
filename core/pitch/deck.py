"""The pitch as a PowerPoint deck (python-pptx), 16:9, eight slides in SLIDES order:

    title, opportunity, market, risks, cost, demo, next, sources

Format: a plain .pptx (Office Open XML) using only the default template's "Title Only" and "Blank"
layouts, text boxes, one table and PNG pictures, so PowerPoint, Keynote and LibreOffice open it
alike. Charts are PNGs of the same Plotly figures the page shows (core.pitch.charts, rendered by
core.pitch.render.png); each picture's name is `chart:<key>` so tests and tools can find it.
Every number is written as "value — source"; each slide's speaker notes list the facts it shows
with their sources, and the assumptions the user set. East Asian text runs get a CJK font
(WenQuanYi Zen Hei), so the Chinese deck renders without missing glyphs.
"""
from __future__ import annotations

import io

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.oxml.ns import qn
from pptx.util import Inches, Pt

from core.i18n import t
from core.pitch.charts import figures
from core.pitch.types import Fact, Pitch
from core.pitch.render import png

SLIDES = ("title", "opportunity", "market", "risks", "cost", "demo", "next", "sources")
WIDTH, HEIGHT = Inches(13.333), Inches(7.5)
DARK, MUTED, ACCENT = RGBColor(0x1F, 0x2A, 0x37), RGBColor(0x5F, 0x6B, 0x7A), RGBColor(0x1F, 0x4E, 0x79)
LATIN_FONT, CJK_FONT = "DejaVu Sans", "WenQuanYi Zen Hei"


def _font(run, size: float, bold: bool = False, color: RGBColor = DARK) -> None:
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.color.rgb = color
    run.font.name = LATIN_FONT
    rpr = run._r.get_or_add_rPr()
    for tag in ("a:ea", "a:cs"):  # East Asian / complex-script font, so CJK glyphs never fall back to boxes
        el = rpr.find(qn(tag))
        if el is None:
            el = rpr.makeelement(qn(tag), {})
            rpr.append(el)
        el.set("typeface", CJK_FONT)


def _text(slide, left, top, width, height, paragraphs: list[tuple[str, float, bool, RGBColor]]):
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    for i, (text, size, bold, color) in enumerate(paragraphs):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        para.space_after = Pt(4)
        _font(para.add_run(), size, bold, color)
        para.runs[0].text = text
    return box


def _title(prs, text: str, subtitle: str = ""):
    slide = prs.slides.add_slide(prs.slide_layouts[5])  # "Title Only"
    title = slide.shapes.title
    title.left, title.top, title.width, title.height = Inches(0.5), Inches(0.3), Inches(12.3), Inches(0.9)
    title.text_frame.text = text
    _font(title.text_frame.paragraphs[0].runs[0], 30, True, ACCENT)
    if subtitle:
        _text(slide, Inches(0.5), Inches(1.1), Inches(12.3), Inches(0.5), [(subtitle, 14, False, MUTED)])
    return slide


def fact_line(f: Fact) -> str:
    return f"{f.label}: {f.text} — {f.source}"


def _picture(slide, image: bytes, key: str, left, top, width):
    pic = slide.shapes.add_picture(io.BytesIO(image), left, top, width=width)
    pic.name = f"chart:{key}"
    return pic


def _notes(slide, lines: list[str]) -> None:
    slide.notes_slide.notes_text_frame.text = "\n".join(lines)


def _assumption_notes(p: Pitch) -> list[str]:
    mine = p.assumptions()
    head = t("pitch.notes.assumptions", p.lang)
    return [head] + ([f"- {fact_line(f)}" for f in mine] or [f"- {t('pitch.notes.none', p.lang)}"])


def build_deck(p: Pitch, images: dict[str, bytes] | None = None) -> bytes:
    """The deck as .pptx bytes. images: chart key -> PNG (rendered from core.pitch.charts when absent)."""
    lang = p.lang
    images = images or {k: png(fig) for k, fig in figures(p).items()}
    prs = Presentation()
    prs.slide_width, prs.slide_height = WIDTH, HEIGHT
    body = lambda text, size=15, bold=False, color=DARK: (text, size, bold, color)  # noqa: E731
    w, c, d, n = p.why, p.cost, p.demo, p.next
    scenario = t("pitch.scenario", lang, name=p.scenario) if p.scenario else t("pitch.scenario.none", lang)

    # 1 title
    s = prs.slides.add_slide(prs.slide_layouts[6])
    _text(s, Inches(0.8), Inches(1.6), Inches(11.7), Inches(1.4), [body(p.name, 40, True, ACCENT)])
    _text(s, Inches(0.8), Inches(3.0), Inches(11.7), Inches(2.6), [
        body(f"{p.domain} · {t('explorer.task.' + p.task, lang)}", 18, False, MUTED),
        body(p.description, 15),
        body(f"{fact_line(w.score)}", 14), body(f"{fact_line(w.rank)}", 14),
    ])
    _text(s, Inches(0.8), Inches(6.4), Inches(11.7), Inches(0.6),
          [body(f"{t('pitch.deck.made_with', lang)} · {scenario} · {p.generated_on}", 12, False, MUTED)])
    _notes(s, [t("pitch.notes.title", lang), *_assumption_notes(p)])

    # 2 opportunity: score, rank, what moves the rank
    s = _title(prs, t("pitch.section.why", lang), scenario)
    moves = [body(fact_line(w.score)), body(fact_line(w.rank))]
    for r in w.sensitivity[:4]:
        moves.append(body(t("pitch.sens.line", lang, criterion=r.label, weight=f"{r.weight:g}", best=r.best_rank,
                            worst=r.worst_rank), 13))
    _text(s, Inches(0.5), Inches(1.7), Inches(5.6), Inches(5.3), moves)
    _picture(s, images["sensitivity"], "sensitivity", Inches(6.3), Inches(1.7), Inches(6.6))
    _notes(s, [t("pitch.notes.sensitivity", lang), fact_line(w.score), fact_line(w.rank), *_assumption_notes(p)])

    # 3 market, every figure followed by its source
    s = _title(prs, t("pitch.section.market", lang), scenario)
    lines = [body(fact_line(w.market), 14, True), body(fact_line(w.growth), 14, True)]
    if w.market_note:
        lines.append(body(t("pitch.market.note", lang, note=w.market_note), 11, False, MUTED))
    if w.market_low_usd_b is not None:
        lines.append(body(t("pitch.market.range", lang, low=f"{w.market_low_usd_b:,.2f}", high=f"{w.market_high_usd_b:,.2f}", n=w.n_sized), 13))
    for f in w.figures:
        lines.append(body(f"{f.text} — {f.citation} · {t('pitch.confidence', lang, c=f.confidence)}", 11))
    _text(s, Inches(0.5), Inches(1.7), Inches(6.2), Inches(5.5), lines)
    _picture(s, images["market"], "market", Inches(6.9), Inches(1.7), Inches(6.0))
    _notes(s, [fact_line(w.market), fact_line(w.growth)] + [f"{f.text} — {f.citation}: {f.title} {f.url}" for f in w.figures])

    # 4 risks with their rationale
    s = _title(prs, t("pitch.section.risks", lang))
    _text(s, Inches(0.5), Inches(1.7), Inches(12.3), Inches(5.3),
          [body(r.line(lang), 16, True) for r in w.risks]
          + [body(t("pitch.risk.rationale", lang, text=w.rationale), 15, False, MUTED)])
    _notes(s, [t("pitch.src.rating", lang), w.rationale])

    # 5 cost: a table fine-tune vs scratch, serving, validation error
    s = _title(prs, t("pitch.section.cost", lang), t("pitch.cost.on", lang, name=c.accelerator, k=c.count))
    rows = [("params", "params"), ("tokens", "tokens"), ("flops", "flops"), ("accelerator_hours", "accelerator_hours"),
            ("days", "days"), ("cost_usd", "cost_usd")]
    table = s.shapes.add_table(len(rows) + 1, 3, Inches(0.5), Inches(1.7), Inches(6.3), Inches(3.2)).table
    table.columns[0].width, table.columns[1].width, table.columns[2].width = Inches(2.3), Inches(2.0), Inches(2.0)
    header = ["", c.finetune.label, c.scratch.label]
    for j, text in enumerate(header):
        table.cell(0, j).text = text
    for i, (attr, _) in enumerate(rows, start=1):
        ft, sc = getattr(c.finetune, attr), getattr(c.scratch, attr)
        for j, text in enumerate((ft.label, ft.text, sc.text)):
            table.cell(i, j).text = text
    for cell in (table.cell(i, j) for i in range(len(rows) + 1) for j in range(3)):
        for para in cell.text_frame.paragraphs:
            for run in para.runs:
                _font(run, 12, cell is table.cell(0, 1) or cell is table.cell(0, 2))
    _text(s, Inches(0.5), Inches(5.1), Inches(6.3), Inches(1.2), [body(fact_line(c.validation_error), 11)])
    _picture(s, images["cost"], "cost", Inches(7.0), Inches(1.6), Inches(5.9))
    serving = [fact_line(f) for f in (c.memory, c.tokens_per_second, c.usd_per_million, c.traffic_tokens_per_day,
                                      c.serve_accelerators_needed, c.monthly_usd, c.effective_usd_per_million)]
    _text(s, Inches(7.0), Inches(3.75), Inches(5.9), Inches(3.6),
          [body(t("pitch.cost.serving", lang, name=c.serve_accelerator), 12, True)] + [body(x, 10) for x in serving])
    _notes(s, [fact_line(f) for line in (c.finetune, c.scratch) for f in (line.params, line.tokens, line.flops,
               line.accelerator_hours, line.days, line.cost_usd)] + [fact_line(c.validation_error)] + serving
           + _assumption_notes(p))

    # 6 demo transcript + model card
    s = _title(prs, t("pitch.section.demo", lang), t(f"explorer.task.{p.task}", lang))
    if d.available:
        tr_ = d.transcript
        lines = [body(t("pitch.demo.model", lang, model=d.model_id, name=d.model_name), 16, True)]
        if tr_ is not None:
            speed = t("pitch.demo.speed", lang, tps=f"{tr_.tokens_per_second:.1f}") if tr_.tokens_per_second \
                else t("pitch.demo.latency", lang, ms=f"{tr_.latency_ms:.0f}")
            lines += [body(t("pitch.demo.prompt", lang) + " " + tr_.prompt, 14),
                      body(t("pitch.demo.answer", lang) + " " + (tr_.answer or "—"), 14, True),
                      body(f"{tr_.model_id} · {speed} · {tr_.decoder}", 12, False, MUTED)]
        else:
            lines.append(body(t("pitch.demo.not_run", lang), 14, False, MUTED))
        card = [t("pitch.card.metrics", lang, m=", ".join(f"{k} {v:.1f}" for k, v in d.card_metrics.items()) or "—"),
                t("pitch.card.data", lang, data=d.card_data), t("pitch.card.licence", lang, licence=d.card_licence),
                t("pitch.card.test", lang, test=d.card_test or "—")]
        lines += [body(x, 11, False, MUTED) for x in card]
    else:
        lines = [body(t("pitch.demo.none", lang, task=t(f"explorer.task.{p.task}", lang)), 18, True),
                 body(t("pitch.demo.studio", lang), 14), body(d.studio_command, 12, False, MUTED)]
    _text(s, Inches(0.5), Inches(1.7), Inches(12.3), Inches(5.4), lines)
    _notes(s, [t("pitch.notes.demo", lang), d.studio_command])

    # 7 next steps
    s = _title(prs, t("pitch.section.next", lang))
    lines = [body(fact_line(n.time_to_mvp), 16), body(fact_line(n.data_availability), 16), body(fact_line(n.data_tokens), 16),
             body(n.model_note, 13, False, MUTED), body(t("pitch.next.edits", lang), 16, True)]
    lines += [body(t("pitch.next.edit", lang, label=e.label, shipped=f"{e.shipped:g}", yours=f"{e.yours:g}"), 14)
              for e in n.edits] or [body(t("pitch.next.no_edits", lang), 14, False, MUTED)]
    _text(s, Inches(0.5), Inches(1.7), Inches(12.3), Inches(5.4), lines)
    _notes(s, _assumption_notes(p))

    # 8 sources
    s = _title(prs, t("pitch.section.sources", lang))
    size = 11 if len(p.sources) <= 14 else 9
    _text(s, Inches(0.5), Inches(1.5), Inches(12.3), Inches(5.8),
          [body(f"{src.label}" + (f" — {src.url}" if src.url else ""), size) for src in p.sources])
    _notes(s, [t("pitch.notes.sources", lang)])

    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()
