"""One module per `python -m core <command>`; each exposes main(argv) -> int."""
