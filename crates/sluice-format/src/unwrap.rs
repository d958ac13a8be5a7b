//! Debezium's New Record State Extraction (`io.debezium.transforms.ExtractNewRecordState`, "unwrap"): the value
//! becomes the changed row itself instead of the change-event envelope, for consumers (sink connectors, plain
//! Kafka readers) that want rows, not envelopes.
//!
//! Why it lives in the encoder rather than after it: unwrapping a finished envelope would mean parsing the JSON that
//! was just written, for every event. Instead an [`Encoder`](crate::Encoder) built
//! [`with_unwrap`](crate::Encoder::with_unwrap) writes the flattened value directly, with the flattened schema
//! (the row's `<prefix>.<schema>.<table>.Value`, plus `__deleted` and the `add.fields`) worked out once per table
//! version and cached beside the envelope's. The key is the envelope's key, untouched, as in Debezium.
//!
//! What becomes of each event follows Debezium 3.x:
//! - create, update, read: the `after` row; with a rewrite mode it gets `__deleted: "false"`;
//! - delete: dropped, a tombstone, the `before` row with `__deleted: "true"` (rewrite modes), or under the older
//!   `delete.handling.mode=none` a record whose value is the JSON `null` with the row's schema (Debezium's
//!   `ExtractField` result: not a Kafka tombstone);
//! - the tombstone after a delete (`tombstones.on.delete`): dropped or kept;
//! - truncate: dropped (it has no row); logical decoding messages are not envelopes and pass unchanged.
//!
//! A schema changed by `__deleted` or `add.fields` is a rebuilt struct, which Kafka Connect makes non-optional
//! (`SchemaUtil.copySchemaBasics` keeps name and version only); the row's schema as it is stays optional. Added
//! fields come after `__deleted` (Debezium inserts `__deleted` while extracting the row and the fields afterwards),
//! and each has its envelope field's schema made optional.

use sluice_core::{ChangeEvent, Op};

use crate::json;

/// What a delete event becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteMode {
    /// Left out (`delete.tombstone.handling.mode=drop`, `delete.handling.mode=drop`).
    Drop,
    /// A tombstone: the key and a null value (`delete.tombstone.handling.mode=tombstone`, Debezium's default).
    Tombstone,
    /// A record whose value is JSON `null` with the row's schema (`delete.handling.mode=none`).
    NullValue,
    /// The `before` row with `__deleted: "true"`; other rows get `__deleted: "false"` (the `rewrite` modes).
    Rewrite,
}

/// The transform's options, resolved from Debezium's keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnwrapOptions {
    pub deletes: DeleteMode,
    /// Whether the tombstone that follows a delete is kept.
    pub keep_tombstones: bool,
    /// `add.fields`, as configured (`op`, `table`, `source.ts_ms`, …), checked with [`MetaField::parse`].
    pub add_fields: Vec<String>,
    /// `add.fields.prefix` (`__`).
    pub add_fields_prefix: String,
    /// `add.headers`, as configured.
    pub add_headers: Vec<String>,
    /// `add.headers.prefix` (`__`).
    pub add_headers_prefix: String,
}

impl Default for UnwrapOptions {
    fn default() -> Self {
        UnwrapOptions {
            deletes: DeleteMode::Tombstone,
            keep_tombstones: true,
            add_fields: Vec::new(),
            add_fields_prefix: "__".into(),
            add_headers: Vec::new(),
            add_headers_prefix: "__".into(),
        }
    }
}

/// A field of the envelope or its `source` block that `add.fields` / `add.headers` can copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaField {
    Op,
    TsMs,
    TsUs,
    TsNs,
    SourceVersion,
    SourceConnector,
    SourceName,
    SourceTsMs,
    SourceSnapshot,
    SourceDb,
    SourceSequence,
    SourceTsUs,
    SourceTsNs,
    SourceSchema,
    SourceTable,
    SourceTxId,
    SourceLsn,
    SourceXmin,
}

