"""The page list: one place for every page the app registers in st.navigation.

Plain data (core never imports streamlit); app.py turns it into st.Page objects and the tests
iterate over it, so a page cannot be added without being smoke-tested.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    path: str  # file under pages/
    title_key: str  # i18n key of the page title
    icon: str  # material icon
    section_key: str  # i18n key of the navigation section
    url_path: str
    default: bool = False


PAGES: list[PageSpec] = [
    PageSpec("pages/home.py", "nav.home", ":material/home:", "nav.section.explore", "home", default=True),
    PageSpec("pages/explorer.py", "nav.explorer", ":material/travel_explore:", "nav.section.explore", "explorer"),
    PageSpec("pages/scenarios.py", "nav.scenarios", ":material/bookmarks:", "nav.section.explore", "scenarios"),
    PageSpec("pages/pitch.py", "nav.pitch", ":material/co_present:", "nav.section.explore", "pitch"),
    PageSpec("pages/training-cost.py", "nav.training_cost", ":material/payments:", "nav.section.estimate", "training-cost"),
    PageSpec("pages/memory-inference.py", "nav.memory_inference", ":material/memory:", "nav.section.estimate", "memory-inference"),
    PageSpec("pages/generate.py", "nav.generate", ":material/edit_note:", "nav.section.demo", "generate"),
    PageSpec("pages/qa.py", "nav.qa", ":material/quiz:", "nav.section.demo", "qa"),
    PageSpec("pages/translate.py", "nav.translate", ":material/translate:", "nav.section.demo", "translate"),
    PageSpec("pages/sentiment.py", "nav.sentiment", ":material/sentiment_satisfied:", "nav.section.demo", "sentiment"),
    PageSpec("pages/attention.py", "nav.attention", ":material/grid_on:", "nav.section.demo", "attention"),
    PageSpec("pages/studio.py", "nav.studio", ":material/model_training:", "nav.section.train", "studio"),
]
