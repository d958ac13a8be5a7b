//! Kafka topic names from table names and outbox routes.
//!
//! PostgreSQL accepts any character in an identifier (`"my table"`, `"a/b"`, `"🚀"`), Kafka only `[a-zA-Z0-9._-]`,
//! at most 249 of them, and never `.` or `..` alone. A topic Kafka rejects fails every write to it, and with it the
//! pipeline, on every start: one oddly named table anywhere in an `all_tables` publication would be enough. So every
//! topic Sluice produces goes through [`sanitize`] first, as Debezium's topic naming strategies do
//! (`AbstractTopicNamingStrategy.sanitizedTopicName`): each character outside the legal set becomes `_`. Debezium
//! walks Java's UTF-16 `char`s, so a character outside the Basic Multilingual Plane (an emoji) becomes two
//! underscores; Sluice does the same so that both name a table's topic alike.
//!
//! Debezium leaves length and the `.`/`..` names to Kafka, which rejects them; Sluice makes them legal too (a
//! documented difference): a name longer than 249 characters keeps its first 240 and ends in `_` plus eight hex
//! digits of the MD5 of the unsanitized name, so two long names that share a beginning stay apart; `.` and `..`
//! become `_` and `__`.
//!
//! Sanitizing is not injective: `a/b` and `a_b` both become `a_b`. Callers sanitize once per table or route, cache
//! the result, log the change once, and decide what a collision means (docs/events.md#topic-names).

use std::borrow::Cow;

/// Kafka's longest topic name.
pub const MAX_TOPIC_LEN: usize = 249;

/// Characters kept from a too-long name, before `_` and the 8-digit hash.
const KEPT_OF_LONG: usize = MAX_TOPIC_LEN - 9;

fn is_legal(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// The topic Kafka accepts for `name`: borrowed when `name` is already legal.
pub fn sanitize(name: &str) -> Cow<'_, str> {
    let legal_chars = name.chars().all(is_legal);
    if legal_chars && !name.is_empty() && name.len() <= MAX_TOPIC_LEN && name != "." && name != ".." {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if is_legal(c) {
            out.push(c);
        } else {
            // One underscore per UTF-16 unit, as Debezium replaces Java chars.
            (0..c.len_utf16()).for_each(|_| out.push('_'));
        }
    }
    if out.is_empty() || (out.len() <= 2 && out.bytes().all(|b| b == b'.')) {
        out = "_".repeat(out.len().max(1));
    }
    if out.len() > MAX_TOPIC_LEN {
        use md5::Digest;
        let digest = md5::Md5::digest(name.as_bytes());
        // Only ASCII is left, so any byte index is a character boundary.
        out.truncate(KEPT_OF_LONG);
        out.push('_');
        for b in &digest[..4] {
            out.push_str(&format!("{b:02x}"));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn illegal_characters_become_underscores_as_in_debezium() {
        assert_eq!(sanitize("test.public.orders"), "test.public.orders");
        assert!(matches!(sanitize("test.public.orders"), Cow::Borrowed(_)));
        assert_eq!(sanitize("test.public.my table"), "test.public.my_table");
        assert_eq!(sanitize("test.public.a/b"), "test.public.a_b");
        assert_eq!(sanitize("outbox.event.Ord/er ✓"), "outbox.event.Ord_er__");
        // An emoji is two UTF-16 units in Java, so two underscores.
        assert_eq!(sanitize("test.public.🚀"), "test.public.__");
        assert_eq!(sanitize("ünïcode"), "_n_code");
    }

    #[test]
    fn names_kafka_reserves_or_cannot_hold_are_made_legal() {
        assert_eq!(sanitize(""), "_");
        assert_eq!(sanitize("."), "_");
        assert_eq!(sanitize(".."), "__");
        assert_eq!(sanitize("..."), "...");
        let long = format!("test.public.{}", "x".repeat(300));
        let topic = sanitize(&long);
        assert_eq!(topic.len(), MAX_TOPIC_LEN);
        assert!(topic.starts_with("test.public.xxx"));
        let other_name = format!("test.public.{}y", "x".repeat(300));
        let other = sanitize(&other_name);
        assert_ne!(topic, other, "long names sharing a beginning stay apart");
    }

    proptest! {
        #[test]
        fn every_sanitized_name_is_a_legal_kafka_topic(name in "\\PC{0,300}|[a-z./ -]{0,6}|.{240,260}") {
            let topic = sanitize(&name);
            prop_assert!(!topic.is_empty() && topic.len() <= MAX_TOPIC_LEN, "{:?}", topic);
            prop_assert!(topic.chars().all(is_legal), "{:?}", topic);
            prop_assert!(topic != "." && topic != "..");
            // Idempotent: a legal name is left alone.
            prop_assert!(matches!(sanitize(&topic), Cow::Borrowed(_)));
        }

        #[test]
        fn legal_names_are_left_unchanged(name in "[a-zA-Z0-9._-]{3,249}") {
            prop_assert!(matches!(sanitize(&name), Cow::Borrowed(_)));
        }

        #[test]
        fn a_name_keeps_its_length_in_utf16_units_up_to_the_limit(name in "\\PC{1,100}") {
            let topic = sanitize(&name);
            if name != "." && name != ".." {
                prop_assert_eq!(topic.len(), name.encode_utf16().count().min(MAX_TOPIC_LEN));
            }
        }
    }
}
