//! Typed reads of a configuration's values, collecting every problem instead of stopping at the first.
//!
//! Each part of Sluice reads its own keys through [`Settings`] (the PostgreSQL source its `debezium.source.*`, a sink
//! its `debezium.sink.<type>.*`), so the rules every key shares — how a number, a boolean or a choice is written,
//! how a bad value is reported, Debezium's regex lists — live here once, and a bad value always reads the same:
//! the full key, the value, and what would have been valid.

use std::collections::BTreeMap;

use regex::{Regex, RegexBuilder};

/// The values of one configuration, and the problems and warnings found while reading them.
#[derive(Debug)]
pub struct Settings {
    pub(crate) values: BTreeMap<String, (String, usize)>,
    pub(crate) problems: Vec<String>,
    pub(crate) warnings: Vec<String>,
    pub(crate) ignored: Vec<String>,
}

impl Settings {
    pub(crate) fn new(values: BTreeMap<String, (String, usize)>, problems: Vec<String>) -> Self {
        Settings { values, problems, warnings: Vec::new(), ignored: Vec::new() }
    }

    /// Records a problem: the configuration is rejected.
    pub fn problem(&mut self, message: impl Into<String>) {
        self.problems.push(message.into());
    }

    /// Records a warning, logged when the configuration is used.
    pub fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }

    /// The value as written (placeholders resolved).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(v, _)| v.as_str())
    }

    /// The line the key is on (0 when it did not come from a file).
    pub fn line(&self, key: &str) -> usize {
        self.values.get(key).map_or(0, |(_, line)| *line)
    }

    /// Replaces a value, e.g. a deprecated value by its successor once the warning is given.
    pub fn replace(&mut self, key: &str, value: &str) {
        let line = self.line(key);
        self.values.insert(key.to_string(), (value.to_string(), line));
    }

    /// Every key below `prefix` with a non-empty remainder, as `(remainder, value)`, in key order.
    pub fn below(&self, prefix: &str) -> Vec<(String, String)> {
        self.values
            .iter()
            .filter_map(|(k, (v, _))| Some((k.strip_prefix(prefix)?.to_string(), v.clone())))
            .filter(|(k, _)| !k.is_empty())
            .collect()
    }

    /// Whether any key starts with `prefix`.
    pub fn any_below(&self, prefix: &str) -> bool {
        self.values.keys().any(|k| k.starts_with(prefix))
    }

    /// A required value, trimmed; a problem when it is missing or blank.
    pub fn required(&mut self, key: &str) -> String {
        match self.get(key) {
            Some(v) if !v.trim().is_empty() => v.trim().to_string(),
            _ => {
                self.problems.push(format!("missing required key `{key}`"));
                String::new()
            }
        }
    }

    /// The trimmed value, or `default`.
    pub fn string(&self, key: &str, default: &str) -> String {
        self.get(key).map(|v| v.trim().to_string()).unwrap_or_else(|| default.to_string())
    }

    /// The trimmed value when set and not blank.
    pub fn optional(&self, key: &str) -> Option<String> {
        self.get(key).map(str::trim).filter(|v| !v.is_empty()).map(String::from)
    }

    /// A number; `what` completes "`key` = `value` is not …".
    pub fn number<T: std::str::FromStr + Copy>(&mut self, key: &str, default: T, what: &str) -> T {
        match self.get(key) {
            None => default,
            Some(v) => match v.trim().parse() {
                Ok(n) => n,
                Err(_) => {
                    self.problems.push(format!("`{key}` = `{v}` is not {what}"));
                    default
                }
            },
        }
    }

    pub fn boolean(&mut self, key: &str, default: bool) -> bool {
        match self.get(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => default,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(v) => {
                self.problems.push(format!("`{key}` = `{v}` is not a boolean (use true or false)"));
                default
            }
        }
    }

    /// One of `options`, matched case-insensitively; a problem listing them otherwise.
    pub fn choice<T: Copy>(&mut self, key: &str, default: T, options: &[(&str, T)]) -> T {
        let Some(v) = self.get(key).map(|v| v.trim().to_string()) else { return default };
        match options.iter().find(|(name, _)| name.eq_ignore_ascii_case(&v)) {
            Some((_, t)) => *t,
            None => {
                let allowed: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                self.problems.push(format!("`{key}` = `{v}` is not valid; allowed values: {}", allowed.join(", ")));
                default
            }
        }
    }

    /// A value Debezium defines for `key` that Sluice does not implement yet is its own problem, not "invalid";
    /// returns whether it was one (the key then falls back to its default so no second problem is reported).
    pub fn value_not_yet(&mut self, key: &str, values: &[&str]) -> bool {
        let Some(v) = self.get(key).map(|v| v.trim().to_string()) else { return false };
        let hit = values.iter().any(|n| n.eq_ignore_ascii_case(&v));
        if hit {
            self.problems.push(format!("`{key}` = `{v}` is a Debezium value that Sluice does not support yet"));
            self.values.remove(key);
        }
        hit
    }

    /// A comma-separated list, blanks skipped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.get(key).map(list).unwrap_or_default()
    }

    /// Debezium's regex lists: comma-separated (`\,` for a comma inside a regex, written `\\,` in the properties
    /// file), blanks skipped, each regex matched case-insensitively against the whole name. An empty list is the
    /// same as no list, so `table.include.list=${TABLES:}` does not silently capture nothing.
    pub fn regex_list(&mut self, key: &str) -> Option<Vec<Regex>> {
        let value = self.get(key)?.to_string();
        let mut out = Vec::new();
        for part in split_regex_list(&value) {
            match name_pattern(&part) {
                Ok(r) => out.push(r),
                Err(e) => self.problems.push(format!("`{key}`: `{part}` is not a valid regular expression: {e}")),
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

/// How Debezium matches a name (`schema.table`, `schema.table.column`, a message prefix) against a configured regex:
/// anchored at both ends and case-insensitive (its `Predicates.includes`).
pub fn name_pattern(expr: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&format!("^(?:{expr})$")).case_insensitive(true).build()
}

/// A comma-separated list, trimmed, blanks skipped.
pub fn list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// Splits a Debezium regex list on commas not escaped as `\,`, trimming each part and dropping empty ones.
fn split_regex_list(value: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                current.push(',');
                chars.next();
            }
            ',' => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

/// The valid key closest to a misspelt one, when it is close enough to be a likely typo.
pub fn closest(key: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(key, c), c))
        .filter(|(d, c)| *d <= (c.len() / 4).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escaped_comma_stays_inside_one_regex_and_blanks_are_skipped() {
        assert_eq!(split_regex_list(r"a\,b, c ,,"), ["a,b", "c"]);
        assert!(split_regex_list(" , ").is_empty());
    }

    #[test]
    fn a_close_key_is_suggested_and_a_far_one_is_not() {
        let keys = vec!["debezium.source.table.include.list".to_string()];
        assert_eq!(closest("debezium.source.tabel.include.list", &keys).as_deref(), Some(keys[0].as_str()));
        assert_eq!(closest("debezium.sink.whatever", &keys), None);
    }
}
