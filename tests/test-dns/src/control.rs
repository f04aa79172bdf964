//! HTTP control API (JSON), for users outside the process: shell scripts, the sandbox, Python.
//!
//! | Method and path | Body / query | Answer |
//! |---|---|---|
//! | `GET /healthz` | | `ok` |
//! | `GET /records` | | `[{"name","type","value"}]` sorted |
//! | `PUT /records` | `{"name","type","value"}` | 201 + the stored record (normalised) |
//! | `DELETE /records` | `?name=..&type=..&value=..` (all optional) | `{"removed": n}` |
//! | `GET /faults` | | [`FaultStatus`] |
//! | `POST /faults` | [`FaultUpdate`] | [`FaultStatus`] after the change |
//! | `DELETE /faults` | | [`FaultStatus`] (all cleared) |
//! | `GET /stats` | | [`StatsSnapshot`] |
//! | `DELETE /stats` | | 204, counters and log reset |
//! | `GET /queries` | | [`LoggedQuery`] list, oldest first (last 10,000) |
//!
//! `DELETE /records` without `name` removes every record; with `name` and `type` only that
//! type; with `value` too only that one record. Bad input answers 400 `{"error": "..."}`.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    error::Error,
    faults::{FaultStatus, FaultUpdate},
    records::{RecordData, RecordEntry, RecordKind, normalize_name},
    state::Shared,
    stats::{LoggedQuery, StatsSnapshot},
};

/// Body of `PUT /records`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordInput {
    /// Owner name (any case, trailing dot optional).
    pub name: String,
    /// `A`, `AAAA`, `CNAME` or `TXT` (any case).
    #[serde(rename = "type")]
    pub kind: String,
    /// IP address, CNAME target or text.
    pub value: String,
}

/// Query of `DELETE /records`.
#[derive(Debug, Clone, Default, Deserialize)]
struct RemoveParams {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    value: Option<String>,
}

/// The control router over the server's shared state.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/records",
            get(list_records)
                .put(put_record)
                .post(put_record)
                .delete(delete_records),
        )
        .route("/faults", get(get_faults).post(post_faults).delete(delete_faults))
        .route("/stats", get(get_stats).delete(delete_stats))
        .route("/queries", get(get_queries))
        .with_state(shared)
}

struct ApiError(Error);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": self.0.to_string() })),
        )
            .into_response()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

async fn list_records(State(shared): State<Arc<Shared>>) -> Json<Vec<RecordEntry>> {
    Json(shared.read().list())
}

async fn put_record(
    State(shared): State<Arc<Shared>>,
    Json(input): Json<RecordInput>,
) -> Result<(StatusCode, Json<RecordEntry>), ApiError> {
    let kind: RecordKind = input.kind.parse()?;
    let data = RecordData::parse(kind, &input.value)?;
    let name = normalize_name(&input.name)?;
    let entry = RecordEntry {
        name: name.clone(),
        kind,
        value: data.value_string(),
    };
    shared.add(&name, data)?;
    tracing::info!(name = %entry.name, kind = %entry.kind, "record added over HTTP");
    Ok((StatusCode::CREATED, Json(entry)))
}

async fn delete_records(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<RemoveParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let kind = params.kind.as_deref().map(str::parse::<RecordKind>).transpose()?;
    let removed = match (params.name, kind, params.value) {
        (None, _, _) => {
            let mut store = shared.write();
            let n = store.len();
            store.clear();
            n
        }
        (Some(name), Some(kind), Some(value)) => {
            let data = RecordData::parse(kind, &value)?;
            usize::from(shared.remove_data(&name, &data))
        }
        (Some(name), kind, _) => {
            normalize_name(&name)?;
            shared.remove(&name, kind)
        }
    };
    Ok(Json(json!({ "removed": removed })))
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Json<FaultStatus> {
    Json(shared.faults.status())
}

async fn post_faults(
    State(shared): State<Arc<Shared>>,
    Json(update): Json<FaultUpdate>,
) -> Json<FaultStatus> {
    shared.faults.apply(&update);
    tracing::info!(?update, "faults changed over HTTP");
    Json(shared.faults.status())
}

async fn delete_faults(State(shared): State<Arc<Shared>>) -> Json<FaultStatus> {
    shared.faults.clear();
    Json(shared.faults.status())
}

async fn get_stats(State(shared): State<Arc<Shared>>) -> Json<StatsSnapshot> {
    Json(shared.stats_snapshot())
}

async fn delete_stats(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.stats.reset();
    StatusCode::NO_CONTENT
}

async fn get_queries(State(shared): State<Arc<Shared>>) -> Json<Vec<LoggedQuery>> {
    Json(shared.stats.log())
}
