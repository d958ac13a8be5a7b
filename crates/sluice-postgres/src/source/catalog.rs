//! What the catalogue says about captured tables and their types, and how a streamed table's shape is decided.
//!
//! A change must be described as the table was *when the change was made*, not as it is when Sluice decodes it:
//! Sluice may decode hours later, after a `DROP TABLE` or a column rename. pgoutput's Relation message is the
//! shape at the time of the change (the walsender reads it from the historic catalogue snapshot of the change),
//! so everything it carries wins over the catalogue: column names, type OIDs and modifiers, the replica identity,
//! and which columns form that identity (bit 1 of each column's flags). The catalogue is only asked for what the
//! Relation message lacks, and its answer is used only where it still matches the Relation:
//!
//! - **The key.** Under the default replica identity the flagged columns *are* the primary key (or none are,
//!   when there is no primary key): they are the key, whatever became of the table since. Under REPLICA IDENTITY
//!   FULL every column is flagged and under USING INDEX the flags name an index that need not be the primary key,
//!   so for those the key is the catalogue's primary key if each of its columns is still in the Relation with the
//!   same type; otherwise the primary key this catalogue last saw for the relation (at start-up, in the snapshot,
//!   or from an earlier Relation), if its columns are in the Relation — as Debezium falls back to its in-memory
//!   schema. When neither holds (a FULL table dropped or its key column renamed before Sluice started, or a
//!   relation first seen after its drop) the key is unknown and the events have a null key, as in Debezium.
//! - **Optionality.** The Relation message does not say whether a column is nullable. Key columns are never
//!   optional; another column is required only when the catalogue still has a NOT NULL column of that name and
//!   type; a column the catalogue no longer knows is optional (Debezium's default too).
//! - **Types.** Enum labels, a domain's base type and an array's element come from `pg_type` and are cached per
//!   type OID; a Type message (sent when a user-defined type may have changed) drops the cached entry and leaves
//!   the type's name. A type that no longer exists resolves to itself under that name: its values keep their
//!   text form if the type maps by OID or name (extension types), and otherwise the column is left out as
//!   Debezium leaves out types it does not know. Enum labels and domain constraints of a dropped type are gone.
//!
//! - **Defaults.** The Relation message does not carry them either: a column's `DEFAULT` expression
//!   (`pg_get_expr`, as Debezium's JDBC metadata reads it) is the catalogue's for a column of that name and type,
//!   and none for a column the catalogue no longer knows. The encoder derives the schema's default value from it.
//!   Generated columns' expressions are not defaults.
//!
//! Nullability, defaults and enum labels of a table that still exists are read as of *now*: a later `SET NOT NULL`,
//! `SET DEFAULT` or a new enum label shows in events decoded before it — the same caveat Debezium has.

use sluice_core::{ColumnSchema, ReplicaIdentity, TableId, TableSchema};
use std::collections::HashMap;
use tokio_postgres::Client;

use crate::pgoutput::{Relation, RelationColumn, TypeMessage};
use crate::source::{CaptureFilter, SourceError};

/// The first OID a user-defined object can have; everything below is built in.
const FIRST_USER_OID: u32 = 16384;
const TEXT_ARRAY_OID: u32 = 1009;

/// What a type resolves to for value conversion.
#[derive(Clone, Debug)]
struct TypeInfo {
    name: String,
    base_oid: u32,
    enum_values: Option<Vec<String>>,
}

/// A cached view of the catalogue over one SQL connection.
pub struct Catalog {
    client: Client,
    types: HashMap<u32, TypeInfo>,
    /// Names that Type messages gave user-defined types, for types the catalogue no longer has.
    type_names: HashMap<u32, String>,
    /// The primary key columns last seen per relation OID: the fallback when the catalogue cannot tell.
    primary_keys: HashMap<u32, Vec<String>>,
}

/// A table as the catalogue lists it, before columns are resolved.
#[derive(Clone, Debug)]
pub struct CatalogTable {
    pub oid: u32,
    pub id: TableId,
    pub replica_identity: ReplicaIdentity,
    pub has_primary_key: bool,
}

