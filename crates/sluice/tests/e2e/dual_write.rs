//! The dual-write problem, shown by the suite: the same order service with the same crashes, publishing directly
//! (events lost and invented) and through the outbox with Sluice (exactly the committed orders).

use std::collections::BTreeSet;

use sluice_outbox::dual_write::{self, crash_for, FileBroker};
use sluice_outbox::Outbox;

use super::support::{Setup, WAIT};

#[tokio::test(flavor = "multi_thread")]
async fn with_crashes_direct_publishing_loses_and_invents_events_and_the_outbox_does_neither() {
    let mut setup = Setup::new("dual_write").await;
    let mut client = setup.db.client().await;
    let outbox = Outbox::table("public.outboxevent");
    dual_write::create_tables(&client, &outbox).await.unwrap();

    // Direct: commit first on odd orders, publish first on even ones.
    let broker = FileBroker { path: setup.dir.path().join("broker.jsonl") };
    let mut committed = BTreeSet::new();
    for n in 1..=15 {
        if dual_write::place_order_direct(&mut client, &broker, n, n % 2 == 0, crash_for(n)).await.unwrap() {
            committed.insert(n.to_string());
        }
    }
    let published: BTreeSet<String> = broker.published().into_iter().collect();
    let lost: Vec<&String> = committed.difference(&published).collect();
    let invented: Vec<&String> = published.difference(&committed).collect();
    assert_eq!(lost, ["3", "9"], "committed, then the crash before the publish");
    assert_eq!(invented, ["10"], "published, then the crash before the commit");

    // Outbox: the same crashes, Sluice publishing.
    client.batch_execute("TRUNCATE orders").await.unwrap();
    setup
        .set("debezium.source.table.include.list", "public.outboxevent")
        .set("debezium.source.tombstones.on.delete", "false")
        .set("debezium.format.key", "simplestring")
        .set("debezium.transforms", "outbox")
        .set("debezium.transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter");
    let mut sluice = setup.start();
    sluice.wait_for_log("streaming started", WAIT);
    let mut committed = BTreeSet::new();
    for n in 1..=15 {
        if dual_write::place_order_with_outbox(&mut client, &outbox, n, crash_for(n)).await.unwrap() {
            committed.insert(n.to_string());
        }
    }
    let expected = committed.len();
    let records = setup.wait_for_records("the outbox events", WAIT, |r| r.len() >= expected);
    sluice.stop();
    let delivered: BTreeSet<String> = records.iter().map(|r| r["key"].as_str().unwrap().to_string()).collect();
    assert_eq!(delivered, committed, "exactly the committed orders: none lost, none invented");
    assert_eq!(records.len(), expected);
}
