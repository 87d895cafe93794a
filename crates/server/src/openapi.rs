//! The OpenAPI document (hand-maintained; a test checks every route is in it) and a page.

use axum::response::{Html, IntoResponse, Response};
use serde_json::{json, Value};

fn op(summary: &str, auth: &str) -> Value {
    let security = match auth {
        "admin" => json!([{"operatorKey": []}]),
        "user" => json!([{"userToken": []}]),
        _ => json!([]),
    };
    json!({
        "summary": summary,
        "security": security,
        "responses": {
            "200": {"description": "OK"},
            "default": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
    })
}

/// The OpenAPI 3.1 document.
pub fn spec() -> Value {
    let paths = json!({
        "/v1/health": {"get": op("Liveness and database check", "none")},
        "/v1/openapi.json": {"get": op("This document", "none")},
        "/v1/docs": {"get": op("Browsable API page", "none")},
        "/": {"get": op("The web message center (HTML page)", "none")},
        "/app/{path}": {"get": op("Web UI assets (JavaScript modules, CSS), embedded in the binary", "none")},
        "/v1/me": {"get": op("The signed-in user {id, name, roles, org, country, time_zone}", "user")},
        "/v1/demo/users": {"get": op("Demo mode only (404 otherwise): the demo's people {users: [{id, name, roles, org, time_zone}]}", "none")},
        "/v1/demo/users/{id}/session": {"post": op("Demo mode only (404 otherwise): sign in as a demo person -> 201 {token, expires_at, user}", "none")},
        "/v1/orgs/{id}": {"put": op("Create or update an organisation {name, plan}", "admin")},
        "/v1/users/{id}": {"put": op("Create or update a user {name, org_id?, roles?, country?, time_zone?}", "admin")},
        "/v1/users/{id}/tokens": {
            "post": op("Issue a token for the user {ttl_secs?, label?} -> {token, expires_at}", "admin"),
            "delete": op("Revoke all the user's tokens", "admin")
        },
        "/v1/users/{id}/profile": {"put": op("Create or update a profile {headline, bio}; texts checked (422 when rejected)", "admin")},
        "/v1/contracts/{id}": {"put": op("Create or update a contract {client_org_id, freelancer_id, status: offered|active|ended}", "admin")},
        "/v1/jobs/{id}": {"put": op("Create or update a job post {org_id, title, description}; texts checked", "admin")},
        "/v1/proposals/{id}": {"put": op("Create or update a proposal {job_id, freelancer_id, cover_letter}; texts checked", "admin")},
        "/v1/invites/{id}": {"put": op("Create or update an invite {org_id, freelancer_id, job_id?, message}; texts checked", "admin")},
        "/v1/conversations": {
            "post": op("Create a conversation {members, subject?, ref?} -> {id}", "admin"),
            "get": op("My conversations, most recent first, with last message and unread count", "user")
        },
        "/v1/conversations/{id}": {"get": op("One conversation with its members (404 for non-members)", "user")},
        "/v1/conversations/{id}/messages": {
            "get": op("Messages newest last {messages, has_more}; ?before= / ?after= message id cursors, ?limit=", "user"),
            "post": op("Send {body, client_id, purpose?}: 201 delivered (maybe masked or with notice), 202 held, 422 policy_violation; idempotent on client_id", "user")
        },
        "/v1/conversations/{id}/messages/{message_id}": {
            "patch": op("Edit one's own message {body} (checked again)", "user"),
            "delete": op("Delete one's own message (tombstone)", "user")
        },
        "/v1/conversations/{id}/read": {"post": op("Move my read marker {message_id}", "user")},
        "/v1/conversations/{id}/typing": {"post": op("Tell the other members I am typing", "user")},
        "/v1/check": {"post": op("Check a draft {body, conversation_id?, purpose?, surface?} without sending", "user")},
        "/v1/events": {"get": op("Events since ?cursor= (what a reconnecting client missed)", "user")},
        "/v1/ws": {"get": op("WebSocket (token in Authorization or ?token=, optional ?cursor=): events message.created, message.updated, message.deleted, read, typing; send {type:typing, conversation_id} or {type:resume, cursor}", "user")},
        "/v1/moderation/queue": {"get": op("Review queue (moderator role or operator key): ?status=open|resolved&kind=held_message|report|appeal&limit=&cursor= -> {items, next_cursor}; priority desc, then oldest first; each item with evidence spans, rule, confidence, context, sender history, reports, appeal, resolution", "user")},
        "/v1/moderation/items/{id}/decision": {"post": op("Decide a queue item {action: approve|reject|warn|restrict|suspend, note?} -> {item}; 409 already_resolved; appeals: approve overturns, reject upholds, 409 same_reviewer for the moderator who decided", "user")},
        "/v1/moderation/stats": {"get": op("Dashboard counts ?days=14 -> {by_category, by_action, per_day: [{day, flagged}], open, appeals}", "user")},
        "/v1/reports": {"post": op("Report {message_id | user_id | conversation_id, reason, note?} -> 201 {report, merged}; duplicates merge into one queue item", "user")},
        "/v1/reports/reasons": {"get": op("The operator's report reasons -> {reasons: [{id, label}]}", "user")},
        "/v1/me/enforcements": {"get": op("My enforcements with statements of reasons (facts, rule, automated, how_to_appeal), appealability and appeal outcome, and my standing -> {enforcements, standing}", "user")},
        "/v1/appeals": {"post": op("Appeal an enforcement {enforcement_id, statement} -> 201 {appeal}; free, within the operator's window; 409 already_appealed, 403 appeal_window_closed", "user")},
        "/v1/conversations/{id}/export": {"get": op("Evidence export ?format=json|html: transcript with every version, attachments, decisions, members and a sha256 digest (parley audit verify-export); for members (their view), moderators and the operator (everything); recorded in the audit log", "user")},
        "/metrics": {"get": op("Prometheus metrics: decisions by surface, action, automated and category; audit entries by kind; reports; appeal outcomes and overturn ratio (admin key unless metrics_public)", "admin")},
        "/v1/metrics": {"get": op("The same numbers per day as JSON ?days= (default 30, at most 366)", "admin")}
    });
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Parley message center", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "operatorKey": {"type": "http", "scheme": "bearer", "description": "PARLEY_ADMIN_KEY"},
                "userToken": {"type": "http", "scheme": "bearer", "description": "token from POST /v1/users/{id}/tokens"}
            },
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string", "enum": ["invalid_request", "unauthorized", "forbidden", "not_found", "conflict", "too_large", "unsupported_media_type", "method_not_allowed", "policy_violation", "restricted", "already_resolved", "same_reviewer", "already_appealed", "appeal_window_closed", "rate_limited", "unavailable", "internal"]},
                    "message": {"type": "string"},
                    "findings": {"type": "array"}
                }}}}
            }
        }
    })
}