impl Catalog {
    pub fn new(client: Client) -> Self {
        Catalog { client, types: HashMap::new(), type_names: HashMap::new(), primary_keys: HashMap::new() }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The tables of the database that the filter captures, in a stable order, as the publication publishes their
    /// changes: with `publish_via_partition_root`, ordinary tables and the roots of partitioned ones (a partition's
    /// rows are the root's); without it, ordinary tables and every partition that holds rows (each its own table,
    /// as Debezium shows them by default), never a partitioned parent, whose changes never arrive under its name.
    pub async fn list_tables(
        &self,
        filter: &dyn CaptureFilter,
        via_partition_root: bool,
    ) -> Result<Vec<CatalogTable>, SourceError> {
        let rows = self
            .client
            .query(
                "SELECT c.oid, n.nspname::text, c.relname::text, c.relreplident::text,
                        EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE CASE WHEN $1 THEN c.relkind IN ('r', 'p') AND NOT c.relispartition ELSE c.relkind = 'r' END
                    AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
                    AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
                  ORDER BY 2, 3",
                &[&via_partition_root],
            )
            .await
            .map_err(|e| SourceError::sql("list tables", e))?;
        Ok(rows
            .iter()
            .map(|r| CatalogTable {
                oid: r.get(0),
                id: TableId::new(r.get::<_, String>(1), r.get::<_, String>(2)),
                replica_identity: ReplicaIdentity::from_code(r.get::<_, String>(3).as_bytes()[0])
                    .unwrap_or(ReplicaIdentity::Default),
                has_primary_key: r.get(4),
            })
            .filter(|t| filter.table(&t.id))
            .collect())
    }

    /// The tables a publication publishes (the partitioned parent, not the partitions, when
    /// `publish_via_partition_root` is on).
    pub async fn publication_tables(&self, publication: &str) -> Result<Vec<TableId>, SourceError> {
        let rows = self
            .client
            .query(
                "SELECT schemaname::text, tablename::text FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2",
                &[&publication],
            )
            .await
            .map_err(|e| SourceError::sql("list the publication's tables", e))?;
        Ok(rows.iter().map(|r| TableId::new(r.get::<_, String>(0), r.get::<_, String>(1))).collect())
    }

    /// Remembers the primary keys of the captured tables as they are now (at start-up), so that a Relation
    /// message decoded after a table's key columns changed can still be given the key they had.
    pub async fn remember_primary_keys(&mut self, tables: &[CatalogTable]) -> Result<(), SourceError> {
        let oids: Vec<u32> = tables.iter().filter(|t| t.has_primary_key).map(|t| t.oid).collect();
        if oids.is_empty() {
            return Ok(());
        }
        let rows = self
            .client
            .query(
                "SELECT i.indrelid, ARRAY(SELECT a.attname::text FROM pg_attribute a
                                          WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey))
                   FROM pg_index i WHERE i.indisprimary AND i.indrelid = ANY($1)",
                &[&oids],
            )
            .await
            .map_err(|e| SourceError::sql("read the primary keys", e))?;
        self.primary_keys.extend(rows.iter().map(|r| (r.get::<_, u32>(0), r.get::<_, Vec<String>>(1))));
        Ok(())
    }

    /// The full schema of a table from the catalogue alone (the snapshot, which reads the table as it is now).
    pub async fn table_schema(
        &mut self,
        table: &CatalogTable,
        filter: &dyn CaptureFilter,
    ) -> Result<TableSchema, SourceError> {
        let facts = self.column_facts(table.oid).await?;
        let columns: Vec<Column> = facts
            .into_iter()
            .filter(|f| !f.generated)
            .map(|f| Column {
                name: f.name,
                type_oid: f.type_oid,
                type_modifier: f.type_modifier,
                primary_key: f.primary_key,
                nullable: !f.not_null,
                default: f.default,
            })
            .collect();
        let key: Vec<String> = columns.iter().filter(|c| c.primary_key).map(|c| c.name.clone()).collect();
        if !key.is_empty() {
            self.primary_keys.insert(table.oid, key);
        }
        self.schema(table.oid, table.id.clone(), table.replica_identity, columns, filter).await
    }

    /// The schema of a streamed table: the Relation message's shape, completed from the catalogue where it still
    /// matches (see the module documentation).
    pub async fn relation_schema(
        &mut self,
        relation: &Relation,
        filter: &dyn CaptureFilter,
    ) -> Result<TableSchema, SourceError> {
        let id = TableId::new(relation.namespace.clone(), relation.name.clone());
        let identity = ReplicaIdentity::from_code(relation.replica_identity).unwrap_or(ReplicaIdentity::Default);
        let facts = self.column_facts(relation.oid).await?;
        let shape =
            stream_shape(identity, &relation.columns, &facts, self.primary_keys.get(&relation.oid).map(Vec::as_slice));
        match shape.key {
            KeyOrigin::ReplicaIdentity | KeyOrigin::Catalogue | KeyOrigin::Remembered => {
                let key: Vec<String> = shape.columns.iter().filter(|c| c.primary_key).map(|c| c.name.clone()).collect();
                tracing::debug!(table = %id, origin = ?shape.key, key = ?key, "streamed table's key");
                self.primary_keys.insert(relation.oid, key);
            }
            // The table had no primary key at the time: a key remembered from before is outdated.
            KeyOrigin::None => {
                self.primary_keys.remove(&relation.oid);
            }
            KeyOrigin::Unknown => tracing::warn!(
                table = %id,
                replica_identity = ?identity,
                "the primary key of this table's events cannot be known: the table was dropped or its key columns \
                 changed before these changes were decoded, and under this replica identity the Relation message \
                 does not name the primary key; its events get a null key"
            ),
        }
        self.schema(relation.oid, id, identity, shape.columns, filter).await
    }

    /// What the catalogue says now about a relation's live columns, in column order (none for a dropped table).
    async fn column_facts(&self, oid: u32) -> Result<Vec<ColumnFacts>, SourceError> {
        let rows = self
            .client
            .query(
                "SELECT a.attname::text, a.atttypid, a.atttypmod, a.attnotnull, a.attgenerated <> '',
                        EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary
                                   AND a.attnum = ANY(i.indkey)),
                        CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END
                   FROM pg_attribute a
                   LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
                  ORDER BY a.attnum",
                &[&oid],
            )
            .await
            .map_err(|e| SourceError::sql("read the table's columns", e))?;
        Ok(rows
            .iter()
            .map(|r| ColumnFacts {
                name: r.get(0),
                type_oid: r.get(1),
                type_modifier: r.get(2),
                not_null: r.get(3),
                generated: r.get(4),
                primary_key: r.get(5),
                default: r.get(6),
            })
            .collect())
    }

    /// Resolves the captured columns' types into the table's schema.
    async fn schema(
        &mut self,
        oid: u32,
        id: TableId,
        replica_identity: ReplicaIdentity,
        columns: Vec<Column>,
        filter: &dyn CaptureFilter,
    ) -> Result<TableSchema, SourceError> {
        let mut out = Vec::with_capacity(columns.len());
        for c in columns {
            if !filter.column(&id, &c.name) {
                continue;
            }
            let info = self.type_info(c.type_oid).await?;
            out.push(ColumnSchema {
                name: c.name,
                type_oid: c.type_oid,
                type_modifier: c.type_modifier,
                type_name: info.name,
                base_type_oid: info.base_oid,
                enum_values: info.enum_values,
                primary_key: c.primary_key,
                nullable: c.nullable,
                default_expression: c.default,
            });
        }
        Ok(TableSchema { relation_oid: oid, id, columns: out, replica_identity })
    }

    /// Resolves domains to their base type, enums to their labels, and arrays of either to an array of the base
    /// (arrays of enums become `text[]` carrying the labels).
    async fn type_info(&mut self, oid: u32) -> Result<TypeInfo, SourceError> {
        if let Some(info) = self.types.get(&oid) {
            return Ok(info.clone());
        }
        let row = self
            .client
            .query_opt(
                "SELECT t.typname::text, t.typtype::text, t.typbasetype, t.typelem, t.typcategory::text,
                        ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
                   FROM pg_type t WHERE t.oid = $1",
                &[&oid],
            )
            .await
            .map_err(|e| SourceError::sql("look up a column type", e))?;
        let info = match row {
            None => TypeInfo {
                name: self.type_names.get(&oid).cloned().unwrap_or_else(|| format!("oid{oid}")),
                base_oid: oid,
                enum_values: None,
            },
            Some(r) => {
                let name: String = r.get(0);
                let typtype: String = r.get(1);
                let basetype: u32 = r.get(2);
                let elem: u32 = r.get(3);
                let category: String = r.get(4);
                let labels: Vec<String> = r.get(5);
                match typtype.as_str() {
                    "e" => TypeInfo { name, base_oid: oid, enum_values: Some(labels) },
                    "d" => {
                        let base = Box::pin(self.type_info(basetype)).await?;
                        TypeInfo { name, base_oid: base.base_oid, enum_values: base.enum_values }
                    }
                    _ if category == "A" && elem >= FIRST_USER_OID => {
                        let element = Box::pin(self.type_info(elem)).await?;
                        if element.enum_values.is_some() {
                            TypeInfo { name, base_oid: TEXT_ARRAY_OID, enum_values: element.enum_values }
                        } else {
                            let array_of_base: Option<u32> = self
                                .client
                                .query_opt("SELECT typarray FROM pg_type WHERE oid = $1", &[&element.base_oid])
                                .await
                                .map_err(|e| SourceError::sql("look up an array type", e))?
                                .map(|r| r.get(0));
                            TypeInfo { name, base_oid: array_of_base.unwrap_or(oid), enum_values: None }
                        }
                    }
                    _ => TypeInfo { name, base_oid: oid, enum_values: None },
                }
            }
        };
        self.types.insert(oid, info.clone());
        Ok(info)
    }

    /// A Type message: the type may have changed, so its cached resolution is dropped; its name is kept for the
    /// case that the catalogue no longer has it when a Relation refers to it.
    pub fn type_changed(&mut self, message: &TypeMessage) {
        self.types.remove(&message.oid);
        self.type_names.insert(message.oid, message.name.clone());
    }
}

