"""The canonical tables of the aipl warehouse: every table, column, type and enum is named here once."""

from __future__ import annotations

from dataclasses import dataclass, field

# DOMAIN.md §2.5: the behaviour taxonomy, one row per consumer-brand-event.
EVENT_TYPES: tuple[str, ...] = (
    "exposure",
    "ad_click",
    "search_category_word",
    "search_brand_word",
    "pdp_view",
    "store_home_view",
    "live_view",
    "video_view",
    "follow",
    "member_join",
    "favorite",
    "add_to_cart",
    "trial_claim",
    "coupon_claim",
    "interaction",
    "purchase",
    "review_positive",
    "share",
)

# Ad and engagement channels (DOMAIN.md §7): 直通车 search, 引力魔方/超级推荐 display/feed, 淘宝客 affiliate,
# 直播 live, content (逛逛/短视频), crm (SMS, e-mail, push) and organic (no paid touch).
CHANNELS: tuple[str, ...] = ("search", "display", "affiliate", "live", "content", "crm", "organic")

# Campaign phases (DOMAIN.md §6): code -> zh-CN label.
PHASES: dict[str, str] = {
    "daily": "日销",
    "accumulate": "蓄水期",
    "presale": "预售期",
    "warmup": "预热期",
    "burst": "爆发期",
    "encore": "返场",
}

GENDERS: tuple[str, ...] = ("F", "M", "U")
MEMBER_STATUSES: tuple[str, ...] = ("active", "lapsed", "cancelled")

# Logical column types; the warehouse maps them to backend types.
INT, FLOAT, STRING, TIMESTAMP, DATE, BOOL = "int", "float", "string", "timestamp", "date", "bool"


@dataclass(frozen=True)
class Column:
    """One canonical column: its logical type, whether it is required, and its allowed values or range.

    >>> c = Column("amount", FLOAT, min=0, doc="paid amount of a purchase")
    >>> c.type, c.required, c.min
    ('float', False, 0)
    >>> EVENTS.column("event_type").required
    True
    """

    name: str
    type: str
    required: bool = False
    enum: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    doc: str = ""


# What a load does with a row whose key the warehouse (or an earlier line of the file) already holds.
UNIQUE = "unique"  # the repeat is quarantined as a duplicate
LATEST = "latest"  # a state table: a changed row becomes the current one, the one it replaces goes to history
MULTISET = "multiset"  # events: keyed by `key` where given; otherwise a file's rows are a multiset of whole rows
REPEATS: dict[str, str] = {
    UNIQUE: "a row whose key the warehouse or an earlier line holds is quarantined as a duplicate.",
    LATEST: "the latest row of a key wins: a changed row replaces the stored one, which moves to `{name}_history` "
            "(with `superseded_at` and the superseding `batch_id`); an unchanged row is quarantined as a repeat; "
            "columns a source does not give keep their stored values.",
    MULTISET: "rows with an `event_id` are keyed by it (a repeat is quarantined); rows without one form a "
              "multiset: a load adds only the copies of a whole row beyond those the warehouse holds, so two "
              "identical clicks in one file are two clicks, and reloading an overlapping file adds nothing twice.",
}


@dataclass(frozen=True)
class Table:
    """One canonical table; `key` names the columns whose combination must be unique, and `repeats` says what a
    load does with a row whose key is already held (`UNIQUE`, `LATEST` or `MULTISET`, see `REPEATS`).

    >>> EVENTS.name, EVENTS.names[:3], EVENTS.one_of, EVENTS.repeats, CONSUMERS.repeats
    ('events', ['consumer_id', 'brand_id', 'shop_id'], ('brand_id', 'category_id'), 'multiset', 'latest')
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    doc: str = ""
    # Columns of which at least one must be present in every row.
    one_of: tuple[str, ...] = field(default=())
    repeats: str = UNIQUE

    @property
    def names(self) -> list[str]:
        """The column names, in order.

        >>> EVENTS.names[:2]
        ['consumer_id', 'brand_id']
        """
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called `name`; a KeyError naming the table when it has none.

        >>> EVENTS.column("amount").doc
        'paid amount of a purchase'
        >>> EVENTS.column("nope")
        Traceback (most recent call last):
        KeyError: "table 'events' has no column 'nope'"
        """
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}")


