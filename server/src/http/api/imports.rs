//! Imports over the API: the same pipeline as the page's uploads.

use crate::{
    auth::Principal,
    error::{Error, Result},
    ingest::{self, Format, ImportError, OverBudget, Target, rejects_csv},
    state::AppState,
    store,
};
use app::domain::{ImportState, ImportSummary, Priority, Role};
use axum::{
    Json, Router,
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/imports", get(list).post(create))
        .route("/imports/{id}", get(show))
        .route("/imports/{id}/rejects.csv", get(rejects))
        .route("/imports/{id}/queue", post(decide))
}

/// An import as the API shows it: the counts at the top level.
#[derive(Serialize)]
pub struct ImportView {
    pub id: i64,
    pub workspace_id: i64,
    pub table_id: Option<i64>,
    pub state: ImportState,
    pub priority: Priority,
    pub source: String,
    pub filename: Option<String>,
    pub format: String,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub bytes: u64,
    pub rows: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub held: u64,
    pub blank_lines: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
    pub estimated_credits: f64,
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub delivery: app::domain::DeliveryCounts,
}

impl From<ImportSummary> for ImportView {
    fn from(s: ImportSummary) -> Self {
        ImportView {
            id: s.id,
            workspace_id: s.workspace_id,
            table_id: s.table_id,
            state: s.state,
            priority: s.priority,
            source: s.source,
            filename: s.filename,
            format: s.format,
            encoding: s.encoding,
            delimiter: s.delimiter,
            bytes: s.bytes,
            rows: s.counts.rows,
            accepted: s.counts.accepted,
            rejected: s.counts.rejected,
            duplicates: s.counts.duplicates,
            held: s.counts.held,
            blank_lines: s.counts.blank_lines,
            rejected_by_reason: s.rejected_by_reason,
            estimated_credits: s.estimated_credits,
            error: s.error,
            created_by: s.created_by,
            created_at: s.created_at,
            finished_at: s.finished_at,
            delivery: s.delivery,
        }
    }
}

/// The query of an import request.
#[derive(Debug, Default, Deserialize)]
pub struct ImportParams {
    pub table_id: Option<i64>,
    /// `rules` routes every row by the workspace's rules instead of one table.
    pub routing: Option<String>,
    pub workspace_id: Option<i64>,
    pub priority: Option<String>,
    /// `email=Work Email,company=Organisation`, or the same as a JSON object.
    pub mapping: Option<String>,
    pub filename: Option<String>,
    /// `queue_all` (the API's default), `queue_fit`, or `ask`.
    pub over_budget: Option<String>,
}

impl ImportParams {
    pub async fn request(
        &self,
        db: &store::Db,
        principal: &Principal,
        headers: &HeaderMap,
        source: &'static str,
        default_over_budget: OverBudget,
    ) -> Result<ingest::Request> {
        let priority: Priority =
            self.priority.as_deref().unwrap_or("normal").parse().map_err(|e: String| Error::invalid("priority", e))?;
        let target = match (self.routing.as_deref(), self.table_id) {
            (Some("rules"), _) => Target::Rules { workspace_id: self.rules_workspace(db).await? },
            (Some(other), _) if other != "table" => {
                return Err(Error::invalid("routing", format!("unknown routing {other:?}: use rules or a table_id")));
            }
            (_, Some(table_id)) => Target::Table(table_id),
            (_, None) => return Err(Error::invalid("table_id", "give a table_id, or routing=rules")),
        };
        let over_budget = match self.over_budget.as_deref() {
            None => default_over_budget,
            Some("queue_all" | "all") => OverBudget::QueueAll,
            Some("queue_fit" | "fit") => OverBudget::QueueFit,
            Some("ask") => OverBudget::Ask,
            Some(other) => {
                return Err(Error::invalid(
                    "over_budget",
                    format!("unknown over_budget {other:?}: use queue_all, queue_fit or ask"),
                ));
            }
        };
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        Ok(ingest::Request {
            target,
            priority,
            mapping: self.mapping.as_deref().map(mapping_spec).transpose()?,
            format: Format::from_content_type(content_type),
            filename: self.filename.clone(),
            source,
            actor: principal.actor(),
            over_budget,
        })
    }

    /// The workspace whose rules route the rows: the one named, else the only workspace that
    /// has routing set up.
    async fn rules_workspace(&self, db: &store::Db) -> Result<i64> {
        if let Some(id) = self.workspace_id {
            return Ok(id);
        }
        let mut candidates = Vec::new();
        for workspace in store::workspaces::list(db).await? {
            if workspace.fallback_table_id.is_some() || !store::routing::rules(db, workspace.id).await?.is_empty() {
                candidates.push(workspace.id);
            }
        }
        match candidates.as_slice() {
            [only] => Ok(*only),
            [] => Err(Error::invalid("routing", "no workspace has routing rules yet")),
            _ => Err(Error::invalid("workspace_id", "several workspaces have routing rules: give workspace_id")),
        }
    }
}

