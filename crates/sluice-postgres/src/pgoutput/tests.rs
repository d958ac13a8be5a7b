use proptest::prelude::*;

use super::*;

/// Assembles pgoutput messages byte by byte, as the server would.
#[derive(Default)]
struct Msg(Vec<u8>);

impl Msg {
    fn tag(t: u8) -> Self {
        Msg(vec![t])
    }
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    fn u16(mut self, v: u16) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn str(mut self, s: &str) -> Self {
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        self
    }
    fn text(self, v: &str) -> Self {
        let mut m = self.u8(b't').u32(v.len() as u32);
        m.0.extend_from_slice(v.as_bytes());
        m
    }
    fn bytes(self) -> Bytes {
        Bytes::from(self.0)
    }
}

fn t(s: &str) -> Datum {
    Datum::text(s)
}

fn samples() -> Vec<Bytes> {
    vec![
        Msg::tag(b'B').u64(0x1_0000_0010).u64(7).u32(42).bytes(),
        Msg::tag(b'C').u8(0).u64(0x10).u64(0x20).u64(9).bytes(),
        Msg::tag(b'O').u64(5).str("origin").bytes(),
        Msg::tag(b'R')
            .u32(16384)
            .str("public")
            .str("items")
            .u8(b'd')
            .u16(2)
            .u8(1)
            .str("id")
            .u32(23)
            .u32(u32::MAX)
            .u8(0)
            .str("name")
            .u32(25)
            .u32(u32::MAX)
            .bytes(),
        Msg::tag(b'Y').u32(16400).str("public").str("mood").bytes(),
        Msg::tag(b'I').u32(16384).u8(b'N').u16(2).text("1").u8(b'n').bytes(),
        Msg::tag(b'U').u32(16384).u8(b'O').u16(2).text("1").text("a").u8(b'N').u16(2).text("1").u8(b'u').bytes(),
        Msg::tag(b'D').u32(16384).u8(b'K').u16(2).text("1").u8(b'n').bytes(),
        Msg::tag(b'T').u32(2).u8(3).u32(16384).u32(16385).bytes(),
        Msg::tag(b'M').u8(1).u64(77).str("outbox").u32(3).u8(b'a').u8(0).u8(b'z').bytes(),
        Msg::tag(b'U').u32(1).u8(b'K').u16(1).text("7").u8(b'N').u16(1).text("8").bytes(),
        Msg::tag(b'U').u32(1).u8(b'N').u16(1).text("8").bytes(),
        Msg::tag(b'M').u8(0).u64(1).str("p").u32(0).bytes(),
    ]
}

#[test]
fn begin_carries_the_commit_lsn_time_and_xid() {
    assert_eq!(
        decode(&samples()[0]).unwrap(),
        PgOutputMessage::Begin(Begin { final_lsn: Lsn(0x1_0000_0010), commit_time: 7, xid: 42 })
    );
}

#[test]
fn commit_carries_start_and_end_of_its_record() {
    assert_eq!(
        decode(&samples()[1]).unwrap(),
        PgOutputMessage::Commit(Commit { flags: 0, commit_lsn: Lsn(0x10), end_lsn: Lsn(0x20), commit_time: 9 })
    );
}

#[test]
fn origin_names_the_origin() {
    assert_eq!(
        decode(&samples()[2]).unwrap(),
        PgOutputMessage::Origin(Origin { commit_lsn: Lsn(5), name: "origin".into() })
    );
}

#[test]
fn relation_lists_columns_with_key_flags_and_type_modifiers() {
    let PgOutputMessage::Relation(r) = decode(&samples()[3]).unwrap() else { panic!() };
    assert_eq!((r.oid, r.namespace.as_str(), r.name.as_str(), r.replica_identity), (16384, "public", "items", b'd'));
    assert_eq!(r.columns[0], RelationColumn { key: true, name: "id".into(), type_oid: 23, type_modifier: -1 });
    assert!(!r.columns[1].key);
}

#[test]
fn type_message_names_a_user_type() {
    assert_eq!(
        decode(&samples()[4]).unwrap(),
        PgOutputMessage::Type(TypeMessage { oid: 16400, namespace: "public".into(), name: "mood".into() })
    );
}

#[test]
fn insert_values_and_nulls() {
    assert_eq!(
        decode(&samples()[5]).unwrap(),
        PgOutputMessage::Insert(Insert { relation_oid: 16384, new: vec![t("1"), Datum::Null] })
    );
}

#[test]
fn update_with_full_old_tuple_and_unchanged_toast() {
    assert_eq!(
        decode(&samples()[6]).unwrap(),
        PgOutputMessage::Update(Update {
            relation_oid: 16384,
            old: Some((OldTupleKind::Full, vec![t("1"), t("a")])),
            new: vec![t("1"), Datum::Unchanged],
        })
    );
}