CONSUMERS = Table(
    "consumers",
    (
        Column("consumer_id", STRING, required=True, doc="opaque consumer id"),
        Column("gender", STRING, enum=GENDERS, doc="F, M or U (unknown)"),
        Column("birth_year", INT, min=1900, max=2030),
        Column("city_tier", INT, min=1, max=6, doc="1 = first-tier city … 6 = sixth tier"),
        Column("purchasing_power", INT, min=1, max=5, doc="消费力分级, 1 (low) … 5 (high)"),
        Column("occupation", STRING, doc="e.g. white_collar, blue_collar, service, student, civil_servant"),
        Column("life_stage", STRING, doc="e.g. single, married, pregnant, parent, retired"),
    ),
    key=("consumer_id",),
    doc="Consumer profiles (one row per consumer).",
    repeats=LATEST,
)

PRODUCTS = Table(
    "products",
    (
        Column("item_id", STRING, required=True),
        Column("brand_id", STRING),
        Column("shop_id", STRING),
        Column("category_l1", STRING, doc="一级类目"),
        Column("category_id", STRING, doc="二级类目 (level-2 category), the key of category-scope AIPL"),
        Column("price", FLOAT, min=0),
        Column("launch_date", DATE),
    ),
    key=("item_id",),
    doc="Items with their brand, shop, category and price.",
    repeats=LATEST,
)

EVENTS = Table(
    "events",
    (
        Column("consumer_id", STRING, required=True),
        Column("brand_id", STRING),
        Column("shop_id", STRING),
        Column("item_id", STRING),
        Column("category_id", STRING),
        Column("event_type", STRING, required=True, enum=EVENT_TYPES),
        Column("channel", STRING, enum=CHANNELS),
        Column("touchpoint", STRING, doc="触点, e.g. the ad position or content surface"),
        Column("campaign_id", STRING),
        Column("creative_id", STRING),
        Column("crowd_id", STRING),
        Column("ts", TIMESTAMP, required=True, doc="the instant; days are cut in the workspace time zone"),
        Column("amount", FLOAT, min=0, doc="paid amount of a purchase"),
        Column("quantity", INT, min=1),
        Column("order_id", STRING),
        Column("event_id", STRING, doc="the source's id of the event, if it has one: the event's key"),
    ),
    key=("event_id",),
    doc="Behaviour, ad and order events; an event is identified by its `event_id` where the source gives one, "
        "else by its whole row (two identical rows are two events).",
    one_of=("brand_id", "category_id"),
    repeats=MULTISET,
)

MEMBERS = Table(
    "members",
    (
        Column("consumer_id", STRING, required=True),
        Column("brand_id", STRING, required=True),
        Column("shop_id", STRING, required=True),
        Column("joined_at", TIMESTAMP, required=True),
        Column("status", STRING, required=True, enum=MEMBER_STATUSES),
        Column("tier", STRING),
    ),
    key=("consumer_id", "shop_id"),
    doc="Brand membership per authorised shop.",
    repeats=LATEST,
)

AD_DELIVERY = Table(
    "ad_delivery",
    (
        Column("day", DATE, required=True),
        Column("brand_id", STRING, required=True),
        Column("channel", STRING, required=True, enum=CHANNELS),
        Column("campaign_id", STRING),
        Column("crowd_id", STRING),
        Column("creative_id", STRING),
        Column("impressions", INT, required=True, min=0),
        Column("clicks", INT, min=0),
        Column("cost", FLOAT, min=0),
    ),
    key=("day", "brand_id", "channel", "campaign_id", "crowd_id", "creative_id"),
    doc="Daily ad delivery per channel, campaign, crowd and creative.",
)

