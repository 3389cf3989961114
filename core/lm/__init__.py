"""Language-model engine: build (gpt), tokenise (tokenizer), data (corpora, data), train (train,
checkpoint), registry; the demos' base, loader, tasks, generate, metrics live beside them.
Nothing here imports streamlit."""
