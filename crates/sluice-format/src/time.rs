//! PostgreSQL's date and time text forms (DateStyle ISO, TimeZone UTC, IntervalStyle postgres — the session
//! settings every Sluice connection uses, for the snapshot's COPY and for pgoutput alike, so no other style reaches
//! these parsers) to Debezium's numbers and strings.
//!
//! Civil dates convert with the proleptic Gregorian calendar, as Java's `java.time` does; BC years are
//! astronomical (1 BC is year 0). Infinities follow Debezium where it defines them: `timestamp` ±infinity becomes
//! the PostgreSQL JDBC driver's sentinels (9223372036825200000 / -9223372036832400000, whatever the unit), and
//! `timestamptz` the strings `infinity` / `-infinity`; `date` ±infinity becomes `i32::MAX` / `i32::MIN` days.
//!
//! Every value PostgreSQL accepts has a representation, because a value that cannot be encoded blocks the stream:
//! timestamps are computed in `i128` microseconds (PostgreSQL's latest, 294276-12-31, is beyond an `i64` of
//! microseconds since 1970). Where the Connect type is an `int64` that cannot hold the value, the number saturates:
//! for `interval` that is exactly Debezium's result (it sums in a double and Java's `(long)` cast saturates); for a
//! microsecond `timestamp` after 294247-01-10T04:00:54.775807 it is Sluice's documented fallback (Debezium's own
//! conversion overflows there). ZonedTimestamp is a string and needs no fallback.
//!
//! All other arithmetic is checked: text that is no value (a year of twenty digits) is an error, never an overflow.

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The PostgreSQL JDBC driver's `DATE_POSITIVE_INFINITY` / `DATE_NEGATIVE_INFINITY`, which Debezium emits for
/// `timestamp` ±infinity.
const POSITIVE_INFINITY: i64 = 9_223_372_036_825_200_000;
const NEGATIVE_INFINITY: i64 = -9_223_372_036_832_400_000;

/// PostgreSQL's largest year (5874897 AD); anything beyond cannot be a value's text.
const MAX_YEAR: i64 = 5_874_898;

/// Days from 1970-01-01 to a civil date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn num(s: &str) -> Option<i64> {
    digits(s.as_bytes())
}

/// A run of ASCII digits → its value; `None` when empty, not all digits, or beyond i64.
fn digits(d: &[u8]) -> Option<i64> {
    if d.is_empty() {
        return None;
    }
    d.iter().try_fold(0i64, |acc, &c| {
        if c.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(i64::from(c - b'0'))
        } else {
            None
        }
    })
}

/// `YYYY-MM-DD` (with optional ` BC`) → days since the epoch.
pub fn date_days(text: &str) -> Option<i64> {
    match text {
        "infinity" => return Some(i64::from(i32::MAX)),
        "-infinity" => return Some(i64::from(i32::MIN)),
        _ => {}
    }
    let (body, bc) = match text.strip_suffix(" BC") {
        Some(b) => (b, true),
        None => (text, false),
    };
    era_date_days(body, bc)
}

/// `YYYY-MM-DD` of the era `bc` says → days since 1970-01-01.
fn era_date_days(body: &str, bc: bool) -> Option<i64> {
    let mut parts = body.splitn(3, '-');
    let y = num(parts.next()?)?;
    let m = num(parts.next()?)? as u32;
    let d = num(parts.next()?)? as u32;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    if y > MAX_YEAR {
        return None;
    }
    let y = if bc { 1 - y } else { y };
    Some(days_from_civil(y, m, d))
}

/// `HH:MM:SS[.ffffff]` → microseconds since midnight (24:00:00 allowed). PostgreSQL prints every field with two
/// digits, so the text is read by position: times come with every timestamp of every row.
pub fn time_micros(text: &str) -> Option<i64> {
    clock_micros(text.as_bytes())
}

fn clock_micros(t: &[u8]) -> Option<i64> {
    if t.len() < 8 || t[2] != b':' || t[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&t[0..2])?, digits(&t[3..5])?, digits(&t[6..8])?);
    let micros = match &t[8..] {
        [] => 0,
        [b'.', f @ ..] if f.len() <= 6 => digits(f)? * 10_i64.pow(6 - f.len() as u32),
        _ => return None,
    };
    if h > 24 || m > 59 || s > 60 {
        return None;
    }
    Some(((h * 60 + m) * 60 + s) * 1_000_000 + micros)
}

