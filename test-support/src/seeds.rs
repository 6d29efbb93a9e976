//! The fuzz targets' committed seed corpora, `fuzz/seeds/<target>/`: each
//! crate's `tests/fuzz_seeds.rs` writes them (on purpose, an ignored test)
//! and checks on every run that they still load.

use std::path::{Path, PathBuf};

/// The `now` (Unix seconds) every fuzz target and its seeds use.
pub const NOW_UNIX_SECS: u64 = 1_795_000_000;

/// The seed directory of a fuzz target.
pub fn dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target)
}

/// Writes one seed of a fuzz target.
pub fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = dir(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// Every seed of a fuzz target, as (file name, bytes), sorted by name.
pub fn read_all(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir(target))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}
