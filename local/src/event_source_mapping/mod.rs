//! The local event source mapping: what Lambda does between the events queue and the consumer
//! function. Pollers receive messages, gather a batch until it is full or the batching window
//! closes, invoke the consumer's batch handler, delete the records it did not report as failed
//! and leave the failed ones to come back after the visibility timeout; the queue moves a
//! message to its dead-letter queue after `maxReceiveCount` receives.
//!
//! Optional delivery chaos shows what the consumer must survive: records shuffled within a
//! batch, and processed messages delivered again instead of deleted (at-least-once delivery).

mod settings;
mod stats;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use taskpulse_app::projections::{CachedProjectionConfig, PROJECTION_CONFIG_TTL};
use taskpulse_app::{ApplyTransaction, LoadErasures, LoadProjectionConfig, PlanLimits};
use taskpulse_lambda::consumer::{Consumer, handle_batch};
use taskpulse_lambda::deadline::retry_deadline_after;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::archive::LocalArchive;
use crate::changes::{CounterChanges, NoticingCounters};
use crate::queue::{EventQueue, ReceivedMessage, Requeue};

pub use settings::{DeliveryChaos, MappingSettings};
pub use stats::{MappingStats, StatsSnapshot};

/// The queue, the consumer and how one drives the other: `Q` is the events queue, `C` the
/// table the consumer writes counters to (its projection configuration read through the
/// consumer function's cache), beside the archive, and `T` the task table it reads erasure
/// records from. Each counted batch is announced in `changes`.
#[derive(Debug)]
pub struct EventSourceMapping<Q, C, T> {
    pub queue: Q,
    pub consumer:
        Consumer<LocalArchive, CachedProjectionConfig<NoticingCounters<C>>, T, Requeue<Q>>,
    pub settings: MappingSettings,
    pub chaos: Mutex<DeliveryChaos>,
    pub stats: MappingStats,
    pub changes: Arc<CounterChanges>,
}

