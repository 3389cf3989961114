"""The exports (core.pitch.deck, core.pitch.brief, python -m core pitch): the deck opens with
python-pptx and has the expected slides and charts, every market number on a slide is the
catalogue's and is followed by its source; the PDF brief is one page whose text (pdftotext) holds
the use case, the cost numbers and the sources, in English and in Chinese; the CLI writes both and
refuses bad input with exit code 2. The live demo runs on a tiny random model."""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys

import pytest
from pptx import Presentation

from core.explore import data as explorer_data
from core.explore import market, scenarios
from core.explore.scenarios import ScenarioState
from core.lm.loader import load_model
from core.pitch import demo
from core.pitch.content import build_pitch
from core.pitch.deck import SLIDES, build_deck
from core.pitch.brief import build_pdf
from core.pitch.exports import EXPORTS
from tests.conftest import ROOT
from tests.demos_tiny import make_tiny_llama

UID = "enterprise-knowledge-qa"  # sourced market size and growth, a QA demo


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return make_tiny_llama(tmp_path_factory.mktemp("tiny-pitch") / "tiny-llama")


@pytest.fixture(scope="module")
def scenario():
    state = ScenarioState(weights={**market.DEFAULT_WEIGHTS, "privacy": 7},
                          overrides={UID: {"time_to_mvp_months": 5, "training_tokens_b": 0.04}})
    rec = scenarios.create("Exports test", state)
    yield rec
    scenarios.delete(rec.id)


def _pitch(lang, tiny_dir, scenario):
    section = demo.demo_section("qa", UID, lang)
    lm = load_model(tiny_dir)
    row = explorer_data.catalogue().set_index("use_case_id").loc[UID]
    section.transcript = demo.run_demo(lm, "qa", "What does it compose?", row["description"], lang)
    section.model_id = lm.info.id
    return build_pitch(UID, scenario, lang, demo=section)


@pytest.fixture(scope="module")
def en(tiny_dir, scenario):
    p = _pitch("en", tiny_dir, scenario)
    return p, build_deck(p), build_pdf(p)


@pytest.fixture(scope="module")
def zh(tiny_dir, scenario):
    p = _pitch("zh", tiny_dir, scenario)
    return p, build_deck(p), build_pdf(p)


def _slides(deck: bytes):
    return list(Presentation(io.BytesIO(deck)).slides)


def _paragraphs(slide) -> list[str]:
    return [para.text for shape in slide.shapes if shape.has_text_frame and shape != slide.shapes.title
            for para in shape.text_frame.paragraphs if para.text.strip()]


