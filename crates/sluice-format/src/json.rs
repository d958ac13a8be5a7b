//! Writing JSON straight into a byte buffer: the encoder's hot path builds no intermediate value trees.

pub fn string(out: &mut Vec<u8>, s: &str) {
    bytes_as_string(out, s.as_bytes());
}

/// Writes UTF-8 bytes as a JSON string (invalid UTF-8 is replaced by U+FFFD, never a panic and never invalid JSON).
pub fn bytes_as_string(out: &mut Vec<u8>, s: &[u8]) {
    // Most values are ASCII with nothing to escape: one branch-free pass over the bytes finds out, and the value
    // is copied whole, without UTF-8 validation or the per-byte escape loop.
    let (non_ascii, special) = s.iter().fold((false, false), |(non_ascii, special), &b| {
        (non_ascii | (b >= 0x80), special | (b < 0x20) | (b == b'"') | (b == b'\\'))
    });
    if !non_ascii && !special {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s);
        out.push(b'"');
        return;
    }
    if non_ascii && std::str::from_utf8(s).is_err() {
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

/// A number that tends to repeat from one event to the next, kept formatted: every row of a snapshot, and every
/// event of one transaction, share their `txId`, so it is formatted once rather than once per event.
#[derive(Debug, Default)]
pub struct RepeatedUint(std::cell::Cell<Option<(u64, [u8; 20], u8)>>);

impl RepeatedUint {
    pub fn write(&self, out: &mut Vec<u8>, v: u64) {
        if let Some((last, digits, len)) = self.0.get().filter(|(last, ..)| *last == v) {
            debug_assert_eq!(last, v);
            out.extend_from_slice(&digits[..usize::from(len)]);
            return;
        }
        let mut buffer = itoa::Buffer::new();
        let text = buffer.format(v).as_bytes();
        let mut digits = [0u8; 20];
        digits[..text.len()].copy_from_slice(text);
        out.extend_from_slice(text);
        self.0.set(Some((v, digits, text.len() as u8)));
    }
}

/// Writes a double as Kafka Connect's JSON converter does (Jackson, i.e. Java's `Double.toString`): the shortest
/// digits that round-trip, plain between 10^-3 and 10^7 with at least one fraction digit (`100.0`), computerized
/// scientific notation outside (`1.0E7`, `1.5E-4`); NaN and the infinities as the strings Jackson quotes them as.
pub fn java_double(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        return java_non_finite(out, v.is_nan(), v > 0.0);
    }
    java_layout(out, Scientific::of(v).as_bytes());
}

/// Like [`java_double`] for a Connect `float` (Java's `Float.toString`: the shortest digits of the 32-bit value).
pub fn java_float(out: &mut Vec<u8>, v: f32) {
    if !v.is_finite() {
        return java_non_finite(out, v.is_nan(), v > 0.0);
    }
    java_layout(out, Scientific::of(v).as_bytes());
}

/// Rust's shortest scientific form of a float (`{:e}`), formatted on the stack: the encoder writes one for every
/// float column of every row, and a `String` per value was a measurable share of a snapshot's allocations.
struct Scientific {
    buf: [u8; 48],
    len: usize,
}

