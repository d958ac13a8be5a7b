//! hstore values as Debezium gives them: under its default `hstore.handling.mode=json` the map as a JSON object,
//! carried as a string (`"{\"a\":\"1\"}"`, schema `io.debezium.data.Json`); under `map` a Connect map, which Kafka's
//! JsonConverter writes as that same JSON object, unquoted (`{"a":"1"}`).
//!
//! Debezium parses the text form with the JDBC driver's `HStoreConverter.fromString`, which fills a
//! `java.util.HashMap`, and writes the map's entries in that map's iteration order — not the order PostgreSQL
//! printed them in. Consumers that compare the string rather than parse it see that order, so it is reproduced here:
//! a `HashMap` iterates its buckets in index order (the key's `String.hashCode`, spread by `h ^ (h >>> 16)`, masked
//! to the table size), and a bucket's keys in insertion order; the table starts at 16 buckets and doubles whenever
//! it holds more than three quarters of its size. Not reproduced: the extra doubling a `HashMap` does when nine keys
//! share one bucket of a table under 64 buckets, which takes keys whose hashes collide on purpose.
//!
//! The JsonConverter iterates the same `HashMap`, so both modes share that order.
//!
//! A NULL value is JSON `null`, as Jackson writes a null string field and the JsonConverter a null map value.

use crate::json;

/// Writes the hstore text form `text` (`"a"=>"1", "b"=>NULL`) as Debezium's JSON string (`hstore.handling.mode=json`).
pub fn write_json(out: &mut Vec<u8>, text: &[u8]) -> Result<(), String> {
    let mut object = Vec::with_capacity(text.len() + 2);
    write_map(&mut object, text)?;
    json::bytes_as_string(out, &object);
    Ok(())
}

/// Writes the hstore text form `text` as the JSON object of a Connect map (`hstore.handling.mode=map`).
pub fn write_map(object: &mut Vec<u8>, text: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(text).map_err(|_| "not UTF-8".to_string())?;
    let mut pairs = parse(text).ok_or_else(|| format!("`{text}` is not an hstore"))?;
    let buckets = java_hash_map_buckets(pairs.len());
    // Stable: keys of one bucket keep the order they were inserted in, which is the text's order.
    pairs.sort_by_key(|(key, _)| java_bucket(key, buckets));
    object.push(b'{');
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            object.push(b',');
        }
        json::string(object, key);
        object.push(b':');
        match value {
            Some(value) => json::string(object, value),
            None => object.extend_from_slice(b"null"),
        }
    }
    object.push(b'}');
    Ok(())
}

/// The unchanged-TOAST placeholder of an hstore column: Debezium's one-entry map `{placeholder: placeholder}`.
pub fn write_placeholder(out: &mut Vec<u8>, placeholder: &str) {
    let mut object = Vec::new();
    write_placeholder_map(&mut object, placeholder);
    json::bytes_as_string(out, &object);
}

/// The same placeholder map under `hstore.handling.mode=map`, as a JSON object.
pub fn write_placeholder_map(object: &mut Vec<u8>, placeholder: &str) {
    object.push(b'{');
    json::string(object, placeholder);
    object.push(b':');
    json::string(object, placeholder);
    object.push(b'}');
}

/// Parses hstore's output form: `"key"=>"value"` or `"key"=>NULL`, separated by `, `, with `\"` and `\\` escaped
/// inside the quotes. `None` for anything else.
fn parse(text: &str) -> Option<Vec<(String, Option<String>)>> {
    let mut pairs = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (key, after) = quoted(rest)?;
        rest = after.trim_start().strip_prefix("=>")?.trim_start();
        let value = match rest.strip_prefix("NULL") {
            Some(after) => {
                rest = after;
                None
            }
            None => {
                let (value, after) = quoted(rest)?;
                rest = after;
                Some(value)
            }
        };
        pairs.push((key, value));
        rest = rest.trim_start();
        if !rest.is_empty() {
            rest = rest.strip_prefix(',')?.trim_start();
            if rest.is_empty() {
                return None;
            }
        }
    }
    Some(pairs)
}

/// A double-quoted hstore string at the start of `text`: its content and what follows it.
fn quoted(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let mut content = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((content, &body[i + 1..])),
            '\\' => content.push(chars.next()?.1),
            c => content.push(c),
        }
    }
    None
}

