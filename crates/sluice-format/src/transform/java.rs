//! The pieces of Java's standard library that Kafka Connect's transforms expose in their options: regular
//! expressions (`java.util.regex.Pattern`), `Matcher.replaceFirst`'s replacement strings, and
//! `java.text.SimpleDateFormat` patterns.
//!
//! Why not hand the options to the `regex` crate as they are: its replacement syntax differs from Java's (`$1a` is
//! group "1a" there, group 1 and an `a` in Java; `\$` is no escape there), so a Debezium configuration's
//! `replacement=$1_v2` would route differently. Replacements and date patterns are parsed once, at configuration
//! time, so every mistake Java would only report on the first record is reported before anything connects.
//!
//! Patterns may come from a REST body, so compiling one is bounded: a pattern's length and its compiled size are
//! capped, and the `regex` crate matches in linear time, so no pattern can hang the pipeline. What `regex` lacks
//! (backreferences, look-around, possessive quantifiers) is refused with the configuration.

use regex::{Captures, Regex, RegexBuilder};

/// The longest pattern accepted, in bytes; topic patterns are a few dozen.
const MAX_PATTERN_LEN: usize = 4096;
/// The compiled program's size limit (the crate's default is 10 MiB).
const COMPILED_SIZE_LIMIT: usize = 1 << 20;

/// Compiles a Java regular expression, whole-string (`Matcher.matches`) when `whole`, else for `find`.
pub fn regex(pattern: &str, whole: bool) -> Result<Regex, String> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!("it is {} bytes long; the limit is {MAX_PATTERN_LEN}", pattern.len()));
    }
    let source = if whole { format!("^(?:{pattern})$") } else { pattern.to_string() };
    RegexBuilder::new(&source)
        .size_limit(COMPILED_SIZE_LIMIT)
        .dfa_size_limit(COMPILED_SIZE_LIMIT)
        .nest_limit(100)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "it compiles to more than 1 MiB; simplify it".to_string(),
            // The crate's message quotes the pattern with a caret under the mistake, over several lines.
            other => other.to_string().lines().last().unwrap_or_default().trim().to_string(),
        })
}

/// One part of a compiled replacement string.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Group(usize),
}

/// A replacement string as `Matcher.appendReplacement` reads it, checked against its pattern's groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replacement(Vec<Piece>);

impl Replacement {
    /// Java's rules: `\x` is `x`; `$n` is group n, taking further digits while the number stays a group of the
    /// pattern; `${name}` is a named group. Errors are Java's, so they read as Kafka's would.
    pub fn parse(text: &str, pattern: &Regex) -> Result<Replacement, String> {
        let groups = pattern.captures_len() - 1;
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(next) => literal.push(next),
                    None => return Err("character to be escaped is missing".into()),
                },
                '$' => {
                    let group = match chars.next() {
                        None => return Err("Illegal group reference: group index is missing".into()),
                        Some('{') => {
                            let mut name = String::new();
                            while let Some(&n) = chars.peek() {
                                if !n.is_ascii_alphanumeric() {
                                    break;
                                }
                                name.push(n);
                                chars.next();
                            }
                            if chars.next() != Some('}') {
                                return Err("named capturing group is missing trailing '}'".into());
                            }
                            if name.is_empty() {
                                return Err("named capturing group has 0 length name".into());
                            }
                            pattern
                                .capture_names()
                                .position(|n| n == Some(name.as_str()))
                                .ok_or_else(|| format!("No group with name {{{name}}}"))?
                        }
                        Some(d) if d.is_ascii_digit() => {
                            let mut number = d as usize - '0' as usize;
                            if number > groups {
                                return Err(format!("No group {number}"));
                            }
                            while let Some(&n) = chars.peek() {
                                let Some(digit) = n.to_digit(10) else { break };
                                let longer = number * 10 + digit as usize;
                                if longer > groups {
                                    break;
                                }
                                number = longer;
                                chars.next();
                            }
                            number
                        }
                        Some(_) => return Err("Illegal group reference".into()),
                    };
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Group(group));
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Replacement(pieces))
    }

    /// Appends the replacement for one match; a group that took no part in it adds nothing, as in Java.
    fn expand(&self, caps: &Captures<'_>, out: &mut String) {
        for piece in &self.0 {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Group(n) => out.push_str(caps.get(*n).map_or("", |m| m.as_str())),
            }
        }
    }
}