/// Splits a trailing UTC offset (`+05`, `-03:30`, `+05:30:15`) off a time text; returns the offset in seconds.
fn split_offset(text: &str) -> Option<(&str, i64)> {
    let i = text.rfind(['+', '-'])?;
    let (body, off) = text.split_at(i);
    let sign = if off.starts_with('-') { -1 } else { 1 };
    let mut parts = off[1..].split(':');
    let h = num(parts.next()?)?;
    let m = parts.next().map(num).unwrap_or(Some(0))?;
    let s = parts.next().map(num).unwrap_or(Some(0))?;
    if parts.next().is_some() || h > 24 || m > 59 || s > 59 {
        return None;
    }
    Some((body, sign * (h * 3600 + m * 60 + s)))
}

/// Appends `n` as exactly `width` decimal digits (n is non-negative and fits).
fn push_digits(out: &mut String, n: i64, width: u32) {
    for i in (0..width).rev() {
        out.push(char::from(b'0' + (n / 10_i64.pow(i) % 10) as u8));
    }
}

/// Appends `HH:MM:SS` plus the fraction: `Some(width)` pads or cuts it to exactly that many digits (none for 0);
/// `None` drops trailing zeros (as `java.time`'s ISO formatters print it).
fn push_time(out: &mut String, micros_of_day: i64, width: Option<u32>) {
    let secs = micros_of_day / 1_000_000;
    let mut frac = micros_of_day % 1_000_000;
    push_digits(out, secs / 3600, 2);
    out.push(':');
    push_digits(out, secs / 60 % 60, 2);
    out.push(':');
    push_digits(out, secs % 60, 2);
    if let Some(width) = width {
        if width > 0 {
            out.push('.');
            push_digits(out, frac / 10_i64.pow(6 - width.min(6)), width.min(6));
        }
    } else if frac != 0 {
        let mut width = 6;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        out.push('.');
        push_digits(out, frac, width);
    }
}

/// `HH:MM:SS[.ffffff]+HH[:MM]` → Debezium's ZonedTime, in UTC (`10:15:30.5Z`).
pub fn zoned_time(text: &str) -> Option<String> {
    let (body, offset) = split_offset(text)?;
    let local = time_micros(body)?;
    let utc = (local - offset * 1_000_000).rem_euclid(MICROS_PER_DAY);
    let mut out = String::with_capacity(20);
    push_time(&mut out, utc, None);
    out.push('Z');
    Some(out)
}

/// A `timestamp` as Debezium's number: milliseconds (`millis`) or microseconds since the epoch, or the JDBC
/// driver's sentinels for ±infinity. Microseconds beyond an `i64` saturate (see the module docs).
pub fn timestamp_number(text: &str, millis: bool) -> Option<i64> {
    match text {
        "infinity" => Some(POSITIVE_INFINITY),
        "-infinity" => Some(NEGATIVE_INFINITY),
        _ => timestamp_micros(text).map(|us| saturate(if millis { us.div_euclid(1000) } else { us })),
    }
}

/// The nearest `i64`.
pub fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff][ BC]` → microseconds since the epoch (the text's own wall clock, as UTC).
fn timestamp_micros(text: &str) -> Option<i128> {
    let (body, bc) = match text.strip_suffix(" BC") {
        Some(b) => (b, true),
        None => (text, false),
    };
    era_timestamp_micros(body, bc)
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` of the era `bc` says → microseconds since the epoch.
fn era_timestamp_micros(body: &str, bc: bool) -> Option<i128> {
    let (date, time) = body.split_once(' ')?;
    let days = era_date_days(date, bc)?;
    Some(i128::from(days) * i128::from(MICROS_PER_DAY) + i128::from(time_micros(time)?))
}

/// `timestamptz` ±infinity, as [`timestamptz_micros`] returns them: beyond every real value.
pub const TIMESTAMPTZ_INFINITY: i128 = i128::MAX;
pub const TIMESTAMPTZ_NEGATIVE_INFINITY: i128 = i128::MIN;

/// `YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM][ BC]` → microseconds since the epoch, in UTC.
pub fn timestamptz_micros(text: &str) -> Option<i128> {
    match text {
        "infinity" => return Some(TIMESTAMPTZ_INFINITY),
        "-infinity" => return Some(TIMESTAMPTZ_NEGATIVE_INFINITY),
        _ => {}
    }
    utc_timestamptz_micros(text.as_bytes()).or_else(|| any_timestamptz_micros(text))
}

/// [`timestamptz_micros`] for every form: any offset, any year, BC.
fn any_timestamptz_micros(text: &str) -> Option<i128> {
    let (body, bc) = match text.strip_suffix(" BC") {
        Some(b) => (b, true),
        None => (text, false),
    };
    let (local, offset) = split_offset(body)?;
    let micros = era_timestamp_micros(local, bc)?;
    Some(micros - i128::from(offset) * 1_000_000)
}

