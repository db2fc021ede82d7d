//! Accounts: which integration to call and with which credentials.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// A connected account: the integration it belongs to, its credentials, an optional base-URL
/// override (for a sandbox or a proxy) and integration-specific options.
///
/// `Debug` never shows credential values.
///
/// ```
/// let account = crosswalk::Account::new("demo")
///     .with_credential("api_key", "api_123")
///     .with_base_url("http://127.0.0.1:8080/api/v1");
/// assert!(!format!("{account:?}").contains("api_123"));
/// ```
#[derive(Clone)]
pub struct Account {
    integration: String,
    credentials: BTreeMap<String, String>,
    base_url: Option<String>,
    options: BTreeMap<String, serde_json::Value>,
}

impl Account {
    /// An account of the named integration with no credentials yet.
    pub fn new(integration: impl Into<String>) -> Account {
        Account {
            integration: integration.into(),
            credentials: BTreeMap::new(),
            base_url: None,
            options: BTreeMap::new(),
        }
    }

    /// Sets one credential, such as `api_key`.
    #[must_use]
    pub fn with_credential(mut self, name: impl Into<String>, value: impl Into<String>) -> Account {
        self.credentials.insert(name.into(), value.into());
        self
    }

    /// Replaces the integration's base URL, for example with a sandbox's.
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Account {
        self.base_url = Some(base_url.into());
        self
    }

    /// Sets an integration-specific option, visible to templates as `options.<name>`.
    #[must_use]
    pub fn with_option(mut self, name: impl Into<String>, value: serde_json::Value) -> Account {
        self.options.insert(name.into(), value);
        self
    }

    /// The integration this account belongs to.
    pub fn integration(&self) -> &str {
        &self.integration
    }

    /// The base-URL override, if any.
    pub fn base_url(&self) -> Option<&str> {
        self.base_url.as_deref()
    }

    pub(crate) fn credentials(&self) -> &BTreeMap<String, String> {
        &self.credentials
    }

    pub(crate) fn options(&self) -> &BTreeMap<String, serde_json::Value> {
        &self.options
    }

    /// A stable digest of everything that makes this account distinct, for cache keys.
    pub(crate) fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(self.integration.as_bytes());
        hasher.update([0]);
        hasher.update(self.base_url.as_deref().unwrap_or("").as_bytes());
        for (name, value) in &self.credentials {
            hasher.update([0]);
            hasher.update(name.as_bytes());
            hasher.update([1]);
            hasher.update(value.as_bytes());
        }
        hasher.update(serde_json::to_vec(&self.options).unwrap_or_default());
        hasher
            .finalize()
            .iter()
            .take(16)
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// `text` with every credential value, plain or in a Basic header's base64 form, replaced
    /// by `<redacted>`: for upstream answers that echo a key back, and for recordings.
    pub(crate) fn redact(&self, text: &str) -> String {
        use base64::Engine as _;
        let mut out = text.to_owned();
        for value in self.credentials.values().filter(|value| value.len() >= 4) {
            let encoded = base64::engine::general_purpose::STANDARD;
            let forms = [
                value.clone(),
                encoded.encode(format!("{value}:")),
                encoded.encode(value),
            ];
            for form in forms {
                if out.contains(&form) {
                    out = out.replace(&form, "<redacted>");
                }
            }
        }
        out
    }

    /// Reads an account file (YAML): `integration`, `credentials`, optional `base_url` and
    /// `options`. Any string may be written `${VAR}` to read it from the environment.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Account> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|error| {
            Error::input(format!(
                "cannot read account file {}: {error}",
                path.display()
            ))
        })?;
        Account::from_yaml(&text).map_err(|error| {
            Error::new(
                error.kind(),
                format!("account file {}: {}", path.display(), error.message()),
            )
        })
    }

    /// Parses an account from YAML text; see [`Account::from_file`].
    pub fn from_yaml(text: &str) -> Result<Account> {
        Account::from_yaml_with(text, |name| std::env::var(name).ok())
    }

    fn from_yaml_with(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Account> {
        let file: AccountFile = serde_yaml::from_str(text).map_err(|error| {
            let place = error
                .location()
                .map(|at| format!(" at line {}, column {}", at.line(), at.column()))
                .unwrap_or_default();
            Error::input(format!("invalid account YAML{place}: {error}"))
        })?;
        let expand = |value: &str, path: &str| expand_env(value, path, &env);
        let mut account = Account::new(expand(&file.integration, "integration")?);
        for (name, value) in &file.credentials {
            let value = expand(value, &format!("credentials.{name}"))?;
            account.credentials.insert(name.clone(), value);
        }
        if let Some(base_url) = &file.base_url {
            let base_url = expand(base_url, "base_url")?;
            check_base_url(&base_url).map_err(|why| Error::input(format!("`base_url`: {why}")))?;
            account.base_url = Some(base_url);
        }
        for (name, value) in file.options {
            let value = match value {
                serde_json::Value::String(text) => {
                    serde_json::Value::String(expand(&text, &format!("options.{name}"))?)
                }
                other => other,
            };
            account.options.insert(name, value);
        }
        Ok(account)
    }
}

/// A base URL must be an absolute `http` or `https` URL, without credentials in it.
pub(crate) fn check_base_url(text: &str) -> std::result::Result<(), String> {
    let url =
        reqwest::Url::parse(text).map_err(|error| format!("`{text}` is not a URL: {error}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{text}` is not an http or https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials belong under `credentials`, not in the URL".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{text}` holds a query or fragment; a base URL is a prefix"
        ));
    }
    Ok(())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountFile {
    integration: String,
    #[serde(default)]
    credentials: BTreeMap<String, String>,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    options: BTreeMap<String, serde_json::Value>,
}

/// Replaces each `${NAME}` with the variable's value; a missing variable is an error.
fn expand_env(value: &str, path: &str, env: &impl Fn(&str) -> Option<String>) -> Result<String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(Error::input(format!("`{path}`: unclosed `${{` in value")));
        };
        let name = &after[..end];
        match env(name) {
            Some(found) => out.push_str(&found),
            None => {
                return Err(Error::new(
                    ErrorKind::Input,
                    format!("`{path}` reads environment variable `{name}`, which is not set"),
                ))
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted: BTreeMap<&str, &str> = self
            .credentials
            .keys()
            .map(|name| (name.as_str(), "<redacted>"))
            .collect();
        f.debug_struct("Account")
            .field("integration", &self.integration)
            .field("credentials", &redacted)
            .field("base_url", &self.base_url)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "KEY" => Some("secret-value".to_owned()),
            "HOST" => Some("127.0.0.1:9".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn expands_environment_variables() {
        let text =
            "integration: demo\ncredentials:\n  api_key: ${KEY}\nbase_url: http://${HOST}/v1\n";
        let account = Account::from_yaml_with(text, env).unwrap();
        assert_eq!(account.credentials()["api_key"], "secret-value");
        assert_eq!(account.base_url(), Some("http://127.0.0.1:9/v1"));
        assert!(!format!("{account:?}").contains("secret-value"));
    }

    #[test]
    fn a_missing_variable_is_a_clear_error() {
        let text = "integration: demo\ncredentials:\n  api_key: ${NOPE}\n";
        let error = Account::from_yaml_with(text, env).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Input);
        assert!(error.message().contains("`NOPE`"), "{error}");
        assert!(error.message().contains("credentials.api_key"), "{error}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error =
            Account::from_yaml_with("integration: demo\ncredentails: {}\n", env).unwrap_err();
        assert!(error.message().contains("credentails"), "{error}");
    }
}