/// Accepts the mapping as `role=column,…` or as a JSON object `{"role": "column"}`.
fn mapping_spec(raw: &str) -> Result<String> {
    let raw = raw.trim();
    if !raw.starts_with('{') {
        return Ok(raw.to_owned());
    }
    let object: BTreeMap<String, Option<String>> = serde_json::from_str(raw)
        .map_err(|e| Error::invalid("mapping", format!("the mapping is not a JSON object of role to column: {e}")))?;
    Ok(object
        .into_iter()
        .map(|(role, column)| format!("{role}={}", column.unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(";"))
}

/// Runs an import from a request body, answering as the API does.
pub async fn run(state: &AppState, request: ingest::Request, body: Body) -> Response {
    match ingest::run(&state.db, request, body.into_data_stream()).await {
        Ok(summary) => (StatusCode::CREATED, Json(ImportView::from(summary))).into_response(),
        Err(ImportError::Unreadable { import_id, message }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "error": message, "import_id": import_id }))).into_response()
        }
        Err(ImportError::Aborted { import_id, message }) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": format!("the upload stopped before the end of the file: {message}"), "import_id": import_id })),
        )
            .into_response(),
        Err(error @ ImportError::Interrupted { import_id }) => {
            (StatusCode::CONFLICT, Json(json!({ "error": error.to_string(), "import_id": import_id }))).into_response()
        }
        Err(ImportError::Http(error)) => error.into_response(),
    }
}

/// POST /api/v1/imports?table_id=…&priority=high|normal|low (or ?routing=rules) with the file as
/// the body: `text/csv`, `application/x-ndjson`, or `application/json` (an array of objects).
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(error) = principal.require(Role::Operator) {
        return error.into_response();
    }
    match params.request(&state.db, &principal, &headers, "api", OverBudget::QueueAll).await {
        Ok(request) => run(&state, request, body).await,
        Err(error) => error.into_response(),
    }
}

#[derive(Deserialize)]
struct ListParams {
    workspace_id: Option<i64>,
    limit: Option<i64>,
}

/// GET /api/v1/imports?workspace_id=&limit=
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<ImportView>>> {
    principal.require(Role::Viewer)?;
    let limit = params.limit.unwrap_or(50).clamp(1, 500);
    let imports = store::imports::list(&state.db, params.workspace_id, limit).await?;
    Ok(Json(imports.into_iter().map(ImportView::from).collect()))
}

/// GET /api/v1/imports/{id}: the counts and `rejected_by_reason`.
async fn show(State(state): State<AppState>, principal: Principal, Path(id): Path<i64>) -> Result<Json<ImportView>> {
    principal.require(Role::Viewer)?;
    Ok(Json(store::imports::find(&state.db, id).await?.ok_or(Error::NotFound("import"))?.into()))
}

#[derive(Deserialize)]
struct Decision {
    /// `all` or `fit`.
    mode: String,
}

/// POST /api/v1/imports/{id}/queue?mode=all|fit: the operator's answer for an import over budget.
async fn decide(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(decision): Query<Decision>,
) -> Result<Json<ImportView>> {
    principal.require(Role::Operator)?;
    let summary = crate::imports::decide(&state.db, &principal.actor(), id, &decision.mode).await?;
    Ok(Json(summary.into()))
}

/// GET /api/v1/imports/{id}/rejects.csv: every rejected row with its line number and reason.
async fn rejects(State(state): State<AppState>, principal: Principal, Path(id): Path<i64>) -> Result<Response> {
    principal.require(Role::Viewer)?;
    rejects_report(&state, id).await
}

/// The rejects report as a streamed CSV download (shared with the page).
pub async fn rejects_report(state: &AppState, id: i64) -> Result<Response> {
    let import = store::imports::find(&state.db, id).await?.ok_or(Error::NotFound("import"))?;
    let headers: Vec<String> = store::imports::description(&state.db, id)
        .await?
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
        .and_then(|d| serde_json::from_value(d["headers"].clone()).ok())
        .unwrap_or_default();
    let csv_rows = import.format == "csv";
    let mut first = vec!["line".to_owned(), "reason".to_owned()];
    if csv_rows {
        first.extend(headers);
    } else {
        first.push("row".to_owned());
    }
    let header_line = rejects_csv::line(&first);
    let db = state.db.clone();
    let pages = stream::unfold((0_i64, false), move |(after, done)| {
        let db = db.clone();
        async move {
            if done {
                return None;
            }
            match store::imports::rejects(&db, id, after, 1_000).await {
                Err(error) => {
                    tracing::error!(%error, import_id = id, "rejects report cut short");
                    Some((Err(std::io::Error::other("database error")), (after, true)))
                }
                Ok(page) if page.is_empty() => None,
                Ok(page) => {
                    let last = page.last().map_or(after, |(line, _, _)| *line);
                    let mut chunk = String::new();
                    for (line, reason, raw) in page {
                        let mut cells = vec![line.to_string(), reason];
                        if csv_rows {
                            cells.extend(serde_json::from_str::<Vec<String>>(&raw).unwrap_or_else(|_| vec![raw]));
                        } else {
                            cells.push(raw);
                        }
                        chunk.push_str(&rejects_csv::line(&cells));
                    }
                    Some((Ok(chunk), (last, false)))
                }
            }
        }
    });
    let body = Body::from_stream(stream::iter([Ok::<_, std::io::Error>(header_line)]).chain(pages));
    let disposition = format!("attachment; filename=\"import-{id}-rejects.csv\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}
