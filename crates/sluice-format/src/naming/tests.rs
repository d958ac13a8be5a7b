use super::*;

fn id(schema: &str, table: &str) -> TableId {
    TableId { schema: schema.into(), table: table.into() }
}

fn naming(strategy: TopicNamingStrategy, delimiter: &str) -> Naming {
    Naming { strategy, delimiter: delimiter.into(), ..Naming::default() }
}

#[test]
fn the_schema_strategy_is_the_postgresql_default_and_names_prefix_schema_table() {
    // Debezium's CommonConnectorConfig: `topic.naming.strategy` defaults to SchemaTopicNamingStrategy, whose topic is
    // the prefix and the id's schemaParts() (schema, table) joined with the delimiter.
    let n = Naming::default();
    assert_eq!(n.strategy, TopicNamingStrategy::Schema);
    assert_eq!(n.table_topic("fulfillment", &id("inventory", "orders")), "fulfillment.inventory.orders");
    assert_eq!(
        naming(TopicNamingStrategy::Schema, "_").table_topic("fulfillment", &id("inventory", "orders")),
        "fulfillment_inventory_orders"
    );
}

#[test]
fn the_default_strategy_names_prefix_table_as_a_postgresql_table_id_has_no_catalog() {
    // DefaultTopicNamingStrategy joins the prefix and databaseParts() (catalog, table); the catalog is null for
    // PostgreSQL, and mkString leaves blank parts out.
    let n = naming(TopicNamingStrategy::Default, ".");
    assert_eq!(n.table_topic("fulfillment", &id("inventory", "orders")), "fulfillment.orders");
    assert_eq!(naming(TopicNamingStrategy::Default, "-").table_topic("app", &id("s", "t")), "app-t");
}

#[test]
fn blank_parts_are_left_out_of_a_topic_as_debezium_mkstring_does() {
    let n = Naming::default();
    assert_eq!(n.table_topic("app", &id("public", " ")), "app.public");
}

#[test]
fn heartbeat_and_transaction_topics_are_joined_with_the_delimiter() {
    // AbstractTopicNamingStrategy: String.join(delimiter, heartbeatPrefix, prefix) and
    // String.join(delimiter, prefix, transaction).
    let n = naming(TopicNamingStrategy::Schema, "_");
    assert_eq!(n.heartbeat_topic("__debezium-heartbeat", "app"), "__debezium-heartbeat_app");
    assert_eq!(n.transaction_topic("app", "transaction"), "app_transaction");
    let dotted = Naming::default();
    assert_eq!(dotted.heartbeat_topic("__debezium-heartbeat", "app"), "__debezium-heartbeat.app");
    assert_eq!(dotted.transaction_topic("app", "transaction"), "app.transaction");
}

#[test]
fn strategy_class_names_are_debeziums() {
    assert_eq!(
        TopicNamingStrategy::from_class("io.debezium.schema.SchemaTopicNamingStrategy"),
        Some(TopicNamingStrategy::Schema)
    );
    assert_eq!(
        TopicNamingStrategy::from_class("io.debezium.schema.DefaultTopicNamingStrategy"),
        Some(TopicNamingStrategy::Default)
    );
    assert_eq!(TopicNamingStrategy::from_class("io.debezium.schema.SchemaUnicodeTopicNamingStrategy"), None);
}

fn schema_names(mode: NameAdjustment) -> Naming {
    Naming { schema_names: mode, ..Naming::default() }
}

fn field_names(mode: NameAdjustment) -> Naming {
    Naming { field_names: mode, ..Naming::default() }
}

#[test]
fn no_adjustment_leaves_names_alone() {
    let n = Naming::default();
    assert!(matches!(n.schema_name("test-server.a b.Key"), Cow::Borrowed("test-server.a b.Key")));
    assert!(matches!(n.field_name("1 weird-name"), Cow::Borrowed("1 weird-name")));
}

#[test]
fn avro_schema_names_replace_invalid_characters_with_underscores() {
    // Debezium's SchemaNameAdjusterTest: valid full names are kept, `-` is invalid, and two names that adjust alike
    // (`some-invalid-fullname$`, `some-invalid%fullname_`) are a conflict.
    let n = schema_names(NameAdjustment::Avro);
    assert!(matches!(n.schema_name("test_server.connector_test.products.Key"), Cow::Borrowed(_)));
    assert!(matches!(n.schema_name("t1234.connector_test.products.Key"), Cow::Borrowed(_)));
    assert_eq!(n.schema_name("test-server.connector_test.products.Key"), "test_server.connector_test.products.Key");
    assert_eq!(n.schema_name("some-invalid-fullname$"), "some_invalid_fullname_");
    assert_eq!(n.schema_name("some-invalid%fullname_"), "some_invalid_fullname_");
    // A leading digit is replaced and kept (SchemaNameAdjuster.validFullname), so `1x` and `2x` stay apart.
    assert_eq!(n.schema_name("1234.connector_test.products.Key"), "_1234.connector_test.products.Key");
    // Java chars: an emoji is two UTF-16 units, so two underscores.
    assert_eq!(n.schema_name("app.public.🚀.Value"), "app.public.__.Value");
    assert_eq!(n.schema_name(""), "");
}

#[test]
fn avro_unicode_schema_names_escape_invalid_characters_and_underscores() {
    // UnicodeReplacementFunction: `_u` and Integer.toHexString of the char, "00"-padded when at most two digits;
    // `_` is invalid as it starts the escape, and a leading digit is escaped, not kept.
    let n = schema_names(NameAdjustment::AvroUnicode);
    assert_eq!(
        n.schema_name("test-server.connector_test.products.Key"),
        "test_u002dserver.connector_u005ftest.products.Key"
    );
    assert_eq!(n.schema_name("1app.public.t.Key"), "_u0031app.public.t.Key");
    assert_eq!(n.schema_name("app.public.语言.Value"), "app.public._u8bed_u8a00.Value");
    assert_eq!(n.schema_name("app.public.Ā.Value"), "app.public._u100.Value");
    assert_eq!(n.schema_name("app.public.🚀.Value"), "app.public._ud83d_ude80.Value");
}

#[test]
fn avro_field_names_allow_no_dots() {
    // FieldNameUnderscoreReplacementFunction: [a-zA-Z_] first, [a-zA-Z0-9_] after.
    let n = field_names(NameAdjustment::Avro);
    assert!(matches!(n.field_name("order_id"), Cow::Borrowed(_)));
    assert_eq!(n.field_name("order.id"), "order_id");
    assert_eq!(n.field_name("first name"), "first_name");
    assert_eq!(n.field_name("9lives"), "_9lives");
    assert_eq!(n.field_name("prix€"), "prix_");
}

#[test]
fn avro_unicode_field_names_escape_dots_and_underscores() {
    // FieldNameUnicodeReplacementFunction: [a-zA-Z] first, [a-zA-Z0-9] after.
    let n = field_names(NameAdjustment::AvroUnicode);
    assert!(matches!(n.field_name("orderId2"), Cow::Borrowed(_)));
    assert_eq!(n.field_name("order_id"), "order_u005fid");
    assert_eq!(n.field_name("order.id"), "order_u002eid");
    assert_eq!(n.field_name("9lives"), "_u0039lives");
}
