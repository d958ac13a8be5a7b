//! `/admin/loggers`: Kafka Connect's way of reading and changing log levels on a running worker, so the runbook
//! step "turn on DEBUG for the PostgreSQL connector" works against Sluice unchanged.
//!
//! Kafka Connect names log4j loggers (`io.debezium.connector.postgresql`, `org.apache.kafka.connect`, `root`);
//! Sluice logs through `tracing`, whose targets are Rust module paths. [`KNOWN`] maps the Java names operators use
//! onto the targets doing that work, and a Rust target (`sluice_postgres::source`) is a logger name of its own. A
//! change rebuilds the process's `EnvFilter` from the `SLUICE_LOG` it started with plus every level set here, and
//! swaps it in through a reload handle, so it takes effect at once for every connector of the worker.
//!
//! Levels behave as log4j's do in Kafka Connect: setting a namespace sets it and every known logger whose name
//! starts with it, `root` sets all of them, and the answer lists the loggers changed. A name that maps to nothing is
//! still recorded, as log4j creates loggers on demand, but the number of recorded names is bounded, and a name is
//! never put into a filter directive: only the targets of [`KNOWN`] and names of Rust-path characters are.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The root logger's name.
const ROOT: &str = "root";

/// Kafka Connect's and Debezium's logger names → the tracing targets doing that work in Sluice.
const KNOWN: &[(&str, &[&str])] = &[
    ("io.debezium", &["sluice_postgres", "sluice_format", "sluice_engine", "sluice::app"]),
    ("io.debezium.connector.postgresql", &["sluice_postgres"]),
    ("io.debezium.transforms", &["sluice_format::transform", "sluice_format::outbox", "sluice_format::unwrap"]),
    ("io.debezium.pipeline", &["sluice_engine"]),
    ("org.apache.kafka", &["sluice::connect", "sluice_engine", "sluice_sinks::kafka"]),
    ("org.apache.kafka.connect", &["sluice::connect", "sluice_engine"]),
    ("org.apache.kafka.connect.runtime.rest", &["sluice::connect"]),
    ("org.apache.kafka.clients.producer", &["sluice_sinks::kafka"]),
];

/// At most this many logger names are recorded besides [`KNOWN`] and `root`: a client cannot grow the worker's
/// memory by naming loggers.
const MAX_NAMED: usize = 256;
const MAX_NAME_BYTES: usize = 255;

/// Installs a filter made of `EnvFilter` directives; an error says why it was refused.
pub type ApplyFilter = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// The worker's log levels: what `SLUICE_LOG` set at start, and every level set through the API since.
pub struct Loggers {
    /// `SLUICE_LOG`'s directives (or `info`).
    base: String,
    apply: ApplyFilter,
    /// Loggers whose level was set explicitly: name → (Kafka level name, last modified in ms since the epoch).
    set: Mutex<BTreeMap<String, (String, i64)>>,
}

/// What went wrong with a request, as Kafka Connect reports it.
#[derive(Debug, PartialEq)]
pub enum LoggerError {
    /// 404: no such logger, or (as Kafka Connect answers) no such level.
    NotFound(String),
    /// 400.
    BadRequest(String),
    /// 500: the filter could not be installed.
    Internal(String),
}

/// A logger's level as `GET /admin/loggers` shows it.
#[derive(Debug, PartialEq)]
pub struct LoggerLevel {
    pub level: String,
    pub last_modified: Option<i64>,
}

impl Loggers {
    /// Levels that start from `base` (`SLUICE_LOG`'s directives) and are installed by `apply`.
    pub fn new(base: impl Into<String>, apply: ApplyFilter) -> Loggers {
        Loggers { base: base.into(), apply, set: Mutex::new(BTreeMap::new()) }
    }

