//! `GET /api/admin/audit`: the audit log, for administrators.

use super::super::accounts::Admin;
use super::super::{AppState, PageQuery};
use crate::http::openapi::responses::{BadRequest, Forbidden, Unauthenticated, Unavailable};
use crate::rooms::RoomsError;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use common::api::rooms::{AuditPage, DEFAULT_AUDIT_PAGE_LIMIT};

/// `GET /api/admin/audit?before={id}&limit={n}`.
#[utoipa::path(
    get,
    path = "/api/admin/audit",
    operation_id = "audit_log",
    tag = "admin",
    description = "The audit log of moderation and administration, the newest entries first: who (`actor`, absent for `chat-server admin`), what (`action`, a stable dotted name), to whom, in which room, and the rest in words (never a secret nor a message's text).",
    security(("session" = []), ("bearer" = [])),
    params(
        ("before" = Option<u64>, Query, minimum = 0, description = "Only entries older than this id; the newest when absent."),
        ("limit" = Option<u64>, Query, minimum = 1, description = "How many entries: 50 (`DEFAULT_AUDIT_PAGE_LIMIT`) when absent; more than 200 (`MAX_AUDIT_PAGE_LIMIT`) is lowered to 200."),
    ),
    responses(
        (status = 200, description = "A page of entries; `has_older` says whether older ones exist.", body = AuditPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn page(
    State(state): State<AppState>,
    Admin(admin): Admin,
    params: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<AuditPage>, RoomsError> {
    let Query(params) =
        params.map_err(|_| RoomsError::BadRequest("before and limit are whole numbers"))?;
    let limit = params.limit.unwrap_or(DEFAULT_AUDIT_PAGE_LIMIT);
    let page = state
        .rooms
        .audit_log(&admin, params.before(), limit)
        .await?;
    Ok(Json(page))
}
