//! Decimals as Kafka Connect carries them: the unscaled value as big-endian two's-complement bytes of minimal length
//! (Java's `BigInteger.toByteArray`), plus a scale.
//!
//! PostgreSQL numerics have up to 131072 digits before the point, so no machine integer fits: the conversion works
//! on a little-endian vector of 32-bit limbs.

/// A parsed decimal text: sign, digits without the point, and how many of them are fractional.
#[derive(Debug, PartialEq, Eq)]
pub struct Decimal {
    pub negative: bool,
    pub digits: Vec<u8>,
    pub scale: u32,
}

/// Parses `-123.4500`-style text (what PostgreSQL prints for numeric). `None` for anything else, including NaN and
/// infinities.
pub fn parse(text: &[u8]) -> Option<Decimal> {
    let (negative, body) = match text.first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let mut digits = Vec::with_capacity(body.len());
    let mut scale = 0u32;
    let mut seen_point = false;
    for &b in body {
        match b {
            b'0'..=b'9' => {
                digits.push(b - b'0');
                if seen_point {
                    scale += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => return None,
        }
    }
    if digits.is_empty() {
        return None;
    }
    Some(Decimal { negative, digits, scale })
}

impl Decimal {
    /// Rescales to `scale` fractional digits: pads with zeros, or drops extra digits rounding half up (Java's
    /// `BigDecimal.setScale(scale, RoundingMode.HALF_UP)`, which Debezium applies to money).
    pub fn rescale(mut self, scale: u32) -> Decimal {
        while self.scale < scale {
            self.digits.push(0);
            self.scale += 1;
        }
        if self.scale > scale {
            let keep = self.digits.len() - (self.scale - scale) as usize;
            let round_up = self.digits[keep] >= 5;
            self.digits.truncate(keep);
            self.scale = scale;
            if round_up {
                let mut carry = true;
                for d in self.digits.iter_mut().rev() {
                    *d += 1;
                    carry = *d == 10;
                    if !carry {
                        break;
                    }
                    *d = 0;
                }
                if carry {
                    self.digits.insert(0, 1);
                }
            }
        }
        if self.digits.is_empty() {
            self.digits.push(0);
        }
        self
    }

    /// Drops trailing fractional zeros (`12.3400` → `12.34`, `1.000` → `1`), as Debezium strips a variable-scale
    /// decimal before sending it; integer digits are kept (`100` stays scale 0).
    pub fn strip_trailing_zeros(mut self) -> Decimal {
        while self.scale > 0 && self.digits.last() == Some(&0) {
            self.digits.pop();
            self.scale -= 1;
        }
        if self.digits.is_empty() {
            self.digits.push(0);
        }
        self
    }

    /// The unscaled value as minimal big-endian two's-complement bytes.
    pub fn unscaled_bytes(&self) -> Vec<u8> {
        let mut limbs: Vec<u32> = vec![0];
        for &d in &self.digits {
            let mut carry = u64::from(d);
            for limb in limbs.iter_mut() {
                let v = u64::from(*limb) * 10 + carry;
                *limb = v as u32;
                carry = v >> 32;
            }
            if carry > 0 {
                limbs.push(carry as u32);
            }
        }
        let mut magnitude: Vec<u8> = limbs.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
        let is_zero = magnitude.iter().all(|&b| b == 0);
        if self.negative && !is_zero {
            // Two's complement: invert and add one.
            for b in magnitude.iter_mut() {
                *b = !*b;
            }
            for b in magnitude.iter_mut().rev() {
                let (v, overflow) = b.overflowing_add(1);
                *b = v;
                if !overflow {
                    break;
                }
            }
            minimal(magnitude, 0xff)
        } else {
            minimal(magnitude, 0x00)
        }
    }
}

/// Drops redundant leading sign bytes, keeping one when the next byte's top bit disagrees with the sign.
fn minimal(bytes: Vec<u8>, sign: u8) -> Vec<u8> {
    let mut start = 0;
    while start + 1 < bytes.len() && bytes[start] == sign && (bytes[start + 1] & 0x80) == (sign & 0x80) {
        start += 1;
    }
    let mut out = bytes[start..].to_vec();
    if out.is_empty() {
        out.push(sign);
    }
    if sign == 0 && out[0] & 0x80 != 0 {
        out.insert(0, 0);
    }
    if sign == 0xff && out[0] & 0x80 == 0 {
        out.insert(0, 0xff);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn java_bytes(v: i128) -> Vec<u8> {
        // Minimal two's complement, as BigInteger.toByteArray.
        let all = v.to_be_bytes();
        let sign = if v < 0 { 0xff } else { 0 };
        let mut start = 0;
        while start + 1 < all.len() && all[start] == sign && (all[start + 1] & 0x80) == (sign & 0x80) {
            start += 1;
        }
        all[start..].to_vec()
    }

    #[test]
    fn known_values() {
        assert_eq!(parse(b"12.34").unwrap().unscaled_bytes(), vec![0x04, 0xd2]);
        assert_eq!(parse(b"0").unwrap().unscaled_bytes(), vec![0]);
        assert_eq!(parse(b"-1").unwrap().unscaled_bytes(), vec![0xff]);
        assert_eq!(parse(b"128").unwrap().unscaled_bytes(), vec![0x00, 0x80]);
        assert_eq!(parse(b"-128").unwrap().unscaled_bytes(), vec![0x80]);
        assert_eq!(parse(b"-129").unwrap().unscaled_bytes(), vec![0xff, 0x7f]);
        assert_eq!(parse(b"-0.00").unwrap().unscaled_bytes(), vec![0]);
    }

    #[test]
    fn nan_and_garbage_are_not_decimals() {
        for t in [&b"NaN"[..], b"Infinity", b"", b"-", b"1.2.3", b"1e5"] {
            assert!(parse(t).is_none(), "{t:?}");
        }
    }

    #[test]
    fn rescale_pads_and_rounds_half_up() {
        assert_eq!(parse(b"1.5").unwrap().rescale(3).unscaled_bytes(), java_bytes(1500));
        assert_eq!(parse(b"1.5678").unwrap().rescale(2).unscaled_bytes(), java_bytes(157));
        assert_eq!(parse(b"1.5649").unwrap().rescale(2).unscaled_bytes(), java_bytes(156));
        assert_eq!(parse(b"9.995").unwrap().rescale(2).unscaled_bytes(), java_bytes(1000));
        assert_eq!(parse(b"-2.5").unwrap().rescale(0).unscaled_bytes(), java_bytes(-3));
    }

    #[test]
    fn strip_trailing_zeros_keeps_integer_digits() {
        let d = parse(b"12.3400").unwrap().strip_trailing_zeros();
        assert_eq!((d.scale, d.unscaled_bytes()), (2, java_bytes(1234)));
        let d = parse(b"100").unwrap().strip_trailing_zeros();
        assert_eq!((d.scale, d.unscaled_bytes()), (0, java_bytes(100)));
        let d = parse(b"0.000").unwrap().strip_trailing_zeros();
        assert_eq!((d.scale, d.unscaled_bytes()), (0, vec![0]));
    }

    proptest! {
        #[test]
        fn unscaled_bytes_match_java_for_any_i128(v in any::<i64>(), w in any::<i64>()) {
            let v = i128::from(v) * i128::from(w);
            let d = parse(v.to_string().as_bytes()).unwrap();
            prop_assert_eq!(d.unscaled_bytes(), java_bytes(v));
        }

        #[test]
        fn scale_counts_fraction_digits(int in any::<u32>(), frac in "[0-9]{0,12}") {
            let text = if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") };
            let d = parse(text.as_bytes()).unwrap();
            prop_assert_eq!(d.scale as usize, frac.len());
        }
    }
}
