//! Column defaults in the Connect schema (`"default": …` in a field's schema), derived as Debezium derives them.
//!
//! Debezium reads each column's `DEFAULT` expression from the catalogue (the JDBC driver's `COLUMN_DEF`, which is
//! `pg_get_expr` of `pg_attrdef`), and its `PostgresDefaultValueConverter` turns the expressions it can read into a
//! value of the field's type. Kafka's JsonConverter writes that value into the field's schema and — with its
//! `replace.null.with.default`, on by default — in place of a null value of that field. The rules, followed here:
//!
//! - The parser is chosen by the column's own type name: `bool`, `int2`, `int4`, `int8`, `float4`, `float8`,
//!   `numeric`, `text`, `varchar`, `bpchar`, `json`, `jsonb`, `xml`, `uuid`, and enum types. Other types — domains,
//!   arrays, `money`, `bytea`, extension types — get no default.
//! - An expression that starts like a function call (`now()`, `nextval('t_id_seq'::regclass)`, `gen_random_uuid()`)
//!   or is `CURRENT_TIMESTAMP`-like is not evaluated: it stands for a fixed placeholder of the type — `0` for
//!   integers (so a `serial` key has `"default":0`), `false`, `0.0`, `""`, `{}` for json and the all-zero uuid.
//! - Otherwise the value is the expression's first single-quoted literal (`'USD'::text` → `USD`, with `''`
//!   unescaped; in `('a'::text || 'b'::text)` that is `a`), or the whole expression when it has no quote (`42`,
//!   `true`, `-1.5`); `NULL::…` is no default.
//! - The literal is then read as Java reads it for the type (`Integer.parseInt`, `Boolean.parseBoolean`: anything
//!   but `true` is false, `new BigDecimal`, `Double.parseDouble`); what does not read (`(1 + 2)`) has no default.
//!   Numeric, integer, float, boolean and uuid expressions are trimmed first; strings are not.
//! - A `numeric(p,s)` default is rescaled to `s`, and has none when that would round (Java's `setScale` throws). A
//!   `numeric` without scale has none under `decimal.handling.mode=precise`: its Connect value is a struct, and
//!   Debezium drops struct defaults (KAFKA-12694).
//! - An enum's default is the quoted label of `'label'::type` when the cast names the column's type.
//!
//! Debezium also parses defaults of `bit`, `varbit`, `date`, `time`, `timestamp`, `timestamptz` and `interval`;
//! Sluice leaves those out (docs/events.md). Exponent forms of numeric literals (`1E+3`, which PostgreSQL does not
//! print for numeric constants) and Java's float suffixes (`1.5f`) are left out too.
//!
//! This runs once per table version, when the schema JSON is built; per event, a null replaced by its field's
//! default is a copy of bytes prepared here.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use sluice_core::ColumnSchema;

use crate::types::Kind;
use crate::{decimal, json};

/// Debezium's `FUNCTION_DEFAULT_PATTERN`: the expression starts like a function call.
static FUNCTION_CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[(]?[A-Za-z0-9_.]+\((?:.+(?:, ?.+)*)?\)").expect("a valid pattern"));
/// Debezium's `LITERAL_DEFAULT_PATTERN`: a single-quoted SQL string, `''` standing for a quote.
static QUOTED_LITERAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"'([^']*(?:''[^']*)*)'").expect("a valid pattern"));
/// The SQL value functions PostgreSQL prints without parentheses.
const CURRENT_DATE_TIMES: [&str; 5] =
    ["current_timestamp", "current_time", "current_date", "localtime", "localtimestamp"];
const ZERO_UUID: &str = "00000000-0000-0000-0000-000000000000";

/// How a type's default literal is read: Debezium's mapper for the type name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Parser {
    Bool,
    Integer {
        min: i64,
        max: i64,
    },
    Float,
    Numeric,
    /// text, varchar, bpchar, xml, json and jsonb, with the placeholder for a function default.
    Text(&'static str),
    Uuid,
}

