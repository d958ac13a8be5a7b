//! The expression subset: what parses, what is refused and how the refusal reads, Groovy's semantics, and each
//! option of Debezium's `Filter` and `ContentBasedRouter` against Debezium's FilterTest and RouterTest.

use std::sync::Arc;

use sluice_core::{Payload, Position, Record};

use super::*;

/// Debezium's FilterTest/RouterTest record: a delete of row `id` on topic `dummy<id>`, with the header `idh`.
fn delete(id: i64) -> Record {
    let value = format!(
        r#"{{"before":{{"id":{id},"name":"myRecord"}},"after":null,"source":{{"lsn":1234,"version":"version!"}},"op":"d","ts_ms":1}}"#
    );
    Record {
        topic: Arc::from(format!("dummy{id}")),
        partition: None,
        key: Some(Payload::Json(format!(r#"{{"id":{id}}}"#).into_bytes())),
        value: Some(Payload::Json(value.into_bytes())),
        headers: vec![("idh".into(), id.to_string().into_bytes())],
        timestamp_ms: 0,
        position: Position::default(),
    }
}

fn update(id: i64) -> Record {
    let mut r = delete(id);
    r.value = Some(Payload::Json(
        format!(
            r#"{{"before":{{"id":{id},"name":"old"}},"after":{{"id":{id},"name":"new","score":1.5,"tags":[],"big":9007199254740993,"note":"caf\u00e9 \"q\""}},"source":{{"lsn":1234}},"op":"u"}}"#
        )
        .into_bytes(),
    ));
    r
}

fn tombstone(topic: &str) -> Record {
    let mut r = delete(1);
    r.topic = Arc::from(topic);
    r.value = None;
    r
}

fn eval(expression: &str, record: &Record) -> Result<String, String> {
    let parsed = Expression::parse(expression).map_err(|e| e.describe(expression))?;
    parsed.evaluate(record).map(|v| match v {
        Val::Str(s) => format!("'{s}'"),
        other => other.to_string(),
    })
}

fn truth(expression: &str) -> bool {
    match eval(expression, &update(2)).unwrap().as_str() {
        "true" => true,
        "false" => false,
        other => panic!("{expression} gave {other}"),
    }
}

fn refusal(expression: &str) -> String {
    let error = Expression::parse(expression).expect_err(expression);
    error.describe(expression)
}

#[test]
fn every_construct_of_the_subset_parses() {
    for expression in [
        "value.op == 'u' && value.before.id == 2",
        "value.op == 'u' ? 'updates' : null",
        "value.get('op') == 'u' && value.get('before').get('id') == 2",
        "value == null ? 'nulls' : (value.before.id == 1 ? 'ones' : null)",
        "value.after?.name != \"x\" || !(value['op'] == 'c')",
        "key.id >= -1 && key.id <= 2.5 && key.id < 3 && key.id > 0",
        "topic == 'a' + 'b' + 1 + null",
        "headers.idh.value == '1' && headers['idh'] != null && headers.missing?.value == null",
        "true != false",
        "'\\'\\\"\\\\\\n\\t\\r\\b\\f\\u00e9\\$'",
        "\"single ' inside\"",
    ] {
        Expression::parse(expression).unwrap_or_else(|e| panic!("{expression}: {}", e.describe(expression)));
    }
}

#[test]
fn precedence_is_groovy_s() {
    // `==` binds looser than `<`, `&&` tighter than `||`, `!` tightest, `? :` loosest and right-associative.
    assert!(truth("1 < 2 == true"));
    assert!(truth("true || false && false"));
    assert!(!truth("!true || false"));
    assert_eq!(eval("false ? 'a' : true ? 'b' : 'c'", &update(2)).unwrap(), "'b'");
    assert_eq!(eval("'a' + 1 + 2", &update(2)).unwrap(), "'a12'", "left to right, as Groovy");
}

#[test]
fn refusals_name_the_place_and_the_reason_and_state_the_subset() {
    let cases: &[(&str, &str, &str)] = &[
        ("topic.startsWith('dummy')", "at character 6 (`.startsWith('dummy')`)", "`topic` is a string"),
        ("value.op.size() == 1", "at character 9 (`.size() == 1`)", "method calls (`size(…)`)"),
        ("value.op = 'd'", "at character 10 (`= 'd'`)", "assignments are outside the subset"),
        ("value.op += 'd'", "at character 10", "assignments and `++`"),
        ("{ -> true }", "at character 1", "closures and blocks"),
        ("new groovy.json.JsonSlurper()", "at character 1 (`new groovy", "creating objects (`new`)"),
        ("valueSchema.name() == 'x'", "at character 1", "Sluice does not bind Connect schemas"),
        ("keySchema == null", "at character 1", "`keySchema` is outside the subset"),
        ("header.idh.value == 1", "at character 1", "the variable is `headers`"),
        ("record.topic == 'x'", "at character 1", "`record` is not a variable of the subset"),
        ("\"${value.op}\" == 'd'", "at character 2 (`${value.op}", "Groovy's interpolation"),
        ("value.op === 'd'", "at character 10", "`===` and `!==`"),
        ("value.op ?: 'x'", "at character 10", "the Elvis operator"),
        ("value.after.id * 2 > 1", "at character 16 (`* 2 > 1`)", "arithmetic is outside the subset"),
        ("operation != 'd", "at character 14 (`'d`)", "the string is not closed"),
        ("value.op == 'u' ? 'x'", "at its end", "`?` needs its `:`"),
        ("(value.op == 'u'", "at its end", "`(` needs its `)`"),
        ("value['op'", "at its end", "`[` needs its `]`"),
        ("value[0] == 1", "at character 7 (`0] == 1`)", "an index must be a quoted field name"),
        ("headers.idh.schema == null", "at character 1", "a header's `schema`"),
        ("1.toString() == '1'", "at character 2", "methods and properties of literals"),
        ("value.op == 'd' value", "at character 17 (`value`)", "`value` where the expression should end"),
        ("value.op ==", "at its end", "the expression ends where a value is expected"),
        ("", "at its end", "the expression is empty"),
        ("true; false", "at character 5", "statements are outside the subset"),
        ("0x10 == 16", "at character 2", "hexadecimal literals"),
        ("99999999999999999999 > 1", "at character 1", "beyond 64 bits"),
        ("value.op == '\\q'", "at character 14 (`\\q'`)", "the escape `\\q`"),
        ("value.op == 'é' && x", "at character 20 (`x`)", "`x` is not a variable"),
    ];
    for (expression, place, reason) in cases {
        let message = refusal(expression);
        assert!(message.contains(place), "{expression}: want `{place}` in {message}");
        assert!(message.contains(reason), "{expression}: want `{reason}` in {message}");
        assert!(message.contains("Sluice evaluates a subset"), "{message}");
    }
}

#[test]
fn hostile_expressions_are_refused_by_length_and_depth_without_recursing_far() {
    let long = format!("value.op == '{}'", "x".repeat(MAX_LENGTH));
    let message = refusal(&long);
    assert!(message.contains("longer than 4096 bytes"));
    assert!(message.len() < 1000, "the expression is quoted by its start only: {message}");
    let nested = format!("{}true{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(refusal(&nested[..MAX_LENGTH]).contains("nested more than 64 levels deep"));
    let negations = "!".repeat(1000) + "true";
    assert!(refusal(&negations).contains("nested more than 64 levels deep"));
    // A flat chain builds a deep tree too: refused by the tree's depth, not the parser's.
    let chain = vec!["true"; 200].join(" && ");
    assert!(refusal(&chain).contains("nested more than 64 levels deep"));
    let ternaries = "true ? ".repeat(100) + "1" + &" : 2".repeat(100);
    assert!(refusal(&ternaries).contains("nested more than 64 levels deep"));
    let path = format!("value{}", ".a".repeat(100));
    assert!(refusal(&path).contains("a path of more than 64 fields"));
    assert!(Expression::parse(&vec!["true"; 60].join(" && ")).is_ok(), "a long but shallow enough chain");
    for garbage in ["\u{0}", "'\\u12'", "'\\u", "\"\\", "-", "?", "value.", "value?.", "headers.", "headers", "é"] {
        assert!(Expression::parse(garbage).is_err(), "{garbage:?}");
    }
}

#[test]
fn numbers_compare_by_value_strings_by_content_and_null_equals_null() {
    assert!(truth("value.after.id == 2"));
    assert!(truth("value.after.id == 2.0"), "Groovy: 2 == 2.0");
    assert!(truth("value.after.score == 1.5"));
    assert!(truth("value.after.big > 9007199254740992"), "whole numbers compare exactly");
    assert!(truth("value.after.name == 'new' && value.after.name != 'New'"));
    assert!(truth("value.after.note == 'café \"q\"'"), "escapes in the record are decoded");
    assert!(truth("value.after == value.after && value.after != value.before"), "structs compare field by field");
    assert!(truth("null == null"));
    assert!(!truth("value.after.id == '2'"), "a number is not a string");
    assert!(!truth("value.after.id == null"));
    assert!(truth("value.after.id != null"));
    assert!(!truth("true == 'true'"));
    assert!(truth("50 == '2'"), "Groovy compares a one-character string with a number by its code ('2' is 50)");
}

#[test]
fn ordering_follows_groovy_null_below_everything_and_mixed_kinds_are_errors() {
    assert!(truth("value.after.id < 3 && value.after.id <= 2 && value.after.id > 1.5 && value.after.id >= 2"));
    assert!(truth("'abc' < 'abd' && 'B' < 'a' && 'a' < 'ab'"));
    assert!(truth("'\u{ffff}' < '\u{10000}' == false"), "Java orders by UTF-16 code units");
    assert!(truth("false < true"));
    // Groovy's compareTo puts null first: `null < 1` is true, `1 < null` false, `null <= null` true.
    assert!(truth("null < 1 && !(1 < null) && 1 > null && null <= null && !(null < null)"));
    assert!(truth("value.after > null"));
    let record = update(2);
    assert!(truth("!('a' < 1)"), "a one-character string is its code beside a number ('a' is 97), as in Groovy");
    for expression in ["'ab' < 1", "value.after.name > 1", "true < 1", "value.after < value.before", "'ab' >= 0"] {
        let error = eval(expression, &record).unwrap_err();
        assert!(error.starts_with("Cannot compare"), "{expression}: {error}");
    }
    assert_eq!(
        eval("value.after.name > 1", &record).unwrap_err(),
        "Cannot compare a string `new` with a number `1` (`>`)"
    );
}

#[test]
fn conditions_take_groovy_truth_and_give_booleans() {
    for (expression, expected) in [
        ("!null", true),
        ("!''", true),
        ("!0", true),
        ("!0.0", true),
        ("!value.after.tags", true),
        ("!'x'", false),
        ("!1", false),
        ("!value.after", false),
        ("!headers.idh", false),
        ("'x' && 1", true),
        ("value.after.name || null", true),
        ("null || 0", false),
    ] {
        assert_eq!(truth(expression), expected, "{expression}");
    }
    assert_eq!(eval("value.after.name ? 'named' : 'anonymous'", &update(2)).unwrap(), "'named'");
    assert_eq!(eval("value.after.tags ? 'tagged' : 'untagged'", &update(2)).unwrap(), "'untagged'");
}

#[test]
fn field_access_on_null_is_an_error_unless_safe_and_a_missing_field_is_an_error() {
    let insert = {
        let mut r = update(1);
        r.value = Some(Payload::Json(br#"{"before":null,"after":{"id":1},"op":"c"}"#.to_vec()));
        r
    };
    let error = eval("value.before.id == 1", &insert).unwrap_err();
    assert!(error.starts_with("Cannot get property 'id' on null object (`value.before` is null"), "{error}");
    assert_eq!(eval("value.before?.id", &insert).unwrap(), "null");
    assert_eq!(eval("value?.before?.id?.x", &insert).unwrap(), "null");
    assert_eq!(eval("value.op == 'c' || value.before.id == 1", &insert).unwrap(), "true", "`||` short-circuits");
    let error = eval("value.after.nope", &insert).unwrap_err();
    assert!(error.starts_with("nope is not a valid field name"), "Connect's Struct.get message: {error}");
    assert!(eval("value.op.x", &insert).unwrap_err().contains("`value.op` is a string, which has no field `x`"));
    assert_eq!(eval("value['after']['id']", &insert).unwrap(), "1");
    assert_eq!(eval("value.get('after').get('id')", &insert).unwrap(), "1");
    assert_eq!(eval("key.id", &insert).unwrap(), "1");
    assert_eq!(eval("value", &tombstone("t")).unwrap(), "null");
    assert!(eval("value.op", &tombstone("t")).unwrap_err().starts_with("Cannot get property 'op' on null object"));
}

#[test]
fn strings_join_with_plus_as_groovy_prints_each_side() {
    let record = update(7);
    assert_eq!(eval("'t-' + value.after.id", &record).unwrap(), "'t-7'");
    assert_eq!(eval("value.after.id + '-t'", &record).unwrap(), "'7-t'", "Number.plus(String)");
    assert_eq!(eval("topic + '.' + value.after.score", &record).unwrap(), "'dummy7.1.5'");
    assert_eq!(eval("'x' + null + true", &record).unwrap(), "'xnulltrue'");
    assert_eq!(eval("null + 'x'", &record).unwrap(), "'nullx'");
    for bad in ["1 + 1", "value.after + 'x'", "'x' + value.after", "true + 'x'", "'x' + headers.idh"] {
        assert!(eval(bad, &record).unwrap_err().contains("outside the subset"), "{bad}");
    }
}

#[test]
fn headers_are_read_by_name_as_text_and_the_last_of_a_name_wins() {
    let mut record = delete(1);
    record.headers.push(("idh".into(), b"3".to_vec()));
    assert_eq!(eval("headers.idh.value", &record).unwrap(), "'3'", "Debezium collects headers into a map");
    assert_eq!(eval("headers.none?.value", &record).unwrap(), "null");
    assert_eq!(eval("headers.none == null && headers['idh'] != null", &record).unwrap(), "true");
    assert!(eval("headers.none.value", &record).unwrap_err().contains("there is no header `none`"));
    record.headers.push(("bin".into(), vec![0xff]));
    assert!(eval("headers.bin.value", &record).unwrap_err().contains("not UTF-8"));
}

fn filter(condition: &str, topic_regex: Option<&str>, nulls: NullHandling) -> Scripted {
    Scripted::new(ScriptKind::Filter, condition, topic_regex, nulls).unwrap()
}

fn router(expression: &str, topic_regex: Option<&str>, nulls: NullHandling) -> Scripted {
    Scripted::new(ScriptKind::Router, expression, topic_regex, nulls).unwrap()
}

fn kept(transform: &mut Scripted, mut record: Record) -> bool {
    transform.apply(&mut record).unwrap()
}

fn routed(transform: &mut Scripted, mut record: Record) -> Option<String> {
    transform.apply(&mut record).unwrap().then(|| record.topic.to_string())
}

#[test]
fn filter_gives_debezium_s_filter_test_results() {
    // Debezium's FilterTest (debezium-scripting): shouldProcessCondition, shouldProcessTopic, shouldApplyTopicRegex.
    let mut f = filter("value.op != 'd' || value.before.id != 2", None, NullHandling::Keep);
    assert!(!kept(&mut f, delete(2)));
    assert!(kept(&mut f, delete(1)));
    let mut f = filter("topic == 'dummy1'", None, NullHandling::Keep);
    assert!(!kept(&mut f, delete(2)));
    assert!(kept(&mut f, delete(1)));
    let mut f = filter("value.op != 'd' || value.before.id != 2", Some("dum.*"), NullHandling::Keep);
    let mut customer = delete(2);
    customer.topic = Arc::from("customer");
    assert!(kept(&mut f, customer), "a topic topic.regex does not match passes unevaluated");
    assert!(!kept(&mut f, delete(2)));
    // shouldProcessHeader: Debezium's header is an Integer (`headers.idh.value == 1`); Sluice's headers are text.
    let mut f = filter("headers.idh.value == '1'", None, NullHandling::Keep);
    assert!(!kept(&mut f, delete(2)));
    assert!(kept(&mut f, delete(1)));
}

#[test]
fn filter_null_handling_keeps_drops_or_evaluates_tombstones() {
    // FilterTest: shouldKeepNulls, shouldDropNulls, shouldEvaluateNulls (which fails: `value.op` on null).
    let condition = "value.op != 'd' || value.before.id != 2";
    assert!(kept(&mut filter(condition, None, NullHandling::Keep), tombstone("dummy")));
    assert!(!kept(&mut filter(condition, None, NullHandling::Drop), tombstone("dummy")));
    let error = filter(condition, None, NullHandling::Evaluate).apply(&mut tombstone("dummy")).unwrap_err();
    assert!(error.starts_with("`condition`: Cannot get property 'op' on null object"), "{error}");
    let mut unwrap_null = delete(1);
    unwrap_null.value = Some(Payload::Json(b"null".to_vec()));
    assert!(!kept(&mut filter(condition, None, NullHandling::Drop), unwrap_null), "a JSON null is a null value");
    assert!(kept(&mut filter("value == null", None, NullHandling::Evaluate), tombstone("dummy")));
}

#[test]
fn filter_keeps_debezium_s_documented_example_only_for_updates_of_id_2() {
    // Debezium's "Message filtering" basic configuration, and its Graal.js and JavaScript spellings.
    for condition in
        ["value.op == 'u' && value.before.id == 2", "value.get('op') == 'u' && value.get('before').get('id') == 2"]
    {
        let mut f = filter(condition, None, NullHandling::Keep);
        assert!(kept(&mut f, update(2)), "{condition}");
        assert!(!kept(&mut f, update(3)), "{condition}");
        assert!(!kept(&mut f, delete(2)), "{condition}");
    }
}

#[test]
fn a_filter_result_must_be_a_boolean() {
    let error = filter("value.op", None, NullHandling::Keep).apply(&mut delete(1)).unwrap_err();
    assert_eq!(error, "Value 'd' returned by the expression is not a Boolean (`condition` gave a string)");
    let error = filter("value.after", None, NullHandling::Keep).apply(&mut delete(1)).unwrap_err();
    assert!(error.contains("gave null, not a boolean"), "{error}");
}

#[test]
fn router_gives_debezium_s_router_test_results() {
    // Debezium's RouterTest: shouldRoute, shouldApplyTopicRegex, shouldKeepNulls, shouldDropNulls,
    // shouldEvaluateNulls, shouldFailOnInvalidReturnValue (records on topic "original").
    let expression = "value == null ? 'nulls' : (value.before.id == 1 ? 'ones' : null)";
    let original = |mut r: Record| {
        r.topic = Arc::from("original");
        r
    };
    let mut r = router(expression, None, NullHandling::Keep);
    assert_eq!(routed(&mut r, original(delete(1))).as_deref(), Some("ones"));
    assert_eq!(routed(&mut r, original(delete(2))).as_deref(), Some("original"));
    let mut r = router(expression, Some("orig.*"), NullHandling::Keep);
    assert_eq!(routed(&mut r, original(delete(1))).as_deref(), Some("ones"));
    let mut customer = delete(1);
    customer.topic = Arc::from("customer");
    assert_eq!(routed(&mut r, customer).as_deref(), Some("customer"));
    assert_eq!(
        routed(&mut router(expression, None, NullHandling::Keep), tombstone("original")).as_deref(),
        Some("original")
    );
    assert_eq!(routed(&mut router(expression, None, NullHandling::Drop), tombstone("original")), None);
    assert_eq!(
        routed(&mut router(expression, None, NullHandling::Evaluate), tombstone("original")).as_deref(),
        Some("nulls")
    );
    let error = router("1", None, NullHandling::Keep).apply(&mut delete(1)).unwrap_err();
    assert_eq!(error, "Value '1' returned by the expression is not a String (`topic.expression` gave a number)");
}

#[test]
fn router_sends_updates_to_the_documented_topic_and_shares_the_topic_it_made() {
    // Debezium's "Content-based routing" basic configuration.
    let mut r = router("value.op == 'u' ? 'updates' : null", None, NullHandling::Keep);
    let (mut first, mut second) = (update(1), update(2));
    r.apply(&mut first).unwrap();
    r.apply(&mut second).unwrap();
    assert_eq!(&*first.topic, "updates");
    assert!(Arc::ptr_eq(&first.topic, &second.topic), "one allocation per topic, not per record");
    assert_eq!(routed(&mut r, delete(1)).as_deref(), Some("dummy1"));
    assert_eq!(
        routed(&mut router("topic + '.' + value.op", None, NullHandling::Keep), delete(1)).as_deref(),
        Some("dummy1.d")
    );
    let error = router("''", None, NullHandling::Keep).apply(&mut delete(1)).unwrap_err();
    assert!(error.contains("empty topic name"), "{error}");
}

#[test]
fn options_are_checked_with_the_option_named() {
    let (option, message) = Scripted::new(ScriptKind::Router, "value.op.size()", None, NullHandling::Keep).unwrap_err();
    assert_eq!(option, "topic.expression");
    assert!(message.contains("method calls"), "{message}");
    let (option, _) = Scripted::new(ScriptKind::Filter, "value.op = 1", None, NullHandling::Keep).unwrap_err();
    assert_eq!(option, "condition");
    let (option, message) =
        Scripted::new(ScriptKind::Filter, "true", Some("(unclosed"), NullHandling::Keep).unwrap_err();
    assert_eq!(option, "topic.regex");
    assert!(message.contains("not a regular expression"), "{message}");
}

#[test]
fn a_value_that_is_not_json_is_an_error_when_read() {
    let mut record = delete(1);
    record.value = Some(Payload::String("Struct{}".into()));
    let error = filter("value.op == 'd'", None, NullHandling::Keep).apply(&mut record).unwrap_err();
    assert!(error.contains("not JSON"), "{error}");
    assert!(kept(&mut filter("topic == 'dummy1'", None, NullHandling::Keep), delete(1)));
}

#[test]
fn every_prefix_and_byte_flip_of_an_expression_parses_or_is_refused_and_evaluates_without_panicking() {
    let seeds = [
        "value.after != null ? (value.after?.name == 'UK' ? 'uk' : null) : (value.before?.name == \"x\" ? 'y' : null)",
        "!(headers['idh']?.value == '1') || key.id >= -2.5 && topic + 1 < 'z' && value.get('op') != '\\u00e9'",
    ];
    let record = update(2);
    let mut seen = 0;
    for seed in seeds {
        let mut variants: Vec<String> = (0..=seed.len()).filter_map(|i| seed.get(..i).map(String::from)).collect();
        for i in 0..seed.len() {
            for replacement in ["(", ")", "'", "\"", "?", ".", "\\", "$", "!", "é", " "] {
                let mut flipped = seed.as_bytes().to_vec();
                flipped.splice(i..=i, replacement.bytes());
                if let Ok(text) = String::from_utf8(flipped) {
                    variants.push(text);
                }
            }
        }
        for text in &variants {
            match Expression::parse(text) {
                Ok(parsed) => {
                    let _ = parsed.evaluate(&record);
                    seen += 1;
                }
                Err(e) => assert!(!e.describe(text).is_empty()),
            }
        }
    }
    assert!(seen > 0, "some variants still parse");
}
