//! Expanding the paths given to `lore ingest` into files.

use std::path::{Component, Path, PathBuf};

/// Expands `paths` into files: a file stays itself, a folder is walked recursively
/// (hidden entries skipped, sorted for a stable order). A path that does not exist is
/// returned as an error entry so the caller can report it and continue.
pub fn walk_paths(paths: &[PathBuf]) -> Vec<Result<PathBuf, (PathBuf, String)>> {
    let mut out = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Err(e) => out.push(Err((p.clone(), format!("cannot read: {e}")))),
            Ok(m) if m.is_dir() => {
                let walker = walkdir::WalkDir::new(p)
                    .follow_links(true)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_entry(|e| {
                        e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                    });
                for entry in walker {
                    match entry {
                        Ok(e) if e.file_type().is_file() => out.push(Ok(e.into_path())),
                        Ok(_) => {}
                        Err(e) => {
                            let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| p.clone());
                            out.push(Err((path, format!("cannot read: {e}"))));
                        }
                    }
                }
            }
            Ok(_) => out.push(Ok(p.clone())),
        }
    }
    out
}

/// The source key of a file: its path as given, without `.` components, so `./docs/a.md`
/// and `docs/a.md` name the same document.
pub fn normalize_source(path: &Path) -> String {
    let cleaned: PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    cleaned.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_cur_dir() {
        assert_eq!(normalize_source(Path::new("./docs/./a.md")), "docs/a.md");
        assert_eq!(normalize_source(Path::new("/x/y")), "/x/y");
    }
}
