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

/// A release as the merge sees it: where its content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lineage {
    /// Its number.
    pub number: i64,
    /// The release that was live when it was made.
    pub parent: Option<i64>,
    /// Its checksum: equal checksums, equal items.
    pub checksum: String,
    /// It was applied (was live at some point).
    pub applied: bool,
}

/// The releases whose content `number` descends from, nearest first,
/// itself included. A release with the items of an earlier applied one (a
/// rollback, or an import or promotion of the same package) descends from
/// that one, not from the release that was live when it was made: a
/// rollback to release 1 made while release 2 was live undoes 2, so 2 is
/// not an ancestor of it.
pub fn ancestors(releases: &[Lineage], number: i64) -> Vec<i64> {
    let find = |n: i64| releases.iter().find(|r| r.number == n);
    let mut out = Vec::new();
    let mut at = find(number);
    while let Some(r) = at.filter(|r| !out.contains(&r.number)) {
        out.push(r.number);
        let same = releases
            .iter()
            .filter(|e| e.applied && e.number < r.number && e.checksum == r.checksum)
            .max_by_key(|e| e.number);
        at = match same {
            Some(earlier) => Some(earlier),
            None => r.parent.and_then(find),
        };
    }
    out
}

/// The release a three-way merge of a workspace based on `base` with the
/// live release `live` starts from: the nearest release both descend from
/// (see [`ancestors`]). `None` when they share none (a workspace of a new
/// application, or of another runtime): every file is then compared as
/// new on both sides, so nothing is taken over silently.
pub fn merge_base(releases: &[Lineage], base: Option<i64>, live: i64) -> Option<i64> {
    let mine = ancestors(releases, base?);
    ancestors(releases, live).into_iter().find(|n| mine.contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lineage(list: &[(i64, Option<i64>, &str)]) -> Vec<Lineage> {
        list.iter()
            .map(|(number, parent, sum)| Lineage {
                number: *number,
                parent: *parent,
                checksum: (*sum).to_owned(),
                applied: true,
            })
            .collect()
    }

    #[test]
    fn a_rollback_descends_from_the_release_it_restores() {
        // 1 stock, 2 the workspace's module, 3 rollback to 1, 4 a colleague's
        // change on top of the rollback.
        let r = lineage(&[(1, None, "a"), (2, Some(1), "b"), (3, Some(2), "a"), (4, Some(3), "c")]);
        assert_eq!(ancestors(&r, 3), [3, 1]);
        assert_eq!(merge_base(&r, Some(2), 3), Some(1), "not 2: the rollback undid it");
        assert_eq!(merge_base(&r, Some(2), 4), Some(1));
        assert_eq!(merge_base(&r, Some(3), 4), Some(3));
        assert_eq!(merge_base(&r, Some(1), 2), Some(1));
        assert_eq!(merge_base(&r, None, 4), None);
        assert_eq!(merge_base(&r, Some(9), 4), None, "a base the runtime never had");
    }

    #[test]
    fn merging_from_the_release_rolled_back_to_keeps_every_workspace_file() {
        // The workspace promoted its module as release 2 (its base), then
        // release 3 rolled back to release 1: from release 2 as base, the
        // merge would take release 3's "changes" (the module's files gone,
        // edited files back to their old text); from release 1 it keeps
        // the workspace whole.
        let one = files(&[("a.yaml", "a0"), ("b.yaml", "b0")]);
        let mine = files(&[("a.yaml", "a1"), ("b.yaml", "b0"), ("module/x.yaml", "x")]);
        let wrong = three_way(&mine, &mine, &one);
        assert_eq!(wrong.files, one, "the defect: the workspace's work is lost");
        let right = three_way(&one, &mine, &one);
        assert_eq!(right.files, mine);
        assert!(right.from_live.is_empty() && right.conflicts.is_empty());
    }

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
