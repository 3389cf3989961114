"""Every page registered in st.navigation renders in AppTest without an exception, in both languages."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.nav import PAGES
from tests.conftest import ROOT


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("spec", PAGES, ids=[p.url_path for p in PAGES])
def test_page_renders_without_exception(spec, lang):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page(spec.path).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"{spec.path} shows no title"
