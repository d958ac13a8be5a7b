//! The replication protocol client and the decoders against a real PostgreSQL.

use std::time::Duration;

use bytes::Bytes;
use sluice_core::{Datum, Lsn};
use sluice_postgres::pgoutput::{self, PgOutputMessage};
use sluice_postgres::replication::{connect_sql, ConnectOptions, ReceiveBuffer, ReplicationClient, ReplicationMessage};
use sluice_postgres::tls::SslMode;
use sluice_postgres::PgError;
use sluice_testkit::{cluster, TestDb};

fn options(db: &TestDb, user: &str, password: Option<&str>, sslmode: SslMode) -> ConnectOptions {
    ConnectOptions {
        host: db.cluster.host.clone(),
        port: db.cluster.port,
        user: user.into(),
        password: password.map(Into::into),
        dbname: db.name.clone(),
        sslmode,
        sslrootcert: None,
        application_name: "sluice-test".into(),
        receive_buffer: ReceiveBuffer::default(),
        initial_statements: Vec::new(),
    }
}

/// Linux keeps twice the size asked for (its bookkeeping), and caps the request at `net.core.rmem_max`.
fn kernel_receive_buffer(asked: usize) -> usize {
    let max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max").unwrap().trim().parse().unwrap();
    2 * asked.min(max)
}

#[tokio::test]
async fn the_replication_socket_gets_a_sized_receive_buffer_unless_left_to_the_system() {
    let db = cluster().fresh_database("repl_window").await;
    let connect = |receive_buffer| {
        let opts = ConnectOptions { receive_buffer, ..options(&db, "postgres", None, SslMode::Disable) };
        async move { ReplicationClient::connect(&opts).await.unwrap() }
    };
    let sized = connect(ReceiveBuffer::FromRoundTrip).await;
    let asked = sized.window().expect("a same-host connection gets a sized buffer");
    assert!((64 * 1024..=4 * 1024 * 1024).contains(&asked), "{asked}");
    assert_eq!(sized.receive_buffer(), Some(kernel_receive_buffer(asked)));
    let mut fixed = connect(ReceiveBuffer::Bytes(96 * 1024)).await;
    assert_eq!((fixed.window(), fixed.receive_buffer()), (Some(96 * 1024), Some(kernel_receive_buffer(96 * 1024))));
    assert_eq!(fixed.simple_query("SELECT 1").await.unwrap()[0][0].as_deref(), Some("1"));
    assert_eq!(connect(ReceiveBuffer::System).await.window(), None);
}

#[tokio::test]
async fn trust_scram_and_md5_logins_work() {
    let db = cluster().fresh_database("repl_auth").await;
    for (user, password) in
        [("postgres", None), ("sluice_scram", Some("scram-secret")), ("sluice_md5", Some("md5-secret"))]
    {
        let mut c = ReplicationClient::connect(&options(&db, user, password, SslMode::Disable)).await.unwrap();
        let rows = c.simple_query("SELECT current_user").await.unwrap();
        assert_eq!(rows[0][0].as_deref(), Some(user));
        let sql = connect_sql(&options(&db, user, password, SslMode::Disable)).await.unwrap();
        let row = sql.query_one("SELECT current_user::text", &[]).await.unwrap();
        assert_eq!(row.get::<_, String>(0), user);
    }
}

#[tokio::test]
async fn a_wrong_password_is_an_authentication_error_naming_the_user() {
    let db = cluster().fresh_database("repl_badpw").await;
    let err =
        ReplicationClient::connect(&options(&db, "sluice_scram", Some("wrong"), SslMode::Disable)).await.err().unwrap();
    assert!(matches!(err, PgError::Auth { .. }), "{err}");
    assert!(err.to_string().contains("sluice_scram") && err.to_string().contains("pg_hba.conf"), "{err}");
    let err = ReplicationClient::connect(&options(&db, "sluice_md5", None, SslMode::Disable)).await.err().unwrap();
    assert!(err.to_string().contains("database.password"), "{err}");
}

