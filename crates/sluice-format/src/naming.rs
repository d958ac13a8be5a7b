//! Topic names and Connect schema and field names, as Debezium's PostgreSQL connector makes them under
//! `topic.naming.strategy`, `topic.delimiter`, `schema.name.adjustment.mode` and `field.name.adjustment.mode`.
//!
//! Debezium users set these keys to match topics and schema registry subjects that already exist, so each name is
//! made as Debezium makes it:
//!
//! - A table's topic joins `topic.prefix` and the strategy's parts of the table id with `topic.delimiter`, leaving
//!   out blank parts (`AbstractTopicNamingStrategy.mkString`). The PostgreSQL connector's default strategy is
//!   `SchemaTopicNamingStrategy` (the id's `schemaParts()`: schema and table, so `<prefix>.<schema>.<table>`);
//!   `DefaultTopicNamingStrategy` takes `databaseParts()`, catalog and table, and a PostgreSQL table id has no
//!   catalog, so its topic is `<prefix>.<table>` and same-named tables of two schemas meet on one topic (which the
//!   encoder refuses, as it refuses any two tables on one topic). The topic is then sanitized (crate::topic).
//! - The heartbeat topic is `<topic.heartbeat.prefix><delimiter><topic.prefix>` and the transaction topic
//!   `<topic.prefix><delimiter><topic.transaction>` (`heartbeatTopic()`, `transactionTopic()`); the logical decoding
//!   message topic keeps its literal `.message` suffix (`LogicalDecodingMessageMonitor`), whatever the delimiter.
//! - A table's schemas are named after its topic name (`<topic>.Key`, `.Value`, `.Envelope`), adjusted by
//!   `SchemaNameAdjuster` under `schema.name.adjustment.mode`; its fields are its column names, adjusted under
//!   `field.name.adjustment.mode`. `avro` replaces each character Avro does not allow with `_` (a leading digit
//!   keeps itself after the `_`, so `1a` and `2a` stay apart); `avro_unicode` replaces it with `_u` and its UTF-16
//!   code unit in hex, and counts `_` as invalid, since `_` starts the escape. Schema names may hold dots (Avro
//!   namespaces), field names may not. Like Debezium, characters are Java's UTF-16 units: an emoji is two.
//!
//! Everything here is computed once per table version and cached by the encoder, never per event.

use std::borrow::Cow;

use sluice_core::TableId;

/// `topic.naming.strategy`: the parts of a table id its topic is made of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TopicNamingStrategy {
    /// `io.debezium.schema.SchemaTopicNamingStrategy`, the PostgreSQL connector's default: `<prefix>.<schema>.<table>`.
    #[default]
    Schema,
    /// `io.debezium.schema.DefaultTopicNamingStrategy`: `<prefix>.<table>` (a PostgreSQL table id has no catalog).
    Default,
}

impl TopicNamingStrategy {
    pub const SCHEMA_CLASS: &'static str = "io.debezium.schema.SchemaTopicNamingStrategy";
    pub const DEFAULT_CLASS: &'static str = "io.debezium.schema.DefaultTopicNamingStrategy";

    /// The strategy a Debezium class name stands for, if Sluice implements it.
    pub fn from_class(class: &str) -> Option<Self> {
        match class {
            Self::SCHEMA_CLASS => Some(TopicNamingStrategy::Schema),
            Self::DEFAULT_CLASS => Some(TopicNamingStrategy::Default),
            _ => None,
        }
    }
}

/// `schema.name.adjustment.mode` and `field.name.adjustment.mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NameAdjustment {
    /// Names as they are (Debezium 2's default for both keys).
    #[default]
    None,
    /// Characters Avro does not allow become `_`.
    Avro,
    /// Characters Avro does not allow, and `_`, become `_uXXXX`.
    AvroUnicode,
}

/// How topics, schemas and fields are named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Naming {
    pub strategy: TopicNamingStrategy,
    /// `topic.delimiter`.
    pub delimiter: String,
    pub schema_names: NameAdjustment,
    pub field_names: NameAdjustment,
}