/// `Matcher.replaceFirst`: the first match of `pattern` in `input` (leftmost-first, as Java finds it) replaced.
pub fn replace_first(pattern: &Regex, replacement: &Replacement, input: &str) -> String {
    let Some(caps) = pattern.captures(input) else { return input.to_string() };
    let whole = caps.get(0).map_or(0..0, |m| m.range());
    let mut out = String::with_capacity(input.len() + 16);
    out.push_str(&input[..whole.start]);
    replacement.expand(&caps, &mut out);
    out.push_str(&input[whole.end..]);
    out
}

/// One field of a date pattern: its letter and how many times it is repeated.
#[derive(Clone, Debug, PartialEq, Eq)]
enum DatePiece {
    Literal(String),
    Field(char, usize),
}

/// A `java.text.SimpleDateFormat` pattern, formatting in UTC with the English names of the default locale (Kafka's
/// `TimestampRouter` sets the time zone to UTC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateFormat(Vec<DatePiece>);

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// Monday first, as `u` numbers the days.
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

impl DateFormat {
    /// The letters Sluice formats: era `G`, year `y`, month `M`/`L`, day of month `d`, day of year `D`, day of
    /// week in month `F`, day name `E`, day number `u`, `a`, hours `H k K h`, `m`, `s`, milliseconds `S`, and the
    /// zone `z Z X` (always UTC). Text in single quotes is literal, `''` is a quote. The week-based letters `w W Y`
    /// depend on the JVM's locale and are refused; any other letter is refused as Java refuses it.
    pub fn parse(pattern: &str) -> Result<DateFormat, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    literal.push('\'');
                    i += 2;
                    continue;
                }
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("Unterminated quote".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            literal.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&q) => {
                            literal.push(q);
                            i += 1;
                        }
                    }
                }
                continue;
            }
            if !c.is_ascii_alphabetic() {
                literal.push(c);
                i += 1;
                continue;
            }
            match c {
                'G' | 'y' | 'M' | 'L' | 'd' | 'D' | 'F' | 'E' | 'u' | 'a' | 'H' | 'k' | 'K' | 'h' | 'm' | 's' | 'S'
                | 'z' | 'Z' | 'X' => {}
                'w' | 'W' | 'Y' => {
                    return Err(format!(
                        "the week-based pattern letter '{c}' depends on the JVM's locale and is not supported"
                    ))
                }
                other => return Err(format!("Illegal pattern character '{other}'")),
            }
            let mut count = 1;
            while chars.get(i + count) == Some(&c) {
                count += 1;
            }
            if c == 'X' && count > 3 {
                return Err("invalid ISO 8601 format: length=4".into());
            }
            if !literal.is_empty() {
                pieces.push(DatePiece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(DatePiece::Field(c, count));
            i += count;
        }
        if !literal.is_empty() {
            pieces.push(DatePiece::Literal(literal));
        }
        Ok(DateFormat(pieces))
    }

    /// Reads a date as `SimpleDateFormat.parse(String)` does, in UTC and leniently: fields may spill over (month
    /// 13 is January of the next year), a numeric field followed directly by another takes exactly its count of
    /// digits, otherwise as many as there are; spaces before a field are skipped; text after the pattern is
    /// ignored. Day names and `F`/`u` are read and do not change the date, as when a date names its day. A
    /// two-digit year (`yy` given two digits) falls in the 100 years from 80 years before now, as Java's default
    /// century. `None` where Java throws `ParseException`.
    pub fn read(&self, text: &str) -> Option<i64> {
        let mut parsed = Parsed::default();
        let mut rest = text;
        for (index, piece) in self.0.iter().enumerate() {
            let (letter, count) = match piece {
                DatePiece::Literal(literal) => {
                    rest = rest.strip_prefix(literal.as_str())?;
                    continue;
                }
                DatePiece::Field(letter, count) => (*letter, *count),
            };
            rest = rest.trim_start_matches([' ', '\t']);
            let abutting = matches!(self.0.get(index + 1), Some(DatePiece::Field(next, n)) if is_numeric(*next, *n));
            rest = parsed.field(letter, count, abutting, rest)?;
        }
        parsed.millis()
    }

    /// Formats a Unix time in milliseconds, in UTC.
    pub fn format(&self, millis: i64) -> String {
        let days = millis.div_euclid(86_400_000);
        let ms_of_day = millis.rem_euclid(86_400_000);
        let (year, month, day) = crate::time::civil_from_days(days);
        let day_of_year = days - crate::time::days_from_civil(year, 1, 1) + 1;
        // 1970-01-01 was a Thursday: index 3 with Monday first.
        let weekday = (days + 3).rem_euclid(7) as usize;
        let hour = ms_of_day / 3_600_000;
        let minute = ms_of_day / 60_000 % 60;
        let second = ms_of_day / 1000 % 60;
        let milli = ms_of_day % 1000;
        let mut out = String::new();
        let number = |out: &mut String, n: i64, width: usize| {
            let digits = n.to_string();
            out.extend(std::iter::repeat_n('0', width.saturating_sub(digits.len())));
            out.push_str(&digits);
        };
        for piece in &self.0 {
            let (letter, count) = match piece {
                DatePiece::Literal(text) => {
                    out.push_str(text);
                    continue;
                }
                DatePiece::Field(letter, count) => (*letter, *count),
            };
            let text = |out: &mut String, full: &str| {
                out.push_str(if count >= 4 { full } else { &full[..3] });
            };
            match letter {
                'G' => out.push_str(if year > 0 { "AD" } else { "BC" }),
                'y' => {
                    let era_year = if year > 0 { year } else { 1 - year };
                    if count == 2 {
                        number(&mut out, era_year % 100, 2);
                    } else {
                        number(&mut out, era_year, count);
                    }
                }
                'M' | 'L' if count >= 3 => text(&mut out, MONTHS[month as usize - 1]),
                'M' | 'L' => number(&mut out, i64::from(month), count),
                'd' => number(&mut out, i64::from(day), count),
                'D' => number(&mut out, day_of_year, count),
                'F' => number(&mut out, (i64::from(day) - 1) / 7 + 1, count),
                'E' => text(&mut out, DAYS[weekday]),
                'u' => number(&mut out, weekday as i64 + 1, count),
                'a' => out.push_str(if hour < 12 { "AM" } else { "PM" }),
                'H' => number(&mut out, hour, count),
                'k' => number(&mut out, if hour == 0 { 24 } else { hour }, count),
                'K' => number(&mut out, hour % 12, count),
                'h' => number(&mut out, if hour % 12 == 0 { 12 } else { hour % 12 }, count),
                'm' => number(&mut out, minute, count),
                's' => number(&mut out, second, count),
                'S' => number(&mut out, milli, count),
                'z' => out.push_str(if count >= 4 { "Coordinated Universal Time" } else { "UTC" }),
                'Z' => out.push_str("+0000"),
                _ => out.push('Z'),
            }
        }
        out
    }
}

