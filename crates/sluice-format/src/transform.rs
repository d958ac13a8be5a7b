//! Debezium's single message transforms (`debezium.transforms`), applied between decoding and encoding.
//!
//! A transform chain maps one change event to zero or more records. Sluice implements the transforms the outbox
//! needs — [`EventRouter`](crate::outbox::EventRouter) and `DecodeLogicalDecodingMessageContent` —,
//! `ExtractNewRecordState` (crate::unwrap), and Kafka Connect's record transforms that route, filter and set
//! headers (`records`), with Kafka Connect's predicates (`TopicNameMatches`, `HasHeaderKey`, `RecordIsTombstone`,
//! with `negate`) for applying any of them selectively, so business tables and an outbox can share one pipeline.
//!
//! Two stages, because Sluice encodes events straight to JSON and never parses what it wrote:
//! - *event transforms* (the router, unwrap, the message decoder) decide how an event is encoded. The first whose
//!   predicate holds takes the event and ends this stage (their output is no longer an envelope a later event
//!   transform could read); unwrap passes message events on. An event none of them took is encoded as the usual
//!   Debezium envelope (with the tombstone after a delete, and the three records of a key change, as Debezium).
//! - *record transforms* then run, in the configured order, on each record the event became, each under its own
//!   predicate tested on that record, as Kafka Connect runs a chain on each record; `Filter` ends a record's way.
//!
//! A record transform listed before an event transform acts on that transform's records, which gives Kafka
//! Connect's result because unwrap keeps the topic and headers it is given (a router's topic, a header, are
//! applied the same before or after it); the event transform's predicate sees the topic and headers the record
//! transforms before it would have made. Two differences follow, both documented in docs/configuration.md: the
//! outbox router makes new records, so record transforms listed before it do not act on them (in Kafka Connect
//! its new topic replaces theirs); and a predicate of a record transform listed before unwrap tests unwrap's
//! records (`RecordIsTombstone` is true for the tombstone unwrap makes of a delete).
//!
//! Debezium's scripted `Filter` and `ContentBasedRouter` (`script`) read the envelope's fields, which unwrap's and
//! the outbox router's records no longer have. So when one is listed before an event transform, the event stage
//! evaluates it on the event's envelope (the plain encoder's record, made once per event and only then), as Kafka
//! Connect would: a `Filter` that removes it removes the whole event (a delete's tombstone too, where Kafka Connect
//! would pass the tombstone on under `null.handling.mode=keep`), and the topic a router chose is given to the records
//! the event transform makes, at the router's place in the chain.
//!
//! Predicates see an event's topic as the encoder would name it, sanitized (crate::topic), as Debezium's predicates
//! see the record's real topic; it is worked out once per table version and cached.
//!
//! A transform never touches positions: the pipeline acknowledges an event's position whether the chain produced
//! records for it or dropped it, so a dropped event never pins WAL. With no transform configured the pipeline
//! calls the encoder directly and none of this runs.

pub mod envelope;
pub mod fields;
pub mod java;
pub mod records;
pub mod script;
pub mod values;

use std::collections::HashMap;
use std::sync::Arc;

use sluice_core::{unix_micros, ChangeEvent, Op, Payload, Record, TableSchema};

use crate::outbox::{decode_message_content, EventRouter, OutboxRow, RouterError};
use crate::Encoder;
use records::{Condition, RecordTransform};

pub enum TransformKind {
    /// `io.debezium.connector.postgresql.transforms.DecodeLogicalDecodingMessageContent`.
    DecodeMessageContent,
    /// `io.debezium.transforms.outbox.EventRouter`.
    EventRouter(Box<EventRouter>),
    /// `io.debezium.transforms.ExtractNewRecordState`: an encoder built
    /// [`with_unwrap`](crate::Encoder::with_unwrap), with its own per-table caches.
    Unwrap(Box<Encoder>),
    /// A Kafka Connect transform of encoded records (`records`).
    Record(RecordTransform),
}

pub struct Transform {
    pub name: String,
    pub kind: TransformKind,
    /// The transform's predicate, with its `negate`.
    pub predicate: Option<Condition>,
}

/// The configured chain.
pub struct Transforms {
    steps: Vec<Transform>,
    topic_prefix: String,
    /// How table topics are named (`topic.naming.strategy`, `topic.delimiter`), as the encoder names them.
    naming: crate::naming::Naming,
    /// `<topic.prefix>.message`, sanitized.
    message_topic: Arc<str>,
    /// Each table's sanitized topic, per relation, for the table version it was worked out for.
    table_topics: HashMap<u32, (Arc<TableSchema>, Arc<str>)>,
    /// How many steps the event stage walks: up to the last event transform (none: the encoder takes every event,
    /// and record transforms run once, on the records).
    event_stage: usize,
    /// The topics the scripted routers before the event transform that took the current event chose, by step.
    routed: Vec<(usize, Arc<str>)>,
}