#[tokio::test]
async fn a_wrong_password_says_so_and_names_server_database_and_user_but_never_the_password() {
    let db = cluster().fresh_database("repl_badpw_text").await;
    let server = format!("{}:{}", db.cluster.host, db.cluster.port);
    let opts = options(&db, "sluice_scram", Some("not-the-Secret-42"), SslMode::Disable);
    let replication = ReplicationClient::connect(&opts).await.err().unwrap();
    let sql = connect_sql(&opts).await.err().unwrap();
    for err in [replication, sql] {
        let text = err.to_string();
        assert!(matches!(err, PgError::Auth { .. }) && !err.is_transient(), "{text}");
        assert!(text.contains("password authentication failed for user \"sluice_scram\""), "{text}");
        assert!(text.contains(&server) && text.contains(&format!("database `{}`", db.name)), "{text}");
        assert!(!text.contains("db error") && !text.contains("not-the-Secret-42"), "{text}");
    }
}

#[tokio::test]
async fn an_unreachable_server_is_named_with_host_port_database_and_user() {
    let db = cluster().fresh_database("repl_unreachable").await;
    let port = sluice_testkit::free_port();
    let opts = ConnectOptions { port, ..options(&db, "sluice_scram", Some("not-the-Secret-42"), SslMode::Disable) };
    let replication = ReplicationClient::connect(&opts).await.err().unwrap();
    let sql = connect_sql(&opts).await.err().unwrap();
    for err in [replication, sql] {
        let text = err.to_string();
        assert!(matches!(err, PgError::Connect { .. }) && err.is_transient(), "{text}");
        assert!(text.contains(&format!("{}:{port}", db.cluster.host)), "{text}");
        assert!(text.contains(&format!("database `{}`", db.name)) && text.contains("user `sluice_scram`"), "{text}");
        assert!(text.to_lowercase().contains("refused"), "{text}");
        assert!(!text.contains("error connecting to server") && !text.contains("not-the-Secret-42"), "{text}");
    }
}

#[tokio::test]
async fn tls_require_encrypts_and_verify_full_without_a_trusted_ca_fails() {
    let db = cluster().fresh_database("repl_tls").await;
    if !db.cluster.tls() {
        eprintln!("the test server has no TLS (openssl missing); skipping");
        return;
    }
    let mut c = ReplicationClient::connect(&options(&db, "sluice_scram", Some("scram-secret"), SslMode::Require))
        .await
        .unwrap();
    let rows = c.simple_query("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()").await.unwrap();
    assert_eq!(rows[0][0].as_deref(), Some("true"));
    let sql = connect_sql(&options(&db, "postgres", None, SslMode::Require)).await.unwrap();
    let ssl: bool =
        sql.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap().get(0);
    assert!(ssl);
    let mut verify = options(&db, "postgres", None, SslMode::VerifyFull);
    let dir = tempfile::tempdir().unwrap();
    let other_ca = dir.path().join("ca.pem");
    std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other"])
        .arg("-keyout")
        .arg(dir.path().join("k.pem"))
        .arg("-out")
        .arg(&other_ca)
        .output()
        .unwrap();
    verify.sslrootcert = Some(other_ca.clone());
    let err = ReplicationClient::connect(&verify).await.err().unwrap();
    assert!(matches!(err, PgError::Tls(_)), "{err}");
    let message = err.to_string();
    assert!(message.contains("sslmode=verify-full") && message.contains(&other_ca.display().to_string()), "{message}");
    assert!(!err.is_transient());
    let err = connect_sql(&verify).await.err().unwrap();
    assert!(matches!(err, PgError::Tls(_)) && !err.is_transient(), "{err}");
    let mut preferred = ReplicationClient::connect(&options(&db, "postgres", None, SslMode::Prefer)).await.unwrap();
    let rows = preferred.simple_query("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()").await.unwrap();
    assert_eq!(rows[0][0].as_deref(), Some("true"), "prefer encrypts when the server offers TLS");
    let mut plain = ReplicationClient::connect(&options(&db, "postgres", None, SslMode::Disable)).await.unwrap();
    let rows = plain.simple_query("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()").await.unwrap();
    assert_eq!(rows[0][0].as_deref(), Some("false"));
}