impl MetaField {
    /// Debezium's field reference: `source.<f>` is a source field; a bare name is the envelope's field when the
    /// envelope has one (`op`, `ts_ms`, `ts_us`, `ts_ns`), otherwise the source block's.
    pub fn parse(name: &str) -> Option<MetaField> {
        let (source_only, field) = match name.strip_prefix("source.") {
            Some(f) => (true, f),
            None => (false, name),
        };
        Some(match (source_only, field) {
            (false, "op") => MetaField::Op,
            (false, "ts_ms") => MetaField::TsMs,
            (false, "ts_us") => MetaField::TsUs,
            (false, "ts_ns") => MetaField::TsNs,
            (_, "version") => MetaField::SourceVersion,
            (_, "connector") => MetaField::SourceConnector,
            (_, "name") => MetaField::SourceName,
            (true, "ts_ms") => MetaField::SourceTsMs,
            (_, "snapshot") => MetaField::SourceSnapshot,
            (_, "db") => MetaField::SourceDb,
            (_, "sequence") => MetaField::SourceSequence,
            (true, "ts_us") => MetaField::SourceTsUs,
            (true, "ts_ns") => MetaField::SourceTsNs,
            (_, "schema") => MetaField::SourceSchema,
            (_, "table") => MetaField::SourceTable,
            (_, "txId") => MetaField::SourceTxId,
            (_, "lsn") => MetaField::SourceLsn,
            (_, "xmin") => MetaField::SourceXmin,
            _ => return None,
        })
    }

