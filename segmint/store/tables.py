"""Every table a workspace can hold, declared once: columns, kind, and who it is about.

Privacy (erasing a customer) and monitoring walk this registry instead of guessing table
names, so every table a workspace creates goes through it (:meth:`Store.ensure`,
:meth:`Store.replace_table`); a test runs the whole pipeline and the server and fails when the
workspace holds a table that is not declared here. ``customer_keyed`` tables hold rows about
one customer each, found through ``customer_column``. Tables whose further columns are only
known at run time (the extra attributes of a source, the feature table, the value models'
per-customer outputs) declare their fixed key columns and ``dynamic=True``. A family of
tables (``feature_snapshot_<seq>``, one per run) is declared once with a name ``pattern``;
:meth:`Store.instances` lists a declaration's real tables in a workspace.

``docs/data-model.md`` is generated from this module (``python -m segmint.store.tables``) and a
test keeps the two equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from segmint.store.schema import CANONICAL, LINEAGE, Column, TableSchema

__all__ = [
    "TABLES",
    "TableKind",
    "WorkspaceTable",
    "customer_keyed_tables",
    "render_markdown",
    "workspace_table",
]

#: canonical: imported data; system: runs and quality; identity: which customer records are one
#: person (`segmint dedupe`); feedback: feedback texts analysed (language, sentiment, topics);
#: features: the feature table;
#: result: what segment runs store; activation: the log of audience files written;
#: measure: split tests designed and who is in which arm; monitor: scheduled re-runs and
#: what each found; privacy: the audit log, the suppression list and workspace settings;
#: server: the API's tokens and jobs
TableKind = Literal[
    "canonical",
    "system",
    "identity",
    "feedback",
    "features",
    "result",
    "activation",
    "measure",
    "monitor",
    "privacy",
    "server",
]


@dataclass(frozen=True)
class WorkspaceTable:
    """One workspace table: its fixed columns and whether rows belong to a customer."""

    name: str
    kind: TableKind
    description: str
    columns: tuple[Column, ...]
    #: the column holding the customer id, when each row is about one customer
    customer_column: str | None = None
    #: further columns naming a customer the row is about (the other record of a pair, the
    #: person a record belongs to): erasure, subject access and pseudonyms visit them too
    other_customer_columns: tuple[str, ...] = ()
    #: further columns are added at run time (source extras, features, model outputs)
    dynamic: bool = False
    #: what the dynamic columns are (shown in docs/data-model.md)
    dynamic_note: str = ""
    #: a family of tables (one per run): the regular expression their names match
    pattern: str | None = None

    @property
    def customer_keyed(self) -> bool:
        return self.customer_column is not None

    @property
    def customer_columns(self) -> tuple[str, ...]:
        """Every column naming a customer the row is about (empty when not customer-keyed)."""
        if self.customer_column is None:
            return ()
        return (self.customer_column, *self.other_customer_columns)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def matches(self, table: str) -> bool:
        """True when ``table`` is this table (or one of this family)."""
        if self.pattern is None:
            return table == self.name
        return re.fullmatch(self.pattern, table) is not None

    def ddl(self) -> str:
        """``CREATE TABLE IF NOT EXISTS`` with the declared columns."""
        if self.pattern is not None:
            raise ValueError(f"'{self.name}' is a family of tables; it has no single DDL")
        cols = ", ".join(f'"{c.name}" {c.dtype}' for c in self.columns)
        return f'CREATE TABLE IF NOT EXISTS "{self.name}" ({cols})'


def _c(name: str, dtype: str, description: str) -> Column:
    return Column(name, dtype, description)


def _canonical(t: TableSchema) -> WorkspaceTable:
    keyed = "customer_id" if "customer_id" in t.names else None
    return WorkspaceTable(
        t.name,
        "canonical",
        t.description,
        (*t.columns, *LINEAGE),
        customer_column=keyed,
        dynamic=True,
        dynamic_note="a source's extra columns, typed at import",
    )


_RUN = _c("run_id", "VARCHAR", "The run (see `runs`).")
_SEG = _c("segmentation", "VARCHAR", "The segmentation's name within the run.")
_CUSTOMER = _c("customer_id", "VARCHAR", "Customer identifier.")

_SYSTEM = (
    WorkspaceTable(
        "runs",
        "system",
        "One row per write: ingest, clean, features, segment.",
        (
            _c("run_id", "VARCHAR PRIMARY KEY", "Run id, e.g. `0003-clean`."),
            _c("seq", "INTEGER", "Sequence number."),
            _c("kind", "VARCHAR", "ingest, clean, features or segment."),
            _c("started_at", "TIMESTAMP", "Start (UTC)."),
            _c("finished_at", "TIMESTAMP", "End (UTC)."),
            _c("status", "VARCHAR", "ok (failed runs leave no row)."),
            _c("source", "VARCHAR", "The imported file or table."),
            _c("fingerprint", "VARCHAR", "Size and sampled content hash of the source."),
            _c("spec", "JSON", "The run's settings."),
            _c("row_counts", "JSON", "Rows written per table."),
            _c("message", "VARCHAR", "Notes."),
        ),
    ),
    WorkspaceTable(
        "quality_issues",
        "system",
        "Sampled bad values per check, with file and row. `value` may quote personal data.",
        (
            _RUN,
            _c("table_name", "VARCHAR", "Canonical table."),
            _c("source", "VARCHAR", "Source file."),
            _c("row", "BIGINT", "Data row in the source file."),
            _c("column_name", "VARCHAR", "Column."),
            _c("value", "VARCHAR", "The value as found."),
            _c("reason", "VARCHAR", "Why it was rejected or changed."),
        ),
    ),
    WorkspaceTable(
        "quality_counts",
        "system",
        "How many values each check examined and found bad.",
        (
            _RUN,
            _c("table_name", "VARCHAR", "Canonical table."),
            _c("column_name", "VARCHAR", "Column."),
            _c("check_name", "VARCHAR", "The check."),
            _c("n_bad", "BIGINT", "Values failing it."),
            _c("n_checked", "BIGINT", "Values checked."),
        ),
    ),
)

_PAIR = (
    _c("customer_id_l", "VARCHAR", "One record of the pair (the smaller id)."),
    _c("customer_id_r", "VARCHAR", "The other record (the larger id)."),
)

_IDENTITY = (
    WorkspaceTable(
        "identity_map",
        "identity",
        "Which person each customer record belongs to (`segmint dedupe`). Features, segments, "
        "audiences and erasure work on persons when this table exists.",
        (
            _CUSTOMER,
            _c(
                "person_id",
                "VARCHAR",
                "The person: the customer id of one of its records, kept across runs while "
                "the cluster keeps that record.",
            ),
            _c(
                "match_probability",
                "DOUBLE",
                "The probability of the strongest link that joined this record to its "
                "person (1 for a record alone, or for a link a reviewer accepted).",
            ),
            _c("cluster_size", "INTEGER", "Records in the person."),
            _c("run_id", "VARCHAR", "The dedupe run that last placed this record."),
        ),
        customer_column="customer_id",
        other_customer_columns=("person_id",),
    ),
    WorkspaceTable(
        "identity_pairs",
        "identity",
        "Scored record pairs of the last dedupe run (the pairs at or above the review floor): "
        "what the review queue and `--explain` read.",
        (
            *_PAIR,
            _c("match_weight", "DOUBLE", "Sum of the comparisons' match weights (log2 odds)."),
            _c("match_probability", "DOUBLE", "The model's probability that the two are one."),
            _c("run_id", "VARCHAR", "The dedupe run that scored the pair."),
        ),
        customer_column="customer_id_l",
        other_customer_columns=("customer_id_r",),
    ),
    WorkspaceTable(
        "identity_decisions",
        "identity",
        "Reviewers' decisions on record pairs (accept: one person; reject: two people); "
        "every later dedupe run respects them.",
        (
            *_PAIR,
            _c("decision", "VARCHAR", "accept or reject."),
            _c("decided_by", "VARCHAR", "Who decided (token name or OS user)."),
            _c("decided_at", "TIMESTAMP", "When (UTC)."),
        ),
        customer_column="customer_id_l",
        other_customer_columns=("customer_id_r",),
    ),
    WorkspaceTable(
        "identity_models",
        "identity",
        "The trained linkage model of each dedupe run (Splink's JSON), reused by incremental "
        "runs and explanations.",
        (
            _RUN,
            _c("model", "VARCHAR", "Splink settings with trained m and u probabilities (JSON)."),
            _c("threshold", "DOUBLE", "The match probability at which records were linked."),
            _c("created_at", "TIMESTAMP", "When (UTC)."),
        ),
    ),
    WorkspaceTable(
        "identity_events",
        "identity",
        "What each dedupe run did to persons: new, grew, merged (two or more persons became "
        "one), split (one person became several), kept.",
        (
            _RUN,
            _c("person_id", "VARCHAR", "The person after the run."),
            _c("event", "VARCHAR", "new, grew, merged, split or shrank."),
            _c("previous", "VARCHAR", "The person ids before the run (comma-separated)."),
            _c("records", "INTEGER", "Records in the person after the run."),
        ),
    ),
)

_FEEDBACK = (
    WorkspaceTable(
        "feedback_texts",
        "feedback",
        "One row per feedback text analysed by the last `segmint feedback analyze` (replaced "
        "by each): its language, sentiment and topic. The text itself stays in `feedback` "
        "(joined on `_run_id`, `_row`), so erasing the feedback row erases it.",
        (
            _c("_run_id", "VARCHAR", "The feedback row's import run (`feedback._run_id`)."),
            _c("_row", "BIGINT", "The feedback row's data row (`feedback._row`)."),
            _c("feedback_id", "VARCHAR", "The text's own id in the source, when it has one."),
            _CUSTOMER,
            _c("answered_at", "TIMESTAMP", "When it was written (`feedback.answered_at`)."),
            _c("language", "VARCHAR", "ISO 639-1 code (`und`: could not be told)."),
            _c("language_score", "DOUBLE", "Confidence of the language (0–1)."),
            _c("sentiment", "DOUBLE", "VADER compound score, −1…1 (NULL: not English)."),
            _c("sentiment_label", "VARCHAR", "negative, neutral or positive (NULL: not scored)."),
            _c("topic", "INTEGER", "Topic number (`feedback_topics`); NULL: no topic word."),
            _c("topic_weight", "DOUBLE", "How strongly the text belongs to its topic (NMF)."),
            _c("analysis_id", "VARCHAR", "The analysis run (see `runs`)."),
        ),
        customer_column="customer_id",
    ),
    WorkspaceTable(
        "feedback_topics",
        "feedback",
        "The topics the last analysis found (TF-IDF + NMF), named by their top terms.",
        (
            _c("analysis_id", "VARCHAR", "The analysis run (see `runs`)."),
            _c("topic", "INTEGER", "Topic number."),
            _c("name", "VARCHAR", "Its top terms, e.g. `delay · hours · flight`."),
            _c("terms", "JSON", "Its top terms, strongest first."),
            _c("n_texts", "BIGINT", "Texts assigned to it."),
            _c("share", "DOUBLE", "Share of the texts with a topic."),
        ),
    ),
)

_FEATURES = (
    WorkspaceTable(
        "customer_features",
        "features",
        "One row per customer: the features of the last `features` run (replaced by each).",
        (_CUSTOMER,),
        customer_column="customer_id",
        dynamic=True,
        dynamic_note="one column per feature (docs/features.md) and per extra attribute",
    ),
)

_RESULTS = (
    WorkspaceTable(
        "segmentations",
        "result",
        "One row per segmentation of a segment run: its spec and its result.",
        (
            _RUN,
            _c("name", "VARCHAR", "The segmentation's name."),
            _c("method", "VARCHAR", "rules, rfm, kmeans, …"),
            _c("spec", "JSON", "Its settings."),
            _c("result", "JSON", "Profiles, ranking, targeting, warnings."),
        ),
    ),
    WorkspaceTable(
        "segment_assignments",
        "result",
        "Which segment each customer was put in, per run and segmentation.",
        (
            _RUN,
            _SEG,
            _CUSTOMER,
            _c("segment", "VARCHAR", "Segment label."),
            _c("segment_name", "VARCHAR", "Segment name shown to people."),
        ),
        customer_column="customer_id",
    ),
    WorkspaceTable(
        "segment_models",
        "result",
        "The fitted model of each segmentation, to score new customers.",
        (
            _RUN,
            _SEG,
            _c("features", "JSON", "Feature columns the model reads."),
            _c("model", "JSON", "The fitted model as data (segmint.segment.models)."),
        ),
    ),
    WorkspaceTable(
        "customer_values",
        "result",
        "Per-customer outputs of value segmentations (CLV, P(alive), …).",
        (_RUN, _SEG, _CUSTOMER),
        customer_column="customer_id",
        dynamic=True,
        dynamic_note="one column per model output",
    ),
    WorkspaceTable(
        "value_summaries",
        "result",
        "The purchase summary each value segmentation scored (one row per buyer): where "
        "`segmint update` starts from, so that it does not re-read every order line.",
        (
            _RUN,
            _SEG,
            _CUSTOMER,
            _c("unit", "VARCHAR", "The time unit of recency and T (weeks or days)."),
            _c("frequency", "BIGINT", "Repeat purchase days."),
            _c("recency", "DOUBLE", "First to last purchase day, in units."),
            _c("T", "DOUBLE", "First purchase day to the as-of date, in units."),
            _c("monetary_value", "DOUBLE", "Mean value of the repeat purchase days."),
            _c("revenue", "DOUBLE", "Value of every purchase day."),
        ),
        customer_column="customer_id",
    ),
    WorkspaceTable(
        "feature_snapshot_<seq>",
        "result",
        "The feature table of an earlier features run that a segment run segmented on, kept "
        "when the next features run replaced `customer_features` (`feature_snapshot_0003` "
        "for run `0003-features`).",
        (_CUSTOMER,),
        customer_column="customer_id",
        dynamic=True,
        dynamic_note="the columns `customer_features` had",
        pattern=r"feature_snapshot_\d+",
    ),
    WorkspaceTable(
        "feature_snapshot_runs",
        "result",
        "The features each segment run segmented on, for drift and migration between runs.",
        (
            _RUN,
            _c("features_run_id", "VARCHAR", "The features run that built them."),
            _c("columns", "JSON", "The feature columns and their types, in order."),
            _c("n_customers", "BIGINT", "Customers in the snapshot."),
        ),
    ),
)

_ACTIVATION = (
    WorkspaceTable(
        "exports",
        "activation",
        "One row per audience file written (`segmint export`): who, what, where, its hash.",
        (
            _c("export_id", "VARCHAR PRIMARY KEY", "Export id, e.g. `x0007`."),
            _c("created_at", "TIMESTAMP", "When the file was written (UTC)."),
            _c("created_by", "VARCHAR", "The API token's name, or the operating-system user."),
            _RUN,
            _SEG,
            _c("segments", "JSON", "The exported segments' labels."),
            _c("segment_names", "JSON", "Their names at the time of the export."),
            _c("destination", "VARCHAR", "google-ads, meta, klaviyo, mailchimp, hubspot or csv."),
            _c("hashed", "BOOLEAN", "Identifiers written as SHA-256."),
            _c("assume_consent", "BOOLEAN", "A missing consent value counted as consent."),
            _c("rows_written", "BIGINT", "Customers in the file."),
            _c("left_out", "JSON", "Customers left out, per reason (no consent, …)."),
            _c("path", "VARCHAR", "Where the file was written (absolute; or `download`)."),
            _c("sha256", "VARCHAR", "SHA-256 of the file's bytes."),
            _c("warnings", "JSON", "Warnings shown when it was written."),
            _c(
                "label",
                "VARCHAR",
                "What the file holds when it is part of the segments (a split test's variant: "
                "`experiment spring (e0001), variant A`); NULL for whole segments.",
            ),
        ),
    ),
    WorkspaceTable(
        "export_members",
        "activation",
        "Which customers each export file held (to find the files that hold a customer).",
        (_c("export_id", "VARCHAR", "The export (see `exports`)."), _CUSTOMER),
        customer_column="customer_id",
    ),
)

_MEASURE = (
    WorkspaceTable(
        "experiments",
        "measure",
        "One row per split test designed (`segmint experiment design`): the segments, the "
        "variants and their weights, the salt of the hash, and the counts per arm.",
        (
            _c("experiment_id", "VARCHAR PRIMARY KEY", "Experiment id, e.g. `e0003`."),
            _c("name", "VARCHAR", "The experiment's name (unique in the workspace)."),
            _c("created_at", "TIMESTAMP", "When it was designed (UTC)."),
            _c("created_by", "VARCHAR", "The API token's name, or the operating-system user."),
            _RUN,
            _SEG,
            _c("segments", "JSON", "The segments' labels (each is split on its own)."),
            _c("segment_names", "JSON", "Their names at the time of the design."),
            _c("variants", "JSON", "The variants' names, in the order of their hash ranges."),
            _c("weights", "JSON", "Each variant's share of the hash range (they sum to 1)."),
            _c("salt", "VARCHAR", "Hashed with each customer id (default: the name)."),
            _c("control", "VARCHAR", "The hold-out variant (no audience file), or NULL."),
            _c("counts", "JSON", "Customers per segment and variant."),
        ),
    ),
    WorkspaceTable(
        "experiment_assignments",
        "measure",
        "Which variant each customer of a split test is in (docs/experiments.md).",
        (
            _c("experiment_id", "VARCHAR", "The experiment (see `experiments`)."),
            _CUSTOMER,
            _c("segment", "VARCHAR", "The customer's segment label in the design's run."),
            _c("variant", "VARCHAR", "The variant."),
            _c("bucket", "DOUBLE", "The customer's hash position in [0, 1)."),
        ),
        customer_column="customer_id",
    ),
)

_MONITOR = (
    WorkspaceTable(
        "schedules",
        "monitor",
        "Scheduled re-runs of a spec (`segmint schedule add`): when, which spec, where the "
        "reports go (docs/monitoring.md, Scheduled re-runs).",
        (
            _c("schedule_id", "VARCHAR PRIMARY KEY", "Schedule id, e.g. `s0002`."),
            _c("cron", "VARCHAR", "Cron expression, five fields, in UTC (`0 6 * * 1`)."),
            _c(
                "spec_path",
                "VARCHAR",
                "The spec file (absolute), read again at each run; NULL for a spec sent to "
                "the server (its text below is run).",
            ),
            _c("spec_text", "VARCHAR", "The spec's text when the schedule was added."),
            _c("out_dir", "VARCHAR", "Folder for the reports (absolute); NULL: the default."),
            _c("created_at", "TIMESTAMP", "When it was added (UTC)."),
            _c("created_by", "VARCHAR", "The API token's name, or the operating-system user."),
            _c("enabled", "BOOLEAN", "Whether it runs when due."),
            _c("last_run_at", "TIMESTAMP", "Start of its last run (UTC), or NULL."),
            _c("next_run_at", "TIMESTAMP", "When it is due next (UTC)."),
        ),
    ),
    WorkspaceTable(
        "schedule_runs",
        "monitor",
        "One row per scheduled re-run: its segment run, and the alerts of the comparison "
        "with the segment run before it.",
        (
            _c("schedule_id", "VARCHAR", "The schedule (see `schedules`)."),
            _c("started_at", "TIMESTAMP", "Start (UTC)."),
            _c("finished_at", "TIMESTAMP", "End (UTC)."),
            _c("status", "VARCHAR", "ok or failed."),
            _c("run_id", "VARCHAR", "The segment run it made, or NULL when it failed."),
            _c("baseline_run_id", "VARCHAR", "The segment run it was compared with, or NULL."),
            _c("report_dir", "VARCHAR", "Where its report was written."),
            _c("error", "VARCHAR", "The error paragraph of a failed run."),
            _c("alerts", "JSON", "The alerts that crossed a threshold (`segmint monitor`)."),
            _c("crossed", "BOOLEAN", "Whether any alert was raised."),
            _c("notes", "JSON", "Notes (e.g. the first segment run: nothing to compare)."),
        ),
    ),
)

_PRIVACY = (
    WorkspaceTable(
        "audit_log",
        "privacy",
        "Who did what, when and from where: every import, clean, run, export, erasure, token "
        "change and sign-in (`segmint audit`). Holds no customer data beyond keyed hashes.",
        (
            _c("logged_at", "TIMESTAMP", "When (UTC)."),
            _c("actor", "VARCHAR", "The API token's name, or the operating-system user."),
            _c("origin", "VARCHAR", "From where: `cli`, `python`, or the client's address."),
            _c("action", "VARCHAR", "What: ingest, clean, run, export, erase, token.create, …"),
            _c("target", "VARCHAR", "What it acted on: a file name, a run id, a keyed hash."),
            _c("detail", "JSON", "Counts and settings (never a customer's data)."),
        ),
    ),
    WorkspaceTable(
        "suppressions",
        "privacy",
        "Erased people, as keyed hashes (HMAC-SHA-256) of their id, e-mail and phone: a later "
        "import skips their rows and counts them.",
        (
            _c("kind", "VARCHAR", "customer_id, email or phone."),
            _c("hash", "VARCHAR", "HMAC-SHA-256 of the normalized value, hex."),
            _c("added_at", "TIMESTAMP", "When (UTC)."),
            _c("erasure", "VARCHAR", "The erasure that added it (`audit_log.target`)."),
        ),
    ),
    WorkspaceTable(
        "settings",
        "privacy",
        "Workspace settings kept with the data (the privacy key's check value, pseudonyms).",
        (
            _c("name", "VARCHAR PRIMARY KEY", "Setting."),
            _c("value", "JSON", "Its value."),
            _c("changed_at", "TIMESTAMP", "Last changed (UTC)."),
        ),
    ),
    WorkspaceTable(
        "consent_events",
        "privacy",
        "Consent records per customer and channel (grant, deny, revoke), with when and from "
        "where: an import adds one when a flag differs from the customer's last record, "
        "`segmint consent set` adds one each time (`segmint consent show`).",
        (
            _CUSTOMER,
            _c("channel", "VARCHAR", "email, sms, ads or profiling."),
            _c("status", "VARCHAR", "granted, denied or revoked (a grant taken back)."),
            _c(
                "at",
                "TIMESTAMP",
                "When the customer gave or refused it (UTC): the source's "
                "consent date, else when it was recorded.",
            ),
            _c(
                "source",
                "VARCHAR",
                "The imported file, or who set it (`segmint consent`, a token's name).",
            ),
            _c("run_id", "VARCHAR", "The import that recorded it (NULL when set by hand)."),
            _c("recorded_at", "TIMESTAMP", "When segmint recorded it (UTC)."),
        ),
        customer_column="customer_id",
    ),
    WorkspaceTable(
        "report_files",
        "privacy",
        "Every report file segmint wrote (HTML and JSON), so that an erasure can rewrite them.",
        (
            _c("path", "VARCHAR", "The file (absolute)."),
            _c("kind", "VARCHAR", "run, quality, experiment, monitoring or campaigns."),
            _c("run_id", "VARCHAR", "The run it reports on, if any."),
            _c("written_at", "TIMESTAMP", "When (UTC)."),
        ),
    ),
)

_SERVER = (
    WorkspaceTable(
        "api_tokens",
        "server",
        "API tokens (stored as SHA-256 hashes) and their roles.",
        (
            _c("token_id", "VARCHAR PRIMARY KEY", "Token id."),
            _c("name", "VARCHAR", "Who it is for."),
            _c("role", "VARCHAR", "viewer, analyst or admin."),
            _c("token_hash", "VARCHAR", "SHA-256 of the token."),
            _c("created_at", "TIMESTAMP", "Created (UTC)."),
            _c("revoked_at", "TIMESTAMP", "Revoked (UTC), or NULL."),
        ),
    ),
    WorkspaceTable(
        "jobs",
        "server",
        "Background imports and runs started from the server.",
        (
            _c("job_id", "VARCHAR PRIMARY KEY", "Job id."),
            _c("kind", "VARCHAR", "ingest, run or schedule."),
            _c("status", "VARCHAR", "queued, running, done or failed."),
            _c("message", "VARCHAR", "The current step."),
            _c("created_by", "VARCHAR", "Token name that started it."),
            _c("created_at", "TIMESTAMP", "Queued (UTC)."),
            _c("started_at", "TIMESTAMP", "Started (UTC)."),
            _c("finished_at", "TIMESTAMP", "Finished (UTC)."),
            _c("error", "VARCHAR", "The error paragraph of a failed job."),
            _c("result", "JSON", "What a finished job returned."),
        ),
    ),
)

#: every table a workspace can hold, by name
TABLES: dict[str, WorkspaceTable] = {
    t.name: t
    for t in (
        *(_canonical(s) for s in CANONICAL.values()),
        *_SYSTEM,
        *_IDENTITY,
        *_FEEDBACK,
        *_FEATURES,
        *_RESULTS,
        *_ACTIVATION,
        *_MEASURE,
        *_MONITOR,
        *_PRIVACY,
        *_SERVER,
    )
}


def workspace_table(name: str) -> WorkspaceTable:
    """The declaration of table ``name`` (a family's member finds its family's).

    Raises ``KeyError`` naming the known tables when there is none.
    """
    if name in TABLES:
        return TABLES[name]
    for t in TABLES.values():
        if t.matches(name):
            return t
    raise KeyError(
        f"'{name}' is not a workspace table; declare it in segmint/store/tables.py "
        f"(known: {', '.join(TABLES)})"
    )


def customer_keyed_tables() -> list[WorkspaceTable]:
    """The tables with rows about one customer each (what erasing a customer must visit)."""
    return [t for t in TABLES.values() if t.customer_keyed]


def render_markdown() -> str:
    """``docs/data-model.md``: every workspace table, then the canonical columns in detail."""
    out = [
        "# The data model",
        "",
        "Generated from `segmint/store/tables.py` and `segmint/store/schema.py` by "
        "`python -m segmint.store.tables`; a test keeps this file equal to the code.",
        "",
        "## Every workspace table",
        "",
        "A workspace creates no table that is not listed here (a name with `<seq>` stands "
        "for a family, one table per run). *Customer key* names the "
        "column holding the customer id in tables whose rows are about one customer each "
        "(what erasing a customer visits), then any further column naming a customer the row "
        "is about (a pair's other record, a record's person). Some tables get further "
        "columns at run time "
        "(a source's extra attributes, features, model outputs).",
        "",
        "| table | kind | customer key | further columns at run time | meaning |",
        "|---|---|---|---|---|",
    ]
    for t in TABLES.values():
        key = ", ".join(f"`{c}`" for c in t.customer_columns)
        dyn = t.dynamic_note if t.dynamic else ""
        out.append(f"| `{t.name}` | {t.kind} | {key} | {dyn} | {t.description} |")
    out += ["", "## Runs, features, results and the server's tables", ""]
    for t in TABLES.values():
        if t.kind == "canonical":
            continue
        out += [f"### `{t.name}`", "", t.description, ""]
        if t.dynamic:
            out += [f"Fixed columns below; further columns: {t.dynamic_note}.", ""]
        out += ["| column | type | meaning |", "|---|---|---|"]
        out += [f"| `{c.name}` | {c.dtype} | {c.description} |" for c in t.columns]
        out.append("")
    out += [
        "## Canonical tables",
        "",
        "All timestamps are UTC (stored without a zone). Every canonical table also has the "
        "lineage columns below. Columns a source has beyond these are kept as extra columns, "
        "snake_cased, with their inferred type (BIGINT, DOUBLE, BOOLEAN, TIMESTAMP or VARCHAR).",
        "",
        "| lineage column | type | meaning |",
        "|---|---|---|",
        *[f"| `{c.name}` | {c.dtype} | {c.description} |" for c in LINEAGE],
        "",
    ]
    for s in CANONICAL.values():
        out += [f"### `{s.name}`", "", s.description, ""]
        if s.required:
            req = "; ".join(" or ".join(f"`{c}`" for c in alts) for alts in s.required)
            out += [f"Required to import: {req}.", ""]
        if s.derived_note:
            out += [s.derived_note, ""]
        out += ["| column | type | unit | meaning |", "|---|---|---|---|"]
        out += [f"| `{c.name}` | {c.dtype} | {c.unit or ''} | {c.description} |" for c in s.columns]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover - python -m segmint.store.tables
    print(render_markdown())