#[tokio::test]
async fn verify_ca_trusts_a_self_signed_server_certificate_listed_in_sslrootcert() {
    let db = cluster().fresh_database("repl_verify_ca").await;
    if !db.cluster.tls() {
        eprintln!("the test server has no TLS (openssl missing); skipping");
        return;
    }
    // The harness's certificate is what PostgreSQL's documentation suggests: `openssl req -x509`, so CA:TRUE, with
    // CN=localhost and no subject alternative names.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.crt");
    std::fs::write(&root, db.psql("SELECT pg_read_file('server.crt')").trim()).unwrap();
    let mut verify_ca = options(&db, "postgres", None, SslMode::VerifyCa);
    verify_ca.sslrootcert = Some(root.clone());
    let mut c = ReplicationClient::connect(&verify_ca).await.unwrap();
    let rows = c.simple_query("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()").await.unwrap();
    assert_eq!(rows[0][0].as_deref(), Some("true"));
    let sql = connect_sql(&verify_ca).await.unwrap();
    assert_eq!(sql.query_one("SELECT 1", &[]).await.unwrap().get::<_, i32>(0), 1);
    // verify-full still checks the name: the certificate names no host.
    let mut verify_full = verify_ca.clone();
    verify_full.sslmode = SslMode::VerifyFull;
    let err = ReplicationClient::connect(&verify_full).await.err().unwrap();
    assert!(matches!(err, PgError::Tls(_)) && err.to_string().contains("not valid for name"), "{err}");
}

#[tokio::test]
async fn identify_system_reports_the_database() {
    let db = cluster().fresh_database("repl_identify").await;
    let mut c = ReplicationClient::connect(&options(&db, "postgres", None, SslMode::Disable)).await.unwrap();
    let id = c.identify_system().await.unwrap();
    assert_eq!(id.dbname.as_deref(), Some(db.name.as_str()));
    assert!(id.xlogpos > Lsn::ZERO && id.timeline >= 1);
}

#[tokio::test]
async fn an_exported_snapshot_shows_exactly_the_rows_committed_before_the_slot() {
    let db = cluster().fresh_database("repl_snapshot").await;
    db.psql("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);");
    let mut c = ReplicationClient::connect(&options(&db, "postgres", None, SslMode::Disable)).await.unwrap();
    let slot = c.create_logical_slot(&format!("{}_snap", db.name), false, true).await.unwrap();
    db.psql("INSERT INTO t VALUES (3)");
    let reader = connect_sql(&options(&db, "postgres", None, SslMode::Disable)).await.unwrap();
    reader
        .batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '{}'",
            slot.snapshot_name.unwrap()
        ))
        .await
        .unwrap();
    let n: i64 = reader.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0);
    assert_eq!(n, 2);
}

async fn next_data(reader: &mut sluice_postgres::replication::ReplicationReader) -> Bytes {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), reader.next()).await.expect("a message").unwrap().unwrap() {
            ReplicationMessage::XLogData { data, .. } => return data,
            ReplicationMessage::Keepalive { .. } => {}
        }
    }
}