impl Scientific {
    fn of(v: impl std::fmt::LowerExp) -> Scientific {
        use std::fmt::Write;
        let mut s = Scientific { buf: [0; 48], len: 0 };
        // The longest form, `-2.2250738585072014e-308`, is 24 bytes: the buffer cannot overflow.
        let _ = write!(s, "{v:e}");
        s
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl std::fmt::Write for Scientific {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn java_non_finite(out: &mut Vec<u8>, nan: bool, positive: bool) {
    out.extend_from_slice(match (nan, positive) {
        (true, _) => b"\"NaN\"",
        (false, true) => b"\"Infinity\"",
        (false, false) => b"\"-Infinity\"",
    });
}

/// Lays out Rust's shortest scientific form (`-1.2345e-7`) the way Java prints it.
fn java_layout(out: &mut Vec<u8>, sci: &[u8]) {
    let (mantissa, exp) = match sci.iter().position(|&b| b == b'e') {
        Some(i) => (&sci[..i], exponent(&sci[i + 1..])),
        None => (sci, 0),
    };
    let (negative, mantissa) = match mantissa.split_first() {
        Some((b'-', m)) => (true, m),
        _ => (false, mantissa),
    };
    let mut digit_buf = [0u8; 48];
    let mut n = 0;
    for (slot, &d) in digit_buf.iter_mut().zip(mantissa.iter().filter(|b| b.is_ascii_digit())) {
        *slot = d;
        n += 1;
    }
    let digits = &digit_buf[..n];
    if negative {
        out.push(b'-');
    }
    if digits.iter().all(|&d| d == b'0') {
        out.extend_from_slice(b"0.0");
    } else if (-3..7).contains(&exp) {
        if exp < 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            out.extend_from_slice(digits);
        } else {
            let int_len = exp as usize + 1;
            for i in 0..int_len {
                out.push(*digits.get(i).unwrap_or(&b'0'));
            }
            out.push(b'.');
            match digits.get(int_len..) {
                Some(frac) if !frac.is_empty() => out.extend_from_slice(frac),
                _ => out.push(b'0'),
            }
        }
    } else {
        out.push(digits[0]);
        out.push(b'.');
        match &digits[1..] {
            [] => out.push(b'0'),
            frac => out.extend_from_slice(frac),
        }
        out.push(b'E');
        out.extend_from_slice(itoa::Buffer::new().format(exp).as_bytes());
    }
}

/// The exponent of `{:e}`'s output (`-7`, `20`).
fn exponent(text: &[u8]) -> i32 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', d)) => (true, d),
        _ => (false, text),
    };
    let v = digits.iter().fold(0i32, |acc, &d| acc.saturating_mul(10).saturating_add(i32::from(d.wrapping_sub(b'0'))));
    if negative {
        -v
    } else {
        v
    }
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
    fn a_repeated_number_is_written_as_uint_writes_it_whether_it_repeats_or_not() {
        let repeated = super::RepeatedUint::default();
        for v in [7, 7, u64::MAX, u64::MAX, 0, 7] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            repeated.write(&mut a, v);
            super::uint(&mut b, v);
            assert_eq!(a, b);
        }
    }

    #[test]
    fn doubles_print_like_javas_double_to_string() {
        let cases: [(f64, &str); 16] = [
            (1.5, "1.5"),
            (100.0, "100.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (12345678.0, "1.2345678E7"),
            (1e7, "1.0E7"),
            (2.25e20, "2.25E20"),
            (-3.5e-10, "-3.5E-10"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::MAX, "1.7976931348623157E308"),
            (-f64::MAX, "-1.7976931348623157E308"),
            (-f64::MIN_POSITIVE, "-2.2250738585072014E-308"),
            (f64::NAN, "\"NaN\""),
        ];
        for (v, expected) in cases {
            let mut out = Vec::new();
            super::java_double(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), expected, "{v}");
        }
    }

    proptest::proptest! {
        #[test]
        fn every_finite_double_prints_as_a_json_number_that_reads_back_exactly(bits in proptest::prelude::any::<u64>()) {
            let v = f64::from_bits(bits);
            proptest::prop_assume!(v.is_finite());
            let mut out = Vec::new();
            super::java_double(&mut out, v);
            let text = String::from_utf8(out).unwrap();
            proptest::prop_assert!(super::is_number(text.as_bytes()), "{text}");
            proptest::prop_assert_eq!(text.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{}", text);
        }
    }

    #[test]
    fn floats_print_like_javas_float_to_string() {
        for (v, expected) in
            [(1.1_f32, "1.1"), (3.4028235e38, "3.4028235E38"), (0.5, "0.5"), (f32::NEG_INFINITY, "\"-Infinity\"")]
        {
            let mut out = Vec::new();
            super::java_float(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), expected, "{v}");
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
