-- Parley store, version 11: indexes for the operator dashboard's aggregates (per day over a
-- period: messages, decisions, audit entries, review items decided, webhook attempts).
CREATE INDEX messages_created ON messages(created_at);
CREATE INDEX decisions_created ON decisions(created_at);
CREATE INDEX audit_log_kind_at ON audit_log(kind, at);
CREATE INDEX moderation_items_resolved ON moderation_items(resolved_at);
CREATE INDEX webhook_attempts_at ON webhook_attempts(attempted_at);
CREATE INDEX webhook_deliveries_created ON webhook_deliveries(created_at);