#[tokio::test]
async fn streaming_delivers_pgoutput_and_status_updates_move_the_slot() {
    let db = cluster().fresh_database("repl_stream").await;
    db.psql("CREATE TABLE t (id int PRIMARY KEY, s text); CREATE PUBLICATION p FOR TABLE t;");
    let mut c = ReplicationClient::connect(&options(&db, "postgres", None, SslMode::Disable)).await.unwrap();
    let slot_name = format!("{}_s", db.name);
    let slot = c.create_logical_slot(&slot_name, false, false).await.unwrap();
    db.psql("INSERT INTO t VALUES (1, 'tab\there'); SELECT pg_logical_emit_message(true, 'pfx', 'hello');");
    let stream = c
        .start_replication(
            &slot_name,
            Lsn::ZERO,
            &[("proto_version", "1"), ("publication_names", "p"), ("messages", "true")],
        )
        .await
        .unwrap();
    let (mut reader, mut status) = stream.split();
    let mut kinds = Vec::new();
    let mut end = Lsn::ZERO;
    while kinds.last() != Some(&'C') {
        let msg = pgoutput::decode(&next_data(&mut reader).await).unwrap();
        match &msg {
            PgOutputMessage::Insert(i) => assert_eq!(i.new, vec![Datum::text("1"), Datum::text("tab\there")]),
            PgOutputMessage::Commit(c) => end = c.end_lsn,
            _ => {}
        }
        kinds.push(match msg {
            PgOutputMessage::Begin(_) => 'B',
            PgOutputMessage::Relation(_) => 'R',
            PgOutputMessage::Insert(_) => 'I',
            PgOutputMessage::Commit(_) => 'C',
            PgOutputMessage::Message(_) => 'M',
            _ => '?',
        });
    }
    assert_eq!(kinds, ['B', 'R', 'I', 'C']);
    assert!(end > slot.consistent_point);
    status.send_status(end, end, end, false).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let confirmed =
            db.psql(&format!("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '{slot_name}'"));
        if confirmed.trim().parse::<Lsn>().unwrap() >= end {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "confirmed_flush_lsn never reached {end}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The transactional message is a transaction of its own.
    let mut saw_message = false;
    while !saw_message {
        let data = next_data(&mut reader).await;
        saw_message = matches!(pgoutput::decode(&data).unwrap(), PgOutputMessage::Message(m) if m.transactional && &m.content[..] == b"hello");
    }
    status.finish().await.unwrap();
}

/// Many times the paced window, over TLS (a record per read) and over plain TCP: every row arrives, in order.
#[tokio::test]
async fn a_paced_stream_delivers_a_transaction_many_windows_long_whole_and_in_order_with_and_without_tls() {
    let db = cluster().fresh_database("repl_paced").await;
    db.psql("CREATE TABLE t (id int PRIMARY KEY, s text); CREATE PUBLICATION p FOR TABLE t;");
    for (i, sslmode) in [SslMode::Require, SslMode::Disable].into_iter().enumerate() {
        let mut c = ReplicationClient::connect(&options(&db, "postgres", None, sslmode)).await.unwrap();
        assert!(c.window().is_some());
        let slot_name = format!("{}_{i}", db.name);
        c.create_logical_slot(&slot_name, false, false).await.unwrap();
        db.psql(&format!(
            "INSERT INTO t SELECT g + {i} * 100000, repeat(md5(g::text), 8) FROM generate_series(1, 20000) g"
        ));
        let stream =
            c.start_replication(&slot_name, Lsn::ZERO, &[("proto_version", "1"), ("publication_names", "p")]).await;
        let (mut reader, status) = stream.unwrap().split();
        let mut ids = Vec::new();
        loop {
            match pgoutput::decode(&next_data(&mut reader).await).unwrap() {
                PgOutputMessage::Insert(insert) => ids.push(match &insert.new[0] {
                    Datum::Text(id) => std::str::from_utf8(id).unwrap().parse::<i32>().unwrap(),
                    other => panic!("{other:?}"),
                }),
                PgOutputMessage::Commit(_) => break,
                _ => {}
            }
        }
        assert_eq!(ids, (1..=20000).map(|g| g + i as i32 * 100000).collect::<Vec<_>>(), "{sslmode:?}");
        status.finish().await.unwrap();
    }
}

#[tokio::test]
async fn a_role_without_replication_gets_sqlstate_42501() {
    let db = cluster().fresh_database("repl_norepl").await;
    let err = ReplicationClient::connect(&options(&db, "sluice_norepl", None, SslMode::Disable)).await.err().unwrap();
    assert_eq!(err.sqlstate(), Some("42501"), "{err}");
}

#[tokio::test]
async fn a_slot_active_elsewhere_gets_sqlstate_55006_and_failed_queries_keep_the_connection() {
    let db = cluster().fresh_database("repl_active").await;
    db.psql("CREATE PUBLICATION p FOR ALL TABLES");
    let mut a = ReplicationClient::connect(&options(&db, "postgres", None, SslMode::Disable)).await.unwrap();
    let busy = format!("{}_busy", db.name);
    a.create_logical_slot(&busy, false, false).await.unwrap();
    let _stream =
        a.start_replication(&busy, Lsn::ZERO, &[("proto_version", "1"), ("publication_names", "p")]).await.unwrap();
    let mut b = ReplicationClient::connect(&options(&db, "postgres", None, SslMode::Disable)).await.unwrap();
    let err = b.simple_query("SELECT * FROM no_such_table").await.err().unwrap();
    assert_eq!(err.sqlstate(), Some("42P01"));
    assert_eq!(b.simple_query("SELECT 1").await.unwrap()[0][0].as_deref(), Some("1"));
    b.simple_query("CREATE TABLE c (i int)").await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(30), b.simple_query("COPY c FROM STDIN"))
        .await
        .expect("COPY FROM STDIN must not wait for data forever")
        .err()
        .unwrap();
    assert_eq!(err.sqlstate(), Some("57014"), "COPY FROM STDIN is refused, not left waiting: {err}");
    assert_eq!(b.simple_query("SELECT count(*) FROM c").await.unwrap()[0][0].as_deref(), Some("0"));
    let err = b
        .start_replication(&busy, Lsn::ZERO, &[("proto_version", "1"), ("publication_names", "p")])
        .await
        .err()
        .unwrap();
    assert_eq!(err.sqlstate(), Some("55006"), "{err}");
}