CAMPAIGNS = Table(
    "campaigns",
    (
        Column("campaign_id", STRING, required=True, doc="e.g. 2026_double11"),
        Column("name", STRING, doc="e.g. 双11"),
        Column("brand_id", STRING, doc="empty = a platform-wide calendar"),
        Column("phase", STRING, required=True, enum=tuple(PHASES)),
        Column("start_date", DATE, required=True),
        Column("end_date", DATE, required=True),
    ),
    key=("campaign_id", "brand_id", "phase", "start_date"),
    doc="Campaign calendars: one row per phase (a two-wave calendar repeats a phase with other dates).",
)

ASSIGNMENTS = Table(
    "assignments",
    (
        Column("experiment_id", STRING, required=True),
        Column("consumer_id", STRING, required=True),
        Column("arm", STRING, required=True),
        Column("is_control", BOOL, required=True),
        Column("assigned_at", TIMESTAMP),
    ),
    key=("experiment_id", "consumer_id"),
    doc="Randomised experiment and holdout assignments.",
)

LABELS = Table(
    "labels",
    (
        Column("consumer_id", STRING, required=True),
        Column("brand_id", STRING, required=True),
        Column("name", STRING, required=True, doc="e.g. repeat_buyer_6m"),
        Column("value", FLOAT),
    ),
    key=("consumer_id", "brand_id", "name"),
    doc="Known outcomes per consumer and brand (e.g. Tmall's repeat-buyer label).",
)

# The identifiers a DMP matches an uploaded crowd on (hashed on export): 手机号, OAID (Android), IDFA (iOS).
ID_TYPES: tuple[str, ...] = ("phone", "oaid", "idfa")

IDENTITIES = Table(
    "identities",
    (
        Column("brand_id", STRING, required=True, doc="the brand that holds the identifier (its CRM)"),
        Column("consumer_id", STRING, required=True),
        Column("id_type", STRING, required=True, enum=ID_TYPES),
        Column("id_value", STRING, required=True, doc="the phone number, OAID or IDFA as the brand holds it"),
    ),
    key=("brand_id", "consumer_id", "id_type", "id_value"),
    doc="A brand's first-party identifiers of its consumers (a consumer may have several): a crowd export "
        "writes them hashed (MD5 or SHA-256) for a DMP, through the audited, privacy-guarded path; a tenant's "
        "export reads only its own brands' identifiers.",
)

TABLES: dict[str, Table] = {
    t.name: t for t in (CONSUMERS, PRODUCTS, EVENTS, MEMBERS, AD_DELIVERY, CAMPAIGNS, ASSIGNMENTS, LABELS, IDENTITIES)
}

INDUSTRY_BENCHMARKS = Table(
    "industry_benchmarks",
    (
        Column("category_id", STRING, required=True),
        Column("metric", STRING, required=True, doc="e.g. yoy_I: a pool's size over last year's (docs/strategy.md)"),
        Column("value", FLOAT, required=True, min=0),
        Column("period", STRING, required=True, doc="e.g. 2026_double11 or 2026-11"),
        Column("source", STRING, required=True, doc="who published it, e.g. the platform's industry report"),
    ),
    key=("category_id", "metric", "period", "source"),
    doc="Industry averages a brand gets from its platform, per category and metric (the external benchmark).",
)
TABLES[INDUSTRY_BENCHMARKS.name] = INDUSTRY_BENCHMARKS

# Reports that brands export from the platforms (docs/imports.md): the platform's own figures, kept beside ours.
PLATFORM_ASSETS = Table(
    "platform_assets",
    (
        Column("day", DATE, required=True),
        Column("brand_id", STRING, required=True),
        Column("model", STRING, required=True, enum=("aipl", "deeplink")),
        Column("stage", STRING, required=True, enum=("A", "I", "P", "L", "discover", "engage", "enthuse", "perform",
                                                     "initial", "numerous", "keen")),
        Column("consumers", INT, required=True, min=0),
        Column("source", STRING, required=True, doc="the report: databank, sycm"),
    ),
    key=("day", "brand_id", "model", "stage", "source"),
    doc="Consumer-asset counts per AIPL or DEEPLINK stage as the platform reports them (达摩盘, 生意参谋).",
)

