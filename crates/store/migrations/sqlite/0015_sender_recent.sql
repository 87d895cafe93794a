-- Parley store, version 15: a sender's recent messages in a conversation (the split-message
-- window every node reads from the database, see crates/server/src/domain/split.rs).
CREATE INDEX messages_conversation_author_time ON messages(conversation_id, author_id, created_at);
