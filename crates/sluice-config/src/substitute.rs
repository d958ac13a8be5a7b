//! Placeholders in values: Kafka's config providers and Debezium Server's environment variables.
//!
//! - `${env:NAME}` — the environment variable, an error when unset;
//! - `${file:/path/to.properties:key}` — a key of another properties file (Kafka's FileConfigProvider), for secrets;
//! - `${NAME}` / `${NAME:default}` — MicroProfile Config, as Debezium Server resolves it: the environment variable if
//!   set, else the default if given.
//!
//! Anything else stays exactly as written: Debezium's own placeholders such as `${routedByValue}` in
//! `route.topic.replacement` are meant for the transform, not for the configuration loader.
//!
//! Who wrote the configuration decides what a placeholder may read. The operator's own file reads any file and any
//! variable. A configuration submitted over the REST API is data from whoever reached the port, so it reads only
//! what the worker allows ([`ProviderLimits::submitted`]): files inside Kafka's
//! `config.providers.file.param.allowed.paths` and variables matching `config.providers.env.param.allowlist.pattern`
//! — nothing when those are unset — and Debezium Server's bare `${NAME}` form, which Kafka Connect does not have,
//! stays as written. Every resolved value is remembered so that errors can be redacted before anyone sees them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use regex::Regex;

/// What placeholders may read.
#[derive(Clone, Debug)]
pub struct ProviderLimits {
    /// Directories `${file:…}` may read below; `None`: any file.
    file_allowed_paths: Option<Vec<PathBuf>>,
    /// Variables `${env:…}` may read; `None`: any.
    env_allowlist: Option<Regex>,
    /// Whether Debezium Server's bare `${NAME}` reads the environment.
    bare_names: bool,
}

impl ProviderLimits {
    /// The operator's own configuration file: every provider, unrestricted.
    pub fn operator() -> Self {
        ProviderLimits { file_allowed_paths: None, env_allowlist: None, bare_names: true }
    }

