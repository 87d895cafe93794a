-- Events about the account rather than a conversation (`enforcement.created`,
-- `enforcement.updated` for an enforcement on a profile or a user) have no conversation.
ALTER TABLE events ALTER COLUMN conversation_id DROP NOT NULL;
