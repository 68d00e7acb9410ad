//! Three-way merge of packages, file by file: the workspace's base release,
//! the workspace, and the live release. A promotion based on an outdated
//! live release (someone promoted in between) takes the changes of both
//! sides where they touch different files; a file both sides changed
//! differently is a conflict the analyst resolves before promoting.

use std::collections::{BTreeMap, BTreeSet};

use relata::model::SourceFile;

/// One side of a merge: package path -> text.
pub type Files = BTreeMap<String, String>;

/// Files keyed by path.
pub fn by_path(files: &[SourceFile]) -> Files {
    files.iter().map(|f| (f.path.clone(), f.text.clone())).collect()
}

/// A file both sides changed differently since the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The package path.
    pub path: String,
    /// The base's text (`None`: the file is new on both sides).
    pub base: Option<String>,
    /// The workspace's text (`None`: removed in the workspace).
    pub mine: Option<String>,
    /// The live release's text (`None`: removed in the live release).
    pub theirs: Option<String>,
}

/// What merging gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    /// The merged package (conflicting files keep the workspace's text).
    pub files: Files,
    /// Paths taken from the live release (changed there, not here).
    pub from_live: Vec<String>,
    /// The conflicts, by path.
    pub conflicts: Vec<Conflict>,
}

/// Merges `mine` and `theirs`, both descended from `base`.
pub fn three_way(base: &Files, mine: &Files, theirs: &Files) -> Merged {
    let paths: BTreeSet<&String> = base.keys().chain(mine.keys()).chain(theirs.keys()).collect();
    let mut out = Merged::default();
    for path in paths {
        let (b, m, t) = (base.get(path), mine.get(path), theirs.get(path));
        let take = if m == t || t == b {
            m
        } else if m == b {
            out.from_live.push(path.clone());
            t
        } else {
            out.conflicts.push(Conflict {
                path: path.clone(),
                base: b.cloned(),
                mine: m.cloned(),
                theirs: t.cloned(),
            });
            m
        };
        if let Some(text) = take {
            out.files.insert(path.clone(), text.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> Files {
        pairs.iter().map(|(p, t)| ((*p).to_owned(), (*t).to_owned())).collect()
    }

    #[test]
    fn changes_to_different_files_merge() {
        let base = files(&[("a.yaml", "a0"), ("b.yaml", "b0"), ("c.yaml", "c0")]);
        let mine = files(&[("a.yaml", "a1"), ("b.yaml", "b0"), ("c.yaml", "c0"), ("new.yaml", "n")]);
        let theirs = files(&[("a.yaml", "a0"), ("b.yaml", "b2"), ("live.yaml", "l")]);
        let m = three_way(&base, &mine, &theirs);
        assert!(m.conflicts.is_empty(), "{:?}", m.conflicts);
        assert_eq!(
            m.files,
            files(&[
                ("a.yaml", "a1"),
                ("b.yaml", "b2"),
                ("live.yaml", "l"),
                ("new.yaml", "n")
            ]),
            "c.yaml was removed live and left alone here: it stays removed"
        );
        assert_eq!(m.from_live, ["b.yaml", "c.yaml", "live.yaml"]);
    }

    #[test]
    fn the_same_change_on_both_sides_is_no_conflict() {
        let base = files(&[("a.yaml", "a0")]);
        let both = files(&[("a.yaml", "a1")]);
        let m = three_way(&base, &both, &both);
        assert!(m.conflicts.is_empty());
        assert_eq!(m.files, both);
        assert!(m.from_live.is_empty());
    }

    #[test]
    fn different_changes_to_one_file_conflict_and_keep_the_workspace_text() {
        let base = files(&[("a.yaml", "a0"), ("b.yaml", "b0")]);
        let mine = files(&[("a.yaml", "mine"), ("b.yaml", "b1")]);
        let theirs = files(&[("a.yaml", "theirs")]);
        let m = three_way(&base, &mine, &theirs);
        assert_eq!(
            m.conflicts,
            [
                Conflict {
                    path: "a.yaml".into(),
                    base: Some("a0".into()),
                    mine: Some("mine".into()),
                    theirs: Some("theirs".into()),
                },
                Conflict {
                    path: "b.yaml".into(),
                    base: Some("b0".into()),
                    mine: Some("b1".into()),
                    theirs: None,
                },
            ]
        );
        assert_eq!(m.files, files(&[("a.yaml", "mine"), ("b.yaml", "b1")]));
    }

    #[test]
    fn a_file_added_on_both_sides_with_different_text_conflicts() {
        let m = three_way(&Files::new(), &files(&[("x.yaml", "1")]), &files(&[("x.yaml", "2")]));
        assert_eq!(m.conflicts.len(), 1);
        assert_eq!(m.conflicts[0].base, None);
    }
}
