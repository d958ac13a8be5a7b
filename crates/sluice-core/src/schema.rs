//! What the source knows about a captured table.

use std::fmt;

/// A table's schema-qualified name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct TableId {
    pub schema: String,
    pub table: String,
}

impl TableId {
    pub fn new(schema: impl Into<String>, table: impl Into<String>) -> Self {
        TableId { schema: schema.into(), table: table.into() }
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

/// Which old values PostgreSQL logs for UPDATE and DELETE (`pg_class.relreplident`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaIdentity {
    /// `d`: the primary key, if there is one.
    Default,
    /// `n`: nothing; updates and deletes cannot be published.
    Nothing,
    /// `f`: every column.
    Full,
    /// `i`: the columns of a chosen unique index.
    Index,
}

impl ReplicaIdentity {
    pub fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            b'd' => ReplicaIdentity::Default,
            b'n' => ReplicaIdentity::Nothing,
            b'f' => ReplicaIdentity::Full,
            b'i' => ReplicaIdentity::Index,
            _ => return None,
        })
    }
}

/// One column of a captured table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnSchema {
    pub name: String,
    /// The column's type OID. For a domain this is the domain's OID; [`base_type_oid`](Self::base_type_oid) is
    /// what values are converted by.
    pub type_oid: u32,
    /// `atttypmod`: length, precision and scale, or -1.
    pub type_modifier: i32,
    /// The type's name as PostgreSQL spells it (`int4`, `_text`, `mood`), for schemas and messages.
    pub type_name: String,
    /// The OID values are converted by: the domain's base type for domains, otherwise `type_oid`.
    pub base_type_oid: u32,
    /// For an enum type (or an array of one), its labels in sort order.
    pub enum_values: Option<Vec<String>>,
    /// Part of the primary key (for the event key).
    pub primary_key: bool,
    pub nullable: bool,
    /// The column's `DEFAULT` expression as PostgreSQL prints it (`pg_get_expr`: `'USD'::text`, `0`,
    /// `nextval('t_id_seq'::regclass)`), when it has one; the encoder derives the schema's default value from it.
    pub default_expression: Option<String>,
}

/// A captured table as of a point in the stream.
///
/// The stream's Relation messages and the catalogue both feed this; the source keeps it current and hands
/// each event an `Arc` of the version that applies to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSchema {
    pub relation_oid: u32,
    pub id: TableId,
    pub columns: Vec<ColumnSchema>,
    pub replica_identity: ReplicaIdentity,
}

impl TableSchema {
    pub fn has_primary_key(&self) -> bool {
        self.columns.iter().any(|c| c.primary_key)
    }
}
