"""The Splink model: settings from the chosen fields, unsupervised training, scoring.

Splink runs beside the workspace, never on its connection: it creates many ``__splink__*``
tables, and the workspace must hold only declared tables (and stay small). By default that is
a private in-memory DuckDB; given a SparkSession, Splink's Spark backend (identity/backends.py),
with the same fields, comparisons, blocking rules and training. The prepared linkage input
(the normalised fields only) goes in as Arrow (or stays in Spark as a DataFrame); scored pairs
come back as Arrow, fully read before anything else runs on either connection.

Training is Splink's unsupervised path: the share of matching pairs from exact rules with an
assumed recall, the u probabilities from random pairs (seeded), then expectation
maximisation once per training blocking rule, so that every comparison is estimated in at
least one session where it is not the blocking field.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from segmint.identity.backends import SplinkBackend, backend
from segmint.identity.fields import (
    Field,
    IdentityOptions,
    blocking_rules,
    comparisons,
    training_rules,
)

__all__ = [
    "Linkage",
    "arrow",
    "comparison_table",
    "first",
    "quiet",
    "registered",
    "rule_sql",
    "splink_connection",
]

_LOG = logging.getLogger("splink")
#: expectation maximisation runs once per blocking rule with at least this many pairs (a rule
#: with a handful cannot train), up to this many sessions, never on the e-mail rule alone: an
#: address shared by a family or an office is common among different people, and a session
#: trained on those pairs taught the model that matches often differ in everything else (on
#: the Chicago list pairwise F1 fell from 0.96 to 0.88 with it)
EM_MIN_PAIRS = 200
EM_SESSIONS = 5
#: a training rule with more pairs is sampled down to about this many (Splink's hash-based
#: record sampling): m probabilities settle long before, and EM's time grows with the pairs
EM_MAX_PAIRS = 1_000_000
Progress = Callable[[str], None]


def first(cursor: duckdb.DuckDBPyConnection) -> Any:
    """The first row of a result, the result read to its end: DuckDB 2 refuses new work on a
    connection whose last result was not drained (and Ibis shares the workspace's)."""
    rows = cursor.fetchall()
    return rows[0] if rows else None


def arrow(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> pa.Table:
    """A query's rows as one Arrow table, read whole (the connection is free afterwards).

    Through ``execute`` rather than ``con.sql``: DuckDB 2 refuses a relation on a connection
    whose last ``execute`` result is still open (the workspace's connection, shared with
    Ibis, often has one). DuckDB warns that this path copies the rows once; the tables here
    are the linkage fields or pairs, small next to the copy Splink makes anyway.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
        table: pa.Table = con.execute(sql, params or []).to_arrow_table()
    return table


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    """``table`` visible to SQL on ``con`` as ``name`` for the block, then gone."""
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


def splink_connection(prepared: pa.Table | None = None) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB for Splink (its temp tables stay out of the workspace),
    holding the linkage records as the table ``prepared`` when they are given."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    if prepared is not None:
        with registered(con, "_prepared_arrow", prepared):
            con.execute("CREATE TABLE prepared AS SELECT * FROM _prepared_arrow")
    return con


def rule_sql(rule: list[str]) -> str:
    """``[a, substr(b,1,3)]`` → ``l.a = r.a AND substr(l.b,1,3) = substr(r.b,1,3)``."""
    import re

    def side(expr: str, s: str) -> str:
        if "(" not in expr:
            return f"{s}.{expr}"
        return re.sub(r"\(([a-z_][a-z0-9_]*)", lambda m: f"({s}.{m.group(1)}", expr)

    return " AND ".join(f"{side(e, 'l')} = {side(e, 'r')}" for e in rule)


def _pairs_in_rule(db: SplinkBackend, rule: list[str]) -> int:
    keys = ", ".join(rule)
    nonnull = " AND ".join(f"{e} IS NOT NULL" for e in rule)
    n = db.scalar(
        f"SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n FROM "
        f"{db.name('prepared')} WHERE {nonnull} GROUP BY {keys}) AS groups"
    )
    return int(n or 0)


@dataclass
class Linkage:
    """A Splink linker over the prepared records, trained or loaded from a saved model, on
    the engine ``db`` (a private DuckDB, or a SparkSession: identity/backends.py)."""

    db: SplinkBackend
    linker: Any
    records: Any  # the registered SplinkDataFrame
    rules: list[str]
    notes: list[str] = field(default_factory=list)
    #: the fields compared (those with a value in at least one record)
    used: list[Field] = field(default_factory=list)
    #: candidate pairs per blocking rule (SQL)
    sizes: dict[str, int] = field(default_factory=dict)
    _tf_ready: bool = False

    # -- building ----------------------------------------------------------------------
    @classmethod
    def train(
        cls,
        prepared: pa.Table | SplinkBackend,
        fields: list[Field],
        options: IdentityOptions,
        progress: Progress | None = None,
        *,
        spark: Any = None,
    ) -> Linkage:
        """Train on ``prepared`` (Arrow; or a backend already holding the table
        ``prepared``), on a private DuckDB or, given ``spark``, on that SparkSession."""
        say = progress or (lambda _m: None)
        db = _holding(prepared, spark)
        try:
            return cls._train_on(db, fields, options, say)
        except BaseException:
            if db is not prepared:  # made here: its tables (or Spark views) go
                db.close()
            raise

    @classmethod
    def _train_on(
        cls, db: SplinkBackend, fields: list[Field], options: IdentityOptions, say: Progress
    ) -> Linkage:
        from splink import Linker, SettingsCreator

        notes: list[str] = []
        # an empty field tells Splink nothing and cannot be trained: leave it out
        counts = db.rows(
            "SELECT " + ", ".join(f"count({f.name}) AS {f.name}" for f in fields)
            + f" FROM {db.name('prepared')}"
        ).to_pylist() if fields else [{}]  # fmt: skip
        filled = []
        for f in fields:
            if counts[0].get(f.name):
                filled.append(f)
            elif options.fields:
                notes.append(f"'{f.source}' is empty in every record: not compared.")
        fields = filled
        if options.blocking:
            candidates = [[r] if isinstance(r, str) else list(r) for r in options.blocking]
            _check_blocking(candidates, [f.name for f in fields])
        else:
            candidates = blocking_rules(fields)
        rules: list[str] = []
        sizes: dict[str, int] = {}
        for r in candidates:
            if len(r) == 1 and ("=" in r[0] or " and " in r[0].lower()):
                rules.append(r[0])  # a full SQL condition from the spec
                sizes[r[0]] = EM_MIN_PAIRS
                continue
            n = _pairs_in_rule(db, r)
            if n > options.max_pairs_per_rule and not options.blocking:
                notes.append(
                    f"blocking on {' + '.join(r)} would compare {n:,} pairs; left out "
                    f"(limit {options.max_pairs_per_rule:,})."
                )
                continue
            rules.append(rule_sql(r))
            sizes[rules[-1]] = n
        if not rules:
            from segmint.exceptions import InputError

            raise InputError(
                "segmint dedupe found no customer columns to link records on.",
                where="customers",
                fix="import customers with names, e-mails, phones, birth dates or addresses, "
                "or name the fields in the spec (identity: fields: {column: kind}).",
            )
        comps: list[Any] = options.comparisons or comparisons(fields)
        settings = SettingsCreator(
            link_type="dedupe_only",
            comparisons=comps,
            blocking_rules_to_generate_predictions=rules,  # type: ignore[arg-type]
            retain_intermediate_calculation_columns=True,
            retain_matching_columns=True,
        )
        records = db.api.register(db.name("prepared"))
        linker = Linker(records, settings, log_level=None)
        out = cls(db, linker, records, rules, notes, fields, sizes)
        say("estimating how many pairs match")
        em_rules = _em_rules(fields, rules, sizes)
        out._train(fields, options, em_rules, say)
        return out

    def _train(
        self, fields: list[Field], options: IdentityOptions, em_rules: list[str], say: Progress
    ) -> None:
        tr = self.linker.training
        exact = [rule_sql(r) for r in training_rules(fields) if _pairs_in_rule(self.db, r) > 0]
        with quiet():
            if exact:
                tr.estimate_probability_two_random_records_match(exact, recall=0.7)
            else:
                self.notes.append(
                    "no exact rule (e-mail, phone, id, name with birth date) to estimate the "
                    "share of matching pairs: Splink's default prior is used."
                )
            say("estimating u from random pairs")
            tr.estimate_u_using_random_sampling(max_pairs=1e6, seed=options.seed)
            say("expectation maximisation")
            trained = 0
            for rule in em_rules:
                big = self.sizes.get(rule, 0) > EM_MAX_PAIRS
                if not self._trainable(rule):
                    self.notes.append(
                        f"training on '{rule}' skipped: every comparison uses its fields."
                    )
                    continue
                saved = copy.deepcopy(self.linker._settings_obj)
                try:
                    tr.estimate_parameters_using_expectation_maximisation(
                        rule,
                        estimate_without_term_frequencies=True,
                        max_pairs=EM_MAX_PAIRS if big else None,
                    )
                    trained += 1
                except Exception as exc:  # a rule with too few pairs: Splink refuses it
                    # a failed session can leave the settings without the comparisons it
                    # set aside (Splink restores them only on success)
                    self.linker._settings_obj = saved
                    self.notes.append(f"training on '{rule}' skipped: {str(exc)[:160]}")
            if not trained:
                self.notes.append("no training session ran: m probabilities are defaults.")

    def _trainable(self, rule: str) -> bool:
        """Whether a session blocked on ``rule`` leaves a comparison to estimate."""
        import re

        used = set(re.findall(r"\b[lr]\.([a-z_][a-z0-9_]*)", rule))
        for comp in self.linker._settings_obj.comparisons:
            cols = {c.unquote().name for c in comp._input_columns_used_by_case_statement}
            if not cols & used:
                return True
        return False

    @classmethod
    def load(
        cls, prepared: pa.Table | SplinkBackend, model_json: str, *, spark: Any = None
    ) -> Linkage:
        """A linker with a saved model (incremental runs, explanations), on a private DuckDB
        or, given ``spark``, on that SparkSession (a model saved by the same engine: its
        comparisons are SQL of that engine's dialect)."""
        from splink import Linker

        settings = json.loads(model_json)
        trained_on = settings.get("sql_dialect") or "duckdb"
        here = prepared.dialect if isinstance(prepared, SplinkBackend) else None
        if trained_on != (here or ("spark" if spark is not None else "duckdb")):
            from segmint.exceptions import InputError

            raise InputError(
                f"This linkage model was trained on {trained_on}; its comparisons are "
                f"{trained_on} SQL.",
                fix="score with the engine it was trained on, or train anew (segmint dedupe "
                "--full).",
            )
        db = _holding(prepared, spark)
        records = db.api.register(db.name("prepared"))
        linker = Linker(records, settings, log_level=None)
        rules = [
            r["blocking_rule"] if isinstance(r, dict) else str(r)
            for r in settings.get("blocking_rules_to_generate_predictions", [])
        ]
        return cls(db, linker, records, rules)

    # -- using -------------------------------------------------------------------------
    def model_json(self) -> str:
        return json.dumps(self.linker.misc.save_model_to_json(out_path=None), default=str)

    def predict(self, floor: float) -> pa.Table:
        """Every blocked pair scored, those at or above ``floor`` kept (ids as text, l < r)."""
        with quiet():
            df = self.linker.inference.predict(threshold_match_probability=floor)
        return self._pairs(df)

    def predict_new(self, new_ids: pa.Table, floor: float) -> pa.Table:
        """Pairs between new records and all others, and among the new (old pairs untouched)."""
        db, p = self.db, self.db.name("prepared")
        db.load("new_ids", new_ids)
        ids = f"(SELECT unique_id FROM {db.name('new_ids')})"
        db.create("new_records", f"SELECT p.* FROM {p} p WHERE unique_id IN {ids}")
        db.create("old_records", f"SELECT p.* FROM {p} p WHERE unique_id NOT IN {ids}")
        self.term_frequencies()
        new = db.api.register(db.name("new_records"))
        old = db.api.register(db.name("old_records"))
        inf = self.linker.inference
        with quiet():
            between = self._pairs(inf.predict_between(new, old, threshold_match_probability=floor))
            within = self._pairs(inf.predict_within(new, threshold_match_probability=floor))
        return pa.concat_tables([between, within])

    def term_frequencies(self) -> None:
        """Term-frequency tables from every prepared record (name and e-mail comparisons
        weigh a rare value more than a common one), as a full run computes them."""
        with quiet():
            for col in self.linker._settings_obj._term_frequency_columns:
                self.linker.table_management.compute_tf_table(col.unquote().name)

    def _pairs(self, df: Any) -> pa.Table:
        name = df.physical_name
        # STRING: DuckDB's alias of VARCHAR, and Spark's name for it
        out = self.db.rows(
            "SELECT least(CAST(unique_id_l AS STRING), CAST(unique_id_r AS STRING)) "
            "AS customer_id_l, greatest(CAST(unique_id_l AS STRING), "
            "CAST(unique_id_r AS STRING)) AS customer_id_r, match_weight, match_probability "
            f"FROM {name} WHERE unique_id_l <> unique_id_r",
        )
        return out.cast(PAIRS_SCHEMA)

    def score(self, a: str, b: str) -> dict[str, Any] | None:
        """The scored comparison of two records (with every intermediate column), or None
        when one of them is not in the prepared records. The records go to Splink as typed
        tables: as Python dicts, a missing date lost its type and the SQL failed."""
        db, p = self.db, self.db.name("prepared")
        db.load("pair_ids", pa.table({"side": ["l", "r"], "unique_id": [a, b]}))
        for side in ("l", "r"):
            db.create(
                f"pair_{side}",
                f"SELECT p.* FROM {p} p WHERE unique_id IN (SELECT unique_id FROM "
                f"{db.name('pair_ids')} WHERE side = '{side}')",
            )
        n = db.scalar(
            f"SELECT (SELECT count(*) FROM {db.name('pair_l')}) * "
            f"(SELECT count(*) FROM {db.name('pair_r')})"
        )
        if n != 1:
            return None
        if not self._tf_ready:
            self.term_frequencies()
            self._tf_ready = True
        with quiet():
            df = self.linker.inference.score_pair(
                db.api.register(db.name("pair_l")), db.api.register(db.name("pair_r"))
            )
        rows = db.rows(f"SELECT * FROM {df.physical_name}")
        return rows.to_pylist()[0] if rows.num_rows else None

    def waterfall(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """Splink's waterfall rows for one scored pair: the prior, each comparison's level
        with its match weight and the two values, and the final score."""
        from splink.internals.waterfall_chart import record_to_waterfall_data

        rows = record_to_waterfall_data(record, self.linker._settings_obj, hide_details=False)
        return [
            {
                "column": r["column_name"],
                "level": r["label_for_charts"],
                "value_l": _plain(r.get("value_l")),
                "value_r": _plain(r.get("value_r")),
                "match_weight": _finite(r["log2_bayes_factor"]),
                "m": r.get("m_probability"),
                "u": r.get("u_probability"),
                "term_frequency": bool(r.get("term_frequency_adjustment")),
            }
            for r in rows
            # a term-frequency step that changed nothing is noise in the explanation
            if not (r.get("term_frequency_adjustment") and r["log2_bayes_factor"] == 0)
        ]

    def close(self) -> None:
        self.db.close()


#: the scored pairs, on either engine (ids as text, ``customer_id_l < customer_id_r``)
PAIRS_SCHEMA = pa.schema(
    [
        ("customer_id_l", pa.string()),
        ("customer_id_r", pa.string()),
        ("match_weight", pa.float64()),
        ("match_probability", pa.float64()),
    ]
)


def _holding(prepared: pa.Table | SplinkBackend, spark: Any) -> SplinkBackend:
    """A backend holding the prepared records as its table ``prepared``."""
    if isinstance(prepared, SplinkBackend):
        return prepared
    db = backend(spark)
    db.load("prepared", prepared)
    return db


def _check_blocking(rules: list[list[str]], names: list[str]) -> None:
    """A spec's blocking rule may only name fields that are compared (and filled)."""
    import re

    from segmint.exceptions import SpecError

    for rule in rules:
        text = " ".join(rule)
        if "=" in text:
            used = set(re.findall(r"\b[lr]\.([a-z_][a-z0-9_]*)", text))
        else:
            used = {w for e in rule for w in re.findall(r"[a-z_][a-z0-9_]*", e.lower())}
            used -= {"substr", "round", "lower", "upper", "left", "right"}
        unknown = sorted(u for u in used if u not in names)
        if unknown:
            raise SpecError(
                f"identity.blocking names {', '.join(map(repr, unknown))}, which is not a "
                "linkage field (or is empty in every record).",
                fix=f"use the fields compared: {', '.join(names)} (or add it to identity.fields)",
            )


def _em_rules(fields: list[Field], rules: list[str], sizes: dict[str, int]) -> list[str]:
    """The blocking rules expectation maximisation trains on: those with enough pairs, but
    never the e-mail rule alone (see :data:`EM_MIN_PAIRS`).

    Tried and not kept: training only on rules that hold something personal (a first name,
    a birth date) when the records have one, so that households sharing an address and a
    phone would not teach EM that matches differ in first name and birth date. On 100k
    generated people it lowered F1 (0.981 → 0.973; with 5 % households 0.889 → 0.884).
    """
    import re

    kinds = {f.name: f.kind for f in fields}

    def only_email(rule: str) -> bool:
        used = set(re.findall(r"\b[lr]\.([a-z_][a-z0-9_]*)", rule))
        return bool(used) and all(kinds.get(u) == "email" for u in used)

    big = [r for r in rules if sizes.get(r, 0) >= EM_MIN_PAIRS and not only_email(r)]
    return big[:EM_SESSIONS]


def _plain(v: Any) -> str:
    return "" if v is None or v == "None" else str(v)


def _finite(x: float) -> float:
    return float(x) if math.isfinite(x) else (30.0 if x > 0 else -30.0)


def comparison_table(model_json: str) -> list[dict[str, Any]]:
    """The comparisons of a saved model: for each level its m, u and match weight."""
    settings = json.loads(model_json)
    out = []
    for comp in settings.get("comparisons", []):
        levels = []
        for lv in comp.get("comparison_levels", []):
            if lv.get("is_null_level"):
                continue
            m, u = lv.get("m_probability"), lv.get("u_probability")
            weight = math.log2(m / u) if m and u else None
            levels.append(
                {"level": lv.get("label_for_charts"), "m": m, "u": u, "match_weight": weight}
            )
        out.append({"comparison": comp.get("output_column_name"), "levels": levels})
    return out


class quiet:
    """Splink logs at INFO and warns freely; a run shows its own progress instead."""

    def __enter__(self) -> None:
        import warnings

        self._level = _LOG.level
        _LOG.setLevel(logging.ERROR)
        self._warn = warnings.catch_warnings()
        self._warn.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc: Any) -> None:
        _LOG.setLevel(self._level)
        self._warn.__exit__(*exc)