    /// Writes the field's Connect schema, made optional, up to (not including) its `field` name.
    fn write_schema_head(self, out: &mut Vec<u8>) {
        match self {
            MetaField::Op
            | MetaField::SourceVersion
            | MetaField::SourceConnector
            | MetaField::SourceName
            | MetaField::SourceDb
            | MetaField::SourceSequence
            | MetaField::SourceSchema
            | MetaField::SourceTable => out.extend_from_slice(br#"{"type":"string","optional":true,"#),
            MetaField::SourceSnapshot => {
                out.extend_from_slice(
                    br#"{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":""#,
                );
                out.extend_from_slice(crate::types::SNAPSHOT_ALLOWED.as_bytes());
                out.extend_from_slice(br#""},"#);
            }
            _ => out.extend_from_slice(br#"{"type":"int64","optional":true,"#),
        }
    }
}

/// One configured field or header: what it copies and the name it goes out under.
pub(crate) struct Meta {
    field: MetaField,
    /// `"<prefix><name>":`, escaped (fields), or the header name.
    name: String,
}

/// [`UnwrapOptions`] compiled for the encoder.
pub(crate) struct Unwrap {
    pub(crate) deletes: DeleteMode,
    pub(crate) keep_tombstones: bool,
    fields: Vec<Meta>,
    headers: Vec<Meta>,
}

/// Debezium's name for a copied field: the prefix and the reference with dots as underscores.
fn out_name(prefix: &str, reference: &str) -> String {
    format!("{prefix}{}", reference.replace('.', "_"))
}

impl Unwrap {
    /// Unknown field names were refused with the configuration; any left here are skipped.
    pub(crate) fn new(opts: &UnwrapOptions) -> Unwrap {
        let metas = |names: &[String], prefix: &str, escape: bool| {
            names
                .iter()
                .filter_map(|n| {
                    let field = MetaField::parse(n)?;
                    let plain = out_name(prefix, n);
                    let name = if escape {
                        let mut head = Vec::new();
                        json::string(&mut head, &plain);
                        head.push(b':');
                        String::from_utf8(head).unwrap_or(plain)
                    } else {
                        plain
                    };
                    Some(Meta { field, name })
                })
                .collect()
        };
        Unwrap {
            deletes: opts.deletes,
            keep_tombstones: opts.keep_tombstones,
            fields: metas(&opts.add_fields, &opts.add_fields_prefix, true),
            headers: metas(&opts.add_headers, &opts.add_headers_prefix, false),
        }
    }

    pub(crate) fn rewrites(&self) -> bool {
        self.deletes == DeleteMode::Rewrite
    }

    /// Whether the flattened value's schema differs from the row's (and so is a rebuilt, non-optional struct).
    pub(crate) fn extends_row(&self) -> bool {
        self.rewrites() || !self.fields.is_empty()
    }

    /// Appends the schemas of `__deleted` and the added fields, each preceded by a comma when `comma`.
    pub(crate) fn write_extra_schema(&self, out: &mut Vec<u8>, mut comma: bool) {
        if self.rewrites() {
            if comma {
                out.push(b',');
            }
            out.extend_from_slice(br#"{"type":"string","optional":true,"field":"__deleted"}"#);
            comma = true;
        }
        for meta in &self.fields {
            if comma {
                out.push(b',');
            }
            comma = true;
            meta.field.write_schema_head(out);
            out.extend_from_slice(b"\"field\":");
            // `name` is `"<name>":`; the schema wants the string alone.
            out.extend_from_slice(&meta.name.as_bytes()[..meta.name.len() - 1]);
            out.push(b'}');
        }
    }

    /// Appends `__deleted` (rewrite modes) and the added fields to a row object just written, replacing its `}`.
    pub(crate) fn extend_row(&self, out: &mut Vec<u8>, ctx: &MetaContext<'_>) {
        if !self.extends_row() {
            return;
        }
        out.pop();
        let mut comma = out.last() != Some(&b'{');
        if self.rewrites() {
            if comma {
                out.push(b',');
            }
            comma = true;
            out.extend_from_slice(if ctx.op == Op::Delete {
                br#""__deleted":"true""#
            } else {
                br#""__deleted":"false""#
            });
        }
        for meta in &self.fields {
            if comma {
                out.push(b',');
            }
            comma = true;
            out.extend_from_slice(meta.name.as_bytes());
            ctx.write(meta.field, out, Render::Json);
        }
        out.push(b'}');
    }

    /// The `add.headers` headers, as text (Kafka Connect's SimpleHeaderConverter); null values are left out.
    pub(crate) fn headers(&self, ctx: &MetaContext<'_>, headers: &mut Vec<(String, Vec<u8>)>) {
        for meta in &self.headers {
            let mut value = Vec::new();
            if ctx.write(meta.field, &mut value, Render::Text) {
                headers.push((meta.name.clone(), value));
            }
        }
    }
}

/// How a metadata value is written: as a JSON value, or as header text (strings unquoted).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Render {
    Json,
    Text,
}

/// What the metadata fields of one event are read from.
pub(crate) struct MetaContext<'a> {
    pub(crate) event: &'a ChangeEvent,
    /// The operation of the record being written (a key change's delete and create differ from the event's).
    pub(crate) op: Op,
    pub(crate) now_us: i64,
    pub(crate) topic_prefix: &'a str,
    pub(crate) database: &'a str,
}

impl MetaContext<'_> {
    /// Writes one field's value; `false` (and nothing written) for a null under [`Render::Text`], which makes no
    /// header.
    fn write(&self, field: MetaField, out: &mut Vec<u8>, render: Render) -> bool {
        let s = &self.event.source;
        let table = self.event.table.as_ref().map(|t| &t.id);
        let text = |out: &mut Vec<u8>, v: &str| match render {
            Render::Json => json::string(out, v),
            Render::Text => out.extend_from_slice(v.as_bytes()),
        };
        match field {
            MetaField::Op => text(out, self.op.code()),
            MetaField::TsMs => json::int(out, self.now_us / 1000),
            MetaField::TsUs => json::int(out, self.now_us),
            MetaField::TsNs => json::int(out, self.now_us.saturating_mul(1000)),
            MetaField::SourceVersion => text(out, env!("CARGO_PKG_VERSION")),
            MetaField::SourceConnector => text(out, "postgresql"),
            MetaField::SourceName => text(out, self.topic_prefix),
            MetaField::SourceTsMs => json::int(out, s.ts_us.div_euclid(1000)),
            MetaField::SourceSnapshot => text(out, s.snapshot.as_str()),
            MetaField::SourceDb => text(out, self.database),
            MetaField::SourceSequence => {
                text(out, &format!("[\"{}\",\"{}\"]", s.position.commit_lsn.0, s.position.ordinal))
            }
            MetaField::SourceTsUs => json::int(out, s.ts_us),
            MetaField::SourceTsNs => json::int(out, s.ts_us.saturating_mul(1000)),
            MetaField::SourceSchema => text(out, table.map_or("", |t| t.schema.as_str())),
            MetaField::SourceTable => text(out, table.map_or("", |t| t.table.as_str())),
            MetaField::SourceLsn => json::uint(out, s.lsn.0),
            MetaField::SourceTxId | MetaField::SourceXmin => {
                let value = if field == MetaField::SourceTxId { s.tx_id } else { None };
                match (value, render) {
                    (Some(x), _) => json::uint(out, x),
                    (None, Render::Json) => out.extend_from_slice(b"null"),
                    (None, Render::Text) => return false,
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests;
