//! The token request's form: an `application/x-www-form-urlencoded` body as Entra reads it.

use super::refusal::LoginError;

/// A decoded form body. The first occurrence of a field wins.
#[derive(Clone, Debug, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    /// A field's value; an empty value counts as absent, as it does for Entra.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    /// A field that must be there: AADSTS900144 names it when it is not.
    pub fn require(&self, name: &'static str) -> Result<&str, LoginError> {
        self.get(name).ok_or(LoginError::MissingParameter { name })
    }
}