def _pdf_text(pdf: bytes, tmp_path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_the_deck_has_the_expected_slides_and_a_picture_per_chart(en):
    p, deck, _ = en
    slides = _slides(deck)
    assert len(slides) == len(SLIDES) == 8
    titles = [s.shapes.title.text if s.shapes.title is not None else None for s in slides]
    assert titles[1:] == ["Why this", "Market, with sources", "Risks", "What it costs", "What we can show",
                          "Next steps", "Sources"]
    assert p.name in " ".join(_paragraphs(slides[0]))
    charts = {shape.name: (i, shape) for i, s in enumerate(slides) for shape in s.shapes if shape.name.startswith("chart:")}
    assert {k: v[0] for k, v in charts.items()} == {"chart:sensitivity": 1, "chart:market": 2, "chart:cost": 4}
    for _, shape in charts.values():
        assert shape.image.content_type == "image/png"
        width, height = shape.image.size
        assert width >= 1000 and height >= 300


def test_every_market_number_on_the_slides_is_the_catalogues_and_is_followed_by_its_source(en):
    p, deck, _ = en
    segment = explorer_data.catalogue().set_index("use_case_id").loc[UID, "market_segment"]
    figs = explorer_data.figures_for(segment)
    catalogue: dict[tuple[str, str, str], set[str]] = {}
    for r in figs.itertuples():
        catalogue.setdefault((str(r.value), str(r.unit), str(r.figure_year)), set()).add(str(r.publisher))
    market_slide = _slides(deck)[2]
    lines = _paragraphs(market_slide)
    checked = 0
    for line in lines:
        if not re.search(r"\d", line):
            continue
        assert " — " in line, f"a number without its source: {line!r}"
        number_part, source = line.split(" — ", 1)
        assert source.strip(), line
        match = re.fullmatch(r"(\S+) (.+?)(?: \((\d{4})\))?", number_part)
        key = (match.group(1), match.group(2), match.group(3) or "")
        if key in catalogue:
            assert any(source.startswith(pub) for pub in catalogue[key]), line
            checked += 1
    assert checked == len(p.why.figures) >= 2
    sized = figs[figs["role"] == "range"]
    headline = next(line for line in lines if line.startswith("Market size:"))
    assert f"USD {p.why.market.value:,.2f}B — median of {len(sized)} base-year figures" in headline
    assert abs(p.why.market.value - sized.assign(m=(sized.usd_b_low + sized.usd_b_high) / 2)["m"].median()) < 1e-9


def test_the_cost_slide_shows_the_estimates_and_the_demo_slide_the_live_run(en):
    p, deck, _ = en
    slides = _slides(deck)
    table = next(shape.table for shape in slides[4].shapes if shape.has_table)
    cells = [[table.cell(i, j).text for j in range(3)] for i in range(len(table.rows))]
    assert cells[0][1:] == [p.cost.finetune.label, p.cost.scratch.label]
    assert ["Cost", p.cost.finetune.cost_usd.text, p.cost.scratch.cost_usd.text] in cells
    assert ["Training tokens", "40M", "160B"] in cells  # the scenario's 0.04B tokens, Chinchilla's 20·8B
    serving = " ".join(_paragraphs(slides[4]))
    assert p.cost.monthly_usd.text in serving and "published runs" in serving
    demo_text = " ".join(_paragraphs(slides[5]))
    t = p.demo.transcript
    assert "What does it compose?" in demo_text and t.model_id in demo_text and "tokens/s" in demo_text
    assert t.answer in demo_text
    assert "Held-out metrics" in demo_text  # the card of the task's shipped model


def test_speaker_notes_carry_the_assumptions(en):
    p, deck, _ = en
    slides = _slides(deck)
    notes = [s.notes_slide.notes_text_frame.text for s in slides]
    assert all(n.strip() for n in notes)
    assert "Assumptions (values you set):" in notes[0]
    assert "your assumption (scenario “Exports test”)" in notes[6]
    assert "Time to MVP: 5 months" in notes[6]
    next_text = " ".join(_paragraphs(slides[6]))
    assert "(months): 3 in the catalogue → 5 (your assumption)" in next_text
    assert "(B): 0.02 in the catalogue → 0.04 (your assumption)" in next_text


def test_the_pdf_brief_is_one_page_with_the_use_case_costs_and_sources(en, tmp_path, state_dir):
    p, _, pdf = en
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf, tmp_path, "brief-en")
    flat = re.sub(r"\s+", " ", text)
    assert p.name in flat
    for f in (p.cost.finetune.cost_usd, p.cost.scratch.cost_usd, p.cost.monthly_usd, p.why.market, p.why.score):
        assert f.text in flat, f.key
    for f in p.why.figures:
        assert f.publisher.split(" (")[0] in flat
    assert "Sources" in flat and "Kaplan et al. 2020" in flat
    pages = subprocess.run(["pdfinfo", str(tmp_path / "brief-en.pdf")], capture_output=True, text=True).stdout
    assert re.search(r"Pages:\s+1\b", pages)
    shutil.rmtree(state_dir / "pitch-png-en", ignore_errors=True)
    (state_dir / "pitch-png-en").mkdir()
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(tmp_path / "brief-en.pdf"), str(state_dir / "pitch-png-en" / "brief")],
                   check=True)
    assert len(list((state_dir / "pitch-png-en").glob("brief*.png"))) == 1


