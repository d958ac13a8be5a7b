//! What the catalogue says about captured tables and their types.
//!
//! pgoutput's Relation message names a table's columns and type OIDs, but not everything an event needs: the
//! *primary key* (with REPLICA IDENTITY FULL every column carries pgoutput's key flag, so the flag cannot be the
//! event key), what a user-defined type is (enum labels, a domain's base type, an array's element), and whether
//! a column is nullable. The catalogue is asked once per relation and once per type, then cached.
//!
//! The catalogue answers as of *now*, not as of the change being decoded. A schema change between a change and
//! its decoding can therefore show the newer nullability or enum labels — the same caveat Debezium has.

use sluice_core::{ColumnSchema, ReplicaIdentity, TableId, TableSchema};
use std::collections::HashMap;
use tokio_postgres::Client;

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
        Catalog { client, types: HashMap::new() }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The ordinary and partitioned tables of the database that the filter captures, in a stable order.
    pub async fn list_tables(&self, filter: &dyn CaptureFilter) -> Result<Vec<CatalogTable>, SourceError> {
        let rows = self
            .client
            .query(
                "SELECT c.oid, n.nspname::text, c.relname::text, c.relreplident::text,
                        EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                    AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
                    AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
                  ORDER BY 2, 3",
                &[],
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

    /// The full schema of a table from the catalogue alone (the snapshot, before any Relation message).
    pub async fn table_schema(
        &mut self,
        table: &CatalogTable,
        filter: &dyn CaptureFilter,
    ) -> Result<TableSchema, SourceError> {
        let rows = self
            .client
            .query(
                "SELECT a.attname::text, a.atttypid, a.atttypmod
                   FROM pg_attribute a
                  WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                  ORDER BY a.attnum",
                &[&table.oid],
            )
            .await
            .map_err(|e| SourceError::sql("read the table's columns", e))?;
        let columns: Vec<(String, u32, i32)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
        self.relation_schema(table.oid, table.id.clone(), table.replica_identity, &columns, filter).await
    }

    /// Builds a table's schema from its columns (name, type OID, type modifier), as a Relation message or the
    /// catalogue lists them, adding keys, nullability and resolved types.
    pub async fn relation_schema(
        &mut self,
        oid: u32,
        id: TableId,
        replica_identity: ReplicaIdentity,
        columns: &[(String, u32, i32)],
        filter: &dyn CaptureFilter,
    ) -> Result<TableSchema, SourceError> {
        let rows = self
            .client
            .query(
                "SELECT a.attname::text, a.attnotnull,
                        COALESCE((SELECT true FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary
                                     AND a.attnum = ANY(i.indkey)), false)
                   FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped",
                &[&oid],
            )
            .await
            .map_err(|e| SourceError::sql("read the table's keys", e))?;
        let facts: HashMap<String, (bool, bool)> =
            rows.iter().map(|r| (r.get::<_, String>(0), (r.get::<_, bool>(1), r.get::<_, bool>(2)))).collect();
        let mut out = Vec::with_capacity(columns.len());
        for (name, type_oid, typmod) in columns {
            if !filter.column(&id, name) {
                continue;
            }
            let info = self.type_info(*type_oid).await?;
            let (not_null, primary_key) = facts.get(name).copied().unwrap_or((false, false));
            out.push(ColumnSchema {
                name: name.clone(),
                type_oid: *type_oid,
                type_modifier: *typmod,
                type_name: info.name,
                base_type_oid: info.base_oid,
                enum_values: info.enum_values,
                primary_key,
                nullable: !not_null,
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
            None => TypeInfo { name: format!("oid{oid}"), base_oid: oid, enum_values: None },
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

    /// Forgets a type (a Type message says it may have changed).
    pub fn invalidate_type(&mut self, oid: u32) {
        self.types.remove(&oid);
    }
}
