//! Recording upstream exchanges to a file, and answering from such a file offline.
//!
//! A recording holds requests as method, path under the base URL, sorted query pairs and JSON
//! body, so a replay matches however the URL was built and wherever it was recorded. Nothing
//! from headers is kept, and credential values and token-like keys are redacted before a
//! recording is written.

use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::error::{Error, ErrorKind, Result};

use super::{Prepared, Raw};

const FORMAT: u32 = 1;
const REDACTED: &str = "<redacted>";
/// Response headers never written to a recording.
const PRIVATE_HEADERS: &[&str] = &[
    "set-cookie",
    "cookie",
    "authorization",
    "proxy-authorization",
    "www-authenticate",
];
/// JSON keys whose values are secrets wherever they appear.
const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "client_secret",
    "api_key",
    "password",
    "token",
    "authorization",
];

/// One request and its answer, as stored in a recording file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Exchange {
    request: RecordedRequest,
    response: RecordedResponse,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RecordedRequest {
    method: String,
    path: String,
    #[serde(default)]
    query: Vec<(String, String)>,
    #[serde(default)]
    body: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RecordedResponse {
    status: u16,
    /// Response headers, except those that carry credentials or cookies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    headers: Vec<(String, String)>,
    /// The body as JSON when it parsed, else as text under `body_text`.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    body: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body_text: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct RecordingFile {
    crosswalk_recording: u32,
    exchanges: Vec<Exchange>,
}

/// Whether an engine records, replays, or neither.
#[derive(Default)]
pub(crate) enum Tape {
    #[default]
    Off,
    Record(Mutex<Vec<Exchange>>),
    Replay(Replayer),
}

pub(crate) struct Replayer {
    exchanges: Vec<Exchange>,
    used: Mutex<Vec<bool>>,
}

impl RecordedRequest {
    fn from_prepared(prepared: &Prepared) -> RecordedRequest {
        let mut query = prepared.query.clone();
        query.sort();
        RecordedRequest {
            method: prepared.method.to_string(),
            path: prepared.path.clone(),
            query,
            body: prepared.body.clone().unwrap_or(serde_json::Value::Null),
        }
    }

    fn describe(&self) -> String {
        let query = self
            .query
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join("&");
        let mut text = format!("{} {}", self.method, self.path);
        if !query.is_empty() {
            text.push('?');
            text.push_str(&query);
        }
        if !self.body.is_null() {
            text.push_str(&format!(" with body {}", self.body));
        }
        text
    }

    /// How alike two requests are, for naming the closest recording on a miss.
    fn likeness(&self, other: &RecordedRequest) -> usize {
        let mut score = 0;
        if self.method == other.method {
            score += 4;
        }
        if self.path == other.path {
            score += 8;
        }
        score += self
            .query
            .iter()
            .filter(|pair| other.query.contains(pair))
            .count();
        if self.body == other.body {
            score += 2;
        }
        score
    }
}

impl Tape {
    /// Starts an empty recording.
    pub(crate) fn record() -> Tape {
        Tape::Record(Mutex::new(Vec::new()))
    }

    /// Loads a recording to answer from.
    pub(crate) fn replay(path: &Path) -> Result<Tape> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            Error::input(format!("cannot read recording {}: {error}", path.display()))
        })?;
        let file: RecordingFile = serde_json::from_str(&text).map_err(|error| {
            Error::input(format!(
                "{} is not a Crosswalk recording: {error} (line {}, column {})",
                path.display(),
                error.line(),
                error.column()
            ))
        })?;
        if file.crosswalk_recording != FORMAT {
            return Err(Error::input(format!(
                "{} is recording format {}, this Crosswalk reads format {FORMAT}",
                path.display(),
                file.crosswalk_recording
            )));
        }
        let used = Mutex::new(vec![false; file.exchanges.len()]);
        Ok(Tape::Replay(Replayer {
            exchanges: file.exchanges,
            used,
        }))
    }

    /// Notes an exchange when recording.
    pub(crate) fn capture(&self, prepared: &Prepared, raw: &Raw, account: &Account) {
        let Tape::Record(exchanges) = self else {
            return;
        };
        let text = String::from_utf8_lossy(&raw.body);
        let parsed: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        let mut exchange = Exchange {
            request: RecordedRequest::from_prepared(prepared),
            response: RecordedResponse {
                status: raw.status,
                headers: raw
                    .headers
                    .iter()
                    .filter(|(name, _)| {
                        !PRIVATE_HEADERS.contains(&name.to_ascii_lowercase().as_str())
                    })
                    .cloned()
                    .collect(),
                body_text: parsed.is_none().then(|| text.into_owned()),
                body: parsed.unwrap_or(serde_json::Value::Null),
            },
        };
        redact(&mut exchange, account);
        if let Ok(mut exchanges) = exchanges.lock() {
            exchanges.push(exchange);
        }
    }

    /// Writes the recording so far to `path`, atomically: a failed write leaves no half file.
    pub(crate) fn save(&self, path: &Path) -> Result<usize> {
        let Tape::Record(exchanges) = self else {
            return Err(Error::input("this engine is not recording"));
        };
        let exchanges = exchanges
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default();
        let count = exchanges.len();
        let file = RecordingFile {
            crosswalk_recording: FORMAT,
            exchanges,
        };
        let text = serde_json::to_string_pretty(&file)
            .map_err(|error| Error::input(format!("cannot encode the recording: {error}")))?;
        let temporary = path.with_extension("partial");
        let write = std::fs::write(&temporary, text + "\n")
            .and_then(|()| std::fs::rename(&temporary, path));
        write.map_err(|error| {
            let _ = std::fs::remove_file(&temporary);
            Error::input(format!(
                "cannot write recording {}: {error}",
                path.display()
            ))
        })?;
        Ok(count)
    }

    /// The answer recorded for this request, when replaying.
    pub(crate) fn answer(&self, prepared: &Prepared) -> Option<Result<Raw>> {
        let Tape::Replay(replayer) = self else {
            return None;
        };
        Some(replayer.answer(&RecordedRequest::from_prepared(prepared)))
    }

    /// Recorded exchanges no request asked for, described, when replaying.
    pub(crate) fn unused(&self) -> Vec<String> {
        let Tape::Replay(replayer) = self else {
            return Vec::new();
        };
        let used = replayer.used.lock().map(|u| u.clone()).unwrap_or_default();
        replayer
            .exchanges
            .iter()
            .zip(used)
            .filter(|(_, used)| !used)
            .map(|(exchange, _)| exchange.request.describe())
            .collect()
    }
}

