//! The worker's memory of its connectors: one JSON file of every connector's configuration and target state.
//!
//! It holds database passwords as submitted, so it is readable by the worker's user alone (mode 0600, and a file
//! left wider by an earlier version is narrowed on start). A change is written to a temporary file, fsynced, renamed
//! over the old one and the folder fsynced, so a crash leaves either the old or the new store, never half of one; and
//! the REST request that made the change fails when the write does, before anything is applied.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::TargetState;

/// One connector as stored.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stored {
    pub config: BTreeMap<String, String>,
    pub target: TargetState,
}

/// The store file beside the worker's offsets file.
pub fn path(worker_offsets: &Path) -> PathBuf {
    let mut name = worker_offsets.file_name().map(|f| f.to_owned()).unwrap_or_default();
    name.push(".connectors.json");
    worker_offsets.with_file_name(name)
}

/// Reads the store; none yet is an empty one.
pub fn load(path: &Path) -> Result<BTreeMap<String, Stored>, String> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("cannot read the stored connector configurations {}: {e}", path.display())),
    };
    let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0o600);
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot make {} readable by its owner only: {e}", path.display()))?;
        tracing::warn!(path = %path.display(), "the connector store was readable by others; it is now mode 0600");
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        format!("cannot read the stored connector configurations {}: {e}; fix or move the file away", path.display())
    })
}

/// Replaces the store with `connectors`, durably and atomically.
pub fn save(path: &Path, connectors: &BTreeMap<String, Stored>) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(connectors).map_err(std::io::Error::other)?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp_name = path.file_name().map(|f| f.to_owned()).unwrap_or_default();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    // `mode` applies only when the file is created: a temporary file left behind keeps whatever it had.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one() -> BTreeMap<String, Stored> {
        let config = [("database.password".to_string(), "hunter2".to_string())].into_iter().collect();
        [("pg".to_string(), Stored { config, target: TargetState::Running })].into_iter().collect()
    }

    #[test]
    fn the_store_round_trips_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = path(&dir.path().join("connect.offsets"));
        assert_eq!(file, dir.path().join("connect.offsets.connectors.json"));
        save(&file, &one()).unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(load(&file).unwrap(), one());
    }

    #[test]
    fn a_world_readable_store_is_narrowed_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.json");
        std::fs::write(&file, serde_json::to_vec(&one()).unwrap()).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        load(&file).unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_failed_write_is_an_error_and_leaves_the_old_store() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.json");
        save(&file, &one()).unwrap();
        // A directory where the temporary file must go makes the write fail.
        std::fs::create_dir(dir.path().join("c.json.tmp")).unwrap();
        assert!(save(&file, &BTreeMap::new()).is_err());
        assert_eq!(load(&file).unwrap(), one());
    }

    #[test]
    fn no_store_yet_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(&dir.path().join("none.json")).unwrap().is_empty());
    }
}
