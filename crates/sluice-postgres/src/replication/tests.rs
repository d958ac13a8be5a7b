//! The framing and the two stream halves, against an in-memory pipe standing in for the server.

use tokio::io::{duplex, DuplexStream};

use super::*;

fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn xlog(start: u64, end: u64, time: i64, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![b'w'];
    body.extend_from_slice(&start.to_be_bytes());
    body.extend_from_slice(&end.to_be_bytes());
    body.extend_from_slice(&time.to_be_bytes());
    body.extend_from_slice(payload);
    frame(b'd', &body)
}

fn keepalive(end: u64, time: i64, reply: bool) -> Vec<u8> {
    let mut body = vec![b'k'];
    body.extend_from_slice(&end.to_be_bytes());
    body.extend_from_slice(&time.to_be_bytes());
    body.push(u8::from(reply));
    frame(b'd', &body)
}

/// A stream in CopyBoth mode whose server side is the returned pipe end.
fn stream() -> (ReplicationReader, StatusSender, DuplexStream) {
    let (ours, server) = duplex(1 << 20);
    let (read, write) = tokio::io::split(Box::new(ours) as Box<dyn Io>);
    (ReplicationReader { read, buf: BytesMut::new(), pacing: None }, StatusSender { write }, server)
}

#[test]
fn an_incomplete_frame_waits_for_more_bytes() {
    let whole = frame(b'Z', b"I");
    let mut buf = BytesMut::from(&whole[..3]);
    assert!(parse_message(&mut buf).unwrap().is_none());
    buf.extend_from_slice(&whole[3..]);
    let (tag, body) = parse_message(&mut buf).unwrap().unwrap();
    assert_eq!((tag, &body[..]), (b'Z', &b"I"[..]));
    assert!(buf.is_empty());
}

#[test]
fn an_impossible_length_is_a_protocol_error_before_any_allocation() {
    for len in [0u32, 3, u32::MAX] {
        let mut buf = BytesMut::from(&[b'd'][..]);
        buf.extend_from_slice(&len.to_be_bytes());
        let err = parse_message(&mut buf).unwrap_err();
        assert!(matches!(err, PgError::Protocol(_)), "{err}");
        assert!(buf.capacity() < 1 << 20, "reserved {} bytes for a corrupt header", buf.capacity());
    }
}

#[test]
fn error_responses_carry_sqlstate_detail_and_hint() {
    let body = b"SERROR\0VERROR\0C55006\0Mreplication slot \"s\" is active for PID 7\0Dd\0Hh\0\0";
    let err = server_error(body);
    assert_eq!(err.sqlstate(), Some("55006"));
    assert_eq!(err.to_string(), "server error 55006: replication slot \"s\" is active for PID 7 (d); hint: h");
}

#[test]
fn truncated_or_unknown_copy_data_is_a_protocol_error() {
    for body in [&b""[..], b"w\0\0\0", b"k\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", b"x123"] {
        let err = parse_copy_data(Bytes::copy_from_slice(body)).unwrap_err();
        assert!(matches!(err, PgError::Protocol(_)), "{body:?}: {err}");
    }
}

#[test]
fn a_malformed_data_row_is_a_protocol_error() {
    // Claims two columns, the second's length runs past the end.
    let body = [0, 2, 0, 0, 0, 1, b'a', 0, 0, 0, 9, b'b'];
    assert!(matches!(classify(b'D', Bytes::copy_from_slice(&body)), Err(PgError::Protocol(_))));
    let row = classify(b'D', Bytes::copy_from_slice(&[0, 2, 0, 0, 0, 1, b'a', 255, 255, 255, 255])).unwrap();
    assert!(matches!(row, Backend::DataRow(r) if r == vec![Some("a".to_owned()), None]));
}

