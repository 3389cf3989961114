"""python -m core db: the store's schema (Alembic revisions in core/migrations/versions).

  python -m core db current          the revision the database is at, and the newest one
  python -m core db upgrade [REV]    upgrade (default: to the newest; set-up and app start do this)
  python -m core db downgrade REV    downgrade, e.g. `-1` for one step (back up the database first)

The database is DATABASE_URL's (default: the SQLite file in the state directory). The URL's
password is never printed.
"""
from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m core db", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["current", "upgrade", "downgrade"])
    p.add_argument("revision", nargs="?", default=None)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from sqlalchemy import create_engine

    from core import store
    from core.config import get_settings

    url = get_settings().database_url
    engine = create_engine(url)
    try:
        if args.action == "upgrade":
            store.migrate(engine, args.revision or "head")
        elif args.action == "downgrade":
            if not args.revision:
                p.error("downgrade needs a revision, e.g. -1")
            store.migrate(engine, args.revision, downgrade=True)
        report = {"database": engine.url.render_as_string(hide_password=True),
                  "current": store.current_revision(engine), "head": store.head_revision()}
    except Exception as exc:  # SQLAlchemy errors and alembic's CommandError alike
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(json.dumps(report) if args.json else "\n".join(f"{k}: {v}" for k, v in report.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