/// The form Sluice's sessions (`TimeZone=UTC`, `DateStyle=ISO`) print nearly every `timestamptz` in —
/// `YYYY-MM-DD HH:MM:SS[.f…]+00`, four-digit year, no era — read by position; `None` for every other form, which
/// the general parser handles. Every such column of every row comes through here.
fn utc_timestamptz_micros(t: &[u8]) -> Option<i128> {
    let body = t.strip_suffix(b"+00")?;
    if body.len() < 19 || body[4] != b'-' || body[7] != b'-' || body[10] != b' ' {
        return None;
    }
    let (y, mo, d) = (digits(&body[0..4])?, digits(&body[5..7])?, digits(&body[8..10])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    Some(i128::from(days_from_civil(y, mo as u32, d as u32) * MICROS_PER_DAY + clock_micros(&body[11..])?))
}

/// Debezium's ZonedTimestamp: ISO-8601 in UTC with the fraction padded to the column's precision, as recent
/// Debezium versions print it: `2024-01-02T03:04:05.120000Z` for `timestamptz(6)` (the default),
/// `2024-01-02T03:04:05Z` for `timestamptz(0)`.
pub fn zoned_timestamp(micros: i128, precision: u32) -> String {
    match micros {
        TIMESTAMPTZ_INFINITY => return "infinity".into(),
        TIMESTAMPTZ_NEGATIVE_INFINITY => return "-infinity".into(),
        _ => {}
    }
    // PostgreSQL's range (4714 BC to 294276 AD) is far inside an i64 of days.
    let per_day = i128::from(MICROS_PER_DAY);
    let mut out = String::with_capacity(32);
    push_date(&mut out, saturate(micros.div_euclid(per_day)));
    out.push('T');
    push_time(&mut out, saturate(micros.rem_euclid(per_day)), Some(precision));
    out.push('Z');
    out
}

/// Appends a day count's civil date as `java.time`'s ISO formatters print it: four-digit years, a sign beyond
/// 9999 or before year 0 (`+10000-01-01`, `-0001-12-31`).
fn push_date(out: &mut String, days: i64) {
    let (y, m, d) = civil_from_days(days);
    if (0..=9999).contains(&y) {
        push_digits(out, y, 4);
    } else {
        out.push_str(&format!("{y:+05}"));
    }
    out.push('-');
    push_digits(out, i64::from(m), 2);
    out.push('-');
    push_digits(out, i64::from(d), 2);
}

/// `time.precision.mode=isostring`'s io.debezium.time.IsoDate: `2024-01-02Z` (`ISO_OFFSET_DATE` at UTC). For
/// ±infinity Debezium holds the dates its PostgresValueConverter defines, `-5877611-06-21` / `-5877611-06-22`.
pub fn iso_date(text: &str) -> Option<String> {
    let mut out = String::with_capacity(12);
    match text {
        "infinity" => out.push_str("-5877611-06-21"),
        "-infinity" => out.push_str("-5877611-06-22"),
        _ => push_date(&mut out, date_days(text)?),
    }
    out.push('Z');
    Some(out)
}

/// io.debezium.time.IsoTime: `12:34:56.789Z` (`ISO_OFFSET_TIME` at UTC: seconds always, the fraction without
/// trailing zeros). `24:00:00` is Debezium's `LocalTime` midnight plus a day: `00:00:00Z`.
pub fn iso_time(text: &str) -> Option<String> {
    let mut out = String::with_capacity(20);
    push_time(&mut out, time_micros(text)? % MICROS_PER_DAY, None);
    out.push('Z');
    Some(out)
}

/// io.debezium.time.IsoTimestamp: `2018-06-20T15:13:16.945104Z` (`ISO_OFFSET_DATE_TIME` at UTC). ±infinity are
/// the JDBC driver's sentinels read as microseconds, the `LocalDateTime`s Debezium holds for them.
pub fn iso_timestamp(text: &str) -> Option<String> {
    let micros = match text {
        "infinity" => i128::from(POSITIVE_INFINITY),
        "-infinity" => i128::from(NEGATIVE_INFINITY),
        _ => timestamp_micros(text)?,
    };
    let per_day = i128::from(MICROS_PER_DAY);
    let mut out = String::with_capacity(32);
    push_date(&mut out, saturate(micros.div_euclid(per_day)));
    out.push('T');
    push_time(&mut out, saturate(micros.rem_euclid(per_day)), None);
    out.push('Z');
    Some(out)
}

/// io.debezium.time.NanoTimestamp: nanoseconds since the epoch, `i64::MAX` / `i64::MIN` for ±infinity (as
/// Debezium's PostgresValueConverter gives them). `Err` outside an `i64` of nanoseconds (1677-09-21 to 2262-04-11),
/// where Debezium's conversion fails too.
pub fn timestamp_nanos(text: &str) -> Result<Option<i64>, String> {
    let micros = match text {
        "infinity" => return Ok(Some(i64::MAX)),
        "-infinity" => return Ok(Some(i64::MIN)),
        _ => match timestamp_micros(text) {
            Some(micros) => micros,
            None => return Ok(None),
        },
    };
    i64::try_from(micros * 1000).map(Some).map_err(|_| {
        format!(
            "`{text}` is outside the range of int64 epoch nanoseconds (about 1677-09-21 to 2262-04-11) that \
             time.precision.mode=nanoseconds writes, as in Debezium; use time.precision.mode=microseconds or isostring"
        )
    })
}

/// Debezium's MicroDuration: an interval in microseconds, a month counted as 365.25 / 12 days.
///
/// Debezium reads the interval into the JDBC driver's `PGInterval` (years, months, days, hours, minutes, and seconds
/// as a double) and sums it in floating point, truncating at the end; the same arithmetic here gives the same
/// microsecond, rounding quirks included.
pub fn interval_micros(text: &str) -> Option<i64> {
    let mut months: i64 = 0;
    let mut days: i64 = 0;
    let (mut hours, mut minutes, mut seconds) = (0i64, 0i64, 0f64);
    let mut tokens = text.split_whitespace();
    while let Some(tok) = tokens.next() {
        if tok.contains(':') {
            let (neg, t) = match tok.strip_prefix('-') {
                Some(t) => (true, t),
                None => (false, tok.strip_prefix('+').unwrap_or(tok)),
            };
            let (hms, frac) = match t.split_once('.') {
                Some((a, b)) => (a, Some(b)),
                None => (t, None),
            };
            let mut parts = hms.split(':');
            let h = num(parts.next()?)?;
            let m = num(parts.next()?)?;
            let whole = parts.next().map(num).unwrap_or(Some(0))?;
            let micros = match frac {
                Some(f) if !f.is_empty() && f.len() <= 6 => num(f)? * 10_i64.pow(6 - f.len() as u32),
                Some(_) => return None,
                None => 0,
            };
            if parts.next().is_some() || m > 59 || whole > 59 {
                return None;
            }
            let sign = if neg { -1 } else { 1 };
            hours = hours.checked_add(sign * h)?;
            minutes += sign * m;
            seconds += (sign * whole) as f64 + (sign * micros) as f64 / 1e6;
            continue;
        }
        let n: i64 = tok.parse().ok()?;
        let unit = tokens.next()?;
        match unit.trim_end_matches('s') {
            "year" => months = months.checked_add(n.checked_mul(12)?)?,
            "mon" => months = months.checked_add(n)?,
            "day" => days = days.checked_add(n)?,
            _ => return None,
        }
    }
    const DAYS_PER_MONTH: f64 = 365.25 / 12.0;
    let total_days = months as f64 * DAYS_PER_MONTH + days as f64;
    let total_seconds = ((total_days * 24.0 + hours as f64) * 60.0 + minutes as f64) * 60.0 + seconds;
    // Java's (long) cast saturates (and makes NaN 0), as Rust's `as` does: PostgreSQL's intervals beyond ±292,000
    // years become i64::MAX / i64::MIN, exactly as in Debezium.
    Some((total_seconds * 1e6) as i64)
}

/// Debezium's io.debezium.time.Interval (`interval.handling.mode=string`): `P<years>Y<months>M<days>DT<hours>H<minutes>M<seconds>S`,
/// every part written, each with its own sign (`-1 days +02:00:00` is `P0Y0M-1DT2H0M0S`).
///
/// Debezium reads the text form into the JDBC driver's `PGInterval` — years, months and days from their `<n> <unit>`
/// tokens, and from the `[-]hh:mm:ss[.ffffff]` token hours, minutes and seconds, all three negated by its sign —
/// keeps the seconds as whole seconds plus rounded microseconds, and hands them back as a double, which
/// `BigDecimal.valueOf` reads through `Double.toString`; it then cuts the seconds to six decimals and writes them
/// without trailing zeros (`6.78`, `0`). The same steps here give the same digits, quirks included: `08.76016`
/// becomes the double 8.760159999999999, written `8.760159`. One deviation: hours beyond a Java
/// `int` (PostgreSQL allows up to 2562047788) fail Debezium's parse; Sluice writes them.
pub fn interval_iso(text: &str) -> Option<String> {
    let (mut years, mut months, mut days) = (0i64, 0i64, 0i64);
    let (mut hours, mut minutes, mut seconds) = (0i64, 0i64, 0f64);
    let spaced = text.replace('+', " ");
    let mut tokens = spaced.split_whitespace();
    while let Some(tok) = tokens.next() {
        if let Some((h, rest)) = tok.split_once(':') {
            let (neg, h) = match h.strip_prefix('-') {
                Some(h) => (true, h),
                None => (false, h),
            };
            let (m, sec) = rest.split_once(':')?;
            if m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
                return None;
            }
            if sec.is_empty() || !sec.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return None;
            }
            let sign = if neg { -1 } else { 1 };
            hours = sign * num(h)?;
            minutes = sign * num(m)?;
            seconds = f64::from(sign as i32) * sec.parse::<f64>().ok()?;
            continue;
        }
        let n: i64 = tok.parse().ok()?;
        match tokens.next()?.trim_end_matches('s') {
            "year" => years = n,
            "mon" => months = n,
            "day" => days = n,
            _ => return None,
        }
    }
    // PGInterval.setSeconds and getSeconds: whole seconds (Java's truncating cast) and Math.round'ed microseconds,
    // summed back into a double.
    let whole = seconds.trunc();
    let micros = ((seconds - whole) * 1_000_000.0 + 0.5).floor();
    let seconds = whole + micros / 1_000_000.0;
    Some(format!("P{years}Y{months}M{days}DT{hours}H{minutes}M{}S", plain_seconds(seconds)))
}

