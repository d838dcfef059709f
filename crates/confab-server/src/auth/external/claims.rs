//! The claims Confab reads from the host app, whether they come from a verified JWT or from an
//! introspection answer, and how they become an [`ExternalIdentity`].
//!
//! Read leniently on purpose: a profile claim of an unexpected type (`"name": null`, a numeric
//! `picture`) is ignored instead of refusing the user, since only `sub` decides who someone is.

use confab_proto::ErrorCode;
use serde_json::{Map, Value};

use super::ExternalIdentity;
use crate::error::Error;

/// Longest `sub` accepted: it becomes part of the user's `external_id`.
const MAX_SUBJECT_BYTES: usize = 255;

#[derive(Debug, Default, Clone)]
pub(super) struct Claims {
    pub sub: Option<String>,
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub iss: Option<String>,
    pub aud: Option<Audience>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub picture: Option<String>,
}

/// `aud`: one string or a list of them (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Audience {
    One(String),
    Many(Vec<String>),
    /// Present but neither: it names nobody, so it contains no audience.
    Malformed,
}

impl Audience {
    pub fn contains(&self, wanted: &str) -> bool {
        match self {
            Audience::One(aud) => aud == wanted,
            Audience::Many(all) => all.iter().any(|aud| aud == wanted),
            Audience::Malformed => false,
        }
    }

    fn read(value: &Value) -> Audience {
        match value {
            Value::String(aud) => Audience::One(aud.clone()),
            Value::Array(items) => {
                Audience::Many(items.iter().filter_map(|item| item.as_str().map(str::to_owned)).collect())
            }
            _ => Audience::Malformed,
        }
    }
}

impl Claims {
    pub fn read(claims: &Map<String, Value>) -> Claims {
        let text = |name: &str| claims.get(name).and_then(non_empty_text);
        Claims {
            sub: claims.get("sub").and_then(subject),
            exp: claims.get("exp").and_then(seconds),
            nbf: claims.get("nbf").and_then(seconds),
            iss: text("iss"),
            aud: claims.get("aud").filter(|v| !v.is_null()).map(Audience::read),
            // `preferred_username` is the OpenID Connect claim; `username` is RFC 7662's.
            username: text("preferred_username").or_else(|| text("username")),
            name: text("name"),
            picture: text("picture"),
        }
    }

    /// The identity these claims describe, under `issuer`; `None` without a usable `sub`, since
    /// then there is nobody to sign in, whatever else the token says.
    pub fn into_identity(self, issuer: String) -> Option<ExternalIdentity> {
        Some(ExternalIdentity {
            issuer,
            subject: self.sub?,
            username: self.username,
            display_name: self.name,
            avatar_url: self.picture,
            expires_at: self.exp,
        })
    }
}

/// The refusal of a token whose claims name nobody.
pub(super) const NO_SUBJECT: &str = "token lacks a usable sub";

pub(super) fn no_subject() -> Error {
    Error::unauthenticated(ErrorCode::InvalidToken, NO_SUBJECT)
}

fn non_empty_text(value: &Value) -> Option<String> {
    value.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// `sub` as a string. RFC 7519 wants a string, but many host apps put their numeric user id
/// there; an integer is taken as its decimal spelling rather than locking those users out.
fn subject(value: &Value) -> Option<String> {
    let sub = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        _ => return None,
    };
    let usable = !sub.is_empty() && sub.len() <= MAX_SUBJECT_BYTES && !sub.chars().any(char::is_control);
    usable.then_some(sub)
}

/// A NumericDate (RFC 7519 §2): integer or fractional seconds since the epoch.
fn seconds(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(value: Value) -> Claims {
        Claims::read(value.as_object().unwrap())
    }

    #[test]
    fn profile_claims_of_odd_types_are_ignored_not_fatal() {
        let claims =
            read(json!({"sub": "u1", "name": null, "picture": 7, "preferred_username": "", "username": "zed"}));
        let identity = claims.into_identity("https://app".into()).unwrap();
        assert_eq!(identity.subject, "u1");
        assert_eq!((identity.display_name, identity.avatar_url), (None, None));
        assert_eq!(identity.username.as_deref(), Some("zed"), "username stands in for an empty preferred_username");
    }

    #[test]
    fn a_numeric_sub_is_its_decimal_spelling_and_a_bad_one_is_refused() {
        assert_eq!(read(json!({"sub": 42})).sub.as_deref(), Some("42"));
        for bad in [json!(""), json!(1.5), json!(true), json!(["a"]), json!("a\nb"), json!("x".repeat(256))] {
            assert_eq!(read(json!({ "sub": bad })).into_identity("https://app".into()), None, "{bad}");
        }
        assert_eq!(read(json!({})).into_identity("https://app".into()), None);
    }

    #[test]
    fn audiences_and_dates_are_read_in_every_spelling() {
        assert!(read(json!({"aud": "confab"})).aud.unwrap().contains("confab"));
        assert!(read(json!({"aud": ["x", "confab"]})).aud.unwrap().contains("confab"));
        assert!(!read(json!({"aud": {"confab": true}})).aud.unwrap().contains("confab"));
        assert_eq!(read(json!({"aud": null})).aud, None);
        assert_eq!(read(json!({"exp": 1700000000.9, "nbf": 1600000000})).exp, Some(1700000000));
        assert_eq!(read(json!({"exp": "soon"})).exp, None);
    }
}
