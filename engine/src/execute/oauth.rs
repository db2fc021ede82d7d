//! OAuth 2.0 access tokens: refreshed before they expire, once per account however many calls
//! wait, with rotated refresh tokens handed to the application's [`CredentialStore`] before
//! they are used.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use minijinja::Value;

use crate::account::Account;
use crate::compile::template::{Scope, Templates};
use crate::definition::model::{Integration, OAuth2};
use crate::error::{Error, ErrorKind, Result};

/// Credential names an OAuth account may hold.
pub(crate) const ACCESS_TOKEN: &str = "access_token";
pub(crate) const REFRESH_TOKEN: &str = "refresh_token";
pub(crate) const EXPIRES_AT: &str = "expires_at";
const CLIENT_ID: &str = "client_id";
const CLIENT_SECRET: &str = "client_secret";

/// New OAuth credentials for an account, after a code exchange or a refresh.
///
/// `Debug` hides the tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// The access token to send as `Authorization: Bearer`.
    pub access_token: String,
    /// The refresh token to keep: the new one when the upstream rotated it, else the old one.
    pub refresh_token: Option<String>,
    /// When the access token expires, in seconds since the Unix epoch.
    pub expires_at: Option<u64>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl TokenSet {
    /// The credentials an account file holds for these tokens.
    pub fn credentials(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![(ACCESS_TOKEN, self.access_token.clone())];
        if let Some(refresh) = &self.refresh_token {
            out.push((REFRESH_TOKEN, refresh.clone()));
        }
        if let Some(expires_at) = self.expires_at {
            out.push((EXPIRES_AT, expires_at.to_string()));
        }
        out
    }
}

/// Where rotated OAuth credentials go. The engine calls [`CredentialStore::store`] after every
/// refresh and before the new access token is used, so that a rotated refresh token (the old
/// one is already revoked upstream) is never lost.
pub trait CredentialStore: Send + Sync + 'static {
    /// Persists the new tokens of `account`. An error fails the call that refreshed.
    fn store<'a>(
        &'a self,
        account: &'a Account,
        tokens: &'a TokenSet,
    ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;
}

/// Whether an account authenticates with OAuth tokens rather than the integration's `auth`.
pub(crate) fn uses_oauth(integration: &Integration, account: &Account) -> bool {
    integration.oauth2.is_some()
        && (account.credentials().contains_key(ACCESS_TOKEN)
            || account.credentials().contains_key(REFRESH_TOKEN))
}

/// Every OAuth account's current tokens, shared by an engine's clones.
#[derive(Default)]
pub(crate) struct Tokens {
    accounts: Mutex<HashMap<String, Arc<tokio::sync::Mutex<State>>>>,
    store: Option<Arc<dyn CredentialStore>>,
}

struct State {
    access: Option<String>,
    expires_at: Option<u64>,
    refresh: Option<String>,
    /// Bumped on every refresh, so a caller that saw a 401 refreshes only if nobody else did.
    generation: u64,
}

/// A bearer token and the refresh generation it belongs to.
pub(crate) struct Bearer {
    pub(crate) token: String,
    pub(crate) generation: u64,
}

impl Tokens {
    pub(crate) fn new(store: Option<Arc<dyn CredentialStore>>) -> Tokens {
        Tokens {
            accounts: Mutex::default(),
            store,
        }
    }

    fn entry(
        &self,
        integration: &Integration,
        account: &Account,
    ) -> Arc<tokio::sync::Mutex<State>> {
        let credentials = account.credentials();
        let key = [
            integration.name.as_str(),
            credentials.get(CLIENT_ID).map_or("", String::as_str),
            credentials.get(REFRESH_TOKEN).map_or("", String::as_str),
            credentials.get(ACCESS_TOKEN).map_or("", String::as_str),
        ]
        .join("\u{0}");
        let mut accounts = self
            .accounts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        accounts
            .entry(key)
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(State {
                    access: credentials.get(ACCESS_TOKEN).cloned(),
                    expires_at: credentials.get(EXPIRES_AT).and_then(|at| at.parse().ok()),
                    refresh: credentials.get(REFRESH_TOKEN).cloned(),
                    generation: 0,
                }))
            })
            .clone()
    }

    /// A usable access token, refreshing first when it is missing or about to expire.
    pub(crate) async fn bearer(
        &self,
        client: &reqwest::Client,
        templates: &Templates,
        integration: &Integration,
        account: &Account,
    ) -> Result<Bearer> {
        let entry = self.entry(integration, account);
        // Callers queue here; the first one refreshes, the rest find a fresh token.
        let mut state = entry.lock().await;
        let oauth = oauth2(integration)?;
        let fresh = state.access.is_some()
            && state
                .expires_at
                .is_none_or(|at| now() + oauth.expiry_margin.as_secs() < at);
        if !fresh {
            self.refresh(&mut state, client, templates, integration, account)
                .await?;
        }
        Ok(Bearer {
            token: state.access.clone().unwrap_or_default(),
            generation: state.generation,
        })
    }

    /// After a 401: refreshes once, unless another call already did since `seen`.
    pub(crate) async fn after_unauthorized(
        &self,
        client: &reqwest::Client,
        templates: &Templates,
        integration: &Integration,
        account: &Account,
        seen: u64,
    ) -> Result<Bearer> {
        let entry = self.entry(integration, account);
        let mut state = entry.lock().await;
        if state.generation == seen {
            self.refresh(&mut state, client, templates, integration, account)
                .await?;
        }
        Ok(Bearer {
            token: state.access.clone().unwrap_or_default(),
            generation: state.generation,
        })
    }

    async fn refresh(
        &self,
        state: &mut State,
        client: &reqwest::Client,
        templates: &Templates,
        integration: &Integration,
        account: &Account,
    ) -> Result<()> {
        let Some(refresh_token) = state.refresh.clone() else {
            return Err(Error::new(
                ErrorKind::Auth,
                "the OAuth access token expired and the account holds no refresh_token",
            ));
        };
        tracing::debug!(integration = %integration.name, "refreshing the OAuth access token");
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.clone()),
        ];
        let tokens = request_tokens(client, templates, integration, account, form)
            .await
            .map_err(|error| {
                Error::new(
                    ErrorKind::Auth,
                    format!("refreshing the OAuth token failed: {}", error.message()),
                )
            })?;
        // A response without a refresh token keeps the old one.
        let tokens = TokenSet {
            refresh_token: tokens.refresh_token.or(Some(refresh_token)),
            ..tokens
        };
        state.access = Some(tokens.access_token.clone());
        state.expires_at = tokens.expires_at;
        state.refresh = tokens.refresh_token.clone();
        state.generation += 1;
        if let Some(store) = &self.store {
            store.store(account, &tokens).await.map_err(|error| {
                Error::new(
                    ErrorKind::Auth,
                    format!(
                        "the refreshed OAuth tokens could not be stored: {}",
                        error.message()
                    ),
                )
            })?;
        }
        Ok(())
    }
}

