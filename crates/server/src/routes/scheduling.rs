//! Interview scheduling (user token): proposals of times, availability and free slots,
//! bookings (accept, book, reschedule, cancel), my bookings. Members only (404 for others).

use crate::domain::availability::Availability;
use crate::domain::ids::{ConversationId, UserId};
use crate::domain::scheduling::{
    self, AcceptBody, BookBody, Booked, Bookings, CancelBody, FreeSlots, MyBookingsParams,
    ProposalView, ProposeBody, RescheduleBody, Schedule, SlotsParams,
};
use crate::error::{ErrorBody, Json, Query};
use crate::routes::auth;
use crate::{ApiResult, AppState};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(propose))
        .routes(routes!(accept))
        .routes(routes!(put_availability, get_availability))
        .routes(routes!(slots))
        .routes(routes!(book))
        .routes(routes!(schedule))
        .routes(routes!(reschedule))
        .routes(routes!(cancel))
        .routes(routes!(my_bookings))
}

/// Offers one to ten times in a conversation; the other member picks one.
#[utoipa::path(post, path = "/v1/conversations/{id}/proposals", tag = "scheduling",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    request_body = ProposeBody,
    responses(
        (status = 201, body = ProposalView),
        (status = 400, body = ErrorBody),
        (status = 404, description = "Not a member", body = ErrorBody),
    ))]
pub async fn propose(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<ProposeBody>,
) -> ApiResult<(StatusCode, Json<ProposalView>)> {
    let me = auth::user(&s, &headers).await?;
    let conv: ConversationId = auth::known_id(id, "conversation")?;
    let p = scheduling::propose(&s, &me, &conv, b).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Picks one of a proposal's times: the booking is made and the other times are released.
#[utoipa::path(post, path = "/v1/proposals/{id}/accept", tag = "scheduling",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "Proposal id (sp_...)")),
    request_body = AcceptBody,
    responses(
        (status = 201, body = Booked),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The time is no longer free, or the proposal is closed", body = ErrorBody),
    ))]
pub async fn accept(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<AcceptBody>,
) -> ApiResult<(StatusCode, Json<Booked>)> {
    let me = auth::user(&s, &headers).await?;
    let booked = scheduling::accept(&s, &me, &id, b).await?;
    Ok((StatusCode::CREATED, Json(booked)))
}

/// Shares my availability: weekly hours in my time zone, overrides, buffers, notice, limits.
#[utoipa::path(put, path = "/v1/me/availability", tag = "scheduling",
    security(("userToken" = [])),
    request_body = Availability,
    responses((status = 200, body = Availability), (status = 400, body = ErrorBody)))]
pub async fn put_availability(
    State(s): State<AppState>,
    headers: HeaderMap,
    Json(b): Json<Availability>,
) -> ApiResult<Json<Availability>> {
    let me = auth::user(&s, &headers).await?;
    Ok(Json(scheduling::put_availability(&s, &me, b).await?))
}

/// My availability (404 until I share one).
#[utoipa::path(get, path = "/v1/me/availability", tag = "scheduling",
    security(("userToken" = [])),
    responses((status = 200, body = Availability), (status = 404, body = ErrorBody)))]
pub async fn get_availability(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<Availability>> {
    let me = auth::user(&s, &headers).await?;
    Ok(Json(scheduling::my_availability(&s, &me).await?))
}

/// A person's free slots (times UTC): to people who share a conversation with them.
#[utoipa::path(get, path = "/v1/users/{id}/slots", tag = "scheduling",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "User id"), SlotsParams),
    responses((status = 200, body = FreeSlots), (status = 400, description = "invalid_request: a bad query parameter", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn slots(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<SlotsParams>,
) -> ApiResult<Json<FreeSlots>> {
    let me = auth::user(&s, &headers).await?;
    let user: UserId = auth::known_id(id, "user")?;
    Ok(Json(scheduling::free_slots(&s, &me, &user, q).await?))
}

/// Books a free slot of another member's availability.
#[utoipa::path(post, path = "/v1/conversations/{id}/bookings", tag = "scheduling",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    request_body = BookBody,
    responses(
        (status = 201, body = Booked),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The time is no longer free", body = ErrorBody),
    ))]
pub async fn book(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<BookBody>,
) -> ApiResult<(StatusCode, Json<Booked>)> {
    let me = auth::user(&s, &headers).await?;
    let conv: ConversationId = auth::known_id(id, "conversation")?;
    let booked = scheduling::book(&s, &me, &conv, b).await?;
    Ok((StatusCode::CREATED, Json(booked)))
}

/// A conversation's proposals and bookings, newest first.
#[utoipa::path(get, path = "/v1/conversations/{id}/schedule", tag = "scheduling",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses((status = 200, body = Schedule), (status = 404, body = ErrorBody)))]
pub async fn schedule(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Schedule>> {
    let me = auth::user(&s, &headers).await?;
    let conv: ConversationId = auth::known_id(id, "conversation")?;
    Ok(Json(scheduling::schedule(&s, &me, &conv).await?))
}

/// Moves a booking (either participant), with a reason; the other is told live.
#[utoipa::path(post, path = "/v1/bookings/{id}/reschedule", tag = "scheduling",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "Booking id (bk_...)")),
    request_body = RescheduleBody,
    responses(
        (status = 200, body = Booked),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The new time is not free, or the booking is cancelled", body = ErrorBody),
    ))]
pub async fn reschedule(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<RescheduleBody>,
) -> ApiResult<Json<Booked>> {
    let me = auth::user(&s, &headers).await?;
    Ok(Json(scheduling::reschedule(&s, &me, &id, b).await?))
}

/// Cancels a booking (either participant), with a reason; the other is told live.
#[utoipa::path(post, path = "/v1/bookings/{id}/cancel", tag = "scheduling",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "Booking id (bk_...)")),
    request_body = CancelBody,
    responses(
        (status = 200, body = Booked),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Already cancelled", body = ErrorBody),
    ))]
pub async fn cancel(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<CancelBody>,
) -> ApiResult<Json<Booked>> {
    let me = auth::user(&s, &headers).await?;
    Ok(Json(scheduling::cancel(&s, &me, &id, b).await?))
}

/// My upcoming bookings in every conversation, as host and as guest.
#[utoipa::path(get, path = "/v1/me/bookings", tag = "scheduling",
    security(("userToken" = [])),
    params(MyBookingsParams),
    responses((status = 200, body = Bookings), (status = 400, description = "invalid_request: a bad query parameter", body = ErrorBody)))]
pub async fn my_bookings(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<MyBookingsParams>,
) -> ApiResult<Json<Bookings>> {
    let me = auth::user(&s, &headers).await?;
    Ok(Json(scheduling::my_bookings(&s, &me, q).await?))
}
