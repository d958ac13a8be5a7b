//! Sluice's configuration: Debezium Server's keys, validated before anything connects.
//!
//! Users arrive with a Debezium Server `application.properties`; the promise is that it works as it is, or fails at
//! once with every problem named — never half-applied. So every key is classified:
//!
//! - a key some part of Sluice implements is parsed and checked by that part (bad values list the allowed ones);
//! - a key Debezium defines that Sluice does not implement yet is an error that says exactly that, rather than being
//!   silently ignored (the user would think it works);
//! - `quarkus.*` keys configure Debezium Server's runtime (logging, HTTP port) and mean nothing here: accepted and
//!   reported as ignored;
//! - anything else is a typo until proven otherwise: an error with the closest valid key.
//!
//! All problems are collected and reported together, one per line; the binary exits with code 2.
//!
//! This crate knows no source, sink or event format. Each part declares its keys ([`KeySet`]) and reads them
//! through [`Settings`]; the binary lists the parts in one [`Registry`] and hands over the function that reads the
//! whole configuration. What stays here is what every key shares: the properties syntax, placeholders and who may
//! resolve them, environment overrides, Kafka's config providers, and the classification above.

mod properties;
mod registry;
mod settings;
mod substitute;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use properties::{parse as parse_properties, Entry};
pub use registry::{key, Key, KeySet, Registry, DEBEZIUM_SERVER_SINKS};
pub use settings::{closest, list, name_pattern, Settings};
pub use substitute::{redact, ProviderLimits};

/// A valid configuration plus what the caller should log.
#[derive(Clone, Debug)]
pub struct Loaded<T> {
    pub config: T,
    /// What placeholders resolved to: never to be shown ([`Loaded::redact`]).
    pub resolved: Vec<String>,
    /// `quarkus.*` keys and keys accepted as given, ignored.
    pub ignored_keys: Vec<String>,
    /// Deprecations and similar.
    pub warnings: Vec<String>,
}

impl<T> Loaded<T> {
    /// `text` with every value a placeholder resolved to hidden.
    pub fn redact(&self, text: &str) -> String {
        substitute::redact(text, &self.resolved)
    }
}

/// Every problem found, one per line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

impl ConfigError {
    /// The individual problems.
    pub fn problems(&self) -> Vec<String> {
        match self {
            ConfigError::Read { .. } => vec![self.to_string()],
            ConfigError::Invalid(p) => p.clone(),
        }
    }
}

/// Reads a properties file's text.
pub fn read_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })
}

/// Validates properties text with a given environment, the operator's own file: placeholders read any file and
/// any variable, and environment variables override keys as in Debezium Server.
pub fn parse_with_env<T>(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    registry: &Registry,
    read: impl FnOnce(&mut Settings) -> T,
) -> Result<Loaded<T>, ConfigError> {
    // The last duplicate wins before placeholders are resolved, so an overridden line cannot fail the file; ignored
    // keys are not resolved at all.
    let mut values: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for entry in properties::parse(text) {
        values.insert(entry.key, (entry.value, entry.line));
    }
    apply_env_overrides(&mut values, env, registry);
    validate(values, env, &ProviderLimits::operator(), registry, read)
}

/// Debezium Server (MicroProfile Config) lets environment variables override the file: `debezium.sink.type` is
/// also read from `DEBEZIUM_SINK_TYPE` (every character but letters and digits becomes `_`, then upper case), and
/// the variable wins. The mapping cannot be reversed, so it applies to the keys Sluice knows and to every key the
/// file already has.
fn apply_env_overrides(
    values: &mut BTreeMap<String, (String, usize)>,
    env: &dyn Fn(&str) -> Option<String>,
    registry: &Registry,
) {
    let mut candidates = registry.supported_keys();
    candidates.extend(values.keys().cloned());
    for key in candidates {
        let name: String =
            key.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        if let Some(value) = env(&name) {
            values.insert(key, (value, 0));
        }
    }
}

