"""Saved explorer scenarios on the store's `Scenario` table: validation, CRUD and comparison.

A scenario's payload is the explorer state as JSON:
    {"weights": {criterion: 0..10}, "filters": {...}, "selected": [use_case_id, ...],
     "overrides": {use_case_id: {column: number}}, "view": "matrix"}
Overrides are the user's edited assumptions; the shipped catalogue is never changed.
Every error is a ScenarioError whose `code` names the message (i18n key explorer.err.<code>);
a failed action changes nothing. Every store action takes the acting user (`actor`, core/owner.py;
None = the local user): a scenario someone may not see is "not_found", one shared with them is
"read_only", and names are unique per owner.
"""
from __future__ import annotations

import math
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select

from core import owner, store
from core.explore import market
from core.owner import Actor
from core.store import Scenario, utcnow

NAME_MAX = 120
NOTES_MAX = 4000
VIEWS = ("matrix", "treemap", "radar", "sensitivity")
MAX_SELECTED = 4


class ScenarioError(ValueError):
    def __init__(self, code: str, **params: object):
        super().__init__(f"{code}: {params}" if params else code)
        self.code, self.params = code, params


@dataclass
class ScenarioState:
    weights: dict[str, float] = field(default_factory=lambda: dict(market.DEFAULT_WEIGHTS))
    filters: dict = field(default_factory=dict)  # keys of market.Filters
    selected: list[str] = field(default_factory=list)
    overrides: dict[str, dict[str, float]] = field(default_factory=dict)
    view: str = "matrix"

    def to_payload(self) -> dict:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict | None) -> "ScenarioState":
        payload = payload if isinstance(payload, dict) else {}
        try:
            weights = validate_weights(payload.get("weights") or market.DEFAULT_WEIGHTS)
        except ScenarioError:  # a hand-edited row: fall back rather than break the page
            weights = {k: float(v) for k, v in market.DEFAULT_WEIGHTS.items()}
        filters = payload.get("filters")
        return cls(
            weights=weights,
            filters=filters_to_dict(filters_from_dict(filters if isinstance(filters, dict) else {})),
            selected=[str(s) for s in payload.get("selected") or []][:MAX_SELECTED],
            overrides=_valid_overrides_only(payload.get("overrides")),
            view=payload.get("view") if payload.get("view") in VIEWS else "matrix",
        )

    def filters_obj(self) -> market.Filters:
        return filters_from_dict(self.filters)


@dataclass(frozen=True)
class ScenarioRecord:
    id: int
    name: str
    notes: str
    state: ScenarioState
    created_at: datetime
    updated_at: datetime
    owner: str = "local"
    shared: bool = False


# ---------------------------------------------------------------- validation
def validate_name(name: object) -> str:
    text = unicodedata.normalize("NFC", str(name or "")).strip()
    if not text:
        raise ScenarioError("name_empty")
    if len(text) > NAME_MAX:
        raise ScenarioError("name_too_long", max=NAME_MAX)
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise ScenarioError("name_invalid")
    return text


def validate_notes(notes: object) -> str:
    text = str(notes or "")
    if len(text) > NOTES_MAX:
        raise ScenarioError("notes_too_long", max=NOTES_MAX)
    return text


def validate_weights(weights: dict) -> dict[str, float]:
    """Weights as saved (0..MAX_WEIGHT each, not all zero); raises ScenarioError."""
    try:
        market.normalise_weights(weights)
    except market.WeightsError as exc:
        raise ScenarioError(exc.code, **exc.params) from None
    clean = {k: float(weights.get(k, 0)) for k in market.CRITERION}
    too_big = [k for k, v in clean.items() if v > market.MAX_WEIGHT]
    if too_big:
        raise ScenarioError("weights_too_big", key=too_big[0], max=market.MAX_WEIGHT)
    return clean


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip().replace(",", "")
        if not value:
            return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def validate_overrides(overrides: dict, known_ids: set[str] | None = None) -> dict[str, dict[str, float]]:
    """Edited assumptions, checked cell by cell: known use case, editable column, finite number in range."""
    clean: dict[str, dict[str, float]] = {}
    if not isinstance(overrides or {}, dict):
        raise ScenarioError("override_unknown_use_case", use_case=str(overrides)[:60])
    for uid, fields in (overrides or {}).items():
        if known_ids is not None and uid not in known_ids:
            raise ScenarioError("override_unknown_use_case", use_case=uid)
        if not isinstance(fields or {}, dict):  # a hand-written import: {"use_case": 3}
            raise ScenarioError("override_unknown_field", use_case=uid, field=str(fields)[:60])
        for col, raw in (fields or {}).items():
            if col not in market.EDITABLE:
                raise ScenarioError("override_unknown_field", use_case=uid, field=col)
            value = _number(raw)
            if value is None:
                raise ScenarioError("override_not_number", use_case=uid, field=col, value=str(raw))
            low, high = market.EDITABLE[col]
            if value < 0:
                raise ScenarioError("override_negative", use_case=uid, field=col, value=value)
            if value < low or (high is not None and value > high):
                raise ScenarioError("override_out_of_range", use_case=uid, field=col, value=value,
                                    low=low, high="∞" if high is None else high)
            clean.setdefault(uid, {})[col] = value
    return clean