CROWD_PROFILES = Table(
    "crowd_profiles",
    (
        Column("crowd", STRING, required=True, doc="the crowd's name on the platform"),
        Column("day", DATE, required=True),
        Column("brand_id", STRING),
        Column("dimension", STRING, required=True, doc="the tag, e.g. 性别, 年龄, 城市等级"),
        Column("value", STRING, required=True, doc="the tag value, e.g. 女, 25-29"),
        Column("consumers", INT, min=0),
        Column("share", FLOAT, min=0, max=1, doc="the crowd's share holding the value"),
        Column("tgi", FLOAT, min=0, doc="the share against the comparison crowd's, × 100"),
        Column("source", STRING, required=True, doc="the report: databank, sycm"),
    ),
    key=("crowd", "day", "brand_id", "dimension", "value", "source"),
    doc="Crowd insight (人群画像) as the platform reports it: a crowd's distribution over one tag, with TGI.",
)

DELIVERY_REPORTS = Table(
    "delivery_reports",
    (
        Column("day", DATE, required=True),
        Column("brand_id", STRING, required=True),
        Column("product", STRING, required=True, doc="the ad product: wanxiangtai (万相台), ztc (直通车)"),
        Column("channel", STRING, required=True, enum=CHANNELS),
        Column("campaign_id", STRING, doc="场景 / 计划"),
        Column("crowd_id", STRING),
        Column("creative_id", STRING, doc="创意 / 推广单元"),
        Column("impressions", INT, min=0),
        Column("clicks", INT, min=0),
        Column("cost", FLOAT, min=0),
        Column("orders", INT, min=0, doc="orders the platform attributes"),
        Column("gmv", FLOAT, min=0, doc="GMV the platform attributes"),
        Column("carts", INT, min=0),
        Column("favorites", INT, min=0),
        Column("attribution_days", INT, min=1, doc="the report's attribution window"),
    ),
    key=("day", "brand_id", "product", "campaign_id", "crowd_id", "creative_id"),
    doc="Ad delivery reports as the platform gives them, with its own attributed orders and GMV.",
)

TABLES.update({t.name: t for t in (PLATFORM_ASSETS, CROWD_PROFILES, DELIVERY_REPORTS)})

# Bookkeeping tables of the warehouse.
BATCHES = Table(
    "batches",
    (
        Column("batch_id", STRING, required=True),
        Column("format", STRING, required=True),
        Column("source", STRING, required=True),
        Column("target", STRING, required=True),
        Column("read", INT, required=True),
        Column("accepted", INT, required=True),
        Column("rejected", INT, required=True),
        Column("loaded_at", TIMESTAMP, required=True),
    ),
    key=("batch_id", "target", "source"),
    doc="One row per (batch, target table, source file) loaded.",
)

QUARANTINE = Table(
    "quarantine",
    (
        Column("batch_id", STRING, required=True),
        Column("source", STRING, required=True, doc="the file"),
        Column("line", INT, required=True, doc="line number in the file (the header is line 1)"),
        Column("target", STRING, required=True, doc="the canonical table the row was meant for"),
        Column("field", STRING, required=True),
        Column("reason", STRING, required=True),
        Column("raw", STRING, doc="the rejected record as read"),
    ),
    key=("batch_id", "source", "line", "target"),
    doc="Every rejected row with the reason.",
)



def history_of(table: Table) -> Table:
    """The history table of a `LATEST` table: every row a later load replaced, with when and by which batch.

    >>> h = history_of(CONSUMERS)
    >>> h.name, h.names[-3:], h.key
    ('consumers_history', ['superseded_at', 'batch_id', 'line'], ('consumer_id', 'batch_id', 'line'))
    """
    return Table(
        f"{table.name}_history",
        (*(Column(c.name, c.type, c.required, doc=c.doc) for c in table.columns),
         Column("superseded_at", TIMESTAMP, required=True, doc="when a later row replaced this one"),
         Column("batch_id", STRING, required=True, doc="the batch whose row replaced this one"),
         Column("line", INT, required=True, doc="the line of that row in the batch's file")),
        key=(*table.key, "batch_id", "line"),
        doc=f"Earlier versions of `{table.name}` rows, replaced by a later load (the latest row wins).",
    )


