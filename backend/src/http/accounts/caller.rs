//! Who is calling, as extractors, so that handlers never check a
//! credential, a role or an origin themselves:
//!
//! - [`Caller`]: a signed-in account (session cookie, or a session or API
//!   token as `Authorization: Bearer`); 401 otherwise.
//! - [`Admin`]: a [`Caller`] who is an administrator; 403 for others.
//! - [`Guarded`]: a state-changing request from someone not signed in yet
//!   (sign in, sign up, setup, reset), with the device it comes from.
//!
//! Every request that is not `GET` or `HEAD` passes the check against
//! cross-site request forgery first ([`crate::auth::origin`]): with a
//! bearer token only [`check_json`] (no browser adds that header by
//! itself), otherwise [`check_state_changing`] (an allowed `Origin` and a
//! JSON body).

use super::super::AppState;
use crate::accounts::session::Device;
use crate::accounts::{AccountsError, Identity};
use crate::auth::origin::{check_json, check_state_changing};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Identity);

/// A signed-in administrator.
#[derive(Debug, Clone)]
pub struct Admin(pub Identity);

/// A state-changing request that passed the forgery check, from a caller
/// who need not be signed in.
#[derive(Debug, Clone)]
pub struct Guarded(pub Device);

/// Refuses a state-changing request that may be forged (see the module's
/// documentation).
fn check_forgery(parts: &Parts, state: &AppState) -> Result<(), AccountsError> {
    if parts.method.is_safe() {
        return Ok(());
    }
    if parts.headers.contains_key(AUTHORIZATION) {
        check_json(&parts.headers)?;
    } else {
        check_state_changing(&parts.headers, &state.settings.allowed_origins)?;
    }
    Ok(())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AccountsError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        check_forgery(parts, state)?;
        let identity = state
            .accounts
            .authenticate(&parts.headers)
            .await?
            .ok_or(AccountsError::Unauthenticated)?;
        Ok(Self(identity))
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AccountsError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(identity) = Caller::from_request_parts(parts, state).await?;
        if !identity.is_admin() {
            return Err(AccountsError::Forbidden("only administrators may do this"));
        }
        Ok(Self(identity))
    }
}

impl FromRequestParts<AppState> for Guarded {
    type Rejection = AccountsError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // A browser form: always the full check, bearer or not.
        check_state_changing(&parts.headers, &state.settings.allowed_origins)?;
        Ok(Self(device(parts)))
    }
}

/// Where a request comes from: its peer's address and its `User-Agent`.
pub fn device(parts: &Parts) -> Device {
    let address = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let label = parts
        .headers
        .get(USER_AGENT)
        .and_then(|agent| agent.to_str().ok())
        .filter(|agent| !agent.trim().is_empty())
        .unwrap_or("unknown device")
        .to_owned();
    Device { address, label }
}
