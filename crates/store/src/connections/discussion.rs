//! A connected Telegram channel's discussion group, recorded at connect time
//! (`telegram_discussions`, migration 0036): what lets `POST /v1/posts` refuse a
//! `first_comment` for a channel that takes no comments before anything is published.

use herald_domain::ConnectionId;

use super::Connections;
use crate::error::StoreError;

/// What is known about a Telegram channel's discussion group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscussionGroup {
    /// Connected before the group was recorded: unknown until the channel is connected again.
    Unknown,
    /// The channel had no linked discussion group when it was connected.
    None,
    /// The linked group's chat id.
    Linked(i64),
}

impl Connections<'_> {
    /// Records the channel's discussion group (`None`: it has none), replacing what a
    /// previous connect recorded.
    pub async fn set_discussion_group(
        &self,
        id: ConnectionId,
        linked_chat_id: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query!(
            "INSERT INTO telegram_discussions (connection_id, linked_chat_id)
             VALUES ($1, $2)
             ON CONFLICT (connection_id)
             DO UPDATE SET linked_chat_id = EXCLUDED.linked_chat_id, recorded_at = now()",
            id.into_uuid(),
            linked_chat_id
        )
        .execute(self.pool)
        .await?;
        Ok(())
    }

    /// The channel's discussion group as recorded at its last connect.
    pub async fn discussion_group(&self, id: ConnectionId) -> Result<DiscussionGroup, StoreError> {
        let row = sqlx::query_scalar!(
            "SELECT linked_chat_id FROM telegram_discussions WHERE connection_id = $1",
            id.into_uuid()
        )
        .fetch_optional(self.pool)
        .await?;
        Ok(match row {
            None => DiscussionGroup::Unknown,
            Some(None) => DiscussionGroup::None,
            Some(Some(group)) => DiscussionGroup::Linked(group),
        })
    }
}
