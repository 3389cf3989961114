"""Translation: English <-> Chinese / French / German, one text streamed or a batch file."""
import pandas as pd
import streamlit as st

from core.config import get_settings
from core.lm.generate import GenerationError
from core.lm.inference import (MAX_BATCH_LINES, MAX_TRANSLATION_CHARS, batch_lines, translate, translation_chunks,
                                translation_is_cut, translation_stream)
from core.lm.tasks import TaskDataError
from core.uploads import BATCH_LINES_PER_ROW, UploadError, read_upload
from pages._demos import load_selected, show_card
from pages._shared import tr

TASK = "translation"
LANGS = ["en", "zh", "fr", "de"]
st.title(tr("nav.translate"))
st.caption(tr("demos.translate.intro"))
show_card(TASK)

c1, c2 = st.columns(2)
src = c1.selectbox(tr("demos.translate.src"), LANGS, key="tr_src", format_func=lambda c: tr(f"demos.lang.{c}"))
tgt = c2.selectbox(tr("demos.translate.tgt"), LANGS, index=2, key="tr_tgt", format_func=lambda c: tr(f"demos.lang.{c}"))
pair_ok = src != tgt
if not pair_ok:
    st.error(tr("demos.translate.same"))
elif "en" not in (src, tgt):
    st.warning(tr("demos.translate.pivot"))

single, batch = st.tabs([tr("demos.translate.single"), tr("demos.translate.batch")])
with single:
    text = st.text_area(tr("demos.translate.text"), key="tr_text", height=120,
                        placeholder=tr("demos.translate.text.placeholder"))
    if st.button(tr("demos.translate.submit"), type="primary", key="tr_submit", disabled=not pair_ok):
        if not text.strip():
            st.warning(tr("demos.translate.empty"))
        elif (lm := load_selected(TASK)) is not None:
            chunks, cut = translation_chunks(lm, text)
            if cut:
                st.info(tr("demos.translate.cut_note", n=f"{MAX_TRANSLATION_CHARS:,}"))
            elif len(chunks) > 1:
                st.info(tr("demos.translate.chunk_note", n=len(chunks)))
            try:
                with st.spinner(tr("demos.translate.working")):
                    st.write_stream(translation_stream(lm, text, src, tgt))
            except GenerationError as exc:
                st.error(str(exc))

with batch:
    st.caption(tr("demos.translate.batch.help", n=MAX_BATCH_LINES))
    upload = st.file_uploader(tr("demos.translate.upload"), type=["txt", "tsv"], key="tr_upload",
                              max_upload_size=get_settings().max_upload_mb)
    if upload is not None and st.button(tr("demos.translate.batch.submit"), key="tr_batch_submit", disabled=not pair_ok):
        try:
            checked = read_upload(upload, upload.name, (".txt", ".tsv"), max_rows=MAX_BATCH_LINES * BATCH_LINES_PER_ROW)
            lines = batch_lines(checked.text.encode("utf-8"), get_settings().max_upload_bytes)
        except (UploadError, TaskDataError) as exc:
            st.error(str(exc))
        else:
            if (lm := load_selected(TASK)) is not None:
                bar = st.progress(0.0)
                rows = []
                for i, line in enumerate(lines):
                    rows.append({"source": line, "translation": translate(lm, line, src, tgt)})
                    bar.progress((i + 1) / len(lines))
                st.session_state["tr_batch_result"] = pd.DataFrame(rows)
    result = st.session_state.get("tr_batch_result")
    if result is not None:
        if n_cut := sum(translation_is_cut(line) for line in result["source"]):
            st.info(tr("demos.translate.batch.cut_note", k=n_cut, n=f"{MAX_TRANSLATION_CHARS:,}"))
        st.dataframe(result, width="stretch", hide_index=True)
        st.download_button(tr("demos.translate.download"), result.to_csv(index=False).encode("utf-8"),
                           file_name=f"translations-{src}-{tgt}.csv", mime="text/csv", key="tr_download")
