//! Writing JSON straight into a byte buffer: the encoder's hot path builds no intermediate value trees.

pub fn string(out: &mut Vec<u8>, s: &str) {
    bytes_as_string(out, s.as_bytes());
}

/// Writes UTF-8 bytes as a JSON string (invalid UTF-8 is replaced by U+FFFD, never a panic and never invalid JSON).
pub fn bytes_as_string(out: &mut Vec<u8>, s: &[u8]) {
    if std::str::from_utf8(s).is_err() {
        return bytes_as_string(out, String::from_utf8_lossy(s).as_bytes());
    }
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

/// Whether `text` is a number in JSON's grammar (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`), so that
/// PostgreSQL's number text can be copied into the output as is, and anything else is refused rather than written
/// as broken JSON.
pub fn is_number(text: &[u8]) -> bool {
    fn digits(t: &[u8], i: &mut usize) -> usize {
        let start = *i;
        while t.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    }
    let mut i = usize::from(text.first() == Some(&b'-'));
    let int_start = i;
    let n = digits(text, &mut i);
    if n == 0 || (n > 1 && text[int_start] == b'0') {
        return false;
    }
    if text.get(i) == Some(&b'.') {
        i += 1;
        if digits(text, &mut i) == 0 {
            return false;
        }
    }
    if matches!(text.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(text.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(text, &mut i) == 0 {
            return false;
        }
    }
    i == text.len()
}

pub fn int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

pub fn uint(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_escape_like_serde_json() {
        for s in ["plain", "quo\"te", "back\\slash", "new\nline", "\u{1}ctl", "üñí€", ""] {
            let mut out = Vec::new();
            super::string(&mut out, s);
            assert_eq!(serde_json::from_slice::<String>(&out).unwrap(), s);
        }
    }

    #[test]
    fn invalid_utf8_anywhere_still_gives_a_valid_json_string() {
        for s in [&b"\xff\"q"[..], b"a\xc3\nb", b"ok\xe2\x82"] {
            let mut out = Vec::new();
            super::bytes_as_string(&mut out, s);
            let back = serde_json::from_slice::<String>(&out).unwrap();
            assert_eq!(back, String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn json_numbers_are_recognised_strictly() {
        for ok in ["0", "-0", "12", "-12.5", "1e+20", "2.5E-3", "9223372036854775807"] {
            assert!(super::is_number(ok.as_bytes()), "{ok}");
        }
        for bad in ["", "-", "01", "1.", ".5", "+1", "1e", "inf", "NaN", "1_000", "1 ", "0x10"] {
            assert!(!super::is_number(bad.as_bytes()), "{bad}");
        }
    }
}