    fn levels(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (String, i64)>> {
        self.set.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `GET /admin/loggers`: `root` and every logger whose level was set explicitly.
    pub fn all(&self) -> BTreeMap<String, LoggerLevel> {
        let set = self.levels();
        let mut all: BTreeMap<String, LoggerLevel> = set
            .iter()
            .map(|(name, (level, at))| (name.clone(), LoggerLevel { level: level.clone(), last_modified: Some(*at) }))
            .collect();
        all.entry(ROOT.to_string()).or_insert_with(|| LoggerLevel { level: self.base_level(), last_modified: None });
        all
    }

    /// `GET /admin/loggers/{logger}`: its level, or the level it inherits (from the nearest set ancestor, else
    /// root) when it exists but was not set.
    pub fn level(&self, name: &str) -> Result<LoggerLevel, LoggerError> {
        let set = self.levels();
        if let Some((level, at)) = set.get(name) {
            return Ok(LoggerLevel { level: level.clone(), last_modified: Some(*at) });
        }
        let known = name.eq_ignore_ascii_case(ROOT) || KNOWN.iter().any(|(k, _)| *k == name) || is_rust_target(name);
        if !known {
            return Err(LoggerError::NotFound(format!("Logger {name} not found.")));
        }
        let level = if name.eq_ignore_ascii_case(ROOT) {
            set.get(ROOT).map_or_else(|| self.base_level(), |(l, _)| l.clone())
        } else {
            effective(&set, name).unwrap_or_else(|| self.base_level())
        };
        Ok(LoggerLevel { level, last_modified: None })
    }

    /// `PUT /admin/loggers/{namespace}`: sets `namespace` and every known logger under it to `level`, installs the
    /// new filter, and returns the loggers set, in name order.
    pub fn set_level(&self, namespace: &str, level: &str, now_ms: i64) -> Result<Vec<String>, LoggerError> {
        check_name(namespace)?;
        let level = kafka_level(level)
            .ok_or_else(|| LoggerError::NotFound(format!("invalid log level '{level}'.")))?
            .to_string();
        let mut set = self.levels();
        let root = namespace.eq_ignore_ascii_case(ROOT);
        let namespace = if root { ROOT } else { namespace };
        let mut affected: Vec<String> = KNOWN
            .iter()
            .map(|(k, _)| k.to_string())
            .chain(set.keys().cloned())
            .filter(|name| root || name.starts_with(namespace))
            .collect();
        affected.push(namespace.to_string());
        affected.sort();
        affected.dedup();
        let named = affected.iter().filter(|n| !set.contains_key(*n) && !is_builtin(n)).count();
        if set.keys().filter(|n| !is_builtin(n)).count() + named > MAX_NAMED {
            return Err(LoggerError::BadRequest(format!(
                "Sluice records at most {MAX_NAMED} logger names besides its own; set a namespace instead"
            )));
        }
        let mut next = set.clone();
        for name in &affected {
            // Compared with the levels before this change, so a logger under the namespace is set explicitly, not
            // left to inherit from a parent set a moment earlier.
            let current = set.get(name).map(|(l, _)| l.clone()).or_else(|| effective(&set, name));
            let current = current.unwrap_or_else(|| self.base_level());
            // As log4j: a logger already at the level is left alone, except that root sets every logger.
            if current != level || (root && !next.contains_key(name)) {
                next.insert(name.clone(), (level.clone(), now_ms));
            }
        }
        let directives = directives(&self.base, &next);
        (self.apply)(&directives).map_err(|e| LoggerError::Internal(format!("cannot change the log filter: {e}")))?;
        *set = next;
        drop(set);
        if !root && targets(namespace).is_empty() {
            tracing::warn!(
                logger = namespace,
                "no part of Sluice logs under this logger name; its level is recorded only"
            );
        }
        tracing::info!(logger = namespace, level = %level, filter = %directives, "log level changed");
        Ok(affected)
    }

    /// The root level `SLUICE_LOG` gave: its bare level directive, or OFF when it has none (tracing then shows only
    /// the targets it names).
    fn base_level(&self) -> String {
        split_directives(&self.base).into_iter().rev().find_map(kafka_level).unwrap_or("OFF").to_string()
    }
}

/// `root` and the names of [`KNOWN`], which never count against [`MAX_NAMED`].
fn is_builtin(name: &str) -> bool {
    name == ROOT || KNOWN.iter().any(|(k, _)| *k == name)
}

/// A Rust module path of one of Sluice's crates: a logger name that is its own tracing target.
fn is_rust_target(name: &str) -> bool {
    name.starts_with("sluice")
        && name.split("::").all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// Logger names are Java class or package names, Rust paths, or `root`: nothing else may reach the filter or the
/// logs.
fn check_name(name: &str) -> Result<(), LoggerError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'$' | b'-' | b':');
    if name.is_empty() || name.len() > MAX_NAME_BYTES || !name.bytes().all(allowed) {
        return Err(LoggerError::BadRequest(format!(
            "a logger name is a Java class or package name, a Rust module path or `root` (letters, digits, `.`, \
             `_`, `$`, `-`, `:`; at most {MAX_NAME_BYTES} bytes)"
        )));
    }
    Ok(())
}

/// Kafka Connect's (log4j's) level name for `level`, case-insensitively; `None` for anything else.
fn kafka_level(level: &str) -> Option<&'static str> {
    const LEVELS: &[&str] = &["OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL"];
    LEVELS.iter().find(|l| l.eq_ignore_ascii_case(level.trim())).copied()
}

