"""Sentiment: one text or a CSV batch -> label and probability, English and Chinese."""
import pandas as pd
import plotly.express as px
import streamlit as st

from core.config import get_settings
from core.lm.inference import MAX_BATCH_LINES, predict_sentiment
from core.lm.tasks import TaskDataError, parse_task_text
from core.uploads import BATCH_LINES_PER_ROW, UploadError, read_upload
from pages._demos import load_selected, show_card
from pages._shared import tr

TASK = "sentiment"
st.title(tr("nav.sentiment"))
st.caption(tr("demos.sentiment.intro"))
show_card(TASK)

single, batch = st.tabs([tr("demos.sentiment.single"), tr("demos.sentiment.batch")])
with single:
    text = st.text_area(tr("demos.sentiment.text"), key="se_text", height=100,
                        placeholder=tr("demos.sentiment.text.placeholder"))
    if st.button(tr("demos.sentiment.submit"), type="primary", key="se_submit"):
        if not text.strip():
            st.warning(tr("demos.sentiment.empty"))
        elif (lm := load_selected(TASK)) is not None:
            pred = predict_sentiment(lm, [text.strip()])[0]
            c1, c2 = st.columns(2)
            c1.metric(tr("demos.sentiment.label"), tr(f"demos.sentiment.{pred.label}"))
            c2.metric(tr("demos.sentiment.probability"), f"{pred.probability:.1%}")
            st.progress(pred.positive, text=tr("demos.sentiment.positive_share", p=f"{pred.positive:.1%}"))
            if pred.mixed:
                st.warning(tr("demos.sentiment.mixed"))
            if pred.truncated:
                st.info(tr("demos.sentiment.truncated"))

with batch:
    st.caption(tr("demos.sentiment.batch.help", n=MAX_BATCH_LINES * 4))
    upload = st.file_uploader(tr("demos.sentiment.upload"), type=["csv"], key="se_upload",
                              max_upload_size=get_settings().max_upload_mb)
    if upload is not None and st.button(tr("demos.sentiment.batch.submit"), key="se_batch_submit"):
        try:  # lines capped before parsing (a review may span lines), rows after
            checked = read_upload(upload, upload.name, (".csv",), max_rows=MAX_BATCH_LINES * 4 * BATCH_LINES_PER_ROW)
            rows = parse_task_text(TASK, checked.text)
            if len(rows) > MAX_BATCH_LINES * 4:
                raise TaskDataError(tr("demos.sentiment.too_many", n=MAX_BATCH_LINES * 4))
        except (UploadError, TaskDataError) as exc:
            st.error(str(exc))
        else:
            if (lm := load_selected(TASK)) is not None:
                bar = st.progress(0.0, text=tr("demos.sentiment.scoring", n=len(rows)))
                preds = predict_sentiment(lm, [r["text"] for r in rows], progress=lambda done, total: bar.progress(
                    done / total, text=tr("demos.sentiment.scored", done=done, n=total)))
                st.session_state["se_batch_result"] = pd.DataFrame(
                    {"text": [r["text"] for r in rows], "label": [p.label for p in preds],
                     "probability": [round(p.probability, 4) for p in preds],
                     "mixed": [p.mixed for p in preds], "truncated": [p.truncated for p in preds]})
    result = st.session_state.get("se_batch_result")
    if result is not None:
        counts = result["label"].value_counts().reindex(["positive", "negative"], fill_value=0).reset_index()
        counts["label"] = counts["label"].map(lambda lab: tr(f"demos.sentiment.{lab}"))
        fig = px.bar(counts, x="label", y="count", color="label", labels={"label": "", "count": tr("demos.sentiment.count")},
                     color_discrete_sequence=["#2e7d32", "#c62828"])
        st.plotly_chart(fig.update_layout(showlegend=False, height=300), width="stretch")
        if n_cut := int(result["truncated"].sum()):
            st.info(tr("demos.sentiment.batch.truncated", n=n_cut, total=len(result)))
        st.dataframe(result, width="stretch", hide_index=True)
        st.download_button(tr("demos.sentiment.download"), result.to_csv(index=False).encode("utf-8"),
                           file_name="sentiment.csv", mime="text/csv", key="se_download")