HISTORY: dict[str, Table] = {t.name: history_of(t) for t in TABLES.values() if t.repeats == LATEST}
SYSTEM_TABLES: dict[str, Table] = {t.name: t for t in (BATCHES, QUARANTINE, *HISTORY.values())}


# ---------------------------------------------------------------------------------------------- derived tables
# Each table an engine derives from others, declared once like a dbt model: its name, the public function that
# writes it, the tables it reads and its columns. docs/lineage.md is generated from these (`python -m
# aipl.schema lineage`) and a test holds it true, and holds each producer's tables to these columns.
DATES, BINARY = "date[]", "binary"
# the condition codes of the asset intervals: the AIPL stages and the DEEPLINK refinements (DOMAIN.md §2.5, §3)
CONDITIONS: tuple[str, ...] = ("A", "I", "enthuse", "perform", "P", "L", "keen")
LOOK_BACKS: tuple[str, ...] = ("browse_days", "active_days", "buy_days", "adv_days")


@dataclass(frozen=True)
class Derived:
    """A derived table: `producer` (the public function that writes it) builds it from `inputs`.

    >>> ASSET_META.producer, ASSET_META.inputs
    ('aipl.assets.build', ('batches', 'events'))
    """

    name: str
    producer: str
    inputs: tuple[str, ...]
    columns: tuple[Column, ...]
    doc: str = ""

    @property
    def names(self) -> list[str]:
        """The column names, in order.

        >>> ASSET_META.names
        ['batches', 'events', 'built_through', 'hash_probe']
        """
        return [c.name for c in self.columns]


_PAIR = (Column("scope", STRING, True, enum=("brand", "category")), Column("key", STRING, True),
         Column("consumer_id", STRING, True))
