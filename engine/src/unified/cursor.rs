//! Opaque `next_cursor` tokens.
//!
//! A cursor carries the engine's own paging state, bound to the resource and filters it was
//! issued for. It is base64url JSON with a checksum, so that a token the engine did not make,
//! or one replayed against other filters, is refused as an input error instead of paging
//! from a wrong place.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const VERSION: u8 = 1;

/// Paging state inside a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub(crate) enum PageState {
    /// Offset paging: the next offset and the page size; past the upstream's deepest offset,
    /// also the window's lower bound `w` and the ids at that bound already delivered `x`.
    Offset {
        o: u64,
        l: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        w: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        x: Vec<String>,
        /// The highest window key delivered so far in this window, and the ids at it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        t: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        y: Vec<String>,
    },
    /// Page-number paging: the next page and the page size.
    Page { p: u64, l: u64 },
    /// An upstream cursor (empty before the first page) and the page size.
    Cursor { c: String, l: u64 },
    /// A next link under the base URL (empty before the first page) and the page size.
    Link { u: String, l: u64 },
}

#[derive(Serialize, Deserialize)]
struct Token {
    v: u8,
    #[serde(flatten)]
    state: PageState,
    /// A checksum over the version, state, resource and filters.
    sig: String,
}

/// What a cursor is bound to: the resource and the caller's filters.
pub(crate) struct Binding<'a> {
    pub(crate) resource: &'a str,
    pub(crate) filters: &'a [(String, String)],
}

impl Binding<'_> {
    fn checksum(&self, state: &PageState) -> String {
        let mut hasher = Sha256::new();
        hasher.update([VERSION]);
        hasher.update(serde_json::to_vec(state).unwrap_or_default());
        hasher.update(self.resource.as_bytes());
        for (key, value) in self.filters {
            hasher.update([0]);
            hasher.update(key.as_bytes());
            hasher.update([1]);
            hasher.update(value.as_bytes());
        }
        let digest = hasher.finalize();
        digest[..12]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    pub(crate) fn encode(&self, state: PageState) -> String {
        let sig = self.checksum(&state);
        let token = Token {
            v: VERSION,
            state,
            sig,
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
    }

    pub(crate) fn decode(&self, cursor: &str) -> Result<PageState> {
        let refuse = |why: &str| {
            Error::input(format!(
                "invalid cursor for {}: {why}; pass back a next_cursor from the same list call",
                self.resource
            ))
            .with_details(serde_json::json!({ "cursor": cursor }))
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor.trim())
            .map_err(|_| refuse("it was not issued by Crosswalk"))?;
        let token: Token =
            serde_json::from_slice(&bytes).map_err(|_| refuse("it was not issued by Crosswalk"))?;
        if token.v != VERSION {
            return Err(refuse("it comes from another version of Crosswalk"));
        }
        if token.sig != self.checksum(&token.state) {
            return Err(refuse(
                "it was issued for another resource or other filters, or was altered",
            ));
        }
        Ok(token.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(filters: &[(String, String)]) -> Binding<'_> {
        Binding {
            resource: "crm/things",
            filters,
        }
    }

    #[test]
    fn round_trips() {
        let state = PageState::Offset {
            o: 200,
            l: 100,
            w: None,
            x: vec![],
            t: None,
            y: vec![],
        };
        let cursor = binding(&[]).encode(state.clone());
        assert_eq!(binding(&[]).decode(&cursor).unwrap(), state);
    }

    #[test]
    fn refuses_foreign_and_rebound_cursors() {
        for garbage in ["", "abc", "!!!", "eyJ2IjoxfQ"] {
            assert!(binding(&[]).decode(garbage).is_err(), "{garbage}");
        }
        let cursor = binding(&[]).encode(PageState::Offset {
            o: 5,
            l: 5,
            w: None,
            x: vec![],
            t: None,
            y: vec![],
        });
        let filters = [("status".to_owned(), "open".to_owned())];
        let error = binding(&filters).decode(&cursor).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Input);
    }
}
