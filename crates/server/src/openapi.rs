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

/// `op` whose 200 answer is described by a schema of `components.schemas`.
fn op_with(summary: &str, auth: &str, schema: Value) -> Value {
    let mut o = op(summary, auth);
    o["responses"]["200"]["content"] = json!({"application/json": {"schema": schema}});
    o
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The kinds of event the WebSocket sends (and `GET /v1/events` replays, but `typing`).
pub const EVENT_KINDS: &[&str] = &[
    "message.created",
    "message.updated",
    "message.deleted",
    "read",
    "enforcement.created",
    "enforcement.updated",
];

/// The schemas of the answers' objects (messages, conversations, events).
fn schemas() -> Value {
    json!({
        "Error": {"type": "object", "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string", "enum": ["invalid_request", "unauthorized", "forbidden", "not_found", "conflict", "too_large", "unsupported_media_type", "method_not_allowed", "policy_violation", "restricted", "already_resolved", "same_reviewer", "already_appealed", "appeal_window_closed", "rate_limited", "unavailable", "internal"]},
            "message": {"type": "string"},
            "findings": {"type": "array"}
        }}}},
        "ConversationRef": {
            "type": ["object", "null"],
            "description": "What the conversation is about; null for a direct conversation.",
            "required": ["kind", "id"],
            "properties": {
                "kind": {"type": "string", "enum": ["job", "proposal", "invite", "contract"]},
                "id": {"type": "string"},
                "title": {"type": ["string", "null"], "description": "Read live from the referenced object: the job's title (for a job, proposal, invite or contract; \"Invite\" / \"Contract\" without a job)."}
            }
        },
        "Conversation": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "subject": {"type": ["string", "null"]},
                "ref": schema_ref("ConversationRef"),
                "created_by": {"type": ["string", "null"]},
                "last_message_id": {"type": ["integer", "null"]},
                "created_at": {"type": "integer", "description": "Unix milliseconds"},
                "updated_at": {"type": "integer"},
                "members": {"type": "array"}
            }
        },
        "Finding": {
            "type": "object",
            "description": "What the detector found in the author's original text.",
            "properties": {
                "rule": {"type": "string", "description": "the policy rule applied"},
                "rule_text": {"type": "string", "description": "the rule in words"},
                "detector_rule": {"type": "string"},
                "category": {"type": "string", "description": "email, phone, link, handle, ..."},
                "kind": {"type": ["string", "null"], "description": "for links: the kind of link"},
                "start": {"type": "integer", "description": "byte offset in the original"},
                "end": {"type": "integer"},
                "matched": {"type": "string", "description": "the text found (the author's own)"},
                "confidence": {"type": "number"},
                "tier": {"type": "string", "description": "the confidence tier"}
            }
        },
        "Message": {
            "type": "object",
            "description": "A message as the viewer sees it: recipients get the delivered text; the author also gets what they wrote and the decision.",
            "properties": {
                "id": {"type": "integer"},
                "conversation_id": {"type": "string"},
                "author_id": {"type": "string"},
                "client_id": {"type": ["string", "null"], "description": "the author's only"},
                "purpose": {"type": ["string", "null"]},
                "state": {"type": "string", "enum": ["delivered", "held", "rejected"]},
                "body": {"type": ["string", "null"], "description": "the original for the author, the delivered (maybe masked) text for the others; null once deleted"},
                "version": {"type": "integer"},
                "created_at": {"type": "integer"},
                "edited_at": {"type": ["integer", "null"]},
                "deleted_at": {"type": ["integer", "null"]},
                "notice": {"description": "the policy's notice to recipients, when it gives one"},
                "delivered_body": {"type": ["string", "null"], "description": "author only: what the others see"},
                "action": {"type": ["string", "null"], "description": "author only: the decision's action (allow, notify, mask, hold_for_review, ...)"},
                "findings": {"type": "array", "items": schema_ref("Finding"), "description": "author only, when the decision had reasons (a masked or held message): what was hidden or held and why"},
                "explanation": {"type": ["string", "null"], "description": "author only: the decision's explanation (a reviewer's for a rejected message)"}
            }
        },
        "EnforcementView": {
            "type": "object",
            "description": "An enforcement as its user sees it in enforcement.* events (GET /v1/me/enforcements has the full view with the appeal).",
            "properties": {
                "id": {"type": "string", "description": "en_N"},
                "kind": {"type": "string", "enum": ["block", "mask", "strike", "warning", "restriction", "suspension"]},
                "statement": {"type": "object", "description": "statement of reasons: facts, rule, automated, how_to_appeal, appeal_deadline"},
                "created_at": {"type": "integer"},
                "ends_at": {"type": ["integer", "null"]},
                "lifted_at": {"type": ["integer", "null"]},
                "conversation_id": {"type": ["string", "null"]},
                "message_id": {"type": ["integer", "null"]},
                "delivered_message_id": {"type": ["integer", "null"], "description": "the blocked text delivered after an overturned appeal"},
                "appealable_until": {"type": "integer"},
                "appealable": {"type": "boolean", "description": "as of the event"}
            }
        },
        "Event": {
            "type": "object",
            "description": "One frame of /v1/ws (and one entry of GET /v1/events). message.created / message.updated / message.deleted carry `message` (or only `message_id` when the viewer may no longer see it); read carries user_id and message_id; enforcement.created (a new enforcement on me) and enforcement.updated (its appeal decided, or it was lifted) carry `enforcement`, and conversation_id null when the enforcement is not about a conversation. Frames not in the log: typing {conversation_id, user_id}, pong, error {code, message}.",
            "required": ["type", "seq", "at"],
            "properties": {
                "type": {"type": "string", "enum": EVENT_KINDS},
                "seq": {"type": "integer", "description": "my cursor: resume with ?cursor="},
                "conversation_id": {"type": ["string", "null"]},
                "at": {"type": "integer"},
                "message": schema_ref("Message"),
                "message_id": {"type": "integer"},
                "user_id": {"type": "string"},
                "enforcement": schema_ref("EnforcementView")
            }
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
            "get": op_with("My conversations, most recent first, each {id, subject, ref: {kind, id, title}, members, updated_at, last_message, unread, last_read_message_id}", "user", json!({"type": "object", "properties": {"conversations": {"type": "array", "items": schema_ref("Conversation")}}}))
        },
        "/v1/conversations/{id}": {"get": op_with("One conversation with its members and ref {kind, id, title} (404 for non-members)", "user", schema_ref("Conversation"))},
        "/v1/conversations/{id}/messages": {
            "get": op_with("Messages newest last {messages, has_more}; ?before= / ?after= message id cursors, ?limit=; the author's own masked or held messages carry findings and explanation", "user", json!({"type": "object", "properties": {"messages": {"type": "array", "items": schema_ref("Message")}, "has_more": {"type": "boolean"}}})),
            "post": op("Send {body, client_id, purpose?}: 201 delivered (maybe masked or with notice), 202 held, 422 policy_violation; idempotent on client_id", "user")
        },
        "/v1/conversations/{id}/messages/{message_id}": {
            "patch": op("Edit one's own message {body} (checked again)", "user"),
            "delete": op("Delete one's own message (tombstone)", "user")
        },
        "/v1/conversations/{id}/read": {"post": op("Move my read marker {message_id}", "user")},
        "/v1/conversations/{id}/typing": {"post": op("Tell the other members I am typing", "user")},
        "/v1/check": {"post": op("Check a draft {body, conversation_id?, purpose?, surface?} without sending", "user")},
        "/v1/events": {"get": op_with("Events since ?cursor= (what a reconnecting client missed) -> {events, cursor}; the same frames as /v1/ws", "user", json!({"type": "object", "properties": {"events": {"type": "array", "items": schema_ref("Event")}, "cursor": {"type": "integer"}}}))},
        "/v1/ws": {"get": op_with("WebSocket (token in Authorization or ?token=, optional ?cursor=): events message.created, message.updated, message.deleted, read, enforcement.created, enforcement.updated (schema Event), and typing; send {type:typing, conversation_id} or {type:resume, cursor}", "user", schema_ref("Event"))},
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
            "schemas": schemas()
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

    #[test]
    fn schemas_are_referenced_and_event_kinds_listed() {
        let spec = super::spec();
        let text = spec.to_string();
        // Every $ref points at a schema that exists.
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &part[..part.find('"').unwrap()];
            assert!(
                spec["components"]["schemas"][name].is_object(),
                "dangling $ref {name}"
            );
        }
        let kinds = &spec["components"]["schemas"]["Event"]["properties"]["type"]["enum"];
        for k in [
            "enforcement.created",
            "enforcement.updated",
            "message.created",
            "read",
        ] {
            assert!(kinds.as_array().unwrap().iter().any(|v| v == k), "{k}");
        }
        let ws = spec["paths"]["/v1/ws"]["get"]["summary"].as_str().unwrap();
        assert!(ws.contains("enforcement.created") && ws.contains("enforcement.updated"));
        let msg = &spec["components"]["schemas"]["Message"]["properties"];
        assert!(msg["findings"].is_object() && msg["explanation"].is_object());
        let r = &spec["components"]["schemas"]["ConversationRef"]["properties"];
        assert!(r["kind"].is_object() && r["id"].is_object() && r["title"].is_object());
    }
}
