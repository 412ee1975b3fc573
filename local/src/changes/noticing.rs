//! The consumer's counter table, noting whose counters each committed transaction moved.

use std::sync::Arc;

use taskpulse_app::analytics::plan::TransactionPlan;
use taskpulse_app::projections::ProjectionConfig;
use taskpulse_app::{ApplyTransaction, LoadProjectionConfig, StoreError, TransactionResult};

use super::CounterChanges;

/// `C`, with every committed transaction's users noted in `changes`.
#[derive(Debug)]
pub struct NoticingCounters<C> {
    pub inner: C,
    pub changes: Arc<CounterChanges>,
}

impl<C: ApplyTransaction> ApplyTransaction for NoticingCounters<C> {
    async fn apply_transaction(
        &self,
        plan: &TransactionPlan,
    ) -> Result<TransactionResult, StoreError> {
        let result = self.inner.apply_transaction(plan).await?;
        if matches!(result, TransactionResult::Committed { .. }) {
            self.changes
                .note_users(plan.users.iter().map(|write| write.user.as_str()));
        }
        Ok(result)
    }
}

impl<C: LoadProjectionConfig> LoadProjectionConfig for NoticingCounters<C> {
    async fn load_projection_config(&self) -> Result<ProjectionConfig, StoreError> {
        self.inner.load_projection_config().await
    }
}
