//! Placeholders in values: Kafka's config providers and Debezium Server's environment variables.
//!
//! - `${env:NAME}` — the environment variable, an error when unset;
//! - `${file:/path/to.properties:key}` — a key of another properties file (Kafka's FileConfigProvider), for secrets;
//! - `${NAME}` / `${NAME:default}` — MicroProfile Config, as Debezium Server resolves it: the environment variable if
//!   set, else the default if given.
//!
//! Anything else stays exactly as written: Debezium's own placeholders such as `${routedByValue}` in
//! `route.topic.replacement` are meant for the transform, not for the configuration loader.

use std::collections::HashMap;
use std::path::Path;

/// Resolves placeholders in `value` (of `key`, for messages).
pub fn substitute(key: &str, value: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
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
        out.push_str(&resolve(key, inner, whole, env, &mut files)?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve(
    key: &str,
    inner: &str,
    whole: &str,
    env: &dyn Fn(&str) -> Option<String>,
    files: &mut HashMap<String, HashMap<String, String>>,
) -> Result<String, String> {
    if let Some(name) = inner.strip_prefix("env:") {
        return env(name)
            .ok_or_else(|| format!("`{key}` uses ${{env:{name}}}, but the environment variable {name} is not set"));
    }
    if let Some(spec) = inner.strip_prefix("file:") {
        let (path, file_key) = spec
            .rsplit_once(':')
            .ok_or_else(|| format!("`{key}`: `{whole}` must have the form ${{file:/path/to/file.properties:key}}"))?;
        if !files.contains_key(path) {
            let text = std::fs::read_to_string(Path::new(path))
                .map_err(|e| format!("`{key}` refers to {path} (${{file:…}}), which cannot be read: {e}"))?;
            let map = crate::properties::parse(&text).into_iter().map(|e| (e.key, e.value)).collect();
            files.insert(path.to_string(), map);
        }
        return files[path]
            .get(file_key)
            .cloned()
            .ok_or_else(|| format!("`{key}` refers to key `{file_key}` of {path}, which has no such key"));
    }
    let (name, default) = match inner.split_once(':') {
        Some((n, d)) => (n, Some(d)),
        None => (inner, None),
    };
    let is_env_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    match (is_env_name.then(|| env(name)).flatten(), default) {
        (Some(v), _) => Ok(v),
        (None, Some(d)) if is_env_name => Ok(d.to_string()),
        _ => Ok(whole.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "DB_PASSWORD" => Some("s3cret".into()),
            "HOST" => Some("db.internal".into()),
            _ => None,
        }
    }

    #[test]
    fn env_prefix_reads_the_variable_and_fails_loudly_when_unset() {
        assert_eq!(substitute("k", "${env:DB_PASSWORD}", &env).unwrap(), "s3cret");
        let err = substitute("debezium.source.database.password", "${env:NOPE}", &env).unwrap_err();
        assert!(err.contains("NOPE") && err.contains("database.password"), "{err}");
    }

    #[test]
    fn bare_names_use_set_variables_and_defaults() {
        assert_eq!(substitute("k", "jdbc://${HOST}:5432", &env).unwrap(), "jdbc://db.internal:5432");
        assert_eq!(substitute("k", "${PORT:5433}", &env).unwrap(), "5433");
    }

    #[test]
    fn debezium_placeholders_pass_through() {
        assert_eq!(substitute("k", "outbox.event.${routedByValue}", &env).unwrap(), "outbox.event.${routedByValue}");
        assert_eq!(substitute("k", "${unclosed", &env).unwrap(), "${unclosed");
    }

    #[test]
    fn file_provider_reads_a_key_and_names_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.properties");
        std::fs::write(&path, "password=hunter2\n").unwrap();
        let p = path.display();
        assert_eq!(substitute("k", &format!("${{file:{p}:password}}"), &env).unwrap(), "hunter2");
        let err = substitute("k", &format!("${{file:{p}:user}}"), &env).unwrap_err();
        assert!(err.contains("no such key") && err.contains("user"), "{err}");
        let err = substitute("k", "${file:/no/such/file:password}", &env).unwrap_err();
        assert!(err.contains("/no/such/file"), "{err}");
    }
}