#[test]
fn update_with_key_old_tuple_and_without_old_tuple() {
    assert_eq!(
        decode(&samples()[10]).unwrap(),
        PgOutputMessage::Update(Update {
            relation_oid: 1,
            old: Some((OldTupleKind::Key, vec![t("7")])),
            new: vec![t("8")]
        })
    );
    assert_eq!(
        decode(&samples()[11]).unwrap(),
        PgOutputMessage::Update(Update { relation_oid: 1, old: None, new: vec![t("8")] })
    );
}

#[test]
fn delete_carries_the_key_tuple() {
    assert_eq!(
        decode(&samples()[7]).unwrap(),
        PgOutputMessage::Delete(Delete {
            relation_oid: 16384,
            old_kind: OldTupleKind::Key,
            old: vec![t("1"), Datum::Null]
        })
    );
}

#[test]
fn truncate_lists_relations_and_options() {
    assert_eq!(
        decode(&samples()[8]).unwrap(),
        PgOutputMessage::Truncate(Truncate {
            cascade: true,
            restart_identity: true,
            relation_oids: vec![16384, 16385]
        })
    );
}

#[test]
fn messages_keep_binary_content_and_transactional_flag() {
    let PgOutputMessage::Message(m) = decode(&samples()[9]).unwrap() else { panic!() };
    assert!(m.transactional);
    assert_eq!((m.lsn, m.prefix.as_str(), &m.content[..]), (Lsn(77), "outbox", &b"a\0z"[..]));
    let PgOutputMessage::Message(m) = decode(&samples()[12]).unwrap() else { panic!() };
    assert!(!m.transactional && m.content.is_empty());
}

#[test]
fn values_are_slices_of_the_frame_not_copies() {
    let frame = samples()[5].clone();
    let PgOutputMessage::Insert(i) = decode(&frame).unwrap() else { panic!() };
    let Datum::Text(v) = &i.new[0] else { panic!() };
    let frame_range = frame.as_ptr() as usize..frame.as_ptr() as usize + frame.len();
    assert!(frame_range.contains(&(v.as_ptr() as usize)));
}

#[test]
fn every_truncated_prefix_is_an_error_not_a_panic() {
    for sample in samples() {
        for len in 0..sample.len() {
            assert!(decode(&sample.slice(..len)).is_err(), "prefix {len} of {sample:?} decoded");
        }
    }
}

#[test]
fn trailing_bytes_after_any_message_are_an_error() {
    for sample in samples() {
        let mut v = sample.to_vec();
        v.push(0);
        let err = decode(&Bytes::from(v)).unwrap_err();
        assert!(matches!(err, DecodeError::Trailing { extra: 1, offset, .. } if offset == sample.len()), "{err}");
    }
}

#[test]
fn errors_name_the_message_the_field_and_the_offset() {
    let err = decode(&samples()[0].slice(..10)).unwrap_err();
    assert_eq!(err, DecodeError::Truncated { message: "Begin", field: "commit time", offset: 9 });
    assert_eq!(err.to_string(), "Begin message: commit time truncated at offset 9");
    let value_cut = Msg::tag(b'I').u32(1).u8(b'N').u16(1).u8(b't').u32(5).u8(b'a').bytes();
    assert_eq!(decode(&value_cut), Err(DecodeError::Truncated { message: "Insert", field: "value", offset: 13 }));
    assert_eq!(DecodeError::UnknownTag(b'Z').to_string(), "unknown pgoutput message tag 0x5a (Z)");
    assert_eq!(decode(&Bytes::new()), Err(DecodeError::Empty));
}

#[test]
fn unexpected_markers_and_column_kinds_are_errors() {
    let insert_old = Msg::tag(b'I').u32(1).u8(b'K').u16(0).bytes();
    assert_eq!(
        decode(&insert_old),
        Err(DecodeError::Unexpected { message: "Insert", what: "tuple marker", byte: b'K', offset: 5 })
    );
    let delete_new = Msg::tag(b'D').u32(1).u8(b'N').u16(0).bytes();
    assert!(matches!(decode(&delete_new), Err(DecodeError::Unexpected { what: "old tuple marker", byte: b'N', .. })));
    let update_two_old = Msg::tag(b'U').u32(1).u8(b'K').u16(0).u8(b'O').u16(0).bytes();
    assert!(matches!(
        decode(&update_two_old),
        Err(DecodeError::Unexpected { what: "new tuple marker", byte: b'O', offset: 8, .. })
    ));
    let bad_kind = Msg::tag(b'I').u32(1).u8(b'N').u16(2).u8(b'n').u8(b'x').bytes();
    assert_eq!(
        decode(&bad_kind),
        Err(DecodeError::Unexpected { message: "Insert", what: "column kind", byte: b'x', offset: 9 })
    );
}

