//! The byte parsers against bytes a real PostgreSQL produced: pgoutput from `pg_logical_slot_get_binary_changes`, and
//! `COPY … TO STDOUT` text from `copy_out`.

use std::collections::HashMap;

use bytes::Bytes;
use futures_util::StreamExt;
use sluice_core::{Datum, Lsn};
use sluice_postgres::copy_text::CopyTextParser;
use sluice_postgres::pgoutput::{self, OldTupleKind, PgOutputMessage};
use sluice_testkit::cluster;

/// One line per message, with the values that do not change from run to run (no LSNs, xids, times or OIDs).
fn summary(m: &PgOutputMessage, relations: &mut HashMap<u32, String>) -> String {
    let tuple = |t: &[Datum]| {
        let values: Vec<String> = t
            .iter()
            .map(|d| match d {
                Datum::Null => "NULL".to_owned(),
                Datum::Unchanged => "UNCHANGED".to_owned(),
                Datum::Text(b) if b.len() > 40 => format!("<{} bytes>", b.len()),
                Datum::Text(b) => String::from_utf8_lossy(b).into_owned(),
            })
            .collect();
        format!("[{}]", values.join(", "))
    };
    let kind = |k: &OldTupleKind| match k {
        OldTupleKind::Key => "key",
        OldTupleKind::Full => "full",
    };
    match m {
        PgOutputMessage::Begin(_) => "BEGIN".into(),
        PgOutputMessage::Commit(c) => format!("COMMIT flags={}", c.flags),
        PgOutputMessage::Origin(o) => format!("ORIGIN {} at {}", o.name, o.commit_lsn),
        PgOutputMessage::Relation(r) => {
            relations.insert(r.oid, r.name.clone());
            let columns: Vec<String> = r
                .columns
                .iter()
                .map(|c| format!("{}{}:{}", c.name, if c.key { "*" } else { "" }, c.type_modifier))
                .collect();
            format!(
                "RELATION {}.{} identity={} ({})",
                r.namespace,
                r.name,
                r.replica_identity as char,
                columns.join(" ")
            )
        }
        PgOutputMessage::Type(t) => format!("TYPE {}.{}", t.namespace, t.name),
        PgOutputMessage::Insert(i) => format!("INSERT {} {}", relations[&i.relation_oid], tuple(&i.new)),
        PgOutputMessage::Update(u) => format!(
            "UPDATE {} old={} new={}",
            relations[&u.relation_oid],
            u.old.as_ref().map_or("none".into(), |(k, t)| format!("{} {}", kind(k), tuple(t))),
            tuple(&u.new)
        ),
        PgOutputMessage::Delete(d) => {
            format!("DELETE {} {} {}", relations[&d.relation_oid], kind(&d.old_kind), tuple(&d.old))
        }
        PgOutputMessage::Truncate(t) => {
            let mut names: Vec<&str> = t.relation_oids.iter().map(|o| relations[o].as_str()).collect();
            names.sort();
            format!("TRUNCATE {names:?} cascade={} restart_identity={}", t.cascade, t.restart_identity)
        }
        PgOutputMessage::Message(m) => {
            format!("MESSAGE transactional={} {} {:?}", m.transactional, m.prefix, String::from_utf8_lossy(&m.content))
        }
    }
}

