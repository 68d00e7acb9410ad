//! Conflicts between the workspace and a live release that moved on since
//! its base: shown side by side, and settled one file at a time before
//! promoting. Settling a file records the live text as its base, so the
//! next merge takes the workspace's text for it: either the live text
//! taken over (`Theirs`), or the workspace's own, as it is or edited by hand
//! to hold both changes (`Mine`).

use similar::{DiffTag, TextDiff};

use crate::client::AdminClient;
use crate::merge::{by_path, three_way, Conflict};
use crate::promote::{merge_inputs, MergeInputs, PromoteError};
use crate::workspace::Workspace;

/// Which text a settled conflict keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The workspace's text (edited by hand, or as it is).
    Mine,
    /// The live release's text.
    Theirs,
}

/// The conflicts a promotion would meet now: none when the live release is
/// still the workspace's base, or when the changes merge.
pub async fn conflicts(ws: &Workspace, client: &AdminClient) -> Result<Vec<Conflict>, PromoteError> {
    Ok(match merge_inputs(ws, client).await? {
        Some(inputs) => conflicts_of(ws, &inputs)?,
        None => Vec::new(),
    })
}

fn conflicts_of(ws: &Workspace, inputs: &MergeInputs) -> Result<Vec<Conflict>, PromoteError> {
    let merged = three_way(
        &by_path(&inputs.base_files),
        &by_path(&ws.files()?),
        &by_path(&inputs.theirs),
    );
    Ok(merged.conflicts)
}

/// Settles the conflict on `path`; refuses a path that is not in conflict.
pub async fn resolve(ws: &mut Workspace, client: &AdminClient, path: &str, keep: Keep) -> Result<(), PromoteError> {
    let inputs = merge_inputs(ws, client)
        .await?
        .ok_or_else(|| PromoteError::NoConflict(path.to_owned()))?;
    let conflict = conflicts_of(ws, &inputs)?
        .into_iter()
        .find(|c| c.path == path)
        .ok_or_else(|| PromoteError::NoConflict(path.to_owned()))?;
    // The settled text is recorded against the merge's own base: after a
    // rollback that is not the workspace's base, which moves to it first.
    if inputs.base != ws.state.base_release {
        ws.set_base(inputs.base, &inputs.base_files)?;
    }
    if keep == Keep::Theirs {
        match &conflict.theirs {
            Some(text) => ws.write_file(path, text)?,
            None => ws.remove_file(path)?,
        }
    }
    ws.set_base_file(path, conflict.theirs.as_deref())?;
    Ok(())
}

/// The two sides of a conflict in two columns of `width` characters, the
/// workspace on the left and the live release on the right, with two lines
/// of context around each difference. The middle column marks each line:
/// `|` changed, `<` only here, `>` only live.
pub fn side_by_side(c: &Conflict, width: usize) -> String {
    let mine = c.mine.as_deref().unwrap_or("");
    let theirs = c.theirs.as_deref().unwrap_or("");
    let mut out = format!(
        "{}\n{:<width$}   {}\n",
        c.path,
        if c.mine.is_some() {
            "here (workspace)"
        } else {
            "here: removed"
        },
        if c.theirs.is_some() {
            "live release"
        } else {
            "live: removed"
        },
    );
    let diff = TextDiff::from_lines(mine, theirs);
    let (old, new) = (diff.old_slices(), diff.new_slices());
    for (i, group) in diff.grouped_ops(2).iter().enumerate() {
        if i > 0 {
            out.push_str(&format!("{:<width$}   ...\n", "..."));
        }
        for op in group {
            let (tag, left, right) = op.as_tag_tuple();
            let mark = match tag {
                DiffTag::Equal => ' ',
                DiffTag::Delete => '<',
                DiffTag::Insert => '>',
                DiffTag::Replace => '|',
            };
            let rows = left.len().max(right.len());
            for k in 0..rows {
                let l = old
                    .get(left.start + k)
                    .filter(|_| k < left.len())
                    .copied()
                    .unwrap_or("");
                let r = new
                    .get(right.start + k)
                    .filter(|_| k < right.len())
                    .copied()
                    .unwrap_or("");
                out.push_str(&format!("{:<width$} {mark} {}\n", clip(l, width), clip(r, width)));
            }
        }
    }
    out
}

/// A line without its end, at most `width` characters.
fn clip(line: &str, width: usize) -> String {
    let line = line.trim_end_matches(['\n', '\r']);
    if line.chars().count() <= width {
        return line.to_owned();
    }
    let mut s: String = line.chars().take(width.saturating_sub(1)).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict(mine: Option<&str>, theirs: Option<&str>) -> Conflict {
        Conflict {
            path: "common/industry.yaml".into(),
            base: Some("a\nb\nc\n".into()),
            mine: mine.map(str::to_owned),
            theirs: theirs.map(str::to_owned),
        }
    }

    #[test]
    fn the_two_sides_in_two_columns() {
        let c = conflict(Some("a\nb mine\nc\nd\n"), Some("a\nb theirs\nc\n"));
        assert_eq!(
            side_by_side(&c, 10),
            "common/industry.yaml\n\
             here (workspace)   live release\n\
             a            a\n\
             b mine     | b theirs\n\
             c            c\n\
             d          < \n"
        );
    }

    #[test]
    fn long_lines_are_clipped_and_a_removed_side_is_named() {
        let c = conflict(None, Some("a very long line indeed\n"));
        let shown = side_by_side(&c, 8);
        assert!(shown.contains("here: removed"), "{shown}");
        assert!(shown.contains("         > a very …\n"), "{shown}");
    }
}
