//! `GET /api/admin/audit`: the audit log ([`crate::audit`]), for
//! administrators only, the newest entries first, in pages.

use super::{Rooms, RoomsError};
use crate::accounts::Identity;
use crate::store::rooms::AuditId;
use common::api::rooms::{AuditPage, AuditRecord, MAX_AUDIT_PAGE_LIMIT};

impl Rooms {
    /// Up to `limit` entries (at most [`MAX_AUDIT_PAGE_LIMIT`]) older than
    /// `before`, the newest first.
    pub async fn audit_log(
        &self,
        caller: &Identity,
        before: Option<AuditId>,
        limit: usize,
    ) -> Result<AuditPage, RoomsError> {
        if !caller.is_admin() {
            return Err(RoomsError::Forbidden("only administrators may do this"));
        }
        if limit == 0 {
            return Err(RoomsError::BadRequest("limit must be at least 1"));
        }
        let (entries, has_older) = self
            .audit
            .page(before, limit.min(MAX_AUDIT_PAGE_LIMIT))
            .await?;
        let entries = entries
            .into_iter()
            .map(|entry| AuditRecord {
                id: entry.id,
                actor: entry.actor,
                action: entry.action,
                target_user: entry.target_user,
                room: entry.room,
                detail: entry.detail,
                at_ms: entry.at_ms,
            })
            .collect();
        Ok(AuditPage { entries, has_older })
    }
}
