//! The body of an erasure work message: whose erasure to advance. The message is the only
//! place the user id travels while the erasure runs, and it is deleted once handled.

use serde::{Deserialize, Serialize};
use taskpulse_domain::UserId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErasureWork {
    pub erase_user: String,
}

impl ErasureWork {
    pub fn body(user: &UserId) -> String {
        serde_json::to_string(&Self {
            erase_user: user.as_str().to_owned(),
        })
        .expect("a string field always serialises")
    }

    /// The user a body names, or why it names none.
    pub fn parse(body: &str) -> Result<UserId, String> {
        let work: Self = serde_json::from_str(body).map_err(|e| e.to_string())?;
        UserId::parse(&work.erase_user).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_names_its_user_and_nothing_else_is_accepted() {
        let user = UserId::parse("ana").unwrap();
        assert_eq!(ErasureWork::body(&user), r#"{"eraseUser":"ana"}"#);
        assert_eq!(ErasureWork::parse(&ErasureWork::body(&user)), Ok(user));
        for bad in [
            "",
            "{}",
            r#"{"eraseUser":""}"#,
            r#"{"eraseUser":"a","x":1}"#,
        ] {
            assert!(ErasureWork::parse(bad).is_err(), "{bad}");
        }
    }
}