/// Validates keys and values that did not come from a file (the REST API's connector configurations): the same
/// checks, without line numbers, with placeholders limited by `limits`.
pub fn from_pairs<T>(
    pairs: impl IntoIterator<Item = (String, String)>,
    env: &dyn Fn(&str) -> Option<String>,
    limits: &ProviderLimits,
    registry: &Registry,
    read: impl FnOnce(&mut Settings) -> T,
) -> Result<Loaded<T>, ConfigError> {
    validate(pairs.into_iter().map(|(k, v)| (k, (v, 0))).collect(), env, limits, registry, read)
}

/// Problems never show what a placeholder resolved to: a `${file:…}` secret in a key that fails validation is
/// hidden in the message (the key and the placeholder as written are enough to find it).
fn validate<T>(
    mut values: BTreeMap<String, (String, usize)>,
    env: &dyn Fn(&str) -> Option<String>,
    limits: &ProviderLimits,
    registry: &Registry,
    read: impl FnOnce(&mut Settings) -> T,
) -> Result<Loaded<T>, ConfigError> {
    let supported = registry.supported_keys();
    let mut problems = Vec::new();
    let mut resolved = Vec::new();
    for (key, (value, line)) in values.iter_mut().filter(|(k, _)| !is_ignored(k, &supported)) {
        match substitute::substitute(key, value, env, limits, &mut resolved) {
            Ok(v) => *value = v,
            Err(e) => problems.push(format!("line {line}: {e}")),
        }
    }
    let mut settings = Settings::new(values, problems);
    adopt_old_names(&mut settings, registry);
    classify_keys(&mut settings, registry, &supported);
    let config = read(&mut settings);
    // Pairs have no lines: drop the `line 0: ` prefix their problems got.
    let unlined = |p: String| substitute::redact(p.strip_prefix("line 0: ").unwrap_or(&p), &resolved);
    let problems: Vec<String> = settings.problems.into_iter().map(unlined).collect();
    if problems.is_empty() {
        let warnings = settings.warnings.into_iter().map(unlined).collect();
        Ok(Loaded { config, resolved, ignored_keys: settings.ignored, warnings })
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// `quarkus.*` keys configure Debezium Server's runtime (logging, HTTP), also under a profile (`%dev.quarkus.…`);
/// those a part of Sluice reads (the HTTP listener) are not ignored.
fn is_ignored(key: &str, supported: &[String]) -> bool {
    if supported.iter().any(|k| k == key) {
        return false;
    }
    let unprofiled = key.strip_prefix('%').and_then(|k| k.split_once('.')).map_or(key, |(_, rest)| rest);
    unprofiled.starts_with("quarkus.")
}

/// Names older configurations still carry, read as their successors with a deprecation note (Debezium 1.x's
/// `database.server.name` and `*.whitelist` / `*.blacklist`, for instance). When both names are set, the current
/// one wins.
fn adopt_old_names(settings: &mut Settings, registry: &Registry) {
    for (old_key, new_key) in registry.renames() {
        let Some((value, line)) = settings.values.remove(&old_key) else { continue };
        if settings.values.contains_key(&new_key) {
            settings.warn(format!(
                "line {line}: `{old_key}` is Debezium 1.x's name of `{new_key}`, which is set too and wins; remove \
                 `{old_key}`"
            ));
        } else {
            settings.warn(format!(
                "line {line}: `{old_key}` is Debezium 1.x's name: read as `{new_key}`; rename it, Debezium 2 no \
                 longer reads it"
            ));
            settings.values.insert(new_key, (value, line));
        }
    }
}

fn classify_keys(settings: &mut Settings, registry: &Registry, supported: &[String]) {
    let keys: Vec<(String, usize)> = settings.values.iter().map(|(k, (_, line))| (k.clone(), *line)).collect();
    for (key, line) in keys {
        if supported.contains(&key) || registry.is_open(&key) {
            continue;
        }
        if is_ignored(&key, supported) {
            settings.ignored.push(key);
            continue;
        }
        if registry.accepts_as_given(&key, settings.get(&key).unwrap_or_default()) {
            settings.ignored.push(key);
            continue;
        }
        if registry.is_other_connectors(&key) && !registry.is_not_yet(&key) {
            settings.warn(format!(
                "line {line}: `{key}` belongs to another Debezium connector and means nothing for PostgreSQL; it is \
                 ignored"
            ));
            continue;
        }
        if let Some(problem) = classify_unsupported(settings, registry, &key, supported) {
            settings.problem(format!("line {line}: {problem}"));
        }
    }
}

/// Why a key outside the supported set is a problem, with the fix; `None` when it is accepted after all.
fn classify_unsupported(settings: &Settings, registry: &Registry, key: &str, supported: &[String]) -> Option<String> {
    if let Some(provider) = key.strip_prefix("debezium.source.config.providers") {
        return config_provider_problem(settings, key, provider);
    }
    if registry.is_not_yet(key) {
        return Some(format!("`{key}` is a Debezium key that Sluice does not support yet"));
    }
    if key.starts_with('%') {
        return Some(format!(
            "`{key}`: profile-specific keys are not supported yet; put the value on the key without the `%profile.` prefix"
        ));
    }
    let sink = key.strip_prefix("debezium.sink.").and_then(|r| r.split_once('.')).map(|(sink, _)| sink);
    let sink_problem = |sink: &str| {
        format!(
            "`{key}` configures the `{sink}` sink, which Sluice does not support yet (it has {})",
            registry.sink_types().join(", ")
        )
    };
    // Debezium Server's own sinks first: `debezium.sink.http.url` is not a typo of `debezium.sink.file.path`.
    if let Some(sink) = sink.filter(|s| registry.sinks_not_yet().any(|n| n == *s)) {
        return Some(sink_problem(sink));
    }
    if let Some(best) = closest(key, supported) {
        return Some(format!("unknown key `{key}`; did you mean `{best}`?"));
    }
    if let Some(sink) = sink.filter(|s| !registry.sink_types().contains(s)) {
        return Some(sink_problem(sink));
    }
    if let Some(why) = registry.unsupported_below(key) {
        return Some(format!("`{key}`: {why}"));
    }
    Some(format!("unknown key `{key}`: Sluice reads Debezium Server's debezium.source.*, debezium.sink.* and debezium.format.* keys (see docs/configuration.md)"))
}

/// Kafka's config providers must be declared in Kafka Connect (`config.providers=file`); Debezium Server users
/// often carry the declaration over. Sluice has the `file` and `env` providers built in, so declaring those is
/// accepted, and anything else is not supported yet.
fn config_provider_problem(settings: &Settings, key: &str, rest: &str) -> Option<String> {
    const KNOWN: &[(&str, &str)] = &[
        ("file", "org.apache.kafka.common.config.provider.FileConfigProvider"),
        ("env", "org.apache.kafka.common.config.provider.EnvVarConfigProvider"),
    ];
    let value = settings.get(key).unwrap_or_default().trim();
    if rest.is_empty() {
        let unknown: Vec<&str> =
            value.split(',').map(str::trim).filter(|p| !p.is_empty() && !KNOWN.iter().any(|(n, _)| n == p)).collect();
        return (!unknown.is_empty()).then(|| {
            format!(
                "`{key}`: config provider(s) {} are not supported yet; Sluice has `file` and `env` built in",
                unknown.join(", ")
            )
        });
    }
    let class_of = rest.strip_prefix('.').and_then(|r| r.strip_suffix(".class"));
    match class_of.and_then(|name| KNOWN.iter().find(|(n, _)| *n == name)) {
        Some((_, class)) if value == *class => None,
        Some((name, class)) => {
            Some(format!("`{key}` = `{value}` is not supported yet; the `{name}` provider is built in (`{class}`)"))
        }
        None => Some(format!(
            "`{key}` is a Debezium key that Sluice does not support yet (only the built-in `file` and `env` config providers, without parameters)"
        )),
    }
}

#[cfg(test)]
mod tests {
    /// The configuration crate classifies keys; what they mean belongs to the parts that declare them. Depending on a
    /// source, a sink or the format would pull their knowledge back in here.
    #[test]
    fn depends_on_no_source_sink_or_format_crate() {
        let manifest = include_str!("../Cargo.toml");
        let dependencies = manifest.split("[dependencies]").nth(1).and_then(|d| d.split("\n[").next()).unwrap();
        let ours: Vec<&str> = dependencies.lines().filter(|l| l.starts_with("sluice")).collect();
        assert_eq!(ours, ["sluice-core.workspace = true"], "{dependencies}");
    }
}
