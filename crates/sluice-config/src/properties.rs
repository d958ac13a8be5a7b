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
            Some('u') => {
                let hex: String = chars.clone().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().filter(|_| hex.len() == 4).and_then(char::from_u32) {
                    Some(ch) => {
                        out.push(ch);
                        for _ in 0..4 {
                            chars.next();
                        }
                    }
                    None => out.push('u'),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
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
    fn an_even_number_of_backslashes_does_not_continue() {
        assert_eq!(kv("a=x\\\\\nb=1"), [("a".into(), "x\\".into()), ("b".into(), "1".into())]);
    }
}