/// Whether a pattern letter, repeated `count` times, is read as a number.
fn is_numeric(letter: char, count: usize) -> bool {
    match letter {
        'M' | 'L' => count <= 2,
        'y' | 'd' | 'D' | 'F' | 'u' | 'H' | 'k' | 'K' | 'h' | 'm' | 's' | 'S' => true,
        _ => false,
    }
}

/// The fields a parse has read so far; unset ones are January 1, 1970, midnight.
#[derive(Default)]
struct Parsed {
    year: Option<i64>,
    before_christ: bool,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour: i64,
    /// `h`/`K` read (hour of the half day), with `a`.
    half_day_hour: Option<i64>,
    pm: bool,
    minute: i64,
    second: i64,
    milli: i64,
    offset_ms: i64,
}

impl Parsed {
    /// Reads one field from the front of `text`, returning what follows it.
    fn field<'t>(&mut self, letter: char, count: usize, abutting: bool, text: &'t str) -> Option<&'t str> {
        if is_numeric(letter, count) {
            let width = if abutting { count } else { usize::MAX };
            let end = text.bytes().take(width).take_while(u8::is_ascii_digit).count();
            if end == 0 || (abutting && end < count) {
                return None;
            }
            let n: i64 = text[..end].parse().ok()?;
            match letter {
                'y' if count <= 2 && end == 2 => self.year = Some(two_digit_year(n)),
                'y' => self.year = Some(n),
                'M' | 'L' => self.month = Some(n),
                'd' => self.day = Some(n),
                'D' => self.day_of_year = Some(n),
                'H' => self.hour = n,
                'k' => self.hour = if n == 24 { 0 } else { n },
                'K' => self.half_day_hour = Some(n),
                'h' => self.half_day_hour = Some(if n == 12 { 0 } else { n }),
                'm' => self.minute = n,
                's' => self.second = n,
                'S' => self.milli = n,
                _ => {}
            }
            return Some(&text[end..]);
        }
        match letter {
            'M' | 'L' => {
                let (index, rest) = name_prefix(text, &MONTHS)?;
                self.month = Some(index as i64 + 1);
                Some(rest)
            }
            'E' => name_prefix(text, &DAYS).map(|(_, rest)| rest),
            'G' => {
                let (index, rest) = name_prefix(text, &["AD", "BC"])?;
                self.before_christ = index == 1;
                Some(rest)
            }
            'a' => {
                let (index, rest) = name_prefix(text, &["AM", "PM"])?;
                self.pm = index == 1;
                Some(rest)
            }
            _ => {
                let (offset, rest) = zone(text, letter == 'X')?;
                self.offset_ms = offset;
                Some(rest)
            }
        }
    }

    /// The instant, with Java's lenient carrying from each field into the next larger one.
    fn millis(&self) -> Option<i64> {
        let year = self.year.unwrap_or(1970);
        let year = if self.before_christ { 1 - year } else { year };
        let days = match (self.day_of_year, self.month, self.day) {
            (Some(day_of_year), None, None) => crate::time::days_from_civil(year, 1, 1) + day_of_year - 1,
            (_, month, day) => {
                let month0 = month.unwrap_or(1) - 1;
                let year = year.checked_add(month0.div_euclid(12))?;
                let first = crate::time::days_from_civil(year, month0.rem_euclid(12) as u32 + 1, 1);
                first + day.unwrap_or(1) - 1
            }
        };
        let hour = match self.half_day_hour {
            Some(h) => h + if self.pm { 12 } else { 0 },
            None => self.hour,
        };
        let clock = ((hour * 60 + self.minute) * 60 + self.second).checked_mul(1000)?.checked_add(self.milli)?;
        days.checked_mul(86_400_000)?.checked_add(clock)?.checked_sub(self.offset_ms)
    }
}