#[tokio::test]
async fn the_decoder_reads_every_message_kind_the_server_sends() {
    let db = cluster().fresh_database("pgoutput").await;
    let slot = format!("{}_s", db.name);
    let origin = format!("{}_o", db.name);
    db.psql(&format!(
        "CREATE TYPE mood AS ENUM ('sad', 'happy');
         CREATE TABLE items (id int PRIMARY KEY, name varchar(20), note text, big text);
         ALTER TABLE items ALTER COLUMN big SET STORAGE EXTERNAL;
         CREATE TABLE full_t (id serial PRIMARY KEY, m mood);
         ALTER TABLE full_t REPLICA IDENTITY FULL;
         CREATE TABLE child (id int REFERENCES full_t);
         CREATE PUBLICATION pub FOR TABLE items, full_t, child;
         SELECT pg_create_logical_replication_slot('{slot}', 'pgoutput');
         SELECT pg_replication_origin_create('{origin}');"
    ));
    let client = db.client().await;
    // One statement per call: several statements in one simple query would share one implicit transaction.
    for statement in [
        "INSERT INTO items VALUES (1, 'a', NULL, repeat('x', 5000))",
        "UPDATE items SET name = 'b' WHERE id = 1",
        "UPDATE items SET id = 2 WHERE id = 1",
        "DELETE FROM items WHERE id = 2",
        "INSERT INTO full_t (m) VALUES ('sad')",
        "UPDATE full_t SET m = 'happy'",
        "DELETE FROM full_t",
        "BEGIN; SELECT pg_logical_emit_message(true, 'p', 'x'); SELECT pg_logical_emit_message(false, 'q', 'now'); COMMIT",
        "TRUNCATE full_t RESTART IDENTITY CASCADE",
        &format!("SELECT pg_replication_origin_session_setup('{origin}')"),
        "BEGIN; SELECT pg_replication_origin_xact_setup('0/ABCDEF', now());
         INSERT INTO items VALUES (3, E'tab\\there', 'ünï€', ''); COMMIT",
        "SELECT pg_replication_origin_session_reset()",
    ] {
        client.batch_execute(statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let rows = client
        .query(
            "SELECT data FROM pg_logical_slot_get_binary_changes($1, NULL, NULL,
               'proto_version', '1', 'publication_names', 'pub', 'messages', 'true')",
            &[&slot],
        )
        .await
        .unwrap();
    let messages: Vec<PgOutputMessage> = rows
        .iter()
        .map(|r| {
            let bytes = Bytes::from(r.get::<_, Vec<u8>>(0));
            pgoutput::decode(&bytes).unwrap_or_else(|e| panic!("{e}: {bytes:?}"))
        })
        .collect();

    let mut relations = HashMap::new();
    let got: Vec<String> = messages.iter().map(|m| summary(m, &mut relations)).collect();
    let origin_line = format!("ORIGIN {origin} at 0/ABCDEF");
    let expected = [
        "BEGIN",
        // A relation is described once per decoding session, before its first change, ...
        "RELATION public.items identity=d (id*:-1 name:24 note:-1 big:-1)",
        "INSERT items [1, a, NULL, <5000 bytes>]",
        "COMMIT flags=0",
        "BEGIN",
        // ... an UPDATE of a non-key column carries no old tuple, and the untouched TOASTed value is not sent ...
        "UPDATE items old=none new=[1, b, NULL, UNCHANGED]",
        "COMMIT flags=0",
        "BEGIN",
        // ... a key change carries the old key, other columns null ...
        "UPDATE items old=key [1, NULL, NULL, NULL] new=[2, b, NULL, UNCHANGED]",
        "COMMIT flags=0",
        "BEGIN",
        "DELETE items key [2, NULL, NULL, NULL]",
        "COMMIT flags=0",
        "BEGIN",
        // ... a user-defined column type is described before the relation that uses it ...
        "TYPE public.mood",
        "RELATION public.full_t identity=f (id*:-1 m*:-1)",
        "INSERT full_t [1, sad]",
        "COMMIT flags=0",
        "BEGIN",
        // ... REPLICA IDENTITY FULL sends every old value, and marks every column as key.
        "UPDATE full_t old=full [1, sad] new=[1, happy]",
        "COMMIT flags=0",
        "BEGIN",
        "DELETE full_t full [1, happy]",
        "COMMIT flags=0",
        // A non-transactional message arrives at once, outside any Begin/Commit, ahead of its own transaction.
        "MESSAGE transactional=false q \"now\"",
        "BEGIN",
        "MESSAGE transactional=true p \"x\"",
        "COMMIT flags=0",
        "BEGIN",
        // TRUNCATE … RESTART IDENTITY invalidates the relation, so it is described again; CASCADE reaches `child`.
        "TYPE public.mood",
        "RELATION public.full_t identity=f (id*:-1 m*:-1)",
        "RELATION public.child identity=d (id:-1)",
        "TRUNCATE [\"child\", \"full_t\"] cascade=true restart_identity=true",
        "COMMIT flags=0",
        "BEGIN",
        &origin_line,
        "INSERT items [3, tab\there, ünï€, ]",
        "COMMIT flags=0",
    ];
    assert_eq!(got, expected, "\n{}", got.join("\n"));

    // Positions: Begin announces the commit LSN that its Commit then carries, and a transaction ends after it starts.
    let mut final_lsn = None;
    for m in &messages {
        match m {
            PgOutputMessage::Begin(b) => final_lsn = Some(b.final_lsn),
            PgOutputMessage::Commit(c) => {
                assert_eq!(Some(c.commit_lsn), final_lsn);
                assert!(c.end_lsn > c.commit_lsn);
            }
            PgOutputMessage::Message(m) if m.transactional => assert!(m.lsn < final_lsn.unwrap_or(Lsn::ZERO)),
            _ => {}
        }
    }
}

#[tokio::test]
async fn copy_text_output_parses_back_to_the_selected_values() {
    let db = cluster().fresh_database("copy_text").await;
    db.psql(
        "CREATE TABLE tricky (id int, s text, b bytea, a text[]);
         INSERT INTO tricky VALUES
           (1, E'tab\\there', '\\x00ff', ARRAY['x\"y', NULL]),
           (2, E'new\\nline\\r\\n', NULL, '{}'),
           (3, E'back\\\\slash \\\\N \\\\t', '\\x5c', NULL),
           (4, NULL, '', ARRAY['a\\b']),
           (5, 'üñí€ 😀 \\N', NULL, NULL),
           (6, E'\\b\\f\\x01\\x7f', NULL, NULL),
           (7, '', NULL, NULL),
           (8, repeat(E'long\\tvalue\\\\', 20000), NULL, NULL);",
    );
    let client = db.client().await;
    let query = "SELECT id::text, s, b::text, a::text FROM tricky ORDER BY id";
    let stream = client.copy_out(&format!("COPY ({query}) TO STDOUT")).await.unwrap();
    futures_util::pin_mut!(stream);
    let mut parser = CopyTextParser::new(4);
    let mut parsed = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = stream.next().await {
        parser.push(chunk.unwrap());
        chunks += 1;
        while let Some(row) = parser.next_row().unwrap() {
            parsed.push(row);
        }
    }
    parser.finish().unwrap();
    assert!(chunks > 1, "the long value should arrive in more than one chunk");

    let selected: Vec<Vec<Option<String>>> = client
        .query(query, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (0..4).map(|i| r.get::<_, Option<String>>(i)).collect())
        .collect();
    let got: Vec<Vec<Option<String>>> = parsed
        .iter()
        .map(|row| row.iter().map(|d| d.as_bytes().map(|b| String::from_utf8(b.to_vec()).unwrap())).collect())
        .collect();
    assert_eq!(got.len(), 8);
    assert_eq!(got, selected);
}