/// `BigDecimal.valueOf(seconds)` (the digits of Java's `Double.toString`, the shortest that round-trip) cut to six
/// decimals towards zero, without trailing zeros, in plain notation: `6.78`, `0.000001`, `-1.5`, `0`.
fn plain_seconds(seconds: f64) -> String {
    let scientific = format!("{seconds:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // The decimal point sits after `exponent + 1` of the digits.
    let point = exponent + 1;
    let (int_part, frac_part) = if point <= 0 {
        ("0".to_string(), format!("{}{digits}", "0".repeat(point.unsigned_abs() as usize)))
    } else if point as usize >= digits.len() {
        (format!("{digits}{}", "0".repeat(point as usize - digits.len())), String::new())
    } else {
        (digits[..point as usize].to_string(), digits[point as usize..].to_string())
    };
    let frac = frac_part.get(..6).unwrap_or(&frac_part).trim_end_matches('0');
    let int_part = int_part.trim_start_matches('0');
    if int_part.is_empty() && frac.is_empty() {
        return "0".into();
    }
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(if int_part.is_empty() { "0" } else { int_part });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn utc_timestamps_read_by_position_agree_with_the_general_parser(
            (y, mo, d, h, mi, s) in (0i64..=9999, 0u32..=13, 0u32..=32, 0u32..=25, 0u32..=60, 0u32..=61),
            frac in "(\\.[0-9]{1,7})?",
            tail in proptest::sample::select(vec!["+00", "+05", "-03:30", "+00 BC", ""]),
        ) {
            let text = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}{frac}{tail}");
            let general = any_timestamptz_micros(&text);
            if let Some(fast) = utc_timestamptz_micros(text.as_bytes()) {
                proptest::prop_assert_eq!(Some(fast), general, "{}", text);
            }
            proptest::prop_assert_eq!(timestamptz_micros(&text), general, "{}", text);
        }
    }

    #[test]
    fn dates_count_days_from_the_epoch() {
        assert_eq!(date_days("1970-01-01"), Some(0));
        assert_eq!(date_days("2024-01-02"), Some(19724));
        assert_eq!(date_days("1969-12-31"), Some(-1));
        assert_eq!(date_days("0001-01-01 BC"), Some(days_from_civil(0, 1, 1)));
        assert_eq!(date_days("infinity"), Some(i64::from(i32::MAX)));
        assert_eq!(date_days("2024-13-01"), None);
        assert_eq!(date_days("garbage"), None);
    }

    #[test]
    fn times_count_microseconds() {
        assert_eq!(time_micros("12:34:56.789"), Some(45_296_789_000));
        assert_eq!(time_micros("00:00:00"), Some(0));
        assert_eq!(time_micros("24:00:00"), Some(MICROS_PER_DAY));
        assert_eq!(time_micros("1:2"), None);
    }

    #[test]
    fn zoned_times_are_utc() {
        assert_eq!(zoned_time("12:34:56+02").as_deref(), Some("10:34:56Z"));
        assert_eq!(zoned_time("01:00:00.5-03:30").as_deref(), Some("04:30:00.5Z"));
        assert_eq!(zoned_time("00:30:00+01").as_deref(), Some("23:30:00Z"));
    }

    #[test]
    fn timestamps_and_zoned_timestamps() {
        assert_eq!(timestamp_micros("2018-06-20 15:13:16.945104"), Some(1_529_507_596_945_104));
        assert_eq!(zoned_timestamp(i128::from(i64::MAX), 6), "+294247-01-10T04:00:54.775807Z");
        assert_eq!(timestamptz_micros("2018-06-20 17:13:16.945104+02"), Some(1_529_507_596_945_104));
        assert_eq!(zoned_timestamp(1_529_507_596_945_104, 6), "2018-06-20T15:13:16.945104Z");
        assert_eq!(zoned_timestamp(0, 6), "1970-01-01T00:00:00.000000Z");
        assert_eq!(zoned_timestamp(1_500_000, 6), "1970-01-01T00:00:01.500000Z");
        assert_eq!(zoned_timestamp(1_500_000, 3), "1970-01-01T00:00:01.500Z");
        assert_eq!(zoned_timestamp(1_500_000, 0), "1970-01-01T00:00:01Z");
        assert_eq!(zoned_timestamp(TIMESTAMPTZ_INFINITY, 6), "infinity");
        assert_eq!(timestamp_number("infinity", false), Some(POSITIVE_INFINITY));
        assert_eq!(timestamp_number("-infinity", true), Some(NEGATIVE_INFINITY));
        assert_eq!(timestamp_number("1970-01-01 00:00:00.001999", true), Some(1));
        assert_eq!(timestamp_number("1969-12-31 23:59:59.9995", true), Some(-1));
        let bc = timestamp_micros("0044-03-15 12:00:00 BC").unwrap();
        assert!(bc < timestamp_micros("0001-01-01 00:00:00").unwrap());
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-800_000, -1, 0, 1, 19724, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn intervals_use_debeziums_month_length() {
        assert_eq!(interval_micros("1 day 02:00:00"), Some(93_600_000_000));
        assert_eq!(interval_micros("00:00:01.5"), Some(1_500_000));
        assert_eq!(interval_micros("1 mon"), Some((30.4375 * 86_400_000_000.0) as i64));
        assert_eq!(interval_micros("1 year"), Some((365.25 * 86_400_000_000.0) as i64));
        assert_eq!(interval_micros("-1 days +02:00:00"), Some(-86_400_000_000 + 7_200_000_000));
        assert_eq!(interval_micros("3 fortnights"), None);
    }

    #[test]
    fn isostring_dates_times_and_timestamps_are_java_time_iso_forms_at_utc() {
        assert_eq!(iso_date("2024-01-02").as_deref(), Some("2024-01-02Z"));
        assert_eq!(iso_date("0001-01-01 BC").as_deref(), Some("0000-01-01Z"));
        assert_eq!(iso_date("10000-01-01").as_deref(), Some("+10000-01-01Z"));
        assert_eq!(iso_date("infinity").as_deref(), Some("-5877611-06-21Z"));
        assert_eq!(iso_time("12:34:56.789").as_deref(), Some("12:34:56.789Z"));
        assert_eq!(iso_time("12:00:00").as_deref(), Some("12:00:00Z"));
        assert_eq!(iso_time("24:00:00").as_deref(), Some("00:00:00Z"));
        assert_eq!(iso_timestamp("2018-06-20 15:13:16.945104").as_deref(), Some("2018-06-20T15:13:16.945104Z"));
        assert_eq!(iso_timestamp("2018-06-20 15:13:16.9").as_deref(), Some("2018-06-20T15:13:16.9Z"));
        assert_eq!(iso_timestamp("0002-03-04 05:06:07 BC").as_deref(), Some("-0001-03-04T05:06:07Z"));
        assert_eq!(iso_timestamp("infinity").as_deref(), Some("+294247-01-10T04:00:25.2Z"));
        assert_eq!(iso_timestamp("-infinity").as_deref(), Some("-290308-12-21T19:59:27.6Z"));
        assert_eq!(iso_time("noon"), None);
    }

    #[test]
    fn nano_timestamps_count_nanoseconds_and_refuse_what_an_int64_cannot_hold() {
        assert_eq!(timestamp_nanos("2018-06-20 15:13:16.945104"), Ok(Some(1_529_507_596_945_104_000)));
        assert_eq!(timestamp_nanos("1969-12-31 23:59:59.999999"), Ok(Some(-1000)));
        assert_eq!(timestamp_nanos("infinity"), Ok(Some(i64::MAX)));
        assert_eq!(timestamp_nanos("-infinity"), Ok(Some(i64::MIN)));
        assert_eq!(timestamp_nanos("later"), Ok(None));
        assert!(timestamp_nanos("2263-01-01 00:00:00").unwrap_err().contains("microseconds or isostring"));
        assert!(timestamp_nanos("1677-01-01 00:00:00").is_err());
    }

    #[test]
    fn intervals_as_debeziums_iso_strings() {
        // Debezium's AbstractRecordsProducerTest.schemaAndValuesForIntervalAsString: 'P1Y2M3DT4H5M6.78S'::INTERVAL,
        // which PostgreSQL prints (IntervalStyle postgres) as below, comes back as the same string.
        assert_eq!(interval_iso("1 year 2 mons 3 days 04:05:06.78").as_deref(), Some("P1Y2M3DT4H5M6.78S"));
        // RecordsStreamProducerIT.shouldHandleNonNullIntervalFiledDelete inserts '2 Months 3 Days'.
        assert_eq!(interval_iso("2 mons 3 days").as_deref(), Some("P0Y2M3DT0H0M0S"));
        assert_eq!(interval_iso("00:00:00").as_deref(), Some("P0Y0M0DT0H0M0S"));
        // Each part keeps its own sign; the clock's sign applies to hours, minutes and seconds alike.
        assert_eq!(interval_iso("-1 years -2 mons +3 days -04:05:06.5").as_deref(), Some("P-1Y-2M3DT-4H-5M-6.5S"));
        assert_eq!(interval_iso("-1 days +02:00:00").as_deref(), Some("P0Y0M-1DT2H0M0S"));
        assert_eq!(interval_iso("-00:00:00.000001").as_deref(), Some("P0Y0M0DT0H0M-0.000001S"));
        assert_eq!(interval_iso("00:00:10").as_deref(), Some("P0Y0M0DT0H0M10S"));
        assert_eq!(interval_iso("00:00:59.999999").as_deref(), Some("P0Y0M0DT0H0M59.999999S"));
        // Debezium's double: 8 + 760160 / 1e6 is 8.760159999999999, cut to six decimals.
        assert_eq!(interval_iso("00:00:08.76016").as_deref(), Some("P0Y0M0DT0H0M8.760159S"));
        assert_eq!(interval_iso("178956970 years 7 mons").as_deref(), Some("P178956970Y7M0DT0H0M0S"));
        assert_eq!(interval_iso("2562047788:00:54.775807").as_deref(), Some("P0Y0M0DT2562047788H0M54.775807S"));
        assert_eq!(interval_iso("3 fortnights"), None);
        assert_eq!(interval_iso("1 day 04:5:06"), None);
    }

    #[test]
    fn interval_seconds_are_plain_decimals_cut_to_microseconds() {
        assert_eq!(plain_seconds(6.78), "6.78");
        assert_eq!(plain_seconds(0.0), "0");
        assert_eq!(plain_seconds(-0.0), "0");
        assert_eq!(plain_seconds(1e-6), "0.000001");
        assert_eq!(plain_seconds(1e-7), "0");
        assert_eq!(plain_seconds(-1.5), "-1.5");
        assert_eq!(plain_seconds(50.0), "50");
        assert_eq!(plain_seconds(1.0000019), "1.000001");
    }

    #[test]
    fn out_of_range_text_is_refused_not_overflowed() {
        assert_eq!(date_days("99999999999999999-01-01"), None);
        assert_eq!(timestamp_micros("5874899-12-31 00:00:00"), None);
        assert_eq!(date_days("5874897-12-31"), Some(2_145_042_905));
        assert_eq!(timestamptz_micros("2024-01-01 00:00:00+9999999999999999"), None);
        assert_eq!(interval_micros("9223372036854775807 years"), None);
        assert_eq!(interval_micros("9223372036854775807:00:00"), Some(i64::MAX));
        // Summed in doubles as Debezium does, so the last digits carry the double's rounding.
        assert_eq!(interval_micros("2562047788:00:54"), Some(9_223_372_036_853_999_616));
    }

    #[test]
    fn postgres_extremes_have_a_value() {
        // timestamp: the JDBC sentinels for infinity; beyond i64 microseconds saturates; milliseconds fit.
        assert_eq!(timestamp_number("294276-12-31 23:59:59.999999", false), Some(i64::MAX));
        assert_eq!(timestamp_number("294276-12-31 23:59:59.999999", true), Some(9_224_318_015_999_999));
        assert_eq!(timestamp_number("4714-11-24 00:00:00 BC", false), Some(-210_866_803_200_000_000));
        // timestamptz: a string, so exact.
        let max = timestamptz_micros("294276-12-31 23:59:59.999999+00").unwrap();
        assert_eq!(zoned_timestamp(max, 6), "+294276-12-31T23:59:59.999999Z");
        let min = timestamptz_micros("4714-11-24 00:00:00+00 BC").unwrap();
        assert_eq!(zoned_timestamp(min, 6), "-4713-11-24T00:00:00.000000Z");
        // interval: Debezium's double sum and saturating cast.
        assert_eq!(interval_micros("178000000 years"), Some(i64::MAX));
        assert_eq!(interval_micros("-178000000 years"), Some(i64::MIN));
        assert_eq!(
            interval_micros("-178956970 years -8 mons -2147483648 days -2562047788:00:54.775808"),
            Some(i64::MIN)
        );
        assert_eq!(date_days("4713-01-01 BC"), Some(days_from_civil(-4712, 1, 1)));
        assert_eq!(date_days("4714-11-24 BC"), Some(-2_440_588));
        assert_eq!(date_days("-infinity"), Some(i64::from(i32::MIN)));
        assert_eq!(time_micros("24:00:00"), Some(MICROS_PER_DAY));
        assert_eq!(zoned_time("24:00:00-15:59:59").as_deref(), Some("15:59:59Z"));
        assert_eq!(zoned_time("00:00:00+15:59:59").as_deref(), Some("08:00:01Z"));
    }

    proptest::proptest! {
        #[test]
        fn every_timestamp_in_postgres_range_encodes_and_orders_monotonically(
            days_a in -2_451_545i64..=106_741_000, days_b in -2_451_545i64..=106_741_000,
            us_a in 0i64..MICROS_PER_DAY, us_b in 0i64..MICROS_PER_DAY,
        ) {
            // PostgreSQL's text form, without and with the zone (which goes before the era).
            let text = |days: i64, us: i64, zone: &str| {
                let (y, m, d) = civil_from_days(days);
                let (y, era) = if y <= 0 { (1 - y, " BC") } else { (y, "") };
                let mut clock = String::new();
                push_time(&mut clock, us, Some(6));
                format!("{y:04}-{m:02}-{d:02} {clock}{zone}{era}")
            };
            let (a, b) = (text(days_a, us_a, ""), text(days_b, us_b, ""));
            let (na, nb) = (timestamp_number(&a, false).unwrap(), timestamp_number(&b, false).unwrap());
            let (ta, tb) = (timestamptz_micros(&text(days_a, us_a, "+00")), timestamptz_micros(&text(days_b, us_b, "+00")));
            let (ta, tb) = (ta.unwrap(), tb.unwrap());
            proptest::prop_assert_eq!(ta, i128::from(days_a) * i128::from(MICROS_PER_DAY) + i128::from(us_a));
            proptest::prop_assert_eq!((days_a, us_a).cmp(&(days_b, us_b)), ta.cmp(&tb));
            // Saturating keeps the order (never reverses it).
            proptest::prop_assert!(ta.cmp(&tb) == na.cmp(&nb) || na == nb);
        }

        #[test]
        fn every_interval_encodes_within_int64(
            years in -178_956_970i64..=178_956_970, mons in -11i64..=11, days in i64::from(i32::MIN)..=i64::from(i32::MAX),
            hours in -2_562_047_788i64..=2_562_047_788, mins in 0i64..60, secs in 0i64..60,
        ) {
            let sign = if hours < 0 { "-" } else { "" };
            let text = format!("{years} years {mons} mons {days} days {sign}{:02}:{mins:02}:{secs:02}", hours.abs());
            proptest::prop_assert!(interval_micros(&text).is_some(), "{}", text);
        }

        #[test]
        fn every_interval_has_an_iso_string_with_each_part_as_printed(
            years in -178_956_970i64..=178_956_970, mons in -11i64..=11, days in i64::from(i32::MIN)..=i64::from(i32::MAX),
            hours in -2_562_047_788i64..=2_562_047_788, mins in 0i64..60, secs in 0i64..60, micros in 0i64..1_000_000,
        ) {
            let sign = if hours < 0 { "-" } else { "" };
            let text = format!(
                "{years} years {mons} mons {days} days {sign}{:02}:{mins:02}:{secs:02}.{micros:06}",
                hours.abs()
            );
            let iso = interval_iso(&text);
            let s = if hours < 0 { -1 } else { 1 };
            let prefix = format!("P{years}Y{mons}M{days}DT{hours}H{}M", s * mins);
            proptest::prop_assert!(iso.as_deref().is_some_and(|iso| iso.starts_with(&prefix)), "{} {:?}", text, iso);
            // The seconds are the printed ones, or (Debezium's double) one microsecond nearer zero.
            let seconds: f64 = iso.unwrap()[prefix.len()..].trim_end_matches('S').parse().unwrap();
            let printed = (s * secs) as f64 + (s * micros) as f64 / 1e6;
            proptest::prop_assert!(seconds.abs() <= printed.abs() + 1e-9, "{}", text);
            proptest::prop_assert!(seconds.abs() >= printed.abs() - 1e-6 - 1e-9, "{}", text);
        }
    }
}