#[test]
fn strings_without_a_terminating_nul_are_errors() {
    let mut v = Msg::tag(b'O').u64(5).0;
    v.extend_from_slice(b"no-nul");
    assert_eq!(
        decode(&Bytes::from(v)),
        Err(DecodeError::UnterminatedString { message: "Origin", field: "origin name", offset: 9 })
    );
}

#[test]
fn truncate_options_are_independent_bits() {
    for (options, cascade, restart_identity) in [(0, false, false), (1, true, false), (2, false, true), (3, true, true)]
    {
        let m = Msg::tag(b'T').u32(1).u8(options).u32(16384).bytes();
        assert_eq!(
            decode(&m).unwrap(),
            PgOutputMessage::Truncate(Truncate { cascade, restart_identity, relation_oids: vec![16384] })
        );
    }
}

#[test]
fn only_bit_one_of_column_flags_marks_a_key_column() {
    let m = Msg::tag(b'R').u32(1).str("s").str("t").u8(b'f').u16(2).u8(3).str("a").u32(23).u32(4).u8(2).str("b");
    let m = m.u32(1043).u32(68).bytes();
    let PgOutputMessage::Relation(r) = decode(&m).unwrap() else { panic!() };
    assert_eq!(r.replica_identity, b'f');
    assert_eq!(
        r.columns,
        vec![
            RelationColumn { key: true, name: "a".into(), type_oid: 23, type_modifier: 4 },
            RelationColumn { key: false, name: "b".into(), type_oid: 1043, type_modifier: 68 },
        ]
    );
}

#[test]
fn text_values_may_hold_any_bytes_and_are_not_checked_as_utf8() {
    let m = Msg::tag(b'I').u32(1).u8(b'N').u16(1).u8(b't').u32(3).u8(0xff).u8(0).u8(b'\n').bytes();
    let PgOutputMessage::Insert(i) = decode(&m).unwrap() else { panic!() };
    assert_eq!(i.new, vec![Datum::Text(Bytes::from_static(b"\xff\0\n"))]);
}

#[test]
fn unknown_tags_binary_values_and_bad_utf8_are_named() {
    assert_eq!(decode(&Bytes::from_static(b"Z")), Err(DecodeError::UnknownTag(b'Z')));
    let binary = Msg::tag(b'I').u32(1).u8(b'N').u16(2).u8(b'n').u8(b'b').u32(1).u8(1).bytes();
    assert_eq!(decode(&binary), Err(DecodeError::BinaryValue { message: "Insert", column: 1, offset: 9 }));
    let mut bad = Msg::tag(b'Y').u32(1).0;
    bad.extend_from_slice(&[0xff, 0xfe, 0]);
    bad.extend_from_slice(b"x\0");
    let err = decode(&Bytes::from(bad)).unwrap_err();
    assert_eq!(err, DecodeError::BadUtf8 { message: "Type", field: "namespace", offset: 5 });
    let mut bad_prefix = Msg::tag(b'M').u8(1).u64(1).0;
    bad_prefix.extend_from_slice(&[b'o', 0xc3, 0]);
    bad_prefix.extend_from_slice(&[0, 0, 0, 0]);
    let err = decode(&Bytes::from(bad_prefix)).unwrap_err();
    assert_eq!(err, DecodeError::BadUtf8 { message: "Message", field: "prefix", offset: 10 });
}

#[test]
fn huge_counts_do_not_preallocate() {
    let m = Msg::tag(b'I').u32(1).u8(b'N').u16(u16::MAX).bytes();
    assert!(decode(&m).is_err());
    let t = Msg::tag(b'T').u32(u32::MAX).u8(0).bytes();
    assert!(decode(&t).is_err());
}

#[test]
fn postgres_epoch_converts_to_unix() {
    assert_eq!(pg_time_to_unix_micros(0), 946_684_800_000_000);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&Bytes::from(bytes));
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_tag_never_panic(tag in prop::sample::select(b"BCORYIUDTM".to_vec()), rest in proptest::collection::vec(any::<u8>(), 0..128)) {
        let mut v = vec![tag];
        v.extend(rest);
        let _ = decode(&Bytes::from(v));
    }

    #[test]
    fn insert_values_round_trip(values in proptest::collection::vec(proptest::option::of(".{0,20}"), 0..20)) {
        let mut m = Msg::tag(b'I').u32(9).u8(b'N').u16(values.len() as u16);
        for v in &values {
            m = match v { Some(s) => m.text(s), None => m.u8(b'n') };
        }
        let PgOutputMessage::Insert(i) = decode(&m.bytes()).unwrap() else { panic!() };
        let expected: Vec<Datum> = values.iter().map(|v| v.as_deref().map(Datum::text).unwrap_or(Datum::Null)).collect();
        prop_assert_eq!(i.new, expected);
    }
}