ASSET_LIVE = Derived(
    "asset_live", "aipl.assets.build", ("events", "members"),
    (*_PAIR, *(Column(f"{c}_{part}", DATE if part != "touch" else STRING) for c in CONDITIONS
               for part in ("start", "end", "touch")),
     *(Column(lb, DATES) for lb in LOOK_BACKS), Column("keep_until", DATE), Column("pid", INT), Column("pid2", INT)),
    "Each consumer × brand (or category) pair's latest interval per condition and its look-back days; a new "
    "day rewrites only the pairs it touches (`aipl.assets.update`).",
)
ASSET_CLOSED = Derived(
    "asset_closed", "aipl.assets.build", ("events", "members"),
    (*_PAIR, Column("cond", STRING, True, enum=CONDITIONS), Column("start", DATE, True), Column("end", DATE, True),
     Column("touch", STRING)),
    "Condition intervals that ended before the latest one: with asset_live, every state of every day.",
)
ASSET_COUNT_CHANGES = Derived(
    "asset_count_changes", "aipl.assets.build", ("asset_live", "asset_closed"),
    (Column("scope", STRING, True), Column("key", STRING, True), Column("aipl", STRING), Column("deeplink", STRING),
     Column("day", DATE, True), Column("change", INT, True)),
    "How many consumers enter (+) or leave (−) each AIPL × DEEPLINK state per day: daily counts are running sums.",
)
ASSET_META = Derived(
    "asset_meta", "aipl.assets.build", ("batches", "events"),
    (Column("batches", INT), Column("events", INT), Column("built_through", STRING), Column("hash_probe", INT)),
    "What the asset build has seen (batches, events, last day): a stale build is detected from it.",
)
CONSUMER_IDS = Derived(
    "consumer_ids", "aipl.audience.refresh", ("consumers", "events"),
    (Column("consumer_id", STRING, True), Column("id", INT, True)),
    "A dense integer per consumer: the positions in the crowd bitmaps.",
)
CONSUMER_TAGS = Derived(
    "consumer_tags", "aipl.audience.refresh",
    ("consumer_ids", "consumers", "events", "members", "asset_live", "asset_closed"),
    (Column("id", INT, True), Column("tag", STRING, True), Column("key", STRING), Column("value", STRING),
     Column("num", INT)),
    "One row per consumer × tag (× brand or category key) of the tag catalogue, on the refresh day.",
)
TAG_BITMAPS = Derived(
    "tag_bitmaps", "aipl.audience.refresh", ("consumer_tags",),
    (Column("bkey", STRING, True), Column("tag", STRING, True), Column("key", STRING), Column("value", STRING),
     Column("num", INT), Column("bitmap", BINARY, True)),
    "A roaring bitmap of consumer ids per tag value: the crowd index.",
)
TAG_META = Derived(
    "tag_meta", "aipl.audience.refresh", ("consumer_tags",),
    (Column("day", DATE, True), Column("refreshed_at", TIMESTAMP, True),
     Column("version", STRING, doc="the inputs' row counts, last event instant and ids at the refresh (JSON)")),
    "The day the tags and bitmaps describe, and the data version they were computed from.",
)
CROWDS = Derived(
    "crowds", "aipl.audience.save", ("tag_bitmaps", "consumer_lists"),
    (Column("name", STRING, True), Column("expr", STRING, True), Column("tree", STRING, True),
     Column("coverage", INT, True), Column("source", STRING, True), Column("created", TIMESTAMP, True),
     Column("valid_until", DATE)),
    "Saved crowds: the expression, its parse tree and its size when saved (valid 90 days by default).",
)
CROWD_EXPORTS = Derived(
    "crowd_exports", "aipl.privacy.export_ids", ("consumer_ids", "identities"),
    (Column("crowd", STRING, True), Column("actor", STRING), Column("exported_at", TIMESTAMP, True),
     Column("rows", INT, True), Column("path", STRING, True), Column("sha256", STRING, True),
     Column("export_id", STRING, doc="the audit id (also in the export's manifest)"),
     Column("id_type", STRING, doc="consumer_id, phone, oaid or idfa"),
     Column("hash", STRING, doc="md5 or sha256 of each identifier; empty when written as it is")),
    "The audit of every file of consumer ids written: who, when, how many, where, its digest, the identifier and "
    "its hash.",
)
CONSUMER_LISTS = Derived(
    "consumer_lists", "aipl.clv.save_list", ("events", "members"),
    (Column("list_name", STRING, True), Column("brand_id", STRING, True), Column("consumer_id", STRING, True),
     Column("as_of", DATE, True), Column("saved_at", TIMESTAMP, True)),
    "Saved member-operations lists (recall, reactivation), usable in crowd expressions.",
)
PI_WEIGHTS = Derived(
    "pi_weights", "aipl.measure.learn_weights", ("events", "products"),
    (Column("industry", STRING, True), Column("behaviour", STRING, True), Column("weight", FLOAT, True),
     Column("pairs", INT, True), Column("as_of", DATE, True), Column("fitted_at", TIMESTAMP, True)),
    "The purchase-intent index's behaviour weights per industry, learned from next-30-day purchases.",
)