/// One column of a table about to get its schema.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Column {
    name: String,
    type_oid: u32,
    type_modifier: i32,
    primary_key: bool,
    nullable: bool,
    /// The `DEFAULT` expression, as `pg_get_expr` prints it.
    default: Option<String>,
}

/// A column as the catalogue lists it now.
#[derive(Clone, Debug)]
struct ColumnFacts {
    name: String,
    type_oid: u32,
    type_modifier: i32,
    not_null: bool,
    generated: bool,
    primary_key: bool,
    default: Option<String>,
}

/// Where a streamed table's key came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyOrigin {
    /// The Relation's flags under the default replica identity: the primary key at the time of the change.
    ReplicaIdentity,
    /// The catalogue's primary key, whose columns are all in the Relation.
    Catalogue,
    /// The primary key last seen for the relation.
    Remembered,
    /// The table has no primary key (default identity without flagged columns, or a catalogue that has the table
    /// without a primary key and no earlier one).
    None,
    /// Not the default identity, and neither the catalogue nor memory has a primary key that fits the Relation.
    Unknown,
}

struct StreamShape {
    columns: Vec<Column>,
    key: KeyOrigin,
}

/// Decides a streamed table's key and optionality from its Relation message (the shape at the time of the change),
/// the catalogue as it is now, and the primary key last seen for it. Pure, so the rules are tested without a server.
fn stream_shape(
    identity: ReplicaIdentity,
    relation: &[RelationColumn],
    facts: &[ColumnFacts],
    remembered: Option<&[String]>,
) -> StreamShape {
    let now = |name: &str, type_oid: u32| facts.iter().find(|f| f.name == name && f.type_oid == type_oid);
    let in_relation = |name: &String| relation.iter().any(|c| &c.name == name);
    let (key, origin): (Vec<&str>, KeyOrigin) = if identity == ReplicaIdentity::Default {
        let flagged: Vec<&str> = relation.iter().filter(|c| c.key).map(|c| c.name.as_str()).collect();
        let origin = if flagged.is_empty() { KeyOrigin::None } else { KeyOrigin::ReplicaIdentity };
        (flagged, origin)
    } else {
        let catalogue: Vec<&ColumnFacts> = facts.iter().filter(|f| f.primary_key).collect();
        let fits = !catalogue.is_empty()
            && catalogue.iter().all(|f| relation.iter().any(|c| c.name == f.name && c.type_oid == f.type_oid));
        let remembered_fits = remembered.filter(|names| !names.is_empty() && names.iter().all(in_relation));
        if fits {
            (catalogue.iter().map(|f| f.name.as_str()).collect(), KeyOrigin::Catalogue)
        } else if let Some(names) = remembered_fits {
            (names.iter().map(String::as_str).collect(), KeyOrigin::Remembered)
        } else if catalogue.is_empty() && !facts.is_empty() && remembered.is_none() {
            (Vec::new(), KeyOrigin::None)
        } else {
            (Vec::new(), KeyOrigin::Unknown)
        }
    };
    let columns = relation
        .iter()
        .map(|c| {
            let primary_key = key.contains(&c.name.as_str());
            let now = now(&c.name, c.type_oid);
            Column {
                name: c.name.clone(),
                type_oid: c.type_oid,
                type_modifier: c.type_modifier,
                primary_key,
                nullable: !primary_key && !now.is_some_and(|f| f.not_null),
                default: now.and_then(|f| f.default.clone()),
            }
        })
        .collect();
    StreamShape { columns, key: origin }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INT4: u32 = 23;
    const TEXT: u32 = 25;

    fn relation(columns: &[(&str, u32, bool)]) -> Vec<RelationColumn> {
        columns
            .iter()
            .map(|&(name, type_oid, key)| RelationColumn { key, name: name.into(), type_oid, type_modifier: -1 })
            .collect()
    }

    /// The catalogue now: (name, type, NOT NULL, primary key).
    fn catalogue(columns: &[(&str, u32, bool, bool)]) -> Vec<ColumnFacts> {
        columns
            .iter()
            .map(|&(name, type_oid, not_null, primary_key)| ColumnFacts {
                name: name.into(),
                type_oid,
                type_modifier: -1,
                not_null,
                generated: false,
                primary_key,
                default: Some(format!("'{name} default'::text")),
            })
            .collect()
    }

    /// (name, primary key, nullable) per column, and where the key came from.
    fn decide(
        identity: ReplicaIdentity,
        relation: &[RelationColumn],
        facts: &[ColumnFacts],
        remembered: &[&str],
    ) -> (Vec<(String, bool, bool)>, KeyOrigin) {
        let remembered: Vec<String> = remembered.iter().map(|s| s.to_string()).collect();
        let shape = stream_shape(identity, relation, facts, (!remembered.is_empty()).then_some(remembered.as_slice()));
        (shape.columns.into_iter().map(|c| (c.name, c.primary_key, c.nullable)).collect(), shape.key)
    }

    fn col(name: &str, primary_key: bool, nullable: bool) -> (String, bool, bool) {
        (name.into(), primary_key, nullable)
    }

    #[test]
    fn under_the_default_identity_the_flagged_columns_are_the_key_even_for_a_dropped_table() {
        let r = relation(&[("id", INT4, true), ("name", TEXT, false)]);
        let (columns, origin) = decide(ReplicaIdentity::Default, &r, &[], &[]);
        assert_eq!(columns, [col("id", true, false), col("name", false, true)]);
        assert_eq!(origin, KeyOrigin::ReplicaIdentity);
    }

    #[test]
    fn a_key_column_renamed_since_the_change_keeps_its_name_at_the_time_of_the_change() {
        let r = relation(&[("id", INT4, true), ("name", TEXT, false)]);
        let now = catalogue(&[("ident", INT4, true, true), ("name", TEXT, true, false)]);
        let (columns, origin) = decide(ReplicaIdentity::Default, &r, &now, &["ident"]);
        assert_eq!(columns, [col("id", true, false), col("name", false, false)]);
        assert_eq!(origin, KeyOrigin::ReplicaIdentity);
    }

    #[test]
    fn a_table_without_primary_key_under_the_default_identity_has_no_key() {
        let r = relation(&[("a", INT4, false)]);
        let (columns, origin) = decide(ReplicaIdentity::Default, &r, &catalogue(&[("a", INT4, true, false)]), &[]);
        assert_eq!((columns, origin), (vec![col("a", false, false)], KeyOrigin::None));
    }

    #[test]
    fn under_full_identity_the_key_is_the_catalogues_primary_key_not_every_flagged_column() {
        let r = relation(&[("id", INT4, true), ("name", TEXT, true), ("note", TEXT, true)]);
        let now = catalogue(&[("id", INT4, true, true), ("name", TEXT, true, false), ("note", TEXT, false, false)]);
        let (columns, origin) = decide(ReplicaIdentity::Full, &r, &now, &[]);
        assert_eq!(columns, [col("id", true, false), col("name", false, false), col("note", false, true)]);
        assert_eq!(origin, KeyOrigin::Catalogue);
    }

    #[test]
    fn under_full_identity_a_dropped_table_gets_the_key_last_seen_for_it() {
        let r = relation(&[("id", INT4, true), ("name", TEXT, true)]);
        let (columns, origin) = decide(ReplicaIdentity::Full, &r, &[], &["id"]);
        assert_eq!((columns, origin), (vec![col("id", true, false), col("name", false, true)], KeyOrigin::Remembered));
    }

    #[test]
    fn under_full_identity_a_renamed_key_column_falls_back_to_the_key_last_seen_when_it_fits() {
        let r = relation(&[("id", INT4, true), ("name", TEXT, true)]);
        let now = catalogue(&[("ident", INT4, true, true), ("name", TEXT, false, false)]);
        assert_eq!(decide(ReplicaIdentity::Full, &r, &now, &["id"]).1, KeyOrigin::Remembered);
        let (columns, origin) = decide(ReplicaIdentity::Full, &r, &now, &["ident"]);
        assert_eq!((columns, origin), (vec![col("id", false, true), col("name", false, true)], KeyOrigin::Unknown));
    }

    #[test]
    fn under_full_identity_a_table_that_never_had_a_primary_key_has_no_key() {
        let r = relation(&[("a", INT4, true)]);
        assert_eq!(decide(ReplicaIdentity::Full, &r, &catalogue(&[("a", INT4, false, false)]), &[]).1, KeyOrigin::None);
        assert_eq!(decide(ReplicaIdentity::Full, &r, &[], &[]).1, KeyOrigin::Unknown);
    }

    #[test]
    fn under_index_identity_the_key_is_the_primary_key_not_the_identity_index() {
        let r = relation(&[("id", INT4, false), ("code", TEXT, true)]);
        let now = catalogue(&[("id", INT4, true, true), ("code", TEXT, true, false)]);
        let (columns, origin) = decide(ReplicaIdentity::Index, &r, &now, &[]);
        assert_eq!((columns, origin), (vec![col("id", true, false), col("code", false, false)], KeyOrigin::Catalogue));
    }

    #[test]
    fn a_streamed_column_takes_the_catalogues_default_only_while_name_and_type_still_match() {
        let r = relation(&[("id", INT4, true), ("v", INT4, false), ("gone", TEXT, false)]);
        let now = catalogue(&[("id", INT4, true, true), ("v", TEXT, false, false)]);
        let shape = stream_shape(ReplicaIdentity::Default, &r, &now, None);
        let defaults: Vec<Option<&str>> = shape.columns.iter().map(|c| c.default.as_deref()).collect();
        assert_eq!(defaults, [Some("'id default'::text"), None, None]);
    }

    #[test]
    fn a_catalogue_column_whose_type_changed_since_does_not_lend_its_not_null() {
        let r = relation(&[("id", INT4, true), ("v", INT4, false)]);
        let now = catalogue(&[("id", INT4, true, true), ("v", TEXT, true, false)]);
        assert_eq!(decide(ReplicaIdentity::Default, &r, &now, &[]).0[1], col("v", false, true));
    }
}
