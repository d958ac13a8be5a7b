//! Java `.properties` files, as `java.util.Properties.load` reads them.
//!
//! Debezium Server users bring their `application.properties` as it is, so the quirks matter: `=`, `:` or plain
//! whitespace separate key and value; `#` and `!` start comments; a trailing backslash continues the line (leading
//! whitespace of the continuation is dropped); `\uXXXX` and the usual escapes work in keys and values. A later
//! duplicate key wins, as in Java.

/// One entry with the line it started on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Parses properties text into entries, in file order (duplicates kept; the caller lets the last win).
pub fn parse(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let start = i + 1;
        let first = lines[i].trim_start_matches([' ', '\t', '\x0c']);
        i += 1;
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        let mut logical = String::from(first);
        while ends_with_odd_backslashes(&logical) && i <= lines.len() {
            logical.pop();
            if i == lines.len() {
                break;
            }
            logical.push_str(lines[i].trim_start_matches([' ', '\t', '\x0c']));
            i += 1;
        }
        let (key, value) = split_key_value(&logical);
        entries.push(Entry { key: unescape(key), value: unescape(value), line: start });
    }
    entries
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

fn split_key_value(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => break,
            _ => i += 1,
        }
    }
    let i = i.min(bytes.len());
    let key = &line[..i];
    let mut rest = line[i..].trim_start_matches([' ', '\t', '\x0c']);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start_matches([' ', '\t', '\x0c']);
    }
    (key, rest)
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => match unicode_escape(&mut chars) {
                Some(ch) => out.push(ch),
                None => out.push('u'),
            },
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Reads the `XXXX` of a `\uXXXX` escape (the `\u` already consumed). Java strings are UTF-16, so a character
/// outside the Basic Multilingual Plane arrives as two escapes (a surrogate pair), which are joined here. Returns
/// `None`, consuming nothing, when the escape is malformed; the caller then keeps the text as written.
fn unicode_escape(chars: &mut std::str::Chars<'_>) -> Option<char> {
    fn hex4(chars: &std::str::Chars<'_>) -> Option<u32> {
        let hex: String = chars.clone().take(4).collect();
        (hex.len() == 4).then(|| u32::from_str_radix(&hex, 16).ok()).flatten()
    }
    let first = hex4(chars)?;
    if (0xD800..0xDC00).contains(&first) {
        let mut after = chars.clone();
        after.nth(3);
        let low = (after.next() == Some('\\') && after.next() == Some('u')).then(|| hex4(&after)).flatten();
        if let Some(low) = low.filter(|l| (0xDC00..0xE000).contains(l)) {
            let ch = char::from_u32(0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00))?;
            chars.nth(9);
            return Some(ch);
        }
    }
    let ch = char::from_u32(first)?;
    chars.nth(3);
    Some(ch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(String, String)> {
        parse(text).into_iter().map(|e| (e.key, e.value)).collect()
    }

    #[test]
    fn separators_comments_and_blank_lines() {
        assert_eq!(
            kv("# comment\n! also\n\na=1\nb : 2\nc 3\n  d=  spaced value  \ne=\n"),
            [("a", "1"), ("b", "2"), ("c", "3"), ("d", "spaced value  "), ("e", "")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn continuation_lines_join_without_leading_whitespace() {
        assert_eq!(
            kv("list=a,\\\n    b,\\\n    c\nnext=1"),
            [("list".into(), "a,b,c".into()), ("next".into(), "1".into())]
        );
    }

    #[test]
    fn escapes_in_keys_and_values() {
        assert_eq!(kv("a\\=b=c\\td\\u0041\\\\"), [("a=b".to_string(), "c\tdA\\".to_string())]);
    }

    #[test]
    fn line_numbers_point_at_the_start_of_an_entry() {
        let e = parse("\n\na=1\\\n 2\nb=3");
        assert_eq!((e[0].line, e[1].line), (3, 5));
    }

    #[test]
    fn a_surrogate_pair_becomes_one_character() {
        assert_eq!(kv("a=\\uD83D\\uDE00!"), [("a".to_string(), "\u{1F600}!".to_string())]);
    }

    #[test]
    fn a_malformed_unicode_escape_is_kept_as_written() {
        assert_eq!(kv("a=\\u12G4"), [("a".to_string(), "u12G4".to_string())]);
    }

    #[test]
    fn escaped_separators_and_spaces_stay_in_the_key() {
        assert_eq!(kv("my\\ key\\:x = v\\=w\\ \n"), [("my key:x".to_string(), "v=w ".to_string())]);
    }

    #[test]
    fn whitespace_alone_separates_and_leading_whitespace_is_dropped() {
        assert_eq!(kv("   \tkey\t  value with = sign\n"), [("key".to_string(), "value with = sign".to_string())]);
    }

    #[test]
    fn escapes_for_control_characters() {
        assert_eq!(kv("a=1\\t2\\n3\\r4\\f5"), [("a".to_string(), "1\t2\n3\r4\x0c5".to_string())]);
    }

    #[test]
    fn windows_line_endings_are_accepted() {
        assert_eq!(kv("a=1\r\nb=2\\\r\n  3\r\n"), [("a".into(), "1".into()), ("b".into(), "23".into())]);
    }

    #[test]
    fn a_backslash_on_the_last_line_ends_the_value() {
        assert_eq!(kv("a=1\\"), [("a".to_string(), "1".to_string())]);
    }

    #[test]
    fn a_comment_marker_inside_a_continuation_is_part_of_the_value() {
        assert_eq!(kv("a=x\\\n  #not-a-comment"), [("a".to_string(), "x#not-a-comment".to_string())]);
    }

    #[test]
    fn the_last_duplicate_comes_last() {
        let e = parse("a=1\na=2\n");
        assert_eq!(e.last().map(|e| e.value.as_str()), Some("2"));
    }

    #[test]
    fn an_even_number_of_backslashes_does_not_continue() {
        assert_eq!(kv("a=x\\\\\nb=1"), [("a".into(), "x\\".into()), ("b".into(), "1".into())]);
    }
}