/// tracing's level for a Kafka level name.
fn tracing_level(kafka: &str) -> &'static str {
    match kafka {
        "OFF" => "off",
        "FATAL" | "ERROR" => "error",
        "WARN" => "warn",
        "INFO" => "info",
        "DEBUG" => "debug",
        _ => "trace",
    }
}

/// The tracing targets a logger name stands for.
fn targets(name: &str) -> Vec<&str> {
    if is_rust_target(name) {
        return vec![name];
    }
    // The nearest known ancestor (at a `.`) decides.
    KNOWN
        .iter()
        .filter(|(k, _)| name == *k || name.strip_prefix(k).is_some_and(|rest| rest.starts_with('.')))
        .max_by_key(|(k, _)| k.len())
        .map_or_else(Vec::new, |(_, targets)| targets.to_vec())
}

/// The level a logger inherits from its nearest explicitly set ancestor (at a `.` or `::`), else from root.
fn effective(set: &BTreeMap<String, (String, i64)>, name: &str) -> Option<String> {
    let under = |ancestor: &str| {
        name.strip_prefix(ancestor)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with("::"))
    };
    set.iter()
        .filter(|(k, _)| k.as_str() != ROOT && under(k))
        .max_by_key(|(k, _)| k.len())
        .or_else(|| set.get_key_value(ROOT))
        .map(|(_, (level, _))| level.clone())
}