impl Parser {
    fn for_type(type_name: &str) -> Option<Parser> {
        Some(match type_name {
            "bool" => Parser::Bool,
            "int2" => Parser::Integer { min: i16::MIN.into(), max: i16::MAX.into() },
            "int4" => Parser::Integer { min: i32::MIN.into(), max: i32::MAX.into() },
            "int8" => Parser::Integer { min: i64::MIN, max: i64::MAX },
            "float4" | "float8" => Parser::Float,
            "numeric" => Parser::Numeric,
            "text" | "varchar" | "bpchar" | "xml" => Parser::Text(""),
            "json" | "jsonb" => Parser::Text("{}"),
            "uuid" => Parser::Uuid,
            _ => return None,
        })
    }

    /// The value a function default stands for.
    fn placeholder(self) -> &'static str {
        match self {
            Parser::Bool => "false",
            Parser::Integer { .. } => "0",
            Parser::Float | Parser::Numeric => "0.0",
            Parser::Text(placeholder) => placeholder,
            Parser::Uuid => ZERO_UUID,
        }
    }
}

/// The JSON of `column`'s default as Debezium writes it into the field's schema, or `None` when it has none.
pub(crate) fn default_json(column: &ColumnSchema, kind: &Kind) -> Option<Vec<u8>> {
    let expression = column.default_expression.as_deref()?;
    let mut out = Vec::new();
    if column.enum_values.is_some() {
        let Kind::Enum(_) = kind else { return None };
        json::string(&mut out, enum_label(expression, &column.type_name)?);
        return Some(out);
    }
    let parser = Parser::for_type(&column.type_name)?;
    let expression = match parser {
        Parser::Text(_) => expression,
        _ => expression.trim_matches(|c: char| c <= ' '),
    };
    let literal = literal(expression, parser.placeholder())?;
    match (parser, kind) {
        (Parser::Bool, Kind::Bool) => {
            out.extend_from_slice(if literal.eq_ignore_ascii_case("true") { b"true" } else { b"false" })
        }
        (Parser::Integer { min, max }, Kind::Int16 | Kind::Int32 | Kind::Int64) => {
            json::int(&mut out, literal.parse::<i64>().ok().filter(|v| (min..=max).contains(v))?)
        }
        (Parser::Float, Kind::Float32) => json::java_float(&mut out, finite(&literal)? as f32),
        (Parser::Float, Kind::Float64) => json::java_double(&mut out, finite(&literal)?),
        (Parser::Numeric, _) => write_numeric(&mut out, &literal, column, kind)?,
        (Parser::Text(_), Kind::Text(_)) => json::string(&mut out, &literal),
        (Parser::Uuid, Kind::Text(_)) => json::string(&mut out, &canonical_uuid(&literal)?),
        _ => return None,
    }
    Some(out)
}

/// Debezium's `extractDefault`: the placeholder for a function call, else the first quoted literal, else the whole
/// expression; `None` for `NULL::type`.
fn literal<'a>(expression: &'a str, placeholder: &'static str) -> Option<Cow<'a, str>> {
    if FUNCTION_CALL.is_match(expression) || CURRENT_DATE_TIMES.contains(&expression.to_lowercase().as_str()) {
        return Some(Cow::Borrowed(placeholder));
    }
    if !expression.contains('\'') {
        return (!expression.starts_with("NULL::")).then_some(Cow::Borrowed(expression));
    }
    let quoted = QUOTED_LITERAL.captures(expression)?.get(1)?.as_str();
    Some(if quoted.contains("''") { Cow::Owned(quoted.replace("''", "'")) } else { Cow::Borrowed(quoted) })
}

