//! Writing JSON straight into a byte buffer: the encoder's hot path builds no intermediate value trees.

pub fn string(out: &mut Vec<u8>, s: &str) {
    bytes_as_string(out, s.as_bytes());
}

/// Writes UTF-8 bytes as a JSON string (invalid UTF-8 is replaced, never a panic).
pub fn bytes_as_string(out: &mut Vec<u8>, s: &[u8]) {
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
    let rest = &s[start..];
    match std::str::from_utf8(rest) {
        Ok(_) => out.extend_from_slice(rest),
        Err(_) => out.extend_from_slice(String::from_utf8_lossy(rest).as_bytes()),
    }
    out.push(b'"');
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
}