RUN_OUTCOMES: tuple[str, ...] = ("running", "ok", "failed", "nothing")
RUNS = Derived(
    "runs", "aipl.pipeline.run_daily", ("batches",),
    (Column("run_id", STRING, True), Column("step", STRING, True), Column("started", TIMESTAMP, True),
     Column("ended", TIMESTAMP), Column("rows", INT), Column("outcome", STRING, True, enum=RUN_OUTCOMES),
     Column("message", STRING), Column("day", DATE, doc="the data's as-of day when the step ended"),
     Column("batches", INT, doc="batches loaded when the step was recorded")),
    "One row per step of each daily run (`aipl run daily`): when it ran, the rows it wrote and its outcome; a run "
    "with an unfinished step is resumed by the next.",
)
MEMBER_BUCKETS = Derived(
    "member_buckets", "aipl.pipeline.run_daily", ("events", "members"),
    (Column("brand_id", STRING, True), Column("day", DATE, True), Column("bucket", STRING, True),
     Column("consumers", INT, True)),
    "Each brand's buyers and members by days since their last purchase (30/60/180 天未购), per run day.",
)
CLV_VALUE = Derived(
    "clv_value", "aipl.pipeline.run_daily", ("events", "asset_live", "asset_closed"),
    (Column("brand_id", STRING, True), Column("day", DATE, True), Column("aipl", STRING), Column("deeplink", STRING),
     Column("consumers", INT, True), Column("value", FLOAT, True)),
    "Each brand's 3-year consumer-asset value (CLV) by AIPL and DEEPLINK state, per run day.",
)
PLAN_PROGRESS = Derived(
    "plan_progress", "aipl.pipeline.run_daily", ("campaigns", "asset_live", "asset_closed"),
    (Column("brand_id", STRING, True), Column("campaign_id", STRING, True), Column("as_of", STRING, True),
     Column("pool", STRING, True), Column("day", STRING, True), Column("this_year", FLOAT),
     Column("last_year", FLOAT), Column("needed", FLOAT), Column("gap", FLOAT)),
    "Each brand's latest GTA plan: every pool's size by day against the plan (the need, else last year's curve).",
)
ALERTS = Derived(
    "alerts", "aipl.pipeline.run_daily", ("asset_live", "asset_closed", "members", "plan_progress"),
    (Column("run_id", STRING, True), Column("day", DATE), Column("rule", STRING, True), Column("kind", STRING, True),
     Column("brand_id", STRING), Column("category_id", STRING), Column("metric", STRING), Column("value", FLOAT),
     Column("reference", FLOAT), Column("change", FLOAT), Column("threshold", FLOAT), Column("message", STRING)),
    "The alerts each run raised from the `[[alerts]]` rules, with the numbers that fired them.",
)

DERIVED: dict[str, Derived] = {t.name: t for t in (
    ASSET_LIVE, ASSET_CLOSED, ASSET_COUNT_CHANGES, ASSET_META, CONSUMER_IDS, CONSUMER_TAGS, TAG_BITMAPS, TAG_META,
    CROWDS, CROWD_EXPORTS, CONSUMER_LISTS, PI_WEIGHTS, MEMBER_BUCKETS, CLV_VALUE, PLAN_PROGRESS, ALERTS, RUNS,
)}


@dataclass(frozen=True)
class BuiltWith:
    """What a derived table is built with: the aipl.toml `settings` it depends on (a section, or `section.key`) and
    the version of the `rules` that build it (raised when the code changes what the table holds). A change to
    either makes the stored table stale (`Warehouse.stale`) until `rebuild` (or the daily run) rebuilds it.

    >>> BUILT_WITH["asset_live"].settings, BUILT_WITH["asset_live"].rebuild
    (('workspace.timezone', 'assets'), 'aipl assets build')
    """

    settings: tuple[str, ...]
    rebuild: str
    rules: int = 1


_ASSET_SETTINGS = ("workspace.timezone", "assets")
BUILT_WITH: dict[str, BuiltWith] = {
    **{t: BuiltWith(_ASSET_SETTINGS, "aipl assets build") for t in ("asset_live", "asset_closed",
                                                                    "asset_count_changes")},
    **{t: BuiltWith(_ASSET_SETTINGS, "aipl crowd refresh") for t in ("consumer_tags", "tag_bitmaps")},
    "member_buckets": BuiltWith(("workspace.timezone",), "aipl run daily"),
    "clv_value": BuiltWith((*_ASSET_SETTINGS, "clv"), "aipl run daily"),
    "plan_progress": BuiltWith((*_ASSET_SETTINGS, "strategy"), "aipl run daily"),
}
BUILDS = Table(
    "builds",
    (
        Column("derived", STRING, required=True, doc="the derived table"),
        Column("fingerprint", STRING, required=True, doc="a digest of the settings and rules it was built with"),
        Column("settings", STRING, doc="those settings and the rules' version, as JSON"),
        Column("built_at", TIMESTAMP, required=True),
    ),
    key=("derived",),
    doc="What each derived table was last written with (see BUILT_WITH): a change of config shows it stale.",
)
SYSTEM_TABLES[BUILDS.name] = BUILDS