/// The bucket count of a `java.util.HashMap` after `len` insertions into a new one.
fn java_hash_map_buckets(len: usize) -> usize {
    let mut buckets = 16;
    while len > buckets / 4 * 3 {
        buckets *= 2;
    }
    buckets
}

/// The bucket of `key` in a `java.util.HashMap` of `buckets` buckets.
fn java_bucket(key: &str, buckets: usize) -> usize {
    let h = key.encode_utf16().fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)));
    let spread = (h ^ ((h as u32) >> 16) as i32) as u32;
    spread as usize & (buckets - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Result<String, String> {
        let mut out = Vec::new();
        write_json(&mut out, text.as_bytes())?;
        Ok(serde_json::from_slice::<String>(&out).expect("a JSON string"))
    }

    #[test]
    fn one_pair_becomes_a_json_object_in_a_string() {
        // Debezium's PostgresDefaultValueConverterIT (DBZ-7582): `"key"=>"<data>"` gives `{"key":"<data>"}`.
        assert_eq!(json(r#""key"=>"val""#).unwrap(), r#"{"key":"val"}"#);
    }

    #[test]
    fn the_empty_hstore_is_the_empty_object() {
        assert_eq!(json("").unwrap(), "{}");
    }

    #[test]
    fn null_values_are_json_null_and_escapes_are_undone() {
        assert_eq!(json(r#""a"=>NULL"#).unwrap(), r#"{"a":null}"#);
        assert_eq!(json(r#""q\"x"=>"\\""#).unwrap(), r#"{"q\"x":"\\"}"#);
        assert_eq!(json(r#""b c"=>"é, =>""#).unwrap(), r#"{"b c":"é, =>"}"#);
    }

    #[test]
    fn keys_follow_java_hash_map_iteration_order_not_the_text_order() {
        // PostgreSQL prints keys shortest first; Java's HashMap iterates by bucket. "id" hashes to 3355 (bucket 11
        // of 16) and "name" to 3373707 (spread: 3373707 ^ 51 = 3373752, bucket 8), so "name" comes first.
        assert_eq!(json(r#""id"=>"1", "name"=>"x""#).unwrap(), r#"{"name":"x","id":"1"}"#);
        assert_eq!(json(r#""a"=>"1", "b"=>"2""#).unwrap(), r#"{"a":"1","b":"2"}"#);
    }

    #[test]
    fn thirteen_keys_are_laid_out_in_thirty_two_buckets() {
        assert_eq!(java_hash_map_buckets(0), 16);
        assert_eq!(java_hash_map_buckets(12), 16);
        assert_eq!(java_hash_map_buckets(13), 32);
        assert_eq!(java_hash_map_buckets(25), 64);
        // "a" (97) and "q" (113) share bucket 1 of 16 and keep their insertion order there; with 32 buckets "q"
        // moves to bucket 17, after every key of a lower bucket.
        let keys: Vec<String> = (b'a'..=b'm').map(|c| (c as char).to_string()).chain(["q".to_string()]).collect();
        let text = keys.iter().map(|k| format!(r#""{k}"=>"v""#)).collect::<Vec<_>>().join(", ");
        let object: String = json(&text).unwrap();
        let order: Vec<&str> = object.trim_matches(|c| c == '{' || c == '}').split(',').map(|p| &p[1..2]).collect();
        assert_eq!(order, ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "q"]);
    }

    #[test]
    fn java_string_hash_codes_are_reproduced() {
        // Values of Java's "id".hashCode() and "name".hashCode(); non-BMP characters hash as two UTF-16 units.
        assert_eq!(java_bucket("id", 1 << 30), 3355);
        assert_eq!(java_bucket("name", 1 << 30), 3373707 ^ (3373707 >> 16));
        let pair = 0xd83d * 31 + 0xde00;
        assert_eq!(java_bucket("😀", 1 << 30), pair ^ (pair >> 16));
    }

    #[test]
    fn text_that_is_not_an_hstore_is_an_error() {
        for bad in [r#""a"=>"1","#, r#""a"=>1"#, r#""a""#, r#"a=>"1""#, r#""a"=>"1" "b"=>"2""#] {
            assert!(json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_placeholder_is_a_one_entry_object() {
        let mut out = Vec::new();
        write_placeholder(&mut out, "__debezium_unavailable_value");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""{\"__debezium_unavailable_value\":\"__debezium_unavailable_value\"}""#
        );
    }
}
