//! Debezium's single message transforms (`debezium.transforms`), applied between decoding and encoding.
//!
//! A transform chain maps one change event to zero or more records. Sluice implements the transforms the outbox
//! needs — [`EventRouter`](crate::outbox::EventRouter) and `DecodeLogicalDecodingMessageContent` — and
//! `ExtractNewRecordState` (crate::unwrap), with Kafka
//! Connect's predicates (`TopicNameMatches`, with `negate`) for applying them selectively, so business tables and
//! an outbox can share one pipeline. Transforms run in the configured order; an event no transform turned into
//! records is encoded as the usual Debezium envelope. The router and unwrap end the chain for the events they
//! handle (their output is no longer an envelope a later transform could read); unwrap passes message events on.
//!
//! Predicates see an event's topic as the encoder would name it, sanitized (crate::topic), as Debezium's predicates
//! see the record's real topic; it is worked out once per table version and cached.
//!
//! A transform never touches positions: the pipeline acknowledges an event's position whether the chain produced
//! records for it or dropped it, so a dropped event never pins WAL.

use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;
use sluice_core::{ChangeEvent, Op, Record, TableSchema};

use crate::outbox::{decode_message_content, EventRouter, OutboxRow, RouterError};
use crate::Encoder;

/// Kafka Connect's `TopicNameMatches` predicate, possibly negated.
pub struct TopicPredicate {
    pattern: Regex,
    negate: bool,
}

impl TopicPredicate {
    /// `pattern` must match the whole topic name (Java's `Matcher.matches`).
    pub fn new(pattern: &str, negate: bool) -> Result<TopicPredicate, regex::Error> {
        Ok(TopicPredicate { pattern: Regex::new(&format!("^(?:{pattern})$"))?, negate })
    }

    fn applies(&self, topic: &str) -> bool {
        self.pattern.is_match(topic) != self.negate
    }
}

pub enum TransformKind {
    /// `io.debezium.connector.postgresql.transforms.DecodeLogicalDecodingMessageContent`.
    DecodeMessageContent,
    /// `io.debezium.transforms.outbox.EventRouter`.
    EventRouter(Box<EventRouter>),
    /// `io.debezium.transforms.ExtractNewRecordState`: an encoder built
    /// [`with_unwrap`](crate::Encoder::with_unwrap), with its own per-table caches.
    Unwrap(Box<Encoder>),
}

pub struct Transform {
    pub name: String,
    pub kind: TransformKind,
    pub predicate: Option<TopicPredicate>,
}

/// The configured chain.
pub struct Transforms {
    steps: Vec<Transform>,
    topic_prefix: String,
    /// `<topic.prefix>.message`, sanitized.
    message_topic: Arc<str>,
    /// Each table's sanitized topic, per relation, for the table version it was worked out for.
    table_topics: HashMap<u32, (Arc<TableSchema>, Arc<str>)>,
}

impl Transforms {
    pub fn new(steps: Vec<Transform>, topic_prefix: impl Into<String>) -> Transforms {
        let topic_prefix = topic_prefix.into();
        let message_topic = Arc::from(crate::topic::sanitize(&format!("{topic_prefix}.message")));
        Transforms { steps, topic_prefix, message_topic, table_topics: HashMap::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Runs the chain on one event. `Ok(true)`: the chain produced this event's records (possibly none);
    /// `Ok(false)`: encode the event as usual.
    pub fn apply(&mut self, event: &ChangeEvent, out: &mut Vec<Record>) -> Result<bool, RouterError> {
        let topic = match &event.table {
            Some(table) => match self.table_topics.get(&table.relation_oid) {
                Some((schema, topic)) if Arc::ptr_eq(schema, table) => topic.clone(),
                _ => {
                    let name = crate::table_topic_name(&self.topic_prefix, &table.id);
                    let topic: Arc<str> = Arc::from(crate::topic::sanitize(&name));
                    self.table_topics.insert(table.relation_oid, (table.clone(), topic.clone()));
                    topic
                }
            },
            None => self.message_topic.clone(),
        };
        let mut decoded: Option<OutboxRow<'static>> = None;
        for step in &mut self.steps {
            if step.predicate.as_ref().is_some_and(|p| !p.applies(&topic)) {
                continue;
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
                    return Ok(true);
                }
                TransformKind::Unwrap(encoder) => {
                    // Messages are not envelopes: Debezium passes them on unchanged.
                    if event.table.is_none() {
                        continue;
                    }
                    let written = out.len();
                    if let Err(e) = encoder.encode(event, out) {
                        out.truncate(written);
                        return Err(e.into());
                    }
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}