/// `Float.parseFloat` / `Double.parseDouble` of the forms PostgreSQL prints; NaN and infinities have no JSON number.
fn finite(literal: &str) -> Option<f64> {
    literal.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A numeric default in the column's representation (`decimal.handling.mode`).
fn write_numeric(out: &mut Vec<u8>, literal: &str, column: &ColumnSchema, kind: &Kind) -> Option<()> {
    let parsed = decimal::parse(literal.as_bytes())?;
    // numeric(p,s): Debezium sets the scale to s, which fails rather than rounds.
    let parsed = match fixed_scale(column.type_modifier) {
        Some(scale) => rescale_exactly(parsed, scale)?,
        None => parsed,
    };
    match kind {
        Kind::Decimal { .. } => kind.write_value(out, plain_string(&parsed).as_bytes()).ok()?,
        Kind::DecimalAsDouble => json::java_double(out, plain_string(&parsed).parse().ok()?),
        Kind::DecimalAsString => json::string(out, &plain_string(&parsed)),
        _ => return None,
    }
    Some(())
}

/// The scale of a `numeric(p,s)` type modifier.
fn fixed_scale(type_modifier: i32) -> Option<u32> {
    (type_modifier >= 4).then(|| ((type_modifier - 4) as u32) & 0xffff)
}

/// Java's `setScale(scale)` without a rounding mode: padding, or dropping only zeros.
fn rescale_exactly(d: decimal::Decimal, scale: u32) -> Option<decimal::Decimal> {
    let dropped = d.scale.saturating_sub(scale) as usize;
    let kept = d.digits.len().checked_sub(dropped)?;
    d.digits[kept..].iter().all(|&digit| digit == 0).then(|| d.rescale(scale))
}

/// `BigDecimal.toPlainString`: no leading zeros before the point but one, no negative zero.
fn plain_string(d: &decimal::Decimal) -> String {
    let scale = d.scale as usize;
    let first = d.digits.iter().position(|&digit| digit != 0).unwrap_or(d.digits.len());
    let start = first.min(d.digits.len().saturating_sub(scale + 1));
    let digits: String = d.digits[start..].iter().map(|&digit| char::from(b'0' + digit)).collect();
    let digits =
        if digits.len() <= scale { format!("{}{digits}", "0".repeat(scale + 1 - digits.len())) } else { digits };
    let negative = d.negative && first < d.digits.len();
    let (int, frac) = digits.split_at(digits.len() - scale);
    let sign = if negative { "-" } else { "" };
    if scale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// `UUID.fromString(…).toString()` for the canonical form: lower case.
fn canonical_uuid(literal: &str) -> Option<String> {
    let bytes = literal.as_bytes();
    let canonical = bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    canonical.then(|| literal.to_ascii_lowercase())
}

/// Debezium's `extractEnumDefault`: the label of `'label'::type` (taken as it is, `''` not unescaped) when the cast
/// names the column's enum type, schema-qualified or not.
fn enum_label<'a>(expression: &'a str, type_name: &str) -> Option<&'a str> {
    let cast = expression.rfind("::")?;
    let (value, suffix) = (&expression[..cast], &expression[cast + 2..]);
    if unqualified_type_name(suffix)? != type_name {
        return None;
    }
    value.strip_prefix('\'')?.strip_suffix('\'')
}