impl Default for Naming {
    fn default() -> Self {
        Naming {
            strategy: TopicNamingStrategy::default(),
            delimiter: ".".into(),
            schema_names: NameAdjustment::None,
            field_names: NameAdjustment::None,
        }
    }
}

impl Naming {
    /// A table's topic before sanitizing, and the base of its schema names.
    pub fn table_topic(&self, topic_prefix: &str, id: &TableId) -> String {
        let parts: &[&str] = match self.strategy {
            TopicNamingStrategy::Schema => &[topic_prefix, &id.schema, &id.table],
            TopicNamingStrategy::Default => &[topic_prefix, &id.table],
        };
        let kept: Vec<&str> = parts.iter().copied().filter(|p| !is_blank(p)).collect();
        kept.join(&self.delimiter)
    }

    /// The heartbeat topic before sanitizing: `<topic.heartbeat.prefix><delimiter><topic.prefix>`.
    pub fn heartbeat_topic(&self, heartbeat_prefix: &str, topic_prefix: &str) -> String {
        format!("{heartbeat_prefix}{}{topic_prefix}", self.delimiter)
    }

    /// The transaction metadata topic before sanitizing: `<topic.prefix><delimiter><topic.transaction>`.
    pub fn transaction_topic(&self, topic_prefix: &str, transaction: &str) -> String {
        format!("{topic_prefix}{}{transaction}", self.delimiter)
    }

    /// A Connect schema's name under `schema.name.adjustment.mode`.
    pub fn schema_name<'a>(&self, name: &'a str) -> Cow<'a, str> {
        adjust(name, self.schema_names, true)
    }

    /// A field's name under `field.name.adjustment.mode`.
    pub fn field_name<'a>(&self, name: &'a str) -> Cow<'a, str> {
        adjust(name, self.field_names, false)
    }
}

/// Java's `String.trim().isEmpty()`: nothing but characters up to U+0020.
fn is_blank(part: &str) -> bool {
    part.chars().all(|c| c <= ' ')
}

/// `SchemaNameAdjuster.validFullname` with the replacement function of `mode`: Debezium's `UNDERSCORE_REPLACEMENT`
/// or `UnicodeReplacementFunction` for schema names (`dots`), their `FieldName…` variants for field names.
fn adjust(name: &str, mode: NameAdjustment, dots: bool) -> Cow<'_, str> {
    let unicode = match mode {
        NameAdjustment::None => return Cow::Borrowed(name),
        NameAdjustment::Avro => false,
        NameAdjustment::AvroUnicode => true,
    };
    let ascii = |u: u16| u8::try_from(u).ok();
    let valid_first = |u: u16| ascii(u).is_some_and(|b| b.is_ascii_alphabetic() || (!unicode && b == b'_'));
    let valid_rest = |u: u16| valid_first(u) || ascii(u).is_some_and(|b| b.is_ascii_digit() || (dots && b == b'.'));
    let units: Vec<u16> = name.encode_utf16().collect();
    let valid = units.iter().enumerate().all(|(i, &u)| if i == 0 { valid_first(u) } else { valid_rest(u) });
    if valid {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    let replace = |out: &mut String, u: u16| {
        if unicode {
            // Java's `Integer.toHexString`, padded with "00" only when it has at most two digits.
            let hex = format!("{u:x}");
            out.push_str("_u");
            if hex.len() <= 2 {
                out.push_str("00");
            }
            out.push_str(&hex);
        } else {
            out.push('_');
        }
    };
    for (i, &u) in units.iter().enumerate() {
        let ok = if i == 0 { valid_first(u) } else { valid_rest(u) };
        if ok {
            out.extend(ascii(u).map(char::from));
        } else {
            replace(&mut out, u);
            if let Some(digit) = ascii(u).filter(|b| i == 0 && !unicode && b.is_ascii_digit()) {
                out.push(char::from(digit));
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests;