def test_the_chinese_exports_keep_their_cjk_text(zh, tmp_path, state_dir):
    p, deck, pdf = zh
    assert p.name == "企业知识库问答（RAG）"
    text = re.sub(r"\s+", "", _pdf_text(pdf, tmp_path, "brief-zh"))
    assert p.name in text and "微调开源基座模型" in text and "资料来源" in text
    fonts = subprocess.run(["pdffonts", str(tmp_path / "brief-zh.pdf")], capture_output=True, text=True).stdout
    assert "WenQuanYi" in fonts or "wqy" in fonts.lower()
    slides = _slides(deck)
    assert slides[1].shapes.title.text == "为什么做这个"
    run = slides[1].shapes.title.text_frame.paragraphs[0].runs[0]
    assert run._r.find(".//{http://schemas.openxmlformats.org/drawingml/2006/main}ea").get("typeface") == "WenQuanYi Zen Hei"
    (state_dir / "pitch-png-zh").mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(tmp_path / "brief-zh.pdf"), str(state_dir / "pitch-png-zh" / "brief")],
                   check=True)


def test_export_formats_are_one_list():
    assert [f.key for f in EXPORTS] == ["pptx", "pdf"]
    from core.cli.pitch import _parser

    flags = {a.dest for a in _parser()._actions}
    assert all(f.key in flags for f in EXPORTS)


@pytest.mark.parametrize("argv, message", [
    (["--use-case", "no-such"], "unknown use case"),
    (["--use-case", UID, "--lang", "fr"], "unknown language"),
    (["--use-case", UID, "--users", "0"], "users_per_day"),
    (["--use-case", UID, "--train-accelerator", "abacus"], "unknown accelerator"),
    (["--use-case", UID, "--scenario", "never saved"], "no scenario named"),
    ([], "required"),
])
def test_cli_refuses_bad_input_with_exit_code_2(argv, message, capsys):
    from core.cli.pitch import main

    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_writes_both_files_with_the_demo_captured(tiny_dir, tmp_path):
    out = subprocess.run([sys.executable, "-m", "core", "pitch", "--use-case", "ai-writing-assistant", "--lang", "zh",
                          "--model", str(tiny_dir), "--prompt", "你好", "--pptx", str(tmp_path / "d.pptx"),
                          "--pdf", str(tmp_path / "b.pdf"), "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["files"] == {"pptx": str(tmp_path / "d.pptx"), "pdf": str(tmp_path / "b.pdf")}
    assert body["demo"]["transcript"]["prompt"] == "你好" and body["demo"]["transcript"]["model_id"] == "tiny-llama"
    assert body["name"] == "AI 写作助手" and body["settings"]["users_per_day"] == 1000
    assert set(body["timings"]) >= {"pptx_s", "pdf_s", "demo_s"}
    assert len(Presentation(str(tmp_path / "d.pptx")).slides) == 8
    assert (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF")


def test_pdfs_printed_from_several_threads_share_one_browser_and_all_succeed():
    from concurrent.futures import ThreadPoolExecutor

    from core.pitch import render

    pages = [f"<!doctype html><meta charset='utf-8'><p>page {i} 第{i}页</p>" for i in range(3)]
    with ThreadPoolExecutor(3) as pool:  # Streamlit runs each rerun in its own thread
        out = list(pool.map(render.pdf, pages))
    assert all(pdf.startswith(b"%PDF") for pdf in out)
    assert render._printer._thread is not None and render._printer._thread.is_alive()


def test_a_missing_chromium_is_a_clear_render_error(monkeypatch):
    from core.pitch import render

    monkeypatch.setattr(render, "CHROMIUM", "/no/such/chromium")
    with pytest.raises(render.RenderError, match="Chromium not found at /no/such/chromium"):
        render._Printer().print("<p>x</p>", timeout_s=60)
