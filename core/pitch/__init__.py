"""The pitch pack: one use case from market to cost to live demo, exported as a deck and a PDF.

types.py    the Pitch dataclasses: every number a Fact with its source, formula or "your assumption"
content.py  use case (+ scenario, settings, demo run) -> Pitch (score, rank, sensitivity, market, risks, next steps)
cost.py     fine-tune vs from scratch, serving at the user's traffic (core.estimate)
demo.py     task -> best registered model, its card, a default prompt; one live run -> transcript
charts.py   the Plotly figures (the page shows them; the exports embed PNGs of the same figures)
render.py   Chromium: PNG of a figure (Kaleido), HTML -> PDF (Playwright)
deck.py     the PowerPoint deck (python-pptx)
brief.py    the one-page PDF brief (HTML printed by Chromium)
exports.py  EXPORTS: the list of export formats the page, the CLI and the tests iterate
"""