pub async fn document() -> Response {
    axum::Json(spec()).into_response()
}

pub async fn page() -> Html<&'static str> {
    Html(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Parley API</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}code{background:#eee;padding:0 .3em}
.m{display:inline-block;width:4.5em;font-weight:bold;text-transform:uppercase}</style></head>
<body><h1>Parley API</h1><p>Machine-readable: <a href="/v1/openapi.json">/v1/openapi.json</a>.
Errors: <code>{"error":{"code","message",...}}</code>.</p><div id="routes">Loading…</div>
<script>
fetch('/v1/openapi.json').then(r=>r.json()).then(d=>{const el=document.getElementById('routes');el.textContent='';
for(const [p,ops] of Object.entries(d.paths)){for(const [m,o] of Object.entries(ops)){
const div=document.createElement('div');const s=document.createElement('span');s.className='m';s.textContent=m;
const c=document.createElement('code');c.textContent=p;const t=document.createElement('p');
t.textContent=o.summary+(o.security.length?' ('+Object.keys(o.security[0])[0]+')':'');
div.append(s,c,t);el.append(div);}}});
</script></body></html>"#,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_documented() {
        let spec = super::spec();
        for (method, path) in crate::ROUTES {
            assert!(
                spec["paths"][path][method].is_object(),
                "{method} {path} missing from openapi"
            );
        }
        let mut n = 0;
        for ops in spec["paths"].as_object().unwrap().values() {
            n += ops.as_object().unwrap().len();
        }
        assert_eq!(
            n,
            crate::ROUTES.len(),
            "openapi documents a route that does not exist"
        );
    }
}
