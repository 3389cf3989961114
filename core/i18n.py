"""UI text in English and Simplified Chinese, through one small module.

Strings live in core/locales/<area>.json as {"key": {"en": "...", "zh": "..."}}; every area
(explorer, estimate, studio, demos, common) owns its own file and all files are merged.
A key missing in Chinese falls back to English; a key missing everywhere shows the key itself
(so a missing string is visible, never a crash). Placeholders use str.format: t("x", n=3).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "en"
_LOCALES = Path(__file__).resolve().parent / "locales"


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(_LOCALES.glob("*.json")):
        for key, texts in json.loads(path.read_text(encoding="utf-8")).items():
            if key in merged:
                raise ValueError(f"i18n key {key!r} defined twice ({path.name})")
            merged[key] = texts
    return merged


def normalise(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, lang: str | None = None, /, **kwargs: object) -> str:
    texts = catalog().get(key)
    if texts is None:
        text = key
    else:
        text = texts.get(normalise(lang)) or texts.get(DEFAULT_LANGUAGE) or key
    return text.format(**kwargs) if kwargs else text


def missing(lang: str) -> list[str]:
    """Keys without a translation in lang (the test suite keeps this empty)."""
    return sorted(k for k, v in catalog().items() if not v.get(lang))