impl<Q, C, T> EventSourceMapping<Q, C, T>
where
    Q: EventQueue,
    C: ApplyTransaction + LoadProjectionConfig + 'static,
    T: LoadErasures + 'static,
{
    pub fn new(
        queue: Q,
        archive: LocalArchive,
        counters: C,
        erasures: T,
        limits: PlanLimits,
        settings: MappingSettings,
    ) -> Self {
        let changes = Arc::new(CounterChanges::default());
        let counters = NoticingCounters {
            inner: counters,
            changes: Arc::clone(&changes),
        };
        Self {
            consumer: Consumer {
                archive,
                store: CachedProjectionConfig::new(counters, PROJECTION_CONFIG_TTL),
                erasures,
                requeue: Requeue {
                    queue: queue.clone(),
                    delay: settings.visibility_timeout,
                },
                limits,
            },
            queue,
            settings,
            chaos: Mutex::new(DeliveryChaos::default()),
            stats: MappingStats::default(),
            changes,
        }
    }

    /// The counter table the consumer writes.
    pub fn counters(&self) -> &C {
        &self.consumer.store.store().inner
    }

    pub fn archive(&self) -> &LocalArchive {
        &self.consumer.archive
    }

    pub fn chaos(&self) -> DeliveryChaos {
        *self.chaos.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_chaos(&self, chaos: DeliveryChaos) {
        *self.chaos.lock().unwrap_or_else(|p| p.into_inner()) = chaos;
    }

    /// Starts the pollers. They stop when `stop` turns true, after finishing the batch they
    /// are gathering or processing.
    pub fn start(self: &Arc<Self>, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        (0..self.settings.concurrency.max(1))
            .map(|poller| {
                let mapping = Arc::clone(self);
                let stop = stop.clone();
                tokio::spawn(async move { mapping.poll(poller, stop).await })
            })
            .collect()
    }

    async fn poll(&self, poller: usize, mut stop: watch::Receiver<bool>) {
        let mut idle = Duration::ZERO;
        while !*stop.borrow() {
            let batch = self.gather_batch(&mut stop).await;
            if batch.is_empty() {
                // An emulator without long polls is asked again after a growing pause.
                if self.settings.receive_wait.is_zero() {
                    idle = (idle * 2).clamp(Duration::from_millis(20), Duration::from_millis(500));
                    tokio::select! {
                        _ = tokio::time::sleep(idle) => {}
                        _ = stop.changed() => {}
                    }
                }
                continue;
            }
            idle = Duration::ZERO;
            self.invoke(poller, batch).await;
        }
    }

    /// Receives until the batch is full, the batching window (opened by the first message)
    /// closes, or the mapping is stopping.
    async fn gather_batch(&self, stop: &mut watch::Receiver<bool>) -> Vec<ReceivedMessage> {
        let settings = &self.settings;
        let mut batch: Vec<ReceivedMessage> = vec![];
        let mut window_closes: Option<Instant> = None;
        loop {
            let wanted = settings.batch_size - batch.len();
            let wait = match window_closes {
                None => settings.receive_wait,
                Some(closes) => closes.saturating_duration_since(Instant::now()),
            };
            let wait = wait.min(Duration::from_secs(1));
            let received = tokio::select! {
                received = self.queue.receive(wanted, settings.visibility_timeout, wait) => received,
                // Only the in-process queue waits here; it takes messages only when it returns.
                _ = stop.changed() => return batch,
            };
            match received {
                Ok(messages) => batch.extend(messages),
                Err(error) => {
                    MappingStats::add(&self.stats.queue_errors, 1);
                    tracing::warn!(%error, "receiving from the events queue failed");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => {}
                    }
                    return batch;
                }
            }
            if batch.is_empty() {
                return batch;
            }
            let closes = *window_closes.get_or_insert(Instant::now() + settings.batching_window);
            if batch.len() >= settings.batch_size || Instant::now() >= closes || *stop.borrow() {
                return batch;
            }
        }
    }

    /// One invocation of the consumer, and what the mapping does with its answer.
    async fn invoke(&self, poller: usize, batch: Vec<ReceivedMessage>) {
        let chaos = self.chaos();
        let mut records: Vec<_> = batch
            .iter()
            .map(|m| m.to_record(self.queue.arn()))
            .collect();
        if chaos.reorder {
            fastrand::shuffle(&mut records);
        }
        let mut event = SqsEvent::default();
        event.records = records;
        let deadline = retry_deadline_after(self.settings.function_timeout);
        let (response, summary) = match handle_batch(&self.consumer, event, deadline).await {
            Ok(answer) => answer,
            Err(error) => {
                // Lambda treats a failed invocation as a failure of every record.
                MappingStats::add(&self.stats.failed_invocations, 1);
                tracing::warn!(poller, %error, records = batch.len(), "consumer invocation failed");
                return;
            }
        };
        let failed: std::collections::HashSet<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        self.stats.record(&summary, failed.len());
        if summary.applied > 0 {
            self.changes
                .publish(summary.applied, summary.newest_event_at);
        }
        let (mut redeliver, mut delete) = (vec![], vec![]);
        for message in batch
            .iter()
            .filter(|m| !failed.contains(m.message_id.as_str()))
        {
            // Only on a first receive: a message released again and again would reach the
            // dead-letter queue after maxReceiveCount receives, although it was applied.
            if chaos.duplicate_rate > 0.0
                && message.receive_count <= 1
                && fastrand::f64() < chaos.duplicate_rate
            {
                redeliver.push(message);
            } else {
                delete.push(message);
            }
        }
        if let Err(error) = self.queue.delete(&delete).await {
            // The messages come back after the visibility timeout and are recognised then.
            MappingStats::add(&self.stats.queue_errors, 1);
            tracing::warn!(%error, "deleting processed messages failed");
        }
        if !redeliver.is_empty() {
            MappingStats::add(&self.stats.redelivered, redeliver.len());
            if let Err(error) = self.queue.release(&redeliver).await {
                MappingStats::add(&self.stats.queue_errors, 1);
                tracing::warn!(%error, "releasing messages for redelivery failed");
            }
        }
        tracing::debug!(
            poller,
            records = summary.records,
            applied = summary.applied,
            duplicates = summary.duplicates,
            failed = failed.len(),
            "batch processed"
        );
    }
}

#[cfg(test)]
mod tests;