def overrides_from_edit(shipped: pd.DataFrame, edited: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Compare an edited assumptions table with the shipped one; validated overrides for changed cells only."""
    base = shipped.set_index("use_case_id")
    raw: dict[str, dict[str, object]] = {}
    for _, row in edited.iterrows():
        uid = row["use_case_id"]
        for col in market.EDITABLE:
            if col not in edited.columns or uid not in base.index:
                continue
            new, old = row[col], base.at[uid, col]
            if _number(new) is not None and _number(old) is not None and math.isclose(_number(new), _number(old)):
                continue
            raw.setdefault(uid, {})[col] = new
    return validate_overrides(raw, set(base.index))


def _valid_overrides_only(overrides: object) -> dict[str, dict[str, float]]:
    """Overrides read back from the store: keep every cell that validates, drop the rest, so a
    hand-edited or older row can never break a page."""
    clean: dict[str, dict[str, float]] = {}
    if not isinstance(overrides, dict):
        return clean
    for uid, fields in overrides.items():
        for col, value in (fields.items() if isinstance(fields, dict) else ()):
            try:
                clean.setdefault(str(uid), {}).update(validate_overrides({str(uid): {col: value}})[str(uid)])
            except ScenarioError:
                continue
    return {uid: fields for uid, fields in clean.items() if fields}


def filters_from_dict(d: dict) -> market.Filters:
    def strs(key: str) -> tuple[str, ...]:
        values = d.get(key) or ()
        return (values,) if isinstance(values, str) else tuple(str(v) for v in values)

    def opt(key: str) -> float | None:
        return _number(d.get(key))

    return market.Filters(domains=strs("domains"), tasks=strs("tasks"), risk_levels=strs("risk_levels"),
                          size_min_b=opt("size_min_b"), size_max_b=opt("size_max_b"), text=str(d.get("text") or ""))


def filters_to_dict(f: market.Filters) -> dict:
    return {"domains": list(f.domains), "tasks": list(f.tasks), "risk_levels": list(f.risk_levels),
            "size_min_b": f.size_min_b, "size_max_b": f.size_max_b, "text": f.text}


# ---------------------------------------------------------------- CRUD
def _record(row: Scenario) -> ScenarioRecord:
    return ScenarioRecord(id=row.id, name=row.name, notes=row.notes,
                          state=ScenarioState.from_payload(store.loads(row.payload, {})),
                          created_at=row.created_at, updated_at=row.updated_at, owner=row.owner, shared=row.shared)


def _name_taken(s, name: str, owner_id: str, except_id: int | None = None) -> bool:
    query = select(Scenario.id).where(Scenario.owner == owner_id, func.lower(Scenario.name) == name.lower())
    if except_id is not None:
        query = query.where(Scenario.id != except_id)
    return s.exec(query).first() is not None


def _checked(state: ScenarioState) -> ScenarioState:
    """A state about to be saved: weights and overrides must be valid (errors, not silent drops)."""
    overrides = validate_overrides(state.overrides)
    validate_weights(state.weights)
    clean = ScenarioState.from_payload(state.to_payload())
    clean.overrides = overrides
    return clean


def _row(s, scenario_id: int, actor: Actor, change: bool = False) -> Scenario:
    """The scenario if `actor` may see it (and change it, with `change`); else not_found / read_only."""
    row = s.get(Scenario, scenario_id)
    if row is None or not actor.can_see(row.owner, row.shared):
        raise ScenarioError("not_found", id=scenario_id)
    if change and not actor.can_change(row.owner):
        raise ScenarioError("read_only", name=row.name)
    return row


def create(name: str, state: ScenarioState, notes: str = "", *, actor: Actor | None = None) -> ScenarioRecord:
    name, notes = validate_name(name), validate_notes(notes)
    state, actor = _checked(state), owner.resolve(actor)
    try:
        with store.session() as s:
            if _name_taken(s, name, actor.user):
                raise ScenarioError("name_taken", name=name)
            row = Scenario(name=name, owner=actor.user, payload=store.dumps(state.to_payload()), notes=notes)
            s.add(row)
            s.flush()
            return _record(row)
    except IntegrityError:  # a concurrent save won the race for the unique name
        raise ScenarioError("name_taken", name=name) from None


def list_all(*, actor: Actor | None = None) -> list[ScenarioRecord]:
    """The scenarios `actor` may see: their own and those shared with the team (admins: all)."""
    query = owner.visible(select(Scenario), Scenario, owner.resolve(actor))
    with store.session() as s:
        rows = s.exec(query.order_by(Scenario.updated_at.desc(), Scenario.id.desc())).all()
        return [_record(r) for r in rows]


def find(name: str, *, actor: Actor | None = None) -> ScenarioRecord | None:
    """The scenario with this name (case-insensitive) that `actor` may see, their own first
    (names are unique per owner), or None."""
    actor = owner.resolve(actor)
    wanted = unicodedata.normalize("NFC", str(name or "")).strip().lower()
    query = owner.visible(select(Scenario), Scenario, actor).where(func.lower(Scenario.name) == wanted)
    with store.session() as s:
        rows = s.exec(query.order_by(Scenario.id)).all()
        rows.sort(key=lambda r: r.owner != actor.user)
        return _record(rows[0]) if rows else None


def get(scenario_id: int, *, actor: Actor | None = None) -> ScenarioRecord:
    with store.session() as s:
        return _record(_row(s, scenario_id, owner.resolve(actor)))


def set_shared(scenario_id: int, shared: bool, *, actor: Actor | None = None) -> ScenarioRecord:
    """Share a scenario with the team (read-only for them) or take it back; owner or admin only."""
    with store.session() as s:
        row = _row(s, scenario_id, owner.resolve(actor), change=True)
        row.shared = bool(shared)
        s.add(row)
        s.flush()
        return _record(row)


def update(scenario_id: int, *, name: str | None = None, notes: str | None = None,
           state: ScenarioState | None = None, actor: Actor | None = None) -> ScenarioRecord:
    """Rename, change notes and/or replace the state of a scenario; all checks pass or nothing changes."""
    new_name = validate_name(name) if name is not None else None
    new_notes = validate_notes(notes) if notes is not None else None
    if state is not None:
        state = _checked(state)
    try:
        with store.session() as s:
            row = _row(s, scenario_id, owner.resolve(actor), change=True)
            if new_name is not None:
                if _name_taken(s, new_name, row.owner, except_id=scenario_id):
                    raise ScenarioError("name_taken", name=new_name)
                row.name = new_name
            if new_notes is not None:
                row.notes = new_notes
            if state is not None:
                row.payload = store.dumps(state.to_payload())
            row.updated_at = utcnow()
            s.add(row)
            s.flush()
            return _record(row)
    except IntegrityError:
        raise ScenarioError("name_taken", name=new_name) from None


def rename(scenario_id: int, name: str, *, actor: Actor | None = None) -> ScenarioRecord:
    return update(scenario_id, name=name, actor=actor)


def delete(scenario_id: int, *, actor: Actor | None = None) -> None:
    with store.session() as s:
        s.delete(_row(s, scenario_id, owner.resolve(actor), change=True))


# ---------------------------------------------------------------- analysis
def evaluate(catalogue: pd.DataFrame, state: ScenarioState) -> pd.DataFrame:
    """The scenario's ranked use cases (its weights and edited assumptions; filters not applied)."""
    return market.evaluate(catalogue, state.weights, state.overrides)


def overview(catalogue: pd.DataFrame, records: list[ScenarioRecord]) -> pd.DataFrame:
    """One row per scenario: its top pick (under its own weights, assumptions and filters) and counts."""
    rows = []
    for r in records:
        ranked = market.apply_filters(evaluate(catalogue, r.state), r.state.filters_obj())
        top = ranked.iloc[0] if len(ranked) else None
        rows.append({"id": r.id, "name": r.name, "top_id": None if top is None else top["use_case_id"],
                     "top_name": "" if top is None else top["name"], "top_name_zh": "" if top is None else top["name_zh"],
                     "score": None if top is None else float(top["score"]), "shown": len(ranked),
                     "edited": len(r.state.overrides), "view": r.state.view, "updated": r.updated_at, "notes": r.notes})
    return pd.DataFrame(rows)


def compare(catalogue: pd.DataFrame, a: ScenarioState, b: ScenarioState) -> pd.DataFrame:
    """Side by side: score and rank under A and under B, delta = B - A, largest moves first."""
    sa = evaluate(catalogue, a)[["use_case_id", "name", "name_zh", "domain", "domain_zh", "score", "rank"]]
    sb = evaluate(catalogue, b)[["use_case_id", "score", "rank"]]
    out = sa.merge(sb, on="use_case_id", suffixes=("_a", "_b"))
    out["delta"] = out["score_b"] - out["score_a"]
    out["rank_change"] = out["rank_a"] - out["rank_b"]  # positive = moved up under B
    return out.reindex(out["delta"].abs().sort_values(ascending=False).index).reset_index(drop=True)
