//! The partition-by-day outbox layout, and the helpers that keep it trimmed.
//!
//! Deleting outbox rows costs vacuum work; dropping a whole partition costs nothing. With the outbox partitioned by
//! day on its `timestamp` column, cleanup is `DROP TABLE` of the days whose events are long delivered. Dropping is
//! safe for delivery even before Sluice read those rows: logical decoding reads the inserts from the WAL with the
//! catalogue as it was, so a dropped partition's committed rows are still published — but keep a margin anyway,
//! so a re-snapshot after a lost slot still finds them.
//!
//! Partitions are named `<parent>_YYYYMMDD`; [`drop_partitions_before`] relies on that name.

use tokio_postgres::Client;

use crate::OutboxError;

/// The DDL of a day-partitioned outbox with Debezium's columns (the primary key must include the partition key).
pub fn create_partitioned_sql(parent: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {parent} (id uuid NOT NULL DEFAULT gen_random_uuid(), \
         aggregatetype varchar(255) NOT NULL, aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, \
         timestamp timestamptz NOT NULL DEFAULT now(), payload jsonb, PRIMARY KEY (id, timestamp)) \
         PARTITION BY RANGE (timestamp)"
    )
}

/// Creates the partition for one day (`YYYY-MM-DD`) if it does not exist; returns its name.
pub async fn create_day_partition(client: &Client, parent: &str, day: &str) -> Result<String, OutboxError> {
    let suffix: String = client.query_one("SELECT to_char($1::text::date, 'YYYYMMDD')", &[&day]).await?.get(0);
    let name = format!("{parent}_{suffix}");
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {name} PARTITION OF {parent} \
             FOR VALUES FROM ('{day}'::date) TO ('{day}'::date + 1)"
        ))
        .await?;
    Ok(name)
}

/// Drops the day partitions of `parent` for days before `day` (`YYYY-MM-DD`); returns the dropped names.
pub async fn drop_partitions_before(client: &Client, parent: &str, day: &str) -> Result<Vec<String>, OutboxError> {
    let cutoff: String = client.query_one("SELECT to_char($1::text::date, 'YYYYMMDD')", &[&day]).await?.get(0);
    let rows = client
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = $1::text::regclass ORDER BY 1",
            &[&parent],
        )
        .await?;
    let base = parent.rsplit('.').next().unwrap_or(parent).to_string();
    let schema = parent.rsplit_once('.').map(|(s, _)| format!("{s}."));
    let mut dropped = Vec::new();
    for row in rows {
        let name: String = row.get(0);
        let Some(suffix) = name.strip_prefix(&format!("{base}_")) else { continue };
        if suffix.len() == 8 && suffix.bytes().all(|b| b.is_ascii_digit()) && suffix < cutoff.as_str() {
            let qualified = format!("{}{name}", schema.as_deref().unwrap_or(""));
            client.batch_execute(&format!("DROP TABLE {qualified}")).await?;
            dropped.push(qualified);
        }
    }
    Ok(dropped)
}
