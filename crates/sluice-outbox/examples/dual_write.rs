//! The dual-write problem, side by side: `cargo run -p sluice-outbox --example dual_write -- "host=… dbname=…"`.
//!
//! Places 15 orders twice — publishing directly, and through the outbox — with the same crashes injected (every
//! third order dies after its commit, every fifth before it), then compares what committed with what was (or, for
//! the outbox, will be) published. Run Sluice with the outbox router on the database to see the outbox events
//! arrive (docs/outbox.md).

use sluice_outbox::dual_write::{self, crash_for, FileBroker};
use sluice_outbox::Outbox;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let conn = std::env::args().nth(1).unwrap_or_else(|| "host=localhost user=postgres dbname=postgres".into());
    let (mut client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let outbox = Outbox::table("public.outboxevent");
    dual_write::create_tables(&client, &outbox).await?;
    client.batch_execute("TRUNCATE orders").await?;
    let broker = FileBroker { path: std::env::temp_dir().join("sluice-dual-write-broker.jsonl") };
    let _ = std::fs::remove_file(&broker.path);

    let mut committed = Vec::new();
    for n in 1..=15 {
        if dual_write::place_order_direct(&mut client, &broker, n, n % 2 == 0, crash_for(n)).await? {
            committed.push(n.to_string());
        }
    }
    let published = broker.published();
    let lost: Vec<&String> = committed.iter().filter(|o| !published.contains(o)).collect();
    let invented: Vec<&String> = published.iter().filter(|o| !committed.contains(o)).collect();
    println!("direct publishing: {} orders committed, {} events published", committed.len(), published.len());
    println!("  lost (committed, never published): {lost:?}");
    println!("  invented (published, rolled back): {invented:?}");

    client.batch_execute("TRUNCATE orders, outboxevent").await?;
    let mut committed = Vec::new();
    for n in 1..=15 {
        if dual_write::place_order_with_outbox(&mut client, &outbox, n, crash_for(n)).await? {
            committed.push(n);
        }
    }
    let in_outbox: i64 = client.query_one("SELECT count(*) FROM outboxevent", &[]).await?.get(0);
    println!(
        "outbox: {} orders committed, {in_outbox} events in the outbox for Sluice to publish — one per committed order",
        committed.len()
    );
    Ok(())
}
