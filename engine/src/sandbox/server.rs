//! The HTTP side: one axum fallback handler in front of the [`Service`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};

use super::definition::Definition;
use super::reply::Reply;
use super::service::{Request, Service};
use super::store::Store;

/// A router sending every request to the sandbox service.
pub(crate) fn router(definition: Definition, store: Store) -> Router {
    let service = Arc::new(Service::new(definition, store));
    Router::new().fallback(handle).with_state(service)
}

async fn handle(
    State(service): State<Arc<Service>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // form_urlencoded decoding is lossy rather than failing, so this only errs on
    // shapes a list of pairs cannot have.
    let params = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|Query(params)| params)
        .unwrap_or_default();
    let credentials = service
        .auth_header()
        .and_then(|name| headers.get(name))
        .and_then(|value| value.to_str().ok());
    let request = Request {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query(),
        params: &params,
        credentials,
        body: &body,
    };
    let reply = service.respond(&request);
    tracing::debug!(%method, path = uri.path(), status = reply.status, "sandbox request");
    into_response(reply)
}

fn into_response(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match reply.body {
        serde_json::Value::Null if reply.location.is_some() => status.into_response(),
        body => (status, Json(body)).into_response(),
    };
    if let Some(location) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