def lineage() -> str:
    """The derived tables as a Markdown lineage page (docs/lineage.md is this text), with a Mermaid graph.

    >>> "asset_live" in lineage()
    True
    """
    out = ["# Lineage of the derived tables", ""]
    out += ["Generated from `src/aipl/schema.py` (`python -m aipl.schema lineage`); do not edit by hand. Canonical",
            "tables (loaded by `aipl ingest`) are in [schema.md](schema.md).", ""]
    out += ["```mermaid", "flowchart LR"]
    for t in DERIVED.values():
        out += [f"  {src} --> {t.name}" for src in t.inputs]
    out += ["```", "", "| table | written by | reads |", "|---|---|---|"]
    out += [f"| `{t.name}` | `{t.producer}` | {', '.join(f'`{i}`' for i in t.inputs)} |" for t in DERIVED.values()]
    out += ["", "## What each table is built with", "",
            "Each write of these tables records the `aipl.toml` settings and the rules' version it was built with",
            "(table `builds`). When either changes, the table is stale: the assets are rebuilt by the next command",
            "that reads them or by the daily run; any other stale table is named (`stale: rebuild with …`) by the",
            "CLI, `GET /api/freshness` (`stale`, for the dashboard's banner) and the `X-AIPL-Stale` header, until",
            "`aipl run daily` or the command below rebuilds it.", "",
            "| table | settings | rules | rebuilt by |", "|---|---|---|---|"]
    out += [f"| `{n}` | {', '.join(f'`[{x}]`' for x in b.settings)} | {b.rules} | `{b.rebuild}` |"
            for n, b in BUILT_WITH.items()]
    for t in DERIVED.values():
        out += ["", f"## `{t.name}`", "", t.doc, "", f"Written by `{t.producer}` from "
                f"{', '.join(f'`{i}`' for i in t.inputs)}.", "", "| column | type | required |", "|---|---|---|"]
        out += [f"| `{c.name}` | {c.type} | {'yes' if c.required else ''} |" for c in t.columns]
    return "\n".join(out) + "\n"


def markdown() -> str:
    """The canonical schema as a Markdown reference (docs/schema.md is this text).

    >>> md = markdown()
    >>> md.splitlines()[0], "## `events`" in md
    ('# Canonical schema', True)
    """
    out = ["# Canonical schema", ""]
    out += ["Generated from `src/aipl/schema.py` (`python -m aipl.schema`); do not edit by hand.", ""]
    for table in (*TABLES.values(), *SYSTEM_TABLES.values()):
        out += [f"## `{table.name}`", "", table.doc, "", f"Unique key: `{', '.join(table.key)}`."]
        if table.name in TABLES:
            out.append(f" Repeats ({table.repeats}): {REPEATS[table.repeats].format(name=table.name)}")
        if table.one_of:
            out.append(f" Every row needs at least one of `{'`, `'.join(table.one_of)}`.")
        out += ["", "| column | type | required | allowed | meaning |", "|---|---|---|---|---|"]
        for c in table.columns:
            allowed = ", ".join(c.enum) if c.enum else ""
            if c.min is not None or c.max is not None:
                allowed = f"{'' if c.min is None else f'{c.min:g}'} … {'' if c.max is None else f'{c.max:g}'}"
            out.append(f"| `{c.name}` | {c.type} | {'yes' if c.required else ''} | {allowed} | {c.doc} |")
        out.append("")
    out += ["## Campaign phases", "", "| code | 中文 |", "|---|---|"]
    out += [f"| `{k}` | {v} |" for k, v in PHASES.items()]
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(lineage() if sys.argv[1:] == ["lineage"] else markdown(), end="")