#[tokio::test]
async fn frames_split_across_reads_arrive_whole_and_payloads_are_zero_copy_slices() {
    let (mut reader, _status, mut server) = stream();
    let mut wire = keepalive(0x10, 5, true);
    wire.extend(xlog(0x20, 0x30, 6, b"Bpayload"));
    wire.extend(xlog(0x30, 0x40, 7, b"Cend"));
    // Byte by byte: every frame boundary and every header straddles a read.
    let writer = tokio::spawn(async move {
        for b in wire {
            server.write_all(&[b]).await.unwrap();
            tokio::task::yield_now().await;
        }
        server
    });
    assert_eq!(
        reader.next().await.unwrap(),
        Some(ReplicationMessage::Keepalive { wal_end: Lsn(0x10), server_time: 5, reply_requested: true })
    );
    let Some(ReplicationMessage::XLogData { wal_start, wal_end, server_time, data }) = reader.next().await.unwrap()
    else {
        panic!("expected XLogData")
    };
    assert_eq!((wal_start, wal_end, server_time, &data[..]), (Lsn(0x20), Lsn(0x30), 6, &b"Bpayload"[..]));
    let Some(ReplicationMessage::XLogData { data: second, .. }) = reader.next().await.unwrap() else {
        panic!("expected XLogData")
    };
    assert_eq!(&second[..], b"Cend");
    drop(writer.await.unwrap());

    // Whole frames buffered together are sliced out of one allocation, not copied.
    let (mut reader, _status, mut server) = stream();
    let mut wire = xlog(1, 2, 0, b"first");
    wire.extend(xlog(2, 3, 0, b"second"));
    server.write_all(&wire).await.unwrap();
    let mut payloads = Vec::new();
    while payloads.len() < 2 {
        if let Some(ReplicationMessage::XLogData { data, .. }) = reader.next().await.unwrap() {
            payloads.push(data);
        }
    }
    let gap = payloads[1].as_ptr() as usize - payloads[0].as_ptr() as usize;
    assert_eq!(gap, b"first".len() + 1 + 4 + 1 + 24, "the second payload follows the first in the same buffer");
}

#[tokio::test]
async fn copy_done_ends_the_stream_and_an_error_response_is_a_server_error() {
    let (mut reader, _status, mut server) = stream();
    let mut wire = frame(b'N', b"SNOTICE\0Mjust saying\0\0");
    wire.extend(frame(b'c', b""));
    server.write_all(&wire).await.unwrap();
    assert_eq!(reader.next().await.unwrap(), None);

    let (mut reader, _status, mut server) = stream();
    server
        .write_all(&frame(b'E', b"SFATAL\0C57P01\0Mterminating connection due to administrator command\0\0"))
        .await
        .unwrap();
    let err = reader.next().await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("57P01"));
    assert!(err.is_transient());

    let (mut reader, _status, server) = stream();
    drop(server);
    assert!(matches!(reader.next().await, Err(PgError::Closed)));
}

#[tokio::test]
async fn status_updates_are_standby_status_messages_in_postgres_epoch_microseconds() {
    let (_reader, mut status, mut server) = stream();
    status.send_status(Lsn(1), Lsn(2), Lsn(3), true).await.unwrap();
    let mut msg = [0u8; 39];
    server.read_exact(&mut msg).await.unwrap();
    assert_eq!(&msg[..6], &[b'd', 0, 0, 0, 38, b'r']);
    let u64_at = |i: usize| u64::from_be_bytes(msg[i..i + 8].try_into().unwrap());
    assert_eq!((u64_at(6), u64_at(14), u64_at(22)), (1, 2, 3));
    let sent = u64_at(30) as i64 + POSTGRES_EPOCH_OFFSET_US;
    let now = sluice_core::unix_micros();
    assert!((now - sent).abs() < 60_000_000, "client time {sent} is not now ({now})");
    assert_eq!(msg[38], 1);

    status.finish().await.unwrap();
    let mut done = [0u8; 5];
    server.read_exact(&mut done).await.unwrap();
    assert_eq!(done, [b'c', 0, 0, 0, 4]);
}

#[test]
fn the_last_read_of_a_large_message_does_not_grow_the_buffer_again() {
    let body = 4 << 20;
    let mut buf = BytesMut::new();
    buf.extend_from_slice(b"d");
    buf.extend_from_slice(&(body as u32 + 4).to_be_bytes());
    assert!(parse_message(&mut buf).unwrap().is_none());
    let reserved = buf.capacity();
    assert!(reserved > body, "the whole message is reserved on seeing its length");
    buf.resize(5 + body - 1000, b'x');
    let (start, capacity) = (buf.as_ptr(), buf.capacity());
    make_room(&mut buf, READ_CHUNK);
    assert_eq!((buf.as_ptr(), buf.capacity()), (start, capacity), "no new buffer, no copy");
    buf.resize(5 + body, b'x');
    let (_, frame) = parse_message(&mut buf).unwrap().expect("the message is complete");
    assert_eq!(frame.len(), body);
    make_room(&mut buf, READ_CHUNK);
    assert!(buf.capacity() >= READ_CHUNK, "after the message, reads are a chunk again");
}