    /// A configuration submitted over the REST API, limited by the worker's `allowed.paths` (comma-separated
    /// directories) and `allowlist.pattern` (a regular expression a whole variable name must match). Unset means
    /// nothing is allowed.
    pub fn submitted(allowed_paths: Option<&str>, env_allowlist: Option<&str>) -> Result<Self, String> {
        let file_allowed_paths = allowed_paths
            .map(|paths| {
                paths
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        std::fs::canonicalize(p).map_err(|e| {
                            format!("`config.providers.file.param.allowed.paths`: {p} cannot be resolved: {e}")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let env_allowlist = match env_allowlist.map(str::trim).filter(|p| !p.is_empty()) {
            Some(pattern) => Regex::new(&format!("^(?:{pattern})$"))
                .map_err(|e| format!("`config.providers.env.param.allowlist.pattern` is not a valid pattern: {e}"))?,
            None => Regex::new("$.^").map_err(|e| e.to_string())?,
        };
        Ok(ProviderLimits {
            file_allowed_paths: Some(file_allowed_paths),
            env_allowlist: Some(env_allowlist),
            bare_names: false,
        })
    }

    /// Whether `path` lies inside the allowed directories (after resolving `..` and symbolic links).
    pub fn file_allowed(&self, path: &Path) -> bool {
        match &self.file_allowed_paths {
            None => true,
            Some(dirs) => std::fs::canonicalize(path).is_ok_and(|real| dirs.iter().any(|d| real.starts_with(d))),
        }
    }

    fn env_allowed(&self, name: &str) -> bool {
        self.env_allowlist.as_ref().is_none_or(|pattern| pattern.is_match(name))
    }
}

/// Resolves placeholders in `value` (of `key`, for messages) within `limits`; each value a placeholder produced is
/// pushed to `resolved`, for redaction.
pub fn substitute(
    key: &str,
    value: &str,
    env: &dyn Fn(&str) -> Option<String>,
    limits: &ProviderLimits,
    resolved: &mut Vec<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut files: HashMap<String, HashMap<String, String>> = HashMap::new();
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let inner = &after[..end];
        let whole = &rest[start..start + 2 + end + 1];
        match resolve(key, inner, env, limits, &mut files)? {
            Some(v) => {
                out.push_str(&v);
                resolved.push(v);
            }
            None => out.push_str(whole),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The placeholder's value, or `None` when it is not one of ours and stays as written.
fn resolve(
    key: &str,
    inner: &str,
    env: &dyn Fn(&str) -> Option<String>,
    limits: &ProviderLimits,
    files: &mut HashMap<String, HashMap<String, String>>,
) -> Result<Option<String>, String> {
    if let Some(name) = inner.strip_prefix("env:") {
        if !limits.env_allowed(name) {
            return Err(format!(
                "`{key}` uses ${{env:{name}}}, which this worker does not allow: only variables matching \
                 `config.providers.env.param.allowlist.pattern` (unset: none) can be read by submitted configurations"
            ));
        }
        return env(name)
            .map(Some)
            .ok_or_else(|| format!("`{key}` uses ${{env:{name}}}, but the environment variable {name} is not set"));
    }
    if let Some(spec) = inner.strip_prefix("file:") {
        let (path, file_key) = spec.rsplit_once(':').ok_or_else(|| {
            format!("`{key}`: `${{{inner}}}` must have the form ${{file:/path/to/file.properties:key}}")
        })?;
        if !limits.file_allowed(Path::new(path)) {
            return Err(format!(
                "`{key}` refers to {path} (${{file:…}}), which this worker does not allow: only files inside \
                 `config.providers.file.param.allowed.paths` (unset: none) can be read by submitted configurations"
            ));
        }
        if !files.contains_key(path) {
            let text = std::fs::read_to_string(Path::new(path))
                .map_err(|e| format!("`{key}` refers to {path} (${{file:…}}), which cannot be read: {e}"))?;
            let map = crate::properties::parse(&text).into_iter().map(|e| (e.key, e.value)).collect();
            files.insert(path.to_string(), map);
        }
        return files[path]
            .get(file_key)
            .cloned()
            .map(Some)
            .ok_or_else(|| format!("`{key}` refers to key `{file_key}` of {path}, which has no such key"));
    }
    if !limits.bare_names {
        return Ok(None);
    }
    let (name, default) = match inner.split_once(':') {
        Some((n, d)) => (n, Some(d)),
        None => (inner, None),
    };
    let is_env_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    Ok(match (is_env_name.then(|| env(name)).flatten(), default) {
        (Some(v), _) => Some(v),
        (None, Some(d)) if is_env_name => Some(d.to_string()),
        _ => None,
    })
}

/// `text` with every resolved value replaced by [`sluice_core::secret::HIDDEN`], longest first so that a value
/// containing another is hidden whole.
pub fn redact(text: &str, resolved: &[String]) -> String {
    let mut values: Vec<&String> = resolved.iter().filter(|v| !v.is_empty()).collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values.iter().fold(text.to_string(), |t, v| t.replace(v.as_str(), sluice_core::secret::HIDDEN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(key: &str, value: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
        substitute(key, value, env, &ProviderLimits::operator(), &mut Vec::new())
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "DB_PASSWORD" => Some("s3cret".into()),
            "HOST" => Some("db.internal".into()),
            _ => None,
        }
    }

    #[test]
    fn env_prefix_reads_the_variable_and_fails_loudly_when_unset() {
        assert_eq!(sub("k", "${env:DB_PASSWORD}", &env).unwrap(), "s3cret");
        let err = sub("debezium.source.database.password", "${env:NOPE}", &env).unwrap_err();
        assert!(err.contains("NOPE") && err.contains("database.password"), "{err}");
    }

    #[test]
    fn bare_names_use_set_variables_and_defaults() {
        assert_eq!(sub("k", "jdbc://${HOST}:5432", &env).unwrap(), "jdbc://db.internal:5432");
        assert_eq!(sub("k", "${PORT:5433}", &env).unwrap(), "5433");
    }

    #[test]
    fn debezium_placeholders_pass_through() {
        assert_eq!(sub("k", "outbox.event.${routedByValue}", &env).unwrap(), "outbox.event.${routedByValue}");
        assert_eq!(sub("k", "${unclosed", &env).unwrap(), "${unclosed");
    }

    #[test]
    fn file_provider_reads_a_key_and_names_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.properties");
        std::fs::write(&path, "password=hunter2\n").unwrap();
        let p = path.display();
        assert_eq!(sub("k", &format!("${{file:{p}:password}}"), &env).unwrap(), "hunter2");
        let err = sub("k", &format!("${{file:{p}:user}}"), &env).unwrap_err();
        assert!(err.contains("no such key") && err.contains("user"), "{err}");
        let err = sub("k", "${file:/no/such/file:password}", &env).unwrap_err();
        assert!(err.contains("/no/such/file"), "{err}");
    }

    fn submitted(dir: &Path, pattern: Option<&str>) -> ProviderLimits {
        ProviderLimits::submitted(Some(&dir.display().to_string()), pattern).unwrap()
    }

    #[test]
    fn submitted_configurations_read_nothing_unless_the_worker_allows_it() {
        let limits = ProviderLimits::submitted(None, None).unwrap();
        let mut resolved = Vec::new();
        let err = substitute("k", "${file:/etc/passwd:root}", &env, &limits, &mut resolved).unwrap_err();
        assert!(err.contains("does not allow") && err.contains("allowed.paths"), "{err}");
        let err = substitute("k", "${env:DB_PASSWORD}", &env, &limits, &mut resolved).unwrap_err();
        assert!(err.contains("does not allow") && !err.contains("s3cret"), "{err}");
        assert_eq!(substitute("k", "${HOST}", &env, &limits, &mut resolved).unwrap(), "${HOST}", "no bare form");
        assert!(resolved.is_empty());
    }

    #[test]
    fn allowed_paths_admit_files_inside_and_nothing_outside_even_through_dot_dot_or_links() {
        let root = tempfile::tempdir().unwrap();
        let allowed = root.path().join("allowed");
        std::fs::create_dir(&allowed).unwrap();
        std::fs::write(allowed.join("s.properties"), "password=hunter2\n").unwrap();
        std::fs::write(root.path().join("outside.properties"), "password=nope\n").unwrap();
        std::os::unix::fs::symlink(root.path().join("outside.properties"), allowed.join("link.properties")).unwrap();
        let limits = submitted(&allowed, None);
        let mut resolved = Vec::new();
        let inside = format!("${{file:{}/s.properties:password}}", allowed.display());
        assert_eq!(substitute("k", &inside, &env, &limits, &mut resolved).unwrap(), "hunter2");
        assert_eq!(resolved, ["hunter2"]);
        for escape in [
            format!("${{file:{}/../outside.properties:password}}", allowed.display()),
            format!("${{file:{}/link.properties:password}}", allowed.display()),
            "${file:/etc/passwd:root}".to_string(),
        ] {
            let err = substitute("k", &escape, &env, &limits, &mut resolved).unwrap_err();
            assert!(err.contains("does not allow") && !err.contains("nope"), "{escape}: {err}");
        }
    }

    #[test]
    fn the_env_allowlist_is_a_whole_name_pattern() {
        let dir = tempfile::tempdir().unwrap();
        let limits = submitted(dir.path(), Some("DB_.*"));
        let mut resolved = Vec::new();
        assert_eq!(substitute("k", "${env:DB_PASSWORD}", &env, &limits, &mut resolved).unwrap(), "s3cret");
        assert!(substitute("k", "${env:HOST}", &env, &limits, &mut resolved).is_err());
        assert!(ProviderLimits::submitted(None, Some("(")).is_err());
    }

    #[test]
    fn redaction_hides_every_resolved_value_longest_first() {
        let resolved = vec!["abc".to_string(), "abcdef".to_string(), String::new()];
        assert_eq!(redact("x abcdef y abc z", &resolved), "x [hidden] y [hidden] z");
    }
}
