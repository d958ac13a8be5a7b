//! A concurrent write workload and the verifier for the delivery contract.
//!
//! Table `acct(id, v)`: every committed transaction raises `v` of a few keys by exactly one, so the committed states
//! of a key are 0, 1, 2, … and the verifier can tell a missing state from a repeat. Some transactions set `v` to a
//! negative number and roll back: no negative value may ever appear. Table `journal` gets inserts and deletes, so
//! those operations are checked too.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::Value;
use sluice_testkit::TestDb;

pub struct Workload {
    stop: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Creates `acct` with `keys` rows (v = 0) and an empty `journal`.
pub fn create_tables(db: &TestDb, keys: u32) {
    db.psql(&format!(
        "CREATE TABLE acct (id int PRIMARY KEY, v bigint NOT NULL);
         INSERT INTO acct SELECT g, 0 FROM generate_series(1, {keys}) g;
         CREATE TABLE journal (id bigint PRIMARY KEY, note text);"
    ));
}

impl Workload {
    /// Starts writing: transactions of 1–4 key increments, a journal insert each, a journal delete every fifth,
    /// a rolled-back transaction every seventh.
    pub async fn start(db: &TestDb, keys: u32) -> Workload {
        Self::paced(db, keys, std::time::Duration::ZERO).await
    }

    /// The same, pausing between transactions: for sinks whose tests read back everything written (a broker),
    /// a few hundred transactions a second are plenty and keep the read-back short.
    pub async fn paced(db: &TestDb, keys: u32, pause: std::time::Duration) -> Workload {
        let client = db.client().await;
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let task = tokio::spawn(async move {
            let mut n: u64 = 0;
            while !s.load(Ordering::Relaxed) {
                n += 1;
                let k = (n.wrapping_mul(2_654_435_761) % keys as u64) as u32 + 1;
                let width = (n % 4) as u32 + 1;
                let ids: Vec<String> = (0..width).map(|i| ((k + i * 7 - 1) % keys + 1).to_string()).collect();
                let list = ids.join(",");
                if n.is_multiple_of(7) {
                    client
                        .batch_execute(&format!(
                            "BEGIN; UPDATE acct SET v = -v - 1000000 WHERE id IN ({list});
                             INSERT INTO journal VALUES ({}, 'rolled back'); ROLLBACK;",
                            -(n as i64)
                        ))
                        .await
                        .unwrap();
                    continue;
                }
                let mut sql = format!(
                    "BEGIN; UPDATE acct SET v = v + 1 WHERE id IN ({list}); INSERT INTO journal VALUES ({n}, 'tx {n}');"
                );
                if n.is_multiple_of(5) && n > 10 {
                    sql.push_str(&format!("DELETE FROM journal WHERE id = {};", n - 10));
                }
                sql.push_str("COMMIT;");
                client.batch_execute(&sql).await.unwrap();
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
            }
        });
        Workload { stop, task: Some(task) }
    }

    pub async fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }
}

/// The database's final state of `acct`.
pub async fn acct_state(db: &TestDb) -> BTreeMap<i64, i64> {
    let client = db.client().await;
    client
        .query("SELECT id::bigint, v FROM acct", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1)))
        .collect()
}

pub async fn journal_ids(db: &TestDb) -> BTreeSet<i64> {
    let client = db.client().await;
    client.query("SELECT id FROM journal", &[]).await.unwrap().iter().map(|r| r.get::<_, i64>(0)).collect()
}

/// Whether the records already show the final `v` of every key.
pub fn caught_up(records: &[Value], state: &BTreeMap<i64, i64>) -> bool {
    let mut seen: HashMap<i64, i64> = HashMap::new();
    for r in records {
        if r["topic"] != "test.public.acct" || r["value"].is_null() {
            continue;
        }
        let after = &r["value"]["after"];
        if let (Some(id), Some(v)) = (after["id"].as_i64(), after["v"].as_i64()) {
            let e = seen.entry(id).or_insert(v);
            *e = (*e).max(v);
        }
    }
    state.iter().all(|(id, v)| seen.get(id) == Some(v))
}

fn position(envelope: &Value) -> (u64, u64) {
    let seq: Vec<String> = serde_json::from_str(envelope["source"]["sequence"].as_str().expect("sequence")).unwrap();
    (seq[0].parse().unwrap(), seq[1].parse().unwrap())
}

/// Checks the delivery contract on everything the sink received:
/// - every committed state of every `acct` key from its first delivered value up to the final one is present;
/// - no state of a rolled-back transaction appears;
/// - per key, first deliveries of streamed events come in commit order (positions strictly increase);
/// - every surviving journal row was delivered; every delete of a journal row delivered before was delivered.
pub fn verify(records: &[Value], state: &BTreeMap<i64, i64>, journal: &BTreeSet<i64>) {
    let mut values: HashMap<i64, BTreeSet<i64>> = HashMap::new();
    let mut first_seen: HashMap<i64, BTreeSet<(u64, u64)>> = HashMap::new();
    let mut last_position: HashMap<i64, (u64, u64)> = HashMap::new();
    let mut journal_created = BTreeSet::new();
    let mut journal_deleted = BTreeSet::new();
    for r in records {
        let v = &r["value"];
        if v.is_null() {
            continue;
        }
        let op = v["op"].as_str().unwrap();
        match r["topic"].as_str().unwrap() {
            "test.public.acct" => {
                let after = &v["after"];
                let id = after["id"].as_i64().expect("acct events have an after image");
                let value = after["v"].as_i64().unwrap();
                assert!(value >= 0, "a rolled-back state was delivered: {r}");
                values.entry(id).or_default().insert(value);
                if op != "r" {
                    let pos = position(v);
                    if first_seen.entry(id).or_default().insert(pos) {
                        if let Some(prev) = last_position.get(&id) {
                            assert!(pos > *prev, "key {id}: position {pos:?} first delivered after {prev:?}");
                        }
                        last_position.insert(id, pos);
                    }
                }
            }
            "test.public.journal" => match op {
                "c" | "r" => {
                    let id = v["after"]["id"].as_i64().unwrap();
                    assert!(id > 0, "a rolled-back insert was delivered: {r}");
                    journal_created.insert(id);
                }
                "d" => {
                    journal_deleted.insert(v["before"]["id"].as_i64().unwrap());
                }
                other => panic!("unexpected op {other} on journal"),
            },
            _ => {}
        }
    }
    for (id, final_v) in state {
        let seen = values.get(id).unwrap_or_else(|| panic!("key {id} never delivered"));
        let first = *seen.iter().next().unwrap();
        let missing: Vec<i64> = (first..=*final_v).filter(|x| !seen.contains(x)).collect();
        assert!(missing.is_empty(), "key {id}: committed states {missing:?} missing (saw {seen:?}, final {final_v})");
        assert_eq!(seen.iter().next_back(), Some(final_v), "key {id}: a state beyond the final one");
    }
    let missing: Vec<&i64> = journal.iter().filter(|id| !journal_created.contains(id)).collect();
    assert!(missing.is_empty(), "journal rows never delivered: {missing:?}");
    let undeleted: Vec<&i64> =
        journal_created.iter().filter(|id| !journal.contains(id) && !journal_deleted.contains(id)).collect();
    assert!(undeleted.is_empty(), "journal deletes never delivered: {undeleted:?}");
}