/// The type name of `name`, `schema.name` or `"Sche.ma"."Na""me"`, unquoted.
fn unqualified_type_name(suffix: &str) -> Option<String> {
    let mut parts = Vec::new();
    let mut rest = suffix;
    loop {
        let (part, after) = match rest.strip_prefix('"') {
            Some(quoted) => {
                let mut name = String::new();
                let mut chars = quoted.char_indices();
                let end = loop {
                    match chars.next()? {
                        (i, '"') if quoted[i + 1..].starts_with('"') => {
                            name.push('"');
                            chars.next();
                        }
                        (i, '"') => break i + 1,
                        (_, c) => name.push(c),
                    }
                };
                (name, &quoted[end..])
            }
            None => {
                let end = rest.find('.').unwrap_or(rest.len());
                (rest[..end].to_string(), &rest[end..])
            }
        };
        parts.push(part);
        match after.strip_prefix('.') {
            Some(next) => rest = next,
            None if after.is_empty() => break,
            None => return None,
        }
    }
    (parts.len() <= 2).then(|| parts.pop()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BinaryHandlingMode;

    fn column(type_name: &str, type_modifier: i32, expression: &str) -> ColumnSchema {
        ColumnSchema {
            name: "c".into(),
            type_oid: 0,
            type_modifier,
            type_name: type_name.into(),
            base_type_oid: 0,
            enum_values: None,
            primary_key: false,
            nullable: true,
            default_expression: Some(expression.into()),
        }
    }

    fn default_of(type_name: &str, kind: Kind, expression: &str) -> Option<String> {
        default_json(&column(type_name, -1, expression), &kind).map(|json| String::from_utf8(json).unwrap())
    }

    fn decimal(scale: u32, precision: u32) -> Kind {
        Kind::Decimal { scale, precision: Some(precision) }
    }

    fn numeric_modifier(precision: i32, scale: i32) -> i32 {
        (precision << 16) + scale + 4
    }

    // Expressions as pg_get_expr prints them for the DEFAULTs of Debezium's PostgresDefaultValueConverterIT.

    #[test]
    fn string_literals_are_the_default_of_text_varchar_and_char() {
        let text = || Kind::Text(None);
        assert_eq!(default_of("text", text(), "'USD'::text").as_deref(), Some(r#""USD""#));
        assert_eq!(default_of("varchar", text(), "'MYVALUE'::character varying").as_deref(), Some(r#""MYVALUE""#));
        assert_eq!(default_of("varchar", text(), "'NULL'::character varying").as_deref(), Some(r#""NULL""#));
        assert_eq!(
            default_of("varchar", text(), "'NULL::character varying'::character varying").as_deref(),
            Some(r#""NULL::character varying""#)
        );
        assert_eq!(default_of("bpchar", text(), "'ab'::bpchar").as_deref(), Some(r#""ab""#));
        assert_eq!(default_of("varchar", text(), "'x''y'::character varying").as_deref(), Some(r#""x'y""#));
        assert_eq!(default_of("text", text(), "''::text").as_deref(), Some(r#""""#));
    }

    #[test]
    fn a_typed_null_is_no_default() {
        assert_eq!(default_of("varchar", Kind::Text(None), "NULL::character varying"), None);
        assert_eq!(default_of("int4", Kind::Int32, "NULL::integer"), None);
        assert_eq!(default_of("bool", Kind::Bool, "NULL::boolean"), None);
    }

    #[test]
    fn integers_read_with_their_type_range() {
        assert_eq!(default_of("int4", Kind::Int32, "0").as_deref(), Some("0"));
        assert_eq!(default_of("int4", Kind::Int32, "'-1'::integer").as_deref(), Some("-1"));
        assert_eq!(default_of("int2", Kind::Int16, "7").as_deref(), Some("7"));
        assert_eq!(
            default_of("int8", Kind::Int64, "'9223372036854775807'::bigint").as_deref(),
            Some("9223372036854775807")
        );
        assert_eq!(default_of("int2", Kind::Int16, "'40000'::integer"), None);
        assert_eq!(default_of("int4", Kind::Int32, "(1 + 2)"), None, "expressions are not evaluated");
    }

    #[test]
    fn function_defaults_stand_for_the_types_placeholder() {
        // A serial column: Debezium's key schema has "default":0.
        assert_eq!(default_of("int4", Kind::Int32, "nextval('t_id_seq'::regclass)").as_deref(), Some("0"));
        assert_eq!(default_of("int8", Kind::Int64, "nextval('s'::regclass)").as_deref(), Some("0"));
        assert_eq!(default_of("text", Kind::Text(None), "lower('X'::text)").as_deref(), Some(r#""""#));
        assert_eq!(default_of("bool", Kind::Bool, "f()").as_deref(), Some("false"));
        // testShouldHandleDefaultValueFunctionsWithSchemaPrefixes: s2.tst_generate_random_uuid() → the zero uuid.
        assert_eq!(
            default_of("uuid", Kind::Text(Some("io.debezium.data.Uuid")), "s2.tst_generate_random_uuid()").as_deref(),
            Some(r#""00000000-0000-0000-0000-000000000000""#)
        );
        assert_eq!(default_of("jsonb", Kind::Text(Some("io.debezium.data.Json")), "f()").as_deref(), Some(r#""{}""#));
    }

    #[test]
    fn booleans_are_true_only_for_true() {
        assert_eq!(default_of("bool", Kind::Bool, "true").as_deref(), Some("true"));
        assert_eq!(default_of("bool", Kind::Bool, "false").as_deref(), Some("false"));
        assert_eq!(default_of("bool", Kind::Bool, " TRUE ").as_deref(), Some("true"));
    }

    #[test]
    fn a_numeric_default_takes_the_columns_scale_and_mode() {
        let with_scale = |scale, expression: &str, kind: Kind| {
            default_json(&column("numeric", numeric_modifier(12, scale), expression), &kind)
                .map(|json| String::from_utf8(json).unwrap())
        };
        // DBZ-7562: numeric(12,0) DEFAULT 0.0 → 0 at scale 0 (one zero byte).
        assert_eq!(with_scale(0, "0.0", decimal(0, 12)).as_deref(), Some(r#""AA==""#));
        assert_eq!(with_scale(2, "1.5", decimal(2, 12)).as_deref(), Some(r#""AJY=""#));
        assert_eq!(with_scale(2, "'-3.5'::numeric", decimal(2, 12)).as_deref(), Some(r#""/qI=""#));
        assert_eq!(with_scale(0, "2.5", decimal(0, 12)), None, "rounding fails in Java's setScale");
        assert_eq!(with_scale(2, "1.5", Kind::DecimalAsString).as_deref(), Some(r#""1.50""#));
        assert_eq!(with_scale(2, "007.5", Kind::DecimalAsString).as_deref(), Some(r#""7.50""#));
        assert_eq!(with_scale(2, "'-0.0'::numeric", Kind::DecimalAsString).as_deref(), Some(r#""0.00""#));
        assert_eq!(with_scale(2, "1.5", Kind::DecimalAsDouble).as_deref(), Some("1.5"));
        assert_eq!(default_of("numeric", Kind::VariableDecimal, "2.25"), None, "struct defaults are dropped");
        assert_eq!(default_of("numeric", Kind::DecimalAsString, "0.05").as_deref(), Some(r#""0.05""#));
    }

    #[test]
    fn floats_print_as_java_does() {
        assert_eq!(default_of("float4", Kind::Float32, "1.5").as_deref(), Some("1.5"));
        assert_eq!(default_of("float8", Kind::Float64, "'10000000000'::double precision").as_deref(), Some("1.0E10"));
        assert_eq!(default_of("float8", Kind::Float64, "'NaN'::double precision"), None);
    }

    #[test]
    fn uuids_are_lower_cased_and_must_be_canonical() {
        let uuid = || Kind::Text(Some("io.debezium.data.Uuid"));
        assert_eq!(
            default_of("uuid", uuid(), "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid").as_deref(),
            Some(r#""a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11""#)
        );
        assert_eq!(default_of("uuid", uuid(), "'a0eebc999c0b4ef8bb6d6bb9bd380a11'::uuid"), None);
    }

    #[test]
    fn an_enum_default_is_its_label_when_the_cast_names_the_type() {
        let enum_column = |type_name: &str, expression: &str| ColumnSchema {
            enum_values: Some(vec!["DRAFT".into(), "happy".into()]),
            ..column(type_name, -1, expression)
        };
        let label = |c: ColumnSchema| {
            default_json(&c, &Kind::Enum("DRAFT,happy".into())).map(|j| String::from_utf8(j).unwrap())
        };
        assert_eq!(label(enum_column("mood", "'happy'::mood")).as_deref(), Some(r#""happy""#));
        // debezium/dbz#1334: a quoted, schema-qualified enum type.
        assert_eq!(label(enum_column("Status", r#"'DRAFT'::s1."Status""#)).as_deref(), Some(r#""DRAFT""#));
        assert_eq!(label(enum_column("mood", "'happy'::other")), None);
    }

    #[test]
    fn other_types_domains_and_arrays_have_no_default() {
        assert_eq!(default_of("money", Kind::Text(None), "'1.00'::money"), None);
        assert_eq!(default_of("posint", Kind::Int32, "1"), None);
        assert_eq!(default_of("_int4", Kind::Array(Box::new(Kind::Int32)), "'{1}'::integer[]"), None);
        assert_eq!(default_of("timestamptz", Kind::TimestampTz(6), "now()"), None);
        assert_eq!(default_of("bytea", Kind::Bytes(BinaryHandlingMode::Bytes), "'\\x00'::bytea"), None);
    }

    #[test]
    fn quoted_type_names_are_unquoted() {
        assert_eq!(unqualified_type_name("mood").as_deref(), Some("mood"));
        assert_eq!(unqualified_type_name("public.mood").as_deref(), Some("mood"));
        assert_eq!(unqualified_type_name(r#""My.Schema"."Na""me""#).as_deref(), Some(r#"Na"me"#));
        assert_eq!(unqualified_type_name(r#""open"#), None);
    }
}
