"""The Python entry point: a workspace file and the pipeline stages over it.

>>> import segmint
>>> ws = segmint.Workspace("shop.duckdb")            # doctest: +SKIP
>>> ws.ingest("orders.csv")                          # doctest: +SKIP
>>> ws.clean()                                       # doctest: +SKIP
>>> ws.table("customers").to_pandas()                # doctest: +SKIP
>>> ws.export("rfm", "Champions", to="mailchimp", out="champions.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis.expr.schema as sch
import ibis.expr.types as ir
import pandas as pd

from segmint.clean import CleanResult, build_report, clean, write_report
from segmint.exceptions import ExperimentError, ExportError, SegmintError, WorkspaceError
from segmint.features import TEXT_TABLES, build_features, check_families, resolve_as_of
from segmint.identity.persons import identity_spec, person_tables
from segmint.ingest import IngestResult, ReadOptions, ingest
from segmint.ingest.finite import require_finite
from segmint.privacy import audit as audit_log
from segmint.privacy.pseudonyms import keep_pseudonymized, keyed_table
from segmint.privacy.reports import register_report
from segmint.spec.gates import QualityGates
from segmint.store import CANONICAL, RunRecord, Store, read_snapshot

if TYPE_CHECKING:
    from segmint._run.schedule import Schedule, ScheduleRun
    from segmint._run.update import UpdateOutput
    from segmint.activate.export import ExportResult
    from segmint.feedback.analyze import FeedbackAnalysis
    from segmint.feedback.survey import FactorSolution
    from segmint.identity import DedupeResult, Explanation, IdentityOptions
    from segmint.measure.analyze import Analysis
    from segmint.measure.campaigns import CampaignResults
    from segmint.measure.design import Design
    from segmint.monitor.compare import Monitoring
    from segmint.privacy.consent import ConsentEvent
    from segmint.privacy.erase import ErasureResult
    from segmint.privacy.retention import RetentionResult
    from segmint.spec.model import MonitoringSpec, RetentionSpec, Spec
    from segmint.store.results import FeedbackSummary

__all__ = ["Workspace"]


class Workspace:
    """A segmint workspace: one DuckDB file holding the canonical tables and every run.

    Parameters
    ----------
    path:
        The workspace file; created on the first import. ``":memory:"`` keeps it in memory.
    read_only:
        Open without writing (several readers may share a file).
    """

    def __init__(
        self, path: str | os.PathLike[str] = "segmint.duckdb", *, read_only: bool = False
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._store: Store | None = None
        if read_only or self.path.exists():
            self._store = Store(self.path, read_only=read_only)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.path, read_only=self.read_only)
        return self._store

    # -- stages ----------------------------------------------------------------------------
    @staticmethod
    def spark(
        session_or_conf: Any = None,
        path: str | os.PathLike[str] = "segmint-spark",
        *,
        master: str | None = None,
        warehouse: str | None = None,
        catalog: str | None = None,
    ) -> Any:
        """A workspace whose data lives in Spark (:class:`segmint._engine_workspace.EngineWorkspace`).

        ``session_or_conf``: your SparkSession, or Spark settings for a session segmint starts
        on ``master`` (``local[2]``, ``spark://…``, ``yarn``); tables are Parquet folders under
        ``warehouse`` (default ``path/tables``), or catalog tables of the database ``catalog``
        (``"db"`` or ``"catalog.db"``: Hive metastore, Unity Catalog, Glue); see docs/scale.md.

        >>> ews = segmint.Workspace.spark(master="local[2]", path="shop-spark")  # doctest: +SKIP
        >>> ews.run(segmint.Spec(sources=[{"path": "orders.parquet"}]), out_dir="report")  # doctest: +SKIP
        """
        from segmint._engine_workspace import EngineWorkspace

        return EngineWorkspace.spark(
            session_or_conf, path, master=master, warehouse=warehouse, catalog=catalog
        )

    def ingest(
        self,
        source: str | os.PathLike[str],
        *,
        into: str | None = None,
        format: str = "auto",
        mapping: dict[str, str] | None = None,
        delimiter: str | None = None,
        encoding: str | None = None,
        header: bool | None = None,
        columns: Sequence[str] | None = None,
        sheet: str | int | None = None,
        table: str | None = None,
        query: str | None = None,
        timezone: str | None = None,
        date_format: str | None = None,
        gates: QualityGates | None = None,
        replace: bool = False,
        if_imported: str = "error",
        progress: Any = None,
    ) -> IngestResult:
        """Import a file or database table into a canonical table (all rows or none).

        ``into`` names the table (orders, customers, events, feedback, campaigns,
        campaign_contacts); by default the format or the headers decide. ``mapping`` maps
        canonical columns to source headers and always wins over detection.

        A text file without a header row is refused unless ``header=False``; ``columns`` then
        names its fields (default ``column_1`` …; ``mapping`` may also give positions, e.g.
        ``{"customer_id": "1"}``). ``header=True`` keeps a first row that looks like data.
        """
        opts = ReadOptions(
            delimiter=delimiter,
            encoding=encoding,
            header=header,
            columns=list(columns) if columns else None,
            sheet=sheet,
            table=table,
            query=query,
        )
        return self._guarded(
            lambda: ingest(
                self.store,
                source,
                entity=into,
                fmt=format,
                mapping=mapping,
                options=opts,
                timezone=timezone,
                date_format=date_format,
                gates=gates,
                replace=replace,
                if_imported=if_imported,
                progress=progress,
            )
        )

    def clean(
        self,
        *,
        gates: QualityGates | None = None,
        default_region: str | None = None,
        drop_identical_lines: bool = False,
        progress: Any = None,
        only_runs: list[str] | None = None,
    ) -> CleanResult:
        """Standardize and deduplicate every table in place (see :mod:`segmint.clean`).

        Order lines identical in every column are removed when the source has order ids;
        without them they may be real repeat purchases and are kept and reported, unless
        ``drop_identical_lines=True``. ``only_runs``: clean only the rows these imports
        wrote (the rest was cleaned before; ``segmint update``).
        """
        self._require_data()
        try:
            return clean(
                self.store,
                gates=gates,
                default_region=default_region,
                drop_identical_lines=drop_identical_lines,
                progress=progress,
                only_runs=only_runs,
            )
        finally:
            self._release_memory()

    def quality(self, out_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """The data quality report as a dict; also written as JSON + HTML when ``out_dir``."""
        self._require_data()
        report = build_report(self.store)
        if out_dir is not None:
            json_path, html_path = write_report(report, Path(out_dir))
            if not self.read_only:  # `segmint quality` reads: it records them itself
                for path in (json_path, html_path):
                    register_report(self.store, path, "quality")
            report["files"] = {"json": str(json_path), "html": str(html_path)}
        return report

    def features(
        self,
        as_of: str | date | datetime | None = None,
        families: Sequence[str] | None = None,
        *,
        top_categories: int = 8,
    ) -> ir.Table:
        """Build the wide per-customer feature table and save it as ``customer_features``.

        ``families`` picks from behavioral, demographic, geographic, psychographic,
        firmographic and attributes (the extra columns of customers; default: all whose tables
        exist); see docs/features.md. ``as_of``
        defaults to the time of the last order; it is recorded with the run.

        >>> ws.features(as_of="2024-12-31", families=["behavioral"]).to_pandas()  # doctest: +SKIP
        """
        self._require_data()
        store = self.store
        present = set(self.tables())
        tables = {name: store.table(name) for name in CANONICAL if name in present}
        for name in tables:
            require_finite(store.db, name, step="features")
        tables |= {n: store.table(n) for n in TEXT_TABLES if n in present}  # the text family
        tables = person_tables(store, tables)  # one row per person once records are linked
        when = resolve_as_of(tables.get("orders"), as_of)
        expr = build_features(tables, when, families=families, top_categories=top_categories)
        chosen = check_families(families)
        run = RunRecord(
            kind="features",
            spec={
                "as_of": when.isoformat(),
                "families": chosen,
                "top_categories": top_categories,
                "features": [c for c in expr.columns if c != "customer_id"],
                **identity_spec(store),
            },
        )
        with store.transaction():
            store.reserve_run(run)
            store.replace_table("customer_features", expr)
            keep_pseudonymized(store, "customer_features")
            require_finite(
                store.db, "customer_features", step="features", key="customer_id", nan=False
            )
            run.row_counts = {"customers": store.count("customer_features")}
            store.record_run(run)
            audit_log.record(
                store,
                "features",
                target=run.run_id,
                detail={"as_of": when.isoformat(), "families": chosen, **run.row_counts},
            )
        self._release_memory()
        return store.table("customer_features")

    def feature_columns(self, families: Sequence[str] | None = None) -> sch.Schema:
        """The columns (an Ibis schema) :meth:`features` would write now, without writing them:
        what rules and feature choices are checked against before a run."""
        self._require_data()
        present = set(self.tables())
        tables = {name: self.store.table(name) for name in CANONICAL if name in present}
        tables |= {n: self.store.table(n) for n in TEXT_TABLES if n in present}
        tables = person_tables(self.store, tables)
        when = resolve_as_of(tables.get("orders"), None)
        return build_features(tables, when, families=families).schema()

    def value_summary(
        self,
        as_of: str | date | datetime | None = None,
        *,
        unit: str = "weeks",
        holdout_days: int | None = None,
    ) -> pd.DataFrame:
        """The repeat-purchase summary per customer that the value models fit on.

        Columns frequency, recency, T, monetary_value, revenue (``segmint.features.repeat``);
        index customer_id. With ``holdout_days`` the summary stops that many days before
        ``as_of`` (the calibration period) and adds frequency_holdout / duration_holdout.
        Customers who objected to profiling (``consent_profiling`` false) are left out.

        >>> ws.value_summary(as_of="2024-12-31", holdout_days=90)  # doctest: +SKIP
        """
        from segmint.privacy.consent import objections
        from segmint.segment.value import summary_from_orders

        self._require_table("orders")
        orders = keyed_table(self.store, "orders")  # ids as the feature table names them
        when = resolve_as_of(orders, as_of)
        objected = objections(self.store)
        if objected is not None:
            orders = orders.filter(orders.customer_id.notin(objected.customer_id))
        try:
            if holdout_days is None:
                return summary_from_orders(orders, as_of=when, unit=unit)  # type: ignore[arg-type]
            start = when - timedelta(days=int(holdout_days))
            return summary_from_orders(
                orders,
                as_of=start,
                unit=unit,  # type: ignore[arg-type]
                holdout_end=when,
            )
        finally:
            self._release_memory()

    def needs(
        self,
        n_factors: int | str = "auto",
        *,
        rule: str = "parallel",
        rotation: str | None = "varimax",
        as_of: str | date | datetime | None = None,
    ) -> FactorSolution:
        """The factor solution of the survey items in ``feedback`` (what ``method: needs``
        segments on): wide or long layout (``segmint.feedback.survey.survey_matrix``), answers
        up to ``as_of`` (default: all), customers who objected to profiling left out.
        ``n_factors``: "auto" (by ``rule``: "parallel" or "kaiser") or a number.

        >>> print(ws.needs().summary())  # doctest: +SKIP
        """
        from segmint.feedback.survey import fit_factors, survey_matrix
        from segmint.privacy.consent import objections

        self._require_table("feedback")
        feedback = keyed_table(self.store, "feedback")
        if as_of is not None and "answered_at" in feedback.columns:
            when = pd.Timestamp(as_of).to_pydatetime()
            feedback = feedback.filter(
                feedback.answered_at.isnull() | (feedback.answered_at <= when)
            )
        objected = objections(self.store)
        if objected is not None:
            feedback = feedback.filter(feedback.customer_id.notin(objected.customer_id))
        try:
            matrix = survey_matrix(feedback.to_pandas())
        finally:
            self._release_memory()
        return fit_factors(matrix, n_factors, rule, rotation)

    # -- activation ------------------------------------------------------------------------
    def export(
        self,
        segmentation: str,
        segment: str | Sequence[str],
        to: str,
        out: str | os.PathLike[str],
        *,
        run: str | None = None,
        hashed: bool | None = None,
        min_size: int | None = None,
        assume_consent: bool = False,
    ) -> ExportResult:
        """Write the audience file of one or more segments for a destination, and log it.

        ``segment`` is a segment's label or name (or a list of them); ``to`` a destination
        (``google-ads``, ``meta``, ``klaviyo``, ``mailchimp``, ``hubspot``, ``csv``: every
        module in ``segmint/activate/exporters``); ``run`` the segment run (default: the
        latest that has ``segmentation``). Customers without the destination's consent, or
        without an identifier it matches on, are left out and counted (a missing consent
        value counts as none unless ``assume_consent``); an ad audience under the platform's
        minimum (Google, Meta: 100) is refused unless ``min_size`` is lowered. ``hashed``
        defaults to what the platform takes (ad platforms: SHA-256). docs/activation.md.

        >>> r = ws.export("rfm", ["Champions", "Loyal"], to="google-ads", out="ads.csv")  # doctest: +SKIP
        >>> r.rows_written, r.left_out, r.sha256                   # doctest: +SKIP
        (412, {'no consent': 301, 'no usable identifier': 0}, '5f0c…')
        """
        from segmint.activate.export import export_audience

        if "segmentations" not in self.tables():
            raise ExportError(
                f"The workspace '{self.path}' has no segment runs yet, so there is nothing to "
                "export.",
                fix="run `segmint run` (or New segmentation in the web app) first.",
            )
        wanted = [segment] if isinstance(segment, str) else list(segment)
        result: ExportResult = self._guarded(
            lambda: export_audience(
                self.store,
                segmentation=segmentation,
                segments=wanted,
                destination=to,
                out=out,
                run_id=run,
                hashed=hashed,
                min_size=min_size,
                assume_consent=assume_consent,
            )
        )
        return result

    def exports(self) -> list[ExportResult]:
        """Every audience file written from this workspace, newest first (the export log:
        who, when, which run and segments, rows written and left out per reason, the file's
        path and SHA-256)."""
        from segmint.activate.export import list_exports

        if self._store is None and not self.path.exists():
            return []
        return list_exports(self.store)

    # -- consent ---------------------------------------------------------------------------
    def set_consent(
        self,
        customer_id: str,
        channel: str,
        status: str,
        *,
        source: str | None = None,
        at: datetime | None = None,
    ) -> ConsentEvent:
        """Record a customer's consent on ``channel`` (``email``, ``sms``, ``ads``,
        ``profiling``): ``status`` ``granted`` (or ``grant``), ``denied`` or ``revoked``.

        Sets ``customers.consent_<channel>`` (true for granted, else false) and appends a
        record to the customer's history (``consent_history``), dated ``at`` (default now,
        UTC), from ``source`` (default: who is acting). Denying ``profiling`` leaves the
        customer out of later segment runs. docs/privacy.md, "Consent".

        >>> ws.set_consent("C000042", "email", "revoked", source="support ticket 1234")  # doctest: +SKIP
        """
        from segmint.privacy.consent import set_consent

        event: ConsentEvent = set_consent(
            self.store, customer_id, channel, status, source=source, at=at
        )
        return event

    def consent_history(self, customer_id: str) -> list[ConsentEvent]:
        """Every consent record of one customer, oldest first: channel, status (granted,
        denied, revoked), when, from where (the imported file, ``segmint consent``, a token)."""
        from segmint.privacy.consent import consent_history

        if self._store is None and not self.path.exists():
            return []
        return consent_history(self.store, customer_id)

    # -- measurement -----------------------------------------------------------------------
    def design_experiment(
        self,
        name: str,
        segmentation: str,
        segments: str | Sequence[str] | None = None,
        *,
        variants: Sequence[str] = ("A", "B", "control"),
        weights: Sequence[float] | None = None,
        salt: str | None = None,
        run: str | None = None,
        control: str | None = None,
        replace: bool = False,
        export: str | None = None,
        out: str | os.PathLike[str] | None = None,
        hashed: bool | None = None,
        min_size: int | None = None,
        assume_consent: bool = False,
    ) -> Design:
        """Design a split test: assign the customers of ``segments`` (default: all of the
        segmentation) to ``variants`` by a hash of (``salt``, customer id), and store it.

        ``weights`` one per variant (default equal); ``salt`` defaults to ``name`` (the same
        salt gives the same arms again); ``run`` the segment run (default: the latest with
        ``segmentation``); ``control`` the hold-out (default: the variant named "control").
        A name already used is refused unless ``replace``. With ``export`` (a destination) and
        ``out`` (a folder), each variant but the hold-out gets its audience file, under the
        export rules. docs/experiments.md.

        >>> d = ws.design_experiment("spring", "rfm", ["Champions", "Loyal"],
        ...                          weights=[45, 45, 10])                    # doctest: +SKIP
        >>> d.counts, d.experiment_id                                          # doctest: +SKIP
        ({'champions': {'A': 1203, 'B': 1187, 'control': 262}, 'loyal': {...}}, 'e0001')
        """
        from segmint.measure.design import design_experiment

        if "segmentations" not in self.tables():
            raise ExperimentError(
                f"The workspace '{self.path}' has no segment runs yet, so there are no "
                "segments to split.",
                fix="run `segmint run` (or New segmentation in the web app) first.",
            )
        wanted = [segments] if isinstance(segments, str) else segments
        design: Design = self._guarded(
            lambda: design_experiment(
                self.store,
                name=name,
                segmentation=segmentation,
                segments=wanted,
                variants=variants,
                weights=weights,
                salt=salt,
                run=run,
                control=control,
                replace=replace,
                export=export,
                out=out,
                hashed=hashed,
                min_size=min_size,
                assume_consent=assume_consent,
            )
        )
        return design

    def experiments(self) -> list[Design]:
        """Every split test designed in this workspace, newest first."""
        from segmint.measure.design import list_experiments

        if self._store is None and not self.path.exists():
            return []
        return list_experiments(self.store)

    def campaigns(
        self,
        campaign: str | Sequence[str] = (),
        *,
        segmentation: str | None = None,
        run: str | None = None,
        by: str | Sequence[str] = ("campaign", "segment", "channel"),
        confidence: float = 0.95,
    ) -> CampaignResults:
        """Campaign results per campaign × segment × channel from ``campaign_contacts``.

        Reach, open / click / conversion rates with Wilson intervals, revenue, cost (the
        campaign's cost shared by reached contacts), ROI and cost per conversion, and the
        channel each segment converts best on, compared with the runner-up. A contact's
        segment is the file's; where the file has none, ``segmentation`` takes it from the
        run active at send time (or ``run``). ``by``: any of campaign, segment, channel.
        docs/experiments.md#campaign-results.

        >>> res = ws.campaigns(by="segment", segmentation="rfm")     # doctest: +SKIP
        >>> [c.sentence for c in res.best_channels]                  # doctest: +SKIP
        ['In Champions, email converts best (conversion 3.1 %, 95 % CI 2.8–3.4 %); sms (2.7 %) is not clearly worse (p = 0.21).']
        """
        from segmint.measure.campaigns import campaign_results, no_contacts

        if "campaign_contacts" not in self.tables():  # checked first: never create the file
            raise no_contacts(self.path)
        wanted = [campaign] if isinstance(campaign, str) else list(campaign)
        dims = [by] if isinstance(by, str) else list(by)
        return campaign_results(
            self.store,
            campaigns=wanted,
            segmentation=segmentation,
            run_id=run,
            by=dims,
            confidence=confidence,
        )

    # -- privacy ---------------------------------------------------------------------------
    def pseudonymize(self, *, dry_run: bool = False) -> dict[str, int]:
        """Replace the customer ids in every derived table (features, snapshots, assignments,
        values, export members, experiment assignments) by keyed pseudonyms, drop the direct
        identifiers they carry, and keep later writes so (the setting ``pseudonyms``). The
        canonical tables keep the real data. Rows rewritten per table (``dry_run``: would be).
        docs/privacy.md#pseudonyms.

        >>> ws.pseudonymize()                       # doctest: +SKIP
        {'customer_features': 500, 'segment_assignments': 1500, ...}
        """
        from segmint.privacy.pseudonyms import pseudonymize

        self._require_data()
        done: dict[str, int] = self._guarded(lambda: pseudonymize(self.store, dry_run=dry_run))
        return done

    # -- monitoring ------------------------------------------------------------------------
    def update(
        self,
        files: Sequence[str | os.PathLike[str]],
        *,
        refit: str = "never",
        into: str | None = None,
        spec: str | os.PathLike[str] | None = None,
        as_of: str | date | datetime | None = None,
        profile: bool = False,
        out_dir: str | os.PathLike[str] | None = None,
        progress: Any = None,
    ) -> UpdateOutput:
        """Import the new ``files`` and re-score every customer with the last run's stored
        models (``segmint update``): only the new rows are cleaned, only the feature rows they
        touch are rebuilt. ``refit``: ``never`` (default), ``auto`` (refit when a feature a
        segmentation uses drifted) or ``always``. ``spec``: a YAML spec for the quality gates,
        ranking weights and monitoring thresholds. docs/monitoring.md#incremental-updates.

        >>> done = ws.update(["orders_week_49.csv"])                  # doctest: +SKIP
        >>> done.features.rebuilt, done.monitoring["alerts"]          # doctest: +SKIP
        """
        from segmint._run.update import update_pipeline
        from segmint.spec.model import load_spec

        loaded = load_spec(Path(spec)) if spec is not None else None
        done: UpdateOutput = update_pipeline(
            self, [str(f) for f in files], refit=refit, spec=loaded, into=into, as_of=as_of,
            profile=profile, out_dir=None if out_dir is None else Path(out_dir), progress=progress,
        )  # fmt: skip
        return done

    def erase(
        self,
        *,
        customer_id: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        reason: str | None = None,
        dry_run: bool = False,
        owned_dirs: Sequence[str | os.PathLike[str]] = (),
        progress: Any = None,
    ) -> ErasureResult:
        """Erase one person, found by exactly one of id, e-mail or phone (docs/privacy.md).

        Their rows go from every customer table, their quotes from stored results and from
        the reports segmint wrote, and the workspace file is rewritten so that no deleted
        byte remains; their keyed hashes join the suppression list. ``dry_run`` changes
        nothing. The result lists the audience files that held them (withdraw them from
        the platforms).

        >>> done = ws.erase(email="ann@example.org", reason="ticket 4711")  # doctest: +SKIP
        >>> done.total_rows, [e["path"] for e in done.exports]  # doctest: +SKIP
        (23, ['/srv/exports/champions.csv'])
        """
        from segmint.privacy.erase import erase

        self._require_data()
        return self._guarded(
            lambda: erase(
                self.store,
                customer_id=customer_id,
                email=email,
                phone=phone,
                reason=reason,
                dry_run=dry_run,
                owned_dirs=owned_dirs,
                progress=progress,
            )
        )

    def audit(
        self,
        since: str | date | datetime | None = None,
        action: str | None = None,
        *,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The audit log, newest first: when, who (``actor``), from where (``origin``: ``cli``,
        ``python`` or the client's address), ``action``, ``target`` and ``detail`` (counts and
        settings, no customer data). ``since``: a date or time (UTC); ``action``: one action
        and those under it (``"token"``: ``token.create`` and ``token.revoke``).

        >>> [e["action"] for e in ws.audit(since="2026-12-01")]  # doctest: +SKIP
        ['run', 'features', 'clean', 'ingest']
        """
        moment = audit_log.parse_since(since)
        if self._store is None and not self.path.exists():
            return []
        return audit_log.entries(self.store.db, since=moment, action=action, limit=limit)

    def monitor(
        self,
        baseline: str | None = None,
        current: str | None = None,
        *,
        thresholds: MonitoringSpec | Mapping[str, Any] | None = None,
        features: Sequence[str] | None = None,
    ) -> Monitoring:
        """Compare segment run ``current`` (default: the latest) with ``baseline`` (default:
        the segment run before it): feature drift, where each segment's customers went
        (matched by segment label, so renaming a segment changes nothing), sizes, centroid
        shift, new and retired segments, and the alerts that crossed ``thresholds`` (the spec's
        ``monitoring:``; default: a segment ±20 %, more than 10 % of customers moved).
        docs/monitoring.md.

        >>> m = ws.monitor()                                           # doctest: +SKIP
        >>> m.crossed, [a["message"] for a in m.alerts]                # doctest: +SKIP
        (True, ["Segment 'Big' of spend shrank by 37% (369 → 234 customers; alert above 20%)."])
        """
        from segmint.exceptions import MonitorError
        from segmint.monitor.compare import compare_runs

        if "segmentations" not in self.tables():
            raise MonitorError(
                f"The workspace '{self.path}' has no segment runs yet, so there is nothing to "
                "compare.",
                fix="run `segmint run` twice (e.g. on last month's and this month's data), then "
                "`segmint monitor`.",
            )
        return compare_runs(self.store, baseline, current, thresholds=thresholds, features=features)

    # -- scheduled re-runs -----------------------------------------------------------------
    def add_schedule(
        self,
        cron: str,
        spec: str | os.PathLike[str],
        *,
        out_dir: str | os.PathLike[str] | None = None,
        user: str | None = None,
    ) -> Schedule:
        """Re-run the spec file ``spec`` at the times of ``cron`` (five fields, UTC: "0 6 * * 1"
        is Mondays at 06:00). Each run is compared with the segment run before it and its
        alerts are recorded; reports go to ``out_dir``/<time> (default: a folder next to the
        workspace). ``segmint serve`` runs due schedules, or :meth:`run_due_schedules` (cron).
        docs/monitoring.md#scheduled-re-runs.

        >>> s = ws.add_schedule("0 6 * * 1", "segmint.yaml")         # doctest: +SKIP
        >>> s.schedule_id, s.next_run_at                             # doctest: +SKIP
        ('s0001', datetime.datetime(2026, 12, 7, 6, 0))
        """
        from segmint._run.schedule import add_schedule

        added: Schedule = self._guarded(
            lambda: add_schedule(self, cron, spec, out_dir=out_dir, user=user)
        )
        return added

    def schedules(self) -> list[Schedule]:
        """Every schedule of the workspace, by id (cron, spec, next and last run)."""
        from segmint._run.schedule import list_schedules

        return list_schedules(self)

    def remove_schedule(self, schedule_id: str) -> Schedule:
        """Remove a schedule and its run history (the segment runs it made stay)."""
        from segmint._run.schedule import remove_schedule

        return remove_schedule(self, schedule_id)

    def run_due_schedules(
        self, now: datetime | None = None, *, progress: Any = None
    ) -> list[ScheduleRun]:
        """Run every schedule that is due at ``now`` (default: now, UTC), one after the other;
        each result has ``status`` (ok or failed), ``run_id``, ``alerts`` and ``crossed``.

        >>> [r.crossed for r in ws.run_due_schedules()]               # doctest: +SKIP
        [False]
        """
        from segmint._run.schedule import run_due

        return run_due(self, now, progress)

    # -- privacy ---------------------------------------------------------------------------
    def apply_retention(
        self,
        spec_or_policy: Spec | RetentionSpec | Mapping[str, str] | str | os.PathLike[str],
        *,
        dry_run: bool = False,
        now: datetime | None = None,
        rewrite: bool = True,
    ) -> RetentionResult:
        """Delete the rows older than the ``retention:`` limits of a spec (its file, a loaded
        :class:`Spec`, a :class:`RetentionSpec` or a mapping like ``{"orders": "3y"}``),
        counted back from ``now`` (default: now, UTC); one transaction with its audit row.
        ``dry_run`` only counts. When rows went, the workspace file is rewritten so that
        their bytes go too (``rewrite``). docs/privacy.md#retention.

        >>> ws.apply_retention({"orders": "3y", "quality_samples": "30d"}, dry_run=True).removed  # doctest: +SKIP
        {'orders': 1204, 'quality_samples': 35}
        """
        from segmint.privacy.retention import apply_retention
        from segmint.spec.model import Spec, load_spec, retention_policy
        from segmint.spec.retention import RetentionSpec

        if isinstance(spec_or_policy, str | os.PathLike):
            spec_or_policy = load_spec(Path(spec_or_policy))
        if isinstance(spec_or_policy, Spec):
            spec_or_policy = spec_or_policy.retention
        policy = (
            spec_or_policy
            if isinstance(spec_or_policy, RetentionSpec)
            else retention_policy(dict(spec_or_policy))
        )
        self._require_data()
        return apply_retention(self.store, policy, now=now, dry_run=dry_run, rewrite=rewrite)

    def dedupe(
        self,
        *,
        threshold: float | None = None,
        incremental: bool | None = None,
        options: IdentityOptions | None = None,
        progress: Any = None,
    ) -> DedupeResult:
        """Link customer records that are one person (within and across sources) with Splink
        and store the identity map (docs/identity.md). Zero configuration chooses the fields,
        comparisons and blocking rules from the customers columns; ``options`` overrides them.
        Once a model exists, new customer records are matched incrementally (``incremental``:
        None chooses, True requires, False trains anew); person ids stay stable.

        >>> done = ws.dedupe()                                   # doctest: +SKIP
        >>> done.records, done.persons, done.threshold           # doctest: +SKIP
        (3337, 1034, 0.95)
        """
        from segmint.identity import dedupe

        self._require_data()
        return dedupe(
            self.store,
            threshold=threshold,
            incremental=incremental,
            options=options,
            progress=progress,
        )

    def identity_clusters(self, *, linked_only: bool = False) -> pd.DataFrame:
        """The identity map: customer_id, cluster_id (= person_id), match_probability,
        cluster_size; ``linked_only`` keeps persons with more than one record."""
        from segmint.identity import clusters

        self._require_data()
        frame: pd.DataFrame = clusters(self.store, linked_only=linked_only)
        return frame

    def explain_identity(self, customer_id: str, other: str | None = None) -> Explanation:
        """Why a customer's records are one person: each linking pair's comparison levels and
        match weights (Splink's waterfall); with ``other``, that one pair."""
        from segmint.identity import explain

        self._require_data()
        return explain(self.store, str(customer_id), None if other is None else str(other))

    def identity_review(self, n: int = 20) -> list[dict[str, Any]]:
        """The ``n`` undecided record pairs nearest the threshold, for a person to judge."""
        from segmint.identity import review_queue

        self._require_data()
        return review_queue(self.store, n)

    def decide_identity(self, a: str, b: str, decision: str) -> DedupeResult:
        """Accept (one person), reject (two people) or clear a decision on a pair; the persons
        are reclustered at once and every later run keeps the decision."""
        from segmint.identity import decide

        self._require_data()
        return decide(self.store, str(a), str(b), decision)

    def analyze_feedback(
        self, *, topics: int | str = "auto", random_state: int = 0, progress: Any = None
    ) -> FeedbackAnalysis:
        """Analyse every feedback text: its language (non-English is flagged, not scored), its
        VADER sentiment and its topic (TF-IDF + NMF; ``topics``: "auto" or a number ≥ 2), kept
        in ``feedback_texts`` and ``feedback_topics`` for the text features and the per-segment
        summaries (docs/text.md).

        >>> done = ws.analyze_feedback()                         # doctest: +SKIP
        >>> done.n_texts, done.n_scored, len(done.topics)        # doctest: +SKIP
        (14640, 14221, 8)
        """
        from segmint.feedback.analyze import analyze_feedback

        self._require_data()
        return analyze_feedback(
            self.store, topics=topics, random_state=random_state, progress=progress
        )

    def feedback_texts(self) -> pd.DataFrame:
        """One row per analysed text: feedback_id, customer_id, language, sentiment,
        sentiment_label, topic, topic_name (what ``segmint feedback analyze --out`` writes)."""
        from segmint.feedback.analyze import analyzed_texts

        texts = analyzed_texts(self.store)
        if texts.empty:
            return texts
        names = dict(self.store.db.execute("SELECT topic, name FROM feedback_topics").fetchall())
        texts["topic_name"] = [None if pd.isna(t) else names.get(int(t)) for t in texts.topic]
        cols = ["feedback_id", "customer_id", "answered_at", "language", "language_score",
                "sentiment", "sentiment_label", "topic", "topic_name", "topic_weight"]  # fmt: skip
        return texts[cols]

    def feedback_summary(
        self, segmentation: str | None = None, run_id: str | None = None
    ) -> FeedbackSummary | None:
        """What each segment of a stored run's segmentation wrote (default: the latest segment
        run, its first segmentation), from the current analysis of the feedback texts: mean
        sentiment with a 95 % CI, share negative, topic mix and lift, complaint themes, quotes.
        None when no texts were analysed or none came from the run's customers."""
        from segmint._run import feedback_summary_of_run as summary_of_run

        run, name = self.segment_run(run_id, segmentation)
        return summary_of_run(self, run, name)

    def segment_run(
        self, run_id: str | None = None, segmentation: str | None = None
    ) -> tuple[str, str]:
        """(run id, segmentation name) of a stored segment run (default: the latest run, its
        first segmentation); SegmintError naming the known ones otherwise."""
        runs = [r["run_id"] for r in self.runs() if r["kind"] == "segment"]
        if not runs:
            raise SegmintError(
                f"The workspace '{self.path}' has no segment run yet.",
                fix="run segmint run first.",
            )
        run = run_id or runs[-1]
        if run not in runs:
            raise SegmintError(
                f"'{run}' is not a segment run of '{self.path}'.",
                fix=f"use one of: {', '.join(runs)}.",
            )
        names = [
            r[0]
            for r in self.store.db.execute(
                "SELECT name FROM segmentations WHERE run_id = ? ORDER BY rowid", [run]
            ).fetchall()
        ]
        name = segmentation or (names[0] if names else "")
        if name not in names:
            raise SegmintError(
                f"Run {run} has no segmentation '{name}'.",
                fix=f"use one of: {', '.join(names) or '(none)'}.",
            )
        return run, name

    def compact(self) -> dict[str, float]:
        """Rewrite the workspace file from its live rows: deleted rows' bytes go (after a
        retention run the server could not rewrite at once, or any bulk delete). Returns
        the sizes before and after (bytes) and the seconds taken."""
        from segmint.privacy.audit import record

        self._require_data()
        done = self.store.rewrite_file()
        record(self.store, "compact", detail=done)
        return done

    def subject_access(
        self,
        *,
        customer_id: str | None = None,
        email: str | None = None,
        phone: str | None = None,
    ) -> dict[str, Any]:
        """Everything the workspace holds about one person (GDPR art. 15 / 20), as JSON data:
        their rows in every customer-keyed table, their segments per run, the audience files
        and split tests that held them, consent history, quality samples and audit rows.
        Give one of the identifiers; an InputError when nobody matches. docs/privacy.md.

        >>> data = ws.subject_access(email="Ann@Example.org")        # doctest: +SKIP
        >>> data["customer_ids"], len(data["tables"]["orders"])      # doctest: +SKIP
        (['C000042'], 17)
        """
        from segmint.privacy.access import subject_access

        self._require_data()
        found: dict[str, Any] = subject_access(
            self.store, customer_id=customer_id, email=email, phone=phone
        )
        return found

    # -- reading ---------------------------------------------------------------------------
    # -- measurement -----------------------------------------------------------------------
    def analyze_experiment(
        self,
        source: str | os.PathLike[str],
        *,
        variant_column: str | None = None,
        control: str = "control",
        metrics: Sequence[str] | None = None,
        by: str | None = None,
        run: str | None = None,
        weights: Mapping[str, float] | None = None,
        correction: str = "holm",
        engine: str = "both",
        alpha: float = 0.05,
        customer_column: str = "customer_id",
        kind: str = "auto",
        experiment: str | None = None,
    ) -> Analysis:
        """Analyze a split test: each variant against ``control`` on each metric, overall
        and per segment of ``by``.

        ``source`` is a results file or the id of a campaign in ``campaign_contacts``;
        ``by`` a column of the rows or a segmentation of this workspace (each customer's
        segment from the stored assignments of ``run``, the latest by default). A metric
        holding only 0 and 1 is a proportion, others a mean. Frequentist (Welch t-test,
        delta method for the lift) and Bayesian (GrowthBook's effect model) results,
        p-values adjusted across segments (``correction``: holm, bh or none), the
        sample-ratio check against ``weights`` (default: the split of the designed
        ``experiment``, or of the design named like the campaign; else equal).
        docs/experiments.md.

        >>> a = ws.analyze_experiment("hillstrom.csv", variant_column="segment",
        ...     control="No E-Mail", metrics=["conversion", "spend"], by="channel")  # doctest: +SKIP
        >>> a.comparisons[0].verdict                                  # doctest: +SKIP
        'Mens E-Mail lifts conversion overall: +120 % (95 % CI …'
        """
        from segmint.measure.analyze import analyze

        result: Analysis = self._guarded(
            lambda: analyze(
                source,
                store=self.store,
                variant_column=variant_column,
                control=control,
                metrics=metrics,
                by=by,
                run=run,
                weights=weights,
                correction=correction,  # type: ignore[arg-type]
                engine=engine,  # type: ignore[arg-type]
                alpha=alpha,
                customer_column=customer_column,
                kind=kind,  # type: ignore[arg-type]
                experiment=experiment,
            )
        )
        return result

    def table(self, name: str) -> ir.Table:
        """A workspace table as an Ibis table: ``.to_pandas()``, ``.to_polars()``, ``.to_pyarrow()``."""
        self._require_table(name)
        return self.store.table(name)

    def feature_snapshot(self, run_id: str) -> ir.Table:
        """The features segment run ``run_id`` segmented on: customer_id and that run's
        feature columns, as they were (``customer_features`` is replaced by each run).

        >>> ws.feature_snapshot("0004-segment").to_pandas()  # doctest: +SKIP
        """
        return read_snapshot(self.store, run_id)

    def tables(self) -> list[str]:
        if self._store is None and not self.path.exists():
            return []
        return self.store.table_names()

    def runs(self) -> list[dict[str, Any]]:
        return self.store.run_records()

    def status(self) -> dict[str, Any]:
        """Tables with row counts, and the runs so far."""
        tables = {}
        for name in self.tables():
            if name in CANONICAL or name == "customer_features":
                tables[name] = self.store.count(name)
        return {"workspace": str(self.path), "tables": tables, "runs": self.runs()}

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    # -- helpers ---------------------------------------------------------------------------
    def _guarded(self, work: Any) -> Any:
        """Run ``work``; if it fails on a workspace this call created, leave no file behind."""
        fresh = not self.path.exists() or (
            self._store is not None and self._store.created and not self._has_runs()
        )
        try:
            result = work()
            self._release_memory()
            return result
        except BaseException:
            if fresh and str(self.path) != ":memory:" and not self._has_runs():
                self.close()
                for p in (self.path, Path(f"{self.path}.wal")):
                    p.unlink(missing_ok=True)
            raise

    def _release_memory(self) -> None:
        """After a heavy step: DuckDB's cached blocks go back to the system (Store)."""
        if self._store is not None:
            self._store.release_memory()

    def _has_runs(self) -> bool:
        if self._store is None:
            return False
        try:
            row = self._store.db.execute("SELECT count(*) FROM runs").fetchone()
        except Exception:
            return False
        return bool(row and row[0])

    def _require_data(self) -> None:
        if not any(t in CANONICAL for t in self.tables()):
            raise WorkspaceError(
                f"The workspace '{self.path}' holds no data yet.",
                fix="import a file first: segmint ingest orders.csv (or ws.ingest(...)).",
            )

    def _require_table(self, name: str) -> None:
        if name not in self.tables():
            have = [t for t in self.tables() if t in CANONICAL or t == "customer_features"]
            raise SegmintError(
                f"The workspace '{self.path}' has no table '{name}'"
                + (f" (it has {', '.join(have)})." if have else " (it holds no data yet)."),
                fix="import data into it first, e.g. segmint ingest orders.csv --as orders.",
            )