impl Replayer {
    fn answer(&self, request: &RecordedRequest) -> Result<Raw> {
        let mut used = self
            .used
            .lock()
            .map_err(|_| Error::input("the recording is unavailable"))?;
        // Identical requests replay their recorded answers in order; once all were used, the
        // last one answers again.
        let matching: Vec<usize> = self
            .exchanges
            .iter()
            .enumerate()
            .filter(|(_, exchange)| exchange.request == *request)
            .map(|(index, _)| index)
            .collect();
        let Some(&chosen) = matching
            .iter()
            .find(|index| !used[**index])
            .or(matching.last())
        else {
            return Err(self.miss(request));
        };
        used[chosen] = true;
        let response = &self.exchanges[chosen].response;
        let body = match &response.body_text {
            Some(text) => text.clone().into_bytes(),
            None if response.body.is_null() => Vec::new(),
            None => response.body.to_string().into_bytes(),
        };
        Ok(Raw {
            status: response.status,
            headers: response.headers.clone(),
            body,
        })
    }

    fn miss(&self, request: &RecordedRequest) -> Error {
        let closest = self
            .exchanges
            .iter()
            .max_by_key(|exchange| exchange.request.likeness(request))
            .map(|exchange| exchange.request.describe());
        let message = match closest {
            Some(closest) => format!(
                "no recorded answer for {}; the closest recorded request is {closest}",
                request.describe()
            ),
            None => format!(
                "no recorded answer for {}; the recording is empty",
                request.describe()
            ),
        };
        Error::new(ErrorKind::Input, message)
    }
}

/// Replaces credential values (plain or base64-encoded) and token-like keys everywhere in the
/// exchange.
fn redact(exchange: &mut Exchange, account: &Account) {
    let scrub = |text: &mut String| {
        let clean = account.redact(text);
        if clean != *text {
            *text = clean;
        }
    };
    scrub(&mut exchange.request.path);
    for (_, value) in &mut exchange.request.query {
        scrub(value);
    }
    for (_, value) in &mut exchange.response.headers {
        scrub(value);
    }
    if let Some(text) = &mut exchange.response.body_text {
        scrub(text);
    }
    redact_json(&mut exchange.request.body, &scrub);
    redact_json(&mut exchange.response.body, &scrub);
}

fn redact_json(value: &mut serde_json::Value, scrub: &impl Fn(&mut String)) {
    match value {
        serde_json::Value::String(text) => scrub(text),
        serde_json::Value::Array(items) => {
            items.iter_mut().for_each(|item| redact_json(item, scrub))
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if SECRET_KEYS.contains(&key.to_ascii_lowercase().as_str()) && !item.is_null() {
                    *item = serde_json::Value::String(REDACTED.to_owned());
                } else {
                    redact_json(item, scrub);
                }
            }
        }
        _ => {}
    }
}