fn oauth2(integration: &Integration) -> Result<&OAuth2> {
    integration.oauth2.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::Definition,
            format!("{} declares no oauth2", integration.name),
        )
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

fn url(
    templates: &Templates,
    account: &Account,
    template: &crate::compile::template::TextTemplate,
) -> Result<String> {
    let mut scope = Scope::new();
    scope.insert(
        "credentials".into(),
        Value::from_serialize(std::collections::BTreeMap::<String, String>::new()),
    );
    scope.insert("options".into(), Value::from_serialize(account.options()));
    templates.render_text(template, &scope)
}

/// The URL that starts the authorization-code flow in a browser.
pub(crate) fn authorize_url(
    templates: &Templates,
    integration: &Integration,
    account: &Account,
    redirect_uri: &str,
    state: &str,
) -> Result<String> {
    let oauth = oauth2(integration)?;
    let base = url(templates, account, &oauth.authorize_url)?;
    let client_id = account.credentials().get(CLIENT_ID).ok_or_else(|| {
        Error::new(
            ErrorKind::Auth,
            "the account needs a client_id to start OAuth",
        )
    })?;
    let mut url = reqwest::Url::parse(&base).map_err(|error| {
        Error::new(
            ErrorKind::Definition,
            format!("bad authorize URL {base}: {error}"),
        )
    })?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("client_id", client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state);
        if !oauth.scopes.is_empty() {
            query.append_pair("scope", &oauth.scopes.join(" "));
        }
    }
    Ok(url.into())
}

/// Exchanges an authorization code for tokens.
pub(crate) async fn exchange_code(
    client: &reqwest::Client,
    templates: &Templates,
    integration: &Integration,
    account: &Account,
    code: &str,
    redirect_uri: &str,
) -> Result<TokenSet> {
    let form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code.to_owned()),
        ("redirect_uri", redirect_uri.to_owned()),
    ];
    request_tokens(client, templates, integration, account, form).await
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<f64>,
}

/// Posts a form to the token URL with the client credentials where the integration wants them.
async fn request_tokens(
    client: &reqwest::Client,
    templates: &Templates,
    integration: &Integration,
    account: &Account,
    mut form: Vec<(&'static str, String)>,
) -> Result<TokenSet> {
    let oauth = oauth2(integration)?;
    let token_url = url(templates, account, &oauth.token_url)?;
    let credentials = account.credentials();
    let (Some(client_id), Some(client_secret)) =
        (credentials.get(CLIENT_ID), credentials.get(CLIENT_SECRET))
    else {
        return Err(Error::new(
            ErrorKind::Auth,
            "the account needs client_id and client_secret for OAuth",
        ));
    };
    let mut request = client.post(&token_url);
    if oauth.client_credentials_in_body {
        form.push((CLIENT_ID, client_id.clone()));
        form.push((CLIENT_SECRET, client_secret.clone()));
    } else {
        request = request.basic_auth(client_id, Some(client_secret));
    }
    let response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|error| {
            Error::new(
                ErrorKind::Transport,
                format!(
                    "the token endpoint could not be reached: {}",
                    error.without_url()
                ),
            )
        })?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(|error| {
        Error::new(
            ErrorKind::Transport,
            format!("reading the token response failed: {}", error.without_url()),
        )
    })?;
    if !(200..300).contains(&status) {
        // Token endpoints answer errors as `{"error": ..., "error_description": ...}`. Only the
        // `error` code is shown: a description may quote the secret, code or token it refused.
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let reason = parsed
            .get("error")
            .and_then(|v| v.as_str())
            .filter(|code| {
                code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            })
            .unwrap_or("no error code given");
        return Err(Error::new(
            ErrorKind::Auth,
            format!("the token endpoint answered {status}: {reason}"),
        ));
    }
    let tokens: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
        Error::new(
            ErrorKind::Auth,
            "the token endpoint's answer holds no access_token",
        )
    })?;
    Ok(TokenSet {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token.filter(|token| !token.is_empty()),
        // A lifetime past any sensible bound is clamped rather than overflowing.
        expires_at: tokens
            .expires_in
            .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
            .map(|seconds| now().saturating_add(seconds.min(1e12) as u64)),
    })
}
