//! The DynamoDB tables the stack declares in template.yaml. All key attributes
//! are strings; every table is on-demand. A test keeps this and the template equal.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamView {
    NewImage,
    NewAndOldImages,
}

#[derive(Debug, Clone, Copy)]
pub struct IndexSpec {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: Option<&'static str>,
    /// Projects the keys only (readers fetch the items); otherwise every attribute.
    pub keys_only: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// Resource name in template.yaml.
    pub logical_id: &'static str,
    /// Environment variable that carries the table name to the functions.
    pub env_var: &'static str,
    pub partition_key: &'static str,
    pub sort_key: Option<&'static str>,
    pub indexes: &'static [IndexSpec],
    pub stream: Option<StreamView>,
    pub ttl_attribute: Option<&'static str>,
}

pub const EVENTS: TableSpec = TableSpec {
    logical_id: "EventsTable",
    env_var: "EVENTS_TABLE",
    partition_key: "pk",
    sort_key: None,
    indexes: &[
        IndexSpec {
            name: "by_entity",
            partition_key: "gsi1pk",
            sort_key: Some("gsi1sk"),
            keys_only: false,
        },
        // A tenant's events in time order, for replays; spread over a few
        // partition keys so one busy tenant stays within a partition's write rate.
        IndexSpec {
            name: "by_time",
            partition_key: "gsi2pk",
            sort_key: Some("gsi2sk"),
            keys_only: true,
        },
    ],
    stream: Some(StreamView::NewImage),
    ttl_attribute: Some("expires_at"),
};

/// Sort-key prefix of subscriptions in their table.
pub const SUBSCRIPTION_RECORDS: &str = "SUB";
/// Sort-key prefix of jobs in their table.
pub const JOB_RECORDS: &str = "JOB";

/// Event subscriptions (`sk = SUB#<id>`).
pub const SUBSCRIPTIONS: TableSpec = TableSpec {
    logical_id: "SubscriptionsTable",
    env_var: "SUBSCRIPTIONS_TABLE",
    partition_key: "pk",
    sort_key: Some("sk"),
    indexes: &[],
    stream: None,
    ttl_attribute: None,
};

/// Notification jobs (`sk = JOB#<id>`); schedule-sync follows the stream.
pub const JOBS: TableSpec = TableSpec {
    logical_id: "JobsTable",
    env_var: "JOBS_TABLE",
    partition_key: "pk",
    sort_key: Some("sk"),
    indexes: &[],
    stream: Some(StreamView::NewAndOldImages),
    ttl_attribute: None,
};

/// What notification jobs read, fed by events: wishlists (`pk = T#<tenant>#S#<shopper>`,
/// `sk = WISHLIST`), product states (`pk = T#<tenant>#P#<product>`, `sk = STATE`) and
/// the shoppers wishing for a product (same `pk`, `sk = S#<shopper>`). The index
/// lists a tenant's wishlists and its products by last change.
pub const PROJECTIONS: TableSpec = TableSpec {
    logical_id: "ProjectionsTable",
    env_var: "PROJECTIONS_TABLE",
    partition_key: "pk",
    sort_key: Some("sk"),
    indexes: &[IndexSpec {
        name: "by_kind",
        partition_key: "gsi1pk",
        sort_key: Some("gsi1sk"),
        keys_only: false,
    }],
    stream: None,
    ttl_attribute: None,
};

/// Sort-key prefix of event definitions in their table.
pub const DEFINITION_RECORDS: &str = "DEF";
/// Sort-key prefix of the versions a definition had before its current one.
pub const DEFINITION_VERSION_RECORDS: &str = "DEFV";

/// Event definitions (`sk = DEF#<NAME>`, the name upper case) and their earlier
/// versions (`sk = DEFV#<NAME>#<version, 10 digits>`).
pub const DEFINITIONS: TableSpec = TableSpec {
    logical_id: "DefinitionsTable",
    env_var: "DEFINITIONS_TABLE",
    partition_key: "pk",
    sort_key: Some("sk"),
    indexes: &[],
    stream: None,
    ttl_attribute: None,
};

/// What at most one event may hold: unique keys of defined events (expiring with
/// them) and known customers. See `events::item`.
pub const CLAIMS: TableSpec = TableSpec {
    logical_id: "ClaimsTable",
    env_var: "CLAIMS_TABLE",
    partition_key: "pk",
    sort_key: None,
    indexes: &[],
    stream: None,
    ttl_attribute: Some("expires_at"),
};

/// Sort-key prefix of loyalty rules in their table.
pub const RULE_RECORDS: &str = "RULE";

/// The loyalty engine's state: a tenant's rules (`pk = T#<tenant>`,
/// `sk = RULE#<id>`).
pub const LOYALTY: TableSpec = TableSpec {
    logical_id: "LoyaltyTable",
    env_var: "LOYALTY_TABLE",
    partition_key: "pk",
    sort_key: Some("sk"),
    indexes: &[],
    stream: None,
    ttl_attribute: None,
};

/// What happened to each subscription's deliveries, under
/// `pk = T#<tenant>#S#<subscription>`: its dead letters (`sk = DEAD#<time>#<event>`),
/// expiring after `DeadLetterRetentionDays`.
pub const DELIVERIES: TableSpec = TableSpec {
    logical_id: "DeliveriesTable",
    env_var: "DELIVERIES_TABLE",
    partition_key: "pk",
    sort_key: Some("sk"),
    indexes: &[],
    stream: None,
    ttl_attribute: Some("expires_at"),
};

/// Each tenant's API requests per second (`pk = T#<tenant>#<second>`), for its
/// request rate (http/rate.rs), and each rate-limited subscription's deliveries
/// per second (`S#<tenant>#<subscription>#<second>`, fanout/pacing.rs).
pub const RATES: TableSpec = TableSpec {
    logical_id: "RatesTable",
    env_var: "RATES_TABLE",
    partition_key: "pk",
    sort_key: None,
    indexes: &[],
    stream: None,
    ttl_attribute: Some("expires_at"),
};

pub const TABLES: &[TableSpec] = &[
    EVENTS,
    SUBSCRIPTIONS,
    JOBS,
    PROJECTIONS,
    DEFINITIONS,
    CLAIMS,
    LOYALTY,
    DELIVERIES,
    RATES,
];
