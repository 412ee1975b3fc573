//! `If-Match` as a command applies it (RFC 9110 §13.1.1): the strong comparison of the
//! caller's entity tags with the task's current version.

/// The precondition a change is made under. The API's `ETag` of a task is its version, quoted
/// (`"3"`); only a strong tag naming the current version, or `*`, lets a change through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: whatever the current version of the task (which must exist).
    Any,
    /// The versions named by the strong tags of the list. Weak tags never match under the
    /// strong comparison and tags that name no version match none: both are left out, so an
    /// empty list matches nothing.
    Versions(Vec<u64>),
}

impl IfMatch {
    /// Whether a task at `version` satisfies the precondition.
    pub fn matches(&self, version: u64) -> bool {
        match self {
            Self::Any => true,
            Self::Versions(versions) => versions.contains(&version),
        }
    }

    /// Whether the caller named versions: a concurrent change then makes the precondition
    /// fail instead of being decided again on the fresh state.
    pub fn names_versions(&self) -> bool {
        matches!(self, Self::Versions(_))
    }
}

#[cfg(test)]
mod tests {
    use super::IfMatch;

    #[test]
    fn any_matches_every_version_and_a_list_only_its_own() {
        assert!(IfMatch::Any.matches(1) && IfMatch::Any.matches(9));
        let list = IfMatch::Versions(vec![2, 5]);
        assert!(list.matches(5) && list.matches(2) && !list.matches(3));
        assert!(!IfMatch::Versions(vec![]).matches(1));
        assert!(list.names_versions() && !IfMatch::Any.names_versions());
    }
}
