//! Connector names: what the REST API accepts, and how a name becomes a file name.
//!
//! A name arrives in a URL or a JSON body from whoever reached the port, so it is data, never a path: `..%2F..`,
//! `connectors.json` or a line feed must not reach the file system or the log as they are. Names are checked once
//! ([`check`]: not blank, no control characters, at most 249 bytes, like Kafka Connect and Kafka's topic limit), and
//! the per-connector files are named by an encoding that cannot leave the worker's folder of connector files nor
//! coincide with another name's file ([`file_name`]).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The longest name accepted, in bytes (Kafka Connect's names become topic-like identifiers).
pub const MAX_NAME_BYTES: usize = 249;

/// Encoded names longer than this are hashed, so every file name stays within the file system's 255 bytes.
const MAX_FILE_NAME: usize = 200;

/// Why a name is refused, or `None` when it is acceptable.
pub fn check(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("Connector name must not be empty or blank".into());
    }
    if name.chars().any(char::is_control) {
        return Some("Connector name must not contain control characters (line feeds, tabs, …)".into());
    }
    if name.len() > MAX_NAME_BYTES {
        return Some(format!("Connector name is {} bytes long; at most {MAX_NAME_BYTES} are allowed", name.len()));
    }
    None
}

/// The file name that stands for `name`: bytes other than ASCII letters, digits, `-` and `_` percent-encoded (so no
/// `/`, no `.` and no `..`), or, when that would be too long, `~` and the SHA-256 of the name (`~` is always encoded
/// in the first form, so the two forms never meet).
pub fn file_name(name: &str) -> String {
    let mut encoded = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    if encoded.len() <= MAX_FILE_NAME {
        return encoded;
    }
    let digest = Sha256::digest(name.as_bytes());
    let mut hashed = String::from("~");
    for byte in digest.iter() {
        hashed.push_str(&format!("{byte:02x}"));
    }
    hashed
}

/// Where a connector's offsets live: `<offsets file>.d/<file name>.offsets`, inside the worker's folder.
pub fn offsets_file(worker_offsets: &Path, name: &str) -> PathBuf {
    connectors_dir(worker_offsets).join(format!("{}.offsets", file_name(name)))
}

/// The folder of per-connector files.
pub fn connectors_dir(worker_offsets: &Path) -> PathBuf {
    let mut dir = worker_offsets.as_os_str().to_owned();
    dir.push(".d");
    PathBuf::from(dir)
}

/// Earlier versions kept a connector's offsets at `<offsets file>.<name>`. Moves such a file to its new place, for
/// names that were safe as file names (anything else was never a file of this connector's); nothing happens when
/// the new file exists already.
pub fn adopt_legacy_offsets(worker_offsets: &Path, name: &str) -> std::io::Result<()> {
    let safe = !name.starts_with('.') && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    let Some(base) = worker_offsets.file_name() else { return Ok(()) };
    if !safe {
        return Ok(());
    }
    let mut legacy = base.to_owned();
    legacy.push(format!(".{name}"));
    let legacy = worker_offsets.with_file_name(legacy);
    let current = offsets_file(worker_offsets, name);
    if !legacy.is_file() || current.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(connectors_dir(worker_offsets))?;
    std::fs::rename(&legacy, &current)?;
    tracing::info!(connector = %name, from = %legacy.display(), to = %current.display(), "moved the connector's offsets file");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn blank_control_and_overlong_names_are_refused() {
        assert!(check("").is_some());
        assert!(check("  ").is_some());
        assert!(check("pg\nINFO forged line").is_some());
        assert!(check("pg\u{7f}").is_some());
        assert!(check(&"x".repeat(250)).is_some());
        assert!(check(&"x".repeat(249)).is_none());
        assert!(check("../../etc/passwd").is_none(), "odd names are fine: they are never paths");
        assert!(check("orders 🚀").is_none());
    }

    #[test]
    fn names_that_look_like_paths_stay_inside_the_folder() {
        let worker = Path::new("/data/connect.offsets");
        for name in ["../../etc/passwd", "..", ".", "connectors.json", "/abs", "a/b"] {
            let path = offsets_file(worker, name);
            assert_eq!(path.parent(), Some(Path::new("/data/connect.offsets.d")), "{name}");
            let file = path.file_name().unwrap().to_str().unwrap();
            assert!(!file.contains('/') && !file.starts_with('.'), "{name} -> {file}");
        }
        assert_eq!(file_name("pg-outbox_1"), "pg-outbox_1");
        assert_eq!(file_name("a/b.c"), "a%2Fb%2Ec");
    }

    #[test]
    fn long_names_are_hashed_within_the_file_name_limit() {
        let name = "é".repeat(120);
        let file = file_name(&name);
        assert!(file.starts_with('~') && file.len() == 65, "{file}");
        assert_ne!(file, file_name(&"é".repeat(121)));
    }

    #[test]
    fn legacy_offsets_move_to_the_new_place() {
        let dir = tempfile::tempdir().unwrap();
        let worker = dir.path().join("connect.offsets");
        std::fs::write(dir.path().join("connect.offsets.pg-outbox"), "{}").unwrap();
        adopt_legacy_offsets(&worker, "pg-outbox").unwrap();
        assert!(offsets_file(&worker, "pg-outbox").is_file());
        assert!(!dir.path().join("connect.offsets.pg-outbox").exists());
    }

    proptest! {
        #[test]
        fn different_names_never_share_a_file(a in "\\PC{0,300}", b in "\\PC{0,300}") {
            prop_assume!(a != b);
            prop_assert_ne!(file_name(&a), file_name(&b));
        }

        #[test]
        fn file_names_are_plain_and_short(name in "\\PC{0,300}") {
            let file = file_name(&name);
            prop_assert!(file.len() <= MAX_FILE_NAME.max(65));
            prop_assert!(file.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_%~".contains(&b)));
        }
    }
}