/// Java's default century for `yy`: the 100 years from 80 years before now.
fn two_digit_year(yy: i64) -> i64 {
    let now_year = crate::time::civil_from_days(sluice_core::unix_micros() / 86_400_000_000).0;
    let start = now_year - 80;
    let candidate = start - start.rem_euclid(100) + yy;
    if candidate < start {
        candidate + 100
    } else {
        candidate
    }
}

/// The name (full, else its three-letter form) at the front of `text`, case-insensitively: its index and the rest.
fn name_prefix<'t>(text: &'t str, names: &[&str]) -> Option<(usize, &'t str)> {
    let starts = |name: &str| text.get(..name.len()).is_some_and(|head| head.eq_ignore_ascii_case(name));
    names.iter().position(|name| starts(name)).map(|index| (index, &text[names[index].len()..])).or_else(|| {
        let short = names.iter().position(|name| starts(&name[..name.len().min(3)]))?;
        Some((short, &text[names[short].len().min(3)..]))
    })
}

/// A zone at the front of `text`: `Z` (ISO letters only), `UTC`/`GMT` optionally followed by an offset, or an
/// offset `±hh`, `±hhmm`, `±hh:mm`. Returns its offset from UTC in milliseconds and the rest.
fn zone(text: &str, iso: bool) -> Option<(i64, &str)> {
    if iso {
        if let Some(rest) = text.strip_prefix('Z') {
            return Some((0, rest));
        }
    }
    let text = match ["UTC", "GMT"].iter().find_map(|name| text.strip_prefix(name)) {
        Some(rest) if !rest.starts_with(['+', '-']) => return Some((0, rest)),
        Some(rest) => rest,
        None => text,
    };
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = |s: &str, n: usize| s.get(..n).filter(|d| d.bytes().all(|b| b.is_ascii_digit()))?.parse::<i64>().ok();
    let body = &text[1..];
    let hours = digits(body, 2)?;
    let after = &body[2..];
    let (minutes, rest) = match after.strip_prefix(':') {
        Some(m) => (digits(m, 2)?, &m[2..]),
        None => match digits(after, 2) {
            Some(m) => (m, &after[2..]),
            None => (0, after),
        },
    };
    Some((sign * (hours * 60 + minutes) * 60_000, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replace(pattern: &str, replacement: &str, input: &str) -> Result<String, String> {
        let find = regex(pattern, false)?;
        let replacement = Replacement::parse(replacement, &find)?;
        Ok(replace_first(&find, &replacement, input))
    }

    #[test]
    fn a_group_reference_takes_further_digits_only_while_they_name_a_group() {
        // Java: with one group, `$10` is group 1 then `0`; with ten or more, group 10.
        assert_eq!(replace("(a)", "$10", "a").unwrap(), "a0");
        let ten = "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)";
        assert_eq!(replace(ten, "$10", "abcdefghij").unwrap(), "j");
        assert_eq!(replace("(a)", "$1a", "a").unwrap(), "aa", "the regex crate would read group `1a`");
    }

    #[test]
    fn backslash_escapes_the_next_character_and_named_groups_resolve() {
        assert_eq!(replace("(?<t>.*)", r"\$${t}\\", "x").unwrap(), r"$x\");
        assert_eq!(replace("(a)|(b)", "[$2]", "a").unwrap(), "[]", "a group outside the match adds nothing");
    }

    #[test]
    fn replacement_mistakes_are_refused_with_java_s_messages() {
        assert_eq!(replace("(a)", "$2", "a").unwrap_err(), "No group 2");
        assert_eq!(replace("(a)", "x$", "a").unwrap_err(), "Illegal group reference: group index is missing");
        assert_eq!(replace("(a)", "$x", "a").unwrap_err(), "Illegal group reference");
        assert_eq!(replace("(a)", "${n}", "a").unwrap_err(), "No group with name {n}");
        assert_eq!(replace("(a)", "${n", "a").unwrap_err(), "named capturing group is missing trailing '}'");
        assert_eq!(replace("(a)", "x\\", "a").unwrap_err(), "character to be escaped is missing");
    }

    #[test]
    fn replace_first_replaces_the_first_match_found_not_the_whole_match() {
        // `a|ab` matches all of "ab" (Matcher.matches), but find() stops at "a" (leftmost-first), so Java's
        // replaceFirst leaves the `b`.
        assert!(regex("a|ab", true).unwrap().is_match("ab"));
        assert_eq!(replace("a|ab", "X", "ab").unwrap(), "Xb");
    }

    #[test]
    fn oversized_and_unsupported_patterns_are_refused_without_panicking() {
        assert!(regex(&"a".repeat(MAX_PATTERN_LEN + 1), true).unwrap_err().contains("limit"));
        assert!(regex("(a{1000}){1000}", false).is_err());
        assert!(regex("(a)\\1", false).is_err(), "backreferences");
        assert!(regex("a(?=b)", false).is_err(), "look-ahead");
    }

    #[test]
    fn dates_format_as_simple_date_format_does_in_utc() {
        // Kafka's TimestampRouterTest: 1483425001864 with the default `yyyyMMdd` is 20170103.
        let millis = 1_483_425_001_864;
        let format = |p: &str| DateFormat::parse(p).unwrap().format(millis);
        assert_eq!(format("yyyyMMdd"), "20170103");
        assert_eq!(format("yyyy-MM-dd'T'HH:mm:ss.SSSXXX"), "2017-01-03T06:30:01.864Z");
        assert_eq!(format("yy.M.d H:m"), "17.1.3 6:30");
        assert_eq!(format("EEE, d MMM yyyy hh 'o''clock' a, z Z"), "Tue, 3 Jan 2017 06 o'clock AM, UTC +0000");
        assert_eq!(format("EEEE MMMM D u F G k K"), "Tuesday January 3 2 1 AD 6 6");
        assert_eq!(format("''"), "'");
        assert_eq!(DateFormat::parse("HH").unwrap().format(0), "00");
        assert_eq!(DateFormat::parse("k h a").unwrap().format(0), "24 12 AM");
        assert_eq!(DateFormat::parse("yyyy-MM-dd").unwrap().format(-1), "1969-12-31", "before the epoch");
    }

    #[test]
    fn dates_read_as_simple_date_format_parses_them_in_utc() {
        let read = |p: &str, text: &str| DateFormat::parse(p).unwrap().read(text);
        // Kafka's TimestampConverterTest: "1970 01 02 00 00 01 000 UTC" is 86401000.
        assert_eq!(read("yyyy MM dd HH mm ss SSS z", "1970 01 02 00 00 01 000 UTC"), Some(86_401_000));
        assert_eq!(read("yyyyMMdd", "20170103"), Some(1_483_401_600_000), "abutting fields take their width");
        assert_eq!(read("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2017-01-03T07:30:01.864+01:00"), Some(1_483_425_001_864));
        assert_eq!(read("yyyy-MM-dd'T'HH:mm:ss.SSSX", "2017-01-03T06:30:01.864Z"), Some(1_483_425_001_864));
        assert_eq!(read("EEE, d MMM yyyy hh:mm a", "Tue, 3 jan 2017 06:30 PM"), Some(1_483_468_200_000));
        assert_eq!(read("yyyy-MM-dd", "2016-13-01"), read("yyyy-MM-dd", "2017-01-01"), "lenient: month 13");
        assert_eq!(read("yyyy-MM-dd", "2017-01-03 and more"), Some(1_483_401_600_000), "trailing text ignored");
        assert_eq!(read("yyyy-MM-dd", "2017/01/03"), None);
        assert_eq!(read("yyyy-MM-dd", "2017-01"), None);
    }

    #[test]
    fn date_pattern_mistakes_are_refused_with_java_s_messages() {
        assert_eq!(DateFormat::parse("yyyyb").unwrap_err(), "Illegal pattern character 'b'");
        assert_eq!(DateFormat::parse("'yyyy").unwrap_err(), "Unterminated quote");
        assert!(DateFormat::parse("YYYY-ww").unwrap_err().contains("locale"));
        assert!(DateFormat::parse("XXXX").is_err());
    }
}
