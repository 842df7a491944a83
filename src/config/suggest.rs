//! "Did you mean" for misspelt keys, in pod files and manifests alike.

/// The candidate closest to a misspelt word (case aside), if close enough to suggest.
pub(crate) fn closest<'k>(word: &str, candidates: &[&'k str]) -> Option<&'k str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|&(d, _)| d <= 2)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = i;
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(closest("comand", &["command", "args"]), Some("command"));
        assert_eq!(closest("Image", &["image"]), Some("image"));
        assert_eq!(closest("restart_polcy", &["restart_policy", "restart"]), Some("restart_policy"));
        assert_eq!(closest("xyz", &["command"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