/// Which event transform took an event.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Taker {
    /// None did: the plain encoder made the records.
    Encoder,
    /// The unwrap transform at this index.
    Unwrap(usize),
    /// The outbox router at this index.
    Router(usize),
    /// A scripted `Filter` before the event transforms removed the event.
    Dropped,
}

impl Transforms {
    pub fn new(steps: Vec<Transform>, topic_prefix: impl Into<String>) -> Transforms {
        let topic_prefix = topic_prefix.into();
        let message_topic = Arc::from(crate::topic::sanitize(&format!("{topic_prefix}.message")));
        let event_stage =
            steps.iter().rposition(|step| !matches!(step.kind, TransformKind::Record(_))).map_or(0, |last| last + 1);
        Transforms {
            steps,
            topic_prefix,
            naming: crate::naming::Naming::default(),
            message_topic,
            table_topics: HashMap::new(),
            event_stage,
            routed: Vec::new(),
        }
    }

    /// Table topics named as `naming` says (the encoder's), rather than by Debezium's defaults.
    pub fn with_naming(mut self, naming: crate::naming::Naming) -> Transforms {
        self.naming = naming;
        self
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Runs the chain on one event, appending its records to `out` (none when it is dropped). `encoder` encodes
    /// the events no event transform takes; its failures come back as [`RouterError::Unwrap`], like unwrap's.
    /// `Ok(true)` when an event transform took the event, `Ok(false)` when the plain encoder made its records.
    pub fn apply(
        &mut self,
        event: &ChangeEvent,
        encoder: &mut Encoder,
        out: &mut Vec<Record>,
    ) -> Result<bool, RouterError> {
        let first = out.len();
        let taker = self.encode(event, encoder, out).inspect_err(|_| out.truncate(first))?;
        if taker == Taker::Dropped {
            return Ok(true);
        }
        self.transform_records(taker, first, out).inspect_err(|_| out.truncate(first))?;
        Ok(taker != Taker::Encoder)
    }

    /// Runs the record transforms on records that stand for no change event (transaction metadata's BEGIN and
    /// END), from `first` on: event transforms pass them on unchanged, as Debezium's unwrap and outbox router pass
    /// on every record that is not a change event envelope, and Kafka Connect's transforms act on them as on any
    /// record.
    pub fn apply_to_records(&mut self, first: usize, out: &mut Vec<Record>) -> Result<(), RouterError> {
        self.transform_records(Taker::Encoder, first, out).inspect_err(|_| out.truncate(first))
    }

    fn table_topic(&mut self, event: &ChangeEvent) -> Arc<str> {
        match &event.table {
            Some(table) => match self.table_topics.get(&table.relation_oid) {
                Some((schema, topic)) if Arc::ptr_eq(schema, table) => topic.clone(),
                _ => {
                    let name = self.naming.table_topic(&self.topic_prefix, &table.id);
                    let topic: Arc<str> = Arc::from(crate::topic::sanitize(&name));
                    self.table_topics.insert(table.relation_oid, (table.clone(), topic.clone()));
                    topic
                }
            },
            None => self.message_topic.clone(),
        }
    }

    /// The event stage: the first event transform whose predicate holds encodes the event, else the encoder.
    fn encode(
        &mut self,
        event: &ChangeEvent,
        encoder: &mut Encoder,
        out: &mut Vec<Record>,
    ) -> Result<Taker, RouterError> {
        if self.event_stage == 0 {
            encoder.encode(event, out)?;
            return Ok(Taker::Encoder);
        }
        let topic = self.table_topic(event);
        // The event's record as the record transforms so far would leave it, for the predicates of event
        // transforms; made only when a predicate or a record transform needs it.
        let mut probe: Option<Record> = None;
        let make_probe = || Record {
            topic: topic.clone(),
            partition: None,
            key: None,
            value: Some(Payload::Json(Vec::new())),
            headers: Vec::new(),
            timestamp_ms: unix_micros() / 1000,
            position: event.source.position,
        };
        let mut decoded: Option<OutboxRow<'static>> = None;
        // The event's envelope, for scripted transforms, which read its fields: made once, when one needs it.
        let mut envelope: Option<Option<Record>> = None;
        self.routed.clear();
        for (index, step) in self.steps[..self.event_stage].iter_mut().enumerate() {
            if let TransformKind::Record(transform) = &mut step.kind {
                let probe = probe.get_or_insert_with(make_probe);
                if step.predicate.as_ref().is_some_and(|c| !c.holds(probe)) {
                    continue;
                }
                let RecordTransform::Scripted(script) = transform else {
                    // Only the probe's topic and headers matter; it has no fields for a field transform to change.
                    let _ = transform.apply(probe);
                    continue;
                };
                let envelope = match &mut envelope {
                    Some(made) => made,
                    None => envelope.insert(event_envelope(event, encoder)?),
                };
                let Some(record) = envelope else { continue };
                record.topic = probe.topic.clone();
                record.headers.clone_from(&probe.headers);
                match script.apply(record) {
                    Ok(true) => {
                        if !Arc::ptr_eq(&record.topic, &probe.topic) {
                            probe.topic = record.topic.clone();
                            self.routed.push((index, record.topic.clone()));
                        }
                    }
                    Ok(false) => {
                        // Debezium counts an event in its transaction before any transform drops it.
                        encoder.count_transaction_event(event);
                        return Ok(Taker::Dropped);
                    }
                    Err(message) => return Err(RouterError::Record { transform: step.name.clone(), message }),
                }
                continue;
            }
            if let Some(condition) = &step.predicate {
                if !condition.holds(probe.get_or_insert_with(make_probe)) {
                    continue;
                }
            }
            match &mut step.kind {
                TransformKind::DecodeMessageContent => {
                    if event.op == Op::Message && decoded.is_none() {
                        decoded = decode_message_content(event);
                    }
                }
                TransformKind::EventRouter(router) => {
                    let table_row;
                    let row = match (&decoded, &event.table) {
                        (Some(row), _) => Some(row),
                        // A message the content decoder did not turn into a row is not the router's.
                        (None, None) => continue,
                        (None, Some(schema)) => {
                            table_row = event.after.as_deref().map(|tuple| OutboxRow::Table { schema, tuple });
                            table_row.as_ref()
                        }
                    };
                    router.route(event, row, &topic, out)?;
                    encoder.count_transaction_event(event);
                    return Ok(Taker::Router(index));
                }
                TransformKind::Unwrap(unwrapping) => {
                    // Messages are not envelopes: Debezium passes them on unchanged.
                    if event.table.is_none() {
                        continue;
                    }
                    encoder.encode_as(unwrapping, event, out)?;
                    return Ok(Taker::Unwrap(index));
                }
                TransformKind::Record(_) => {}
            }
        }
        encoder.encode(event, out)?;
        Ok(Taker::Encoder)
    }

    /// The record stage: every record transform, in order, on each record from `first` on; a filtered record is
    /// removed. The outbox router's records skip the record transforms listed before it.
    fn transform_records(&mut self, taker: Taker, first: usize, out: &mut Vec<Record>) -> Result<(), RouterError> {
        let (skip_before, decided_before) = match taker {
            Taker::Router(index) => (index, 0),
            Taker::Unwrap(index) => (0, index),
            Taker::Encoder | Taker::Dropped => (0, 0),
        };
        let mut i = first;
        'records: while i < out.len() {
            for (index, step) in self.steps.iter_mut().enumerate().skip(skip_before) {
                let TransformKind::Record(transform) = &mut step.kind else { continue };
                if index < decided_before && matches!(transform, RecordTransform::Scripted(_)) {
                    // Decided on the event's envelope, which unwrap's records no longer are.
                    if let Some((_, topic)) = self.routed.iter().find(|(at, _)| *at == index) {
                        out[i].topic = topic.clone();
                    }
                    continue;
                }
                if step.predicate.as_ref().is_some_and(|c| !c.holds(&out[i])) {
                    continue;
                }
                match transform.apply(&mut out[i]) {
                    Ok(true) => {}
                    Ok(false) => {
                        out.remove(i);
                        continue 'records;
                    }
                    Err(message) => return Err(RouterError::Record { transform: step.name.clone(), message }),
                }
            }
            i += 1;
        }
        Ok(())
    }
}

/// The record of an event's envelope that scripted transforms before an event transform are evaluated on: the
/// plain encoder's last record that is not a tombstone (the envelope itself; for a primary-key change, the create
/// that carries the new row).
fn event_envelope(event: &ChangeEvent, encoder: &mut Encoder) -> Result<Option<Record>, RouterError> {
    let mut made = Vec::new();
    encoder.encode_uncounted(event, &mut made)?;
    Ok(made.into_iter().rev().find(|r| r.value.is_some()))
}

#[cfg(test)]
mod tests;