#[tokio::test]
async fn the_decoders_agree_with_the_server_on_real_bytes() {
    let db = cluster().fresh_database("pgoutput_server").await;
    let slot = format!("{}_s", db.name);
    db.psql(&format!(
        "CREATE TABLE t (id int PRIMARY KEY, s text); ALTER TABLE t REPLICA IDENTITY FULL; CREATE PUBLICATION p FOR TABLE t;
         SELECT pg_create_logical_replication_slot('{slot}', 'pgoutput');
         INSERT INTO t VALUES (1, 'a'), (2, NULL); UPDATE t SET s = 'b' WHERE id = 1; DELETE FROM t WHERE id = 2;
         SELECT pg_logical_emit_message(false, 'p', 'x'); TRUNCATE t;"
    ));
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT data FROM pg_logical_slot_get_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', 'p', 'messages', 'true')",
            &[&slot],
        )
        .await
        .unwrap();
    let messages: Vec<PgOutputMessage> =
        rows.iter().map(|r| pgoutput::decode(&Bytes::from(r.get::<_, Vec<u8>>(0))).unwrap()).collect();
    let update = messages
        .iter()
        .find_map(|m| match m {
            PgOutputMessage::Update(u) => Some(u),
            _ => None,
        })
        .unwrap();
    assert_eq!(update.old.as_ref().unwrap().1, vec![Datum::text("1"), Datum::text("a")]);
    assert_eq!(update.new, vec![Datum::text("1"), Datum::text("b")]);
    let delete = messages
        .iter()
        .find_map(|m| match m {
            PgOutputMessage::Delete(d) => Some(d),
            _ => None,
        })
        .unwrap();
    assert_eq!(delete.old, vec![Datum::text("2"), Datum::Null]);
    assert!(messages.iter().any(|m| matches!(m, PgOutputMessage::Truncate(t) if t.relation_oids.len() == 1)));
    assert!(messages.iter().any(|m| matches!(m, PgOutputMessage::Message(m) if !m.transactional && m.prefix == "p")));

    // COPY text of tricky values parses back to what SELECT returns.
    db.psql("CREATE TABLE tricky (id int, s text); INSERT INTO tricky VALUES (1, E'tab\\there'), (2, E'new\\nline'), (3, E'back\\\\slash'), (4, NULL), (5, 'üñí€');");
    use futures_util::StreamExt;
    let stream = client.copy_out("COPY (SELECT id, s FROM tricky ORDER BY id) TO STDOUT").await.unwrap();
    futures_util::pin_mut!(stream);
    let mut parser = sluice_postgres::copy_text::CopyTextParser::new(2);
    let mut parsed = Vec::new();
    while let Some(chunk) = stream.next().await {
        parser.push(chunk.unwrap());
        while let Some(row) = parser.next_row().unwrap() {
            parsed.push(row);
        }
    }
    parser.finish().unwrap();
    let expected: Vec<Option<String>> =
        client.query("SELECT s FROM tricky ORDER BY id", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    let got: Vec<Option<String>> =
        parsed.iter().map(|r| r[1].as_bytes().map(|b| String::from_utf8(b.to_vec()).unwrap())).collect();
    assert_eq!(got, expected);
}