/// `base`'s directives split at top-level commas (a span field filter `{a=1,b=2}` keeps its commas).
fn split_directives(base: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in base.char_indices() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(base[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(base[start..].trim());
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// The filter: root's level once root was set (as in log4j, root then overrides every configured logger), else
/// `base` without its directives for targets a logger now sets; then every target at the level of the most
/// specific logger that maps to it.
fn directives(base: &str, set: &BTreeMap<String, (String, i64)>) -> String {
    // Specificity: a Rust path names its target itself; among Java names, the deeper namespace.
    let mut levels: BTreeMap<&str, ((bool, usize), &str)> = BTreeMap::new();
    for (name, (level, _)) in set.iter().filter(|(n, _)| n.as_str() != ROOT) {
        let specificity = (is_rust_target(name), name.len());
        for target in targets(name) {
            let entry = levels.entry(target).or_insert((specificity, level.as_str()));
            if specificity >= entry.0 {
                *entry = (specificity, level.as_str());
            }
        }
    }
    let mut out: Vec<String> = match set.get(ROOT) {
        Some((root, _)) => vec![tracing_level(root).to_string()],
        None => split_directives(base)
            .into_iter()
            .filter(|d| !levels.contains_key(d.split(['[', '=']).next().unwrap_or("")))
            .map(String::from)
            .collect(),
    };
    out.extend(levels.iter().map(|(target, (_, level))| format!("{target}={}", tracing_level(level))));
    out.join(",")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Levels whose installed filters are kept, newest last.
    fn recorded(base: &str) -> (Loggers, Arc<Mutex<Vec<String>>>) {
        let filters = Arc::new(Mutex::new(Vec::new()));
        let seen = filters.clone();
        let loggers = Loggers::new(
            base,
            Box::new(move |d| {
                seen.lock().unwrap().push(d.to_string());
                Ok(())
            }),
        );
        (loggers, filters)
    }

    #[test]
    fn setting_the_postgres_connector_logger_turns_on_debug_for_sluices_source_only() {
        let (loggers, filters) = recorded("info");
        let changed = loggers.set_level("io.debezium.connector.postgresql", "debug", 7).unwrap();
        assert_eq!(changed, ["io.debezium.connector.postgresql"]);
        assert_eq!(filters.lock().unwrap().last().unwrap(), "info,sluice_postgres=debug");
        let level = loggers.level("io.debezium.connector.postgresql").unwrap();
        assert_eq!(level, LoggerLevel { level: "DEBUG".into(), last_modified: Some(7) });
        assert_eq!(loggers.level("io.debezium").unwrap().level, "INFO", "a parent keeps root's level");
    }

    #[test]
    fn a_namespace_sets_every_logger_under_it_and_the_most_specific_wins() {
        let (loggers, filters) = recorded("warn,hyper=off");
        loggers.set_level("io.debezium.connector.postgresql", "TRACE", 1).unwrap();
        let changed = loggers.set_level("io.debezium", "DEBUG", 2).unwrap();
        assert_eq!(
            changed,
            ["io.debezium", "io.debezium.connector.postgresql", "io.debezium.pipeline", "io.debezium.transforms"]
        );
        assert_eq!(loggers.level("io.debezium.connector.postgresql").unwrap().level, "DEBUG");
        let filter = filters.lock().unwrap().last().unwrap().clone();
        assert!(filter.starts_with("warn,hyper=off,"), "{filter}");
        assert!(filter.contains("sluice_postgres=debug") && filter.contains("sluice::app=debug"), "{filter}");
    }

    #[test]
    fn root_replaces_the_default_level_and_sets_every_logger() {
        let (loggers, filters) = recorded("info,sluice_engine=trace");
        let changed = loggers.set_level("ROOT", "error", 3).unwrap();
        assert!(changed.contains(&"root".to_string()) && changed.len() == KNOWN.len() + 1, "{changed:?}");
        let filter = filters.lock().unwrap().last().unwrap().clone();
        assert!(filter.starts_with("error,") && !filter.contains("trace") && !filter.contains("info"), "{filter}");
        assert_eq!(loggers.all()["root"], LoggerLevel { level: "ERROR".into(), last_modified: Some(3) });
    }

    #[test]
    fn a_rust_module_path_is_a_logger_of_its_own_and_wins_over_java_names() {
        let (loggers, filters) = recorded("info");
        assert_eq!(loggers.level("sluice_postgres::source").unwrap().level, "INFO");
        loggers.set_level("sluice_postgres::source", "WARN", 4).unwrap();
        assert_eq!(filters.lock().unwrap().last().unwrap(), "info,sluice_postgres::source=warn");
        loggers.set_level("org.apache.kafka.connect.runtime.rest", "ERROR", 5).unwrap();
        loggers.set_level("sluice::connect", "DEBUG", 6).unwrap();
        let filter = filters.lock().unwrap().last().unwrap().clone();
        assert!(filter.contains("sluice::connect=debug"), "{filter}");
    }

    #[test]
    fn unknown_levels_loggers_and_hostile_names_are_refused_without_changing_the_filter() {
        let (loggers, filters) = recorded("info");
        assert_eq!(
            loggers.set_level("io.debezium", "LOUD", 1),
            Err(LoggerError::NotFound("invalid log level 'LOUD'.".into()))
        );
        assert_eq!(
            loggers.level("com.example.Nope"),
            Err(LoggerError::NotFound("Logger com.example.Nope not found.".into()))
        );
        for hostile in ["a=trace", "x,y", "a[span]", "a{f=1}", "a b", ""] {
            assert!(matches!(loggers.set_level(hostile, "DEBUG", 1), Err(LoggerError::BadRequest(_))), "{hostile}");
        }
        assert!(filters.lock().unwrap().is_empty());
        assert_eq!(loggers.all().keys().collect::<Vec<_>>(), ["root"]);
    }

    #[test]
    fn a_name_that_maps_to_nothing_is_recorded_but_never_becomes_a_directive() {
        let (loggers, filters) = recorded("info");
        assert_eq!(loggers.set_level("com.example.Thing", "DEBUG", 5).unwrap(), ["com.example.Thing"]);
        assert_eq!(filters.lock().unwrap().last().unwrap(), "info");
        assert_eq!(loggers.level("com.example.Thing").unwrap().level, "DEBUG");
    }

    #[test]
    fn the_number_of_recorded_names_is_bounded() {
        let (loggers, _) = recorded("info");
        for i in 0..MAX_NAMED {
            loggers.set_level(&format!("com.example.L{i}"), "DEBUG", 1).unwrap();
        }
        assert!(matches!(loggers.set_level("com.example.More", "DEBUG", 1), Err(LoggerError::BadRequest(_))));
        loggers.set_level("io.debezium", "DEBUG", 1).expect("Sluice's own loggers are always settable");
    }

    #[test]
    fn a_filter_the_subscriber_refuses_leaves_the_levels_as_they_were() {
        let loggers = Loggers::new("info", Box::new(|_| Err("no".into())));
        assert!(matches!(loggers.set_level("io.debezium", "DEBUG", 1), Err(LoggerError::Internal(_))));
        assert_eq!(loggers.level("io.debezium").unwrap().level, "INFO");
    }
}
