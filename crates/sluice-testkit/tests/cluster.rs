//! The harness itself: a cluster starts, has logical decoding on, and hands out separate databases.

#[tokio::test]
async fn throwaway_cluster_has_logical_wal_and_separate_databases() {
    let cluster = sluice_testkit::cluster();
    let a = cluster.fresh_database("harness").await;
    let b = cluster.fresh_database("harness").await;
    assert_ne!(a.name, b.name);
    let client = a.client().await;
    let row = client.query_one("SHOW wal_level", &[]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "logical");
    a.psql("CREATE TABLE only_in_a (id int)");
    assert_eq!(b.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").trim(), "0");
}
