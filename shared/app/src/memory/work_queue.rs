//! A work queue in memory: every `send_work` call as sent, each body due once its delay has
//! passed. The tests read the calls; the local stack takes the bodies that are due, as a
//! worker's event source mapping receives them. Clones share the queue.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::lock;
use crate::ports::{SendWork, StoreError};

/// One `send_work` call: the bodies and their delay.
pub type Sent = (Vec<String>, Duration);

#[derive(Debug, Default)]
struct Queue {
    calls: Vec<Sent>,
    /// Bodies not yet taken, with the time each is due.
    waiting: Vec<(Instant, String)>,
}

#[derive(Debug, Default, Clone)]
pub struct MemoryWorkQueue {
    queue: Arc<Mutex<Queue>>,
    /// Calls accepted before the queue starts refusing; `None`: never refuses.
    pub accepts: Option<usize>,
}

impl MemoryWorkQueue {
    /// A queue that accepts `calls` calls, then refuses as a throttled queue would.
    pub fn accepting(calls: usize) -> Self {
        Self {
            accepts: Some(calls),
            ..Self::default()
        }
    }

    /// Every call, in order.
    pub fn calls(&self) -> Vec<Sent> {
        lock(&self.queue).calls.clone()
    }

    /// Forgets the calls and the waiting bodies.
    pub fn clear(&self) {
        *lock(&self.queue) = Queue::default();
    }

    /// Takes the bodies due by `now`, oldest due first.
    pub fn take_due(&self, now: Instant) -> Vec<String> {
        let mut queue = lock(&self.queue);
        queue.waiting.sort_by_key(|(due, _)| *due);
        let due = queue.waiting.partition_point(|(at, _)| *at <= now);
        queue.waiting.drain(..due).map(|(_, body)| body).collect()
    }

    /// Bodies sent and not yet taken.
    pub fn waiting(&self) -> usize {
        lock(&self.queue).waiting.len()
    }
}

impl SendWork for MemoryWorkQueue {
    async fn send_work(&self, bodies: &[String], delay: Duration) -> Result<(), StoreError> {
        let mut queue = lock(&self.queue);
        if self.accepts.is_some_and(|n| queue.calls.len() >= n) {
            return Err(StoreError::Unavailable("queue throttled".into()));
        }
        queue.calls.push((bodies.to_vec(), delay));
        let due = Instant::now() + delay;
        queue
            .waiting
            .extend(bodies.iter().map(|body| (due, body.clone())));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_are_taken_once_when_due_and_calls_are_kept_as_sent() {
        let queue = MemoryWorkQueue::default();
        queue
            .send_work(&["later".into()], Duration::from_secs(60))
            .await
            .unwrap();
        queue
            .send_work(&["now".into(), "now too".into()], Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(queue.take_due(Instant::now()), ["now", "now too"]);
        assert!(queue.take_due(Instant::now()).is_empty());
        assert_eq!(queue.waiting(), 1);
        assert_eq!(
            queue.take_due(Instant::now() + Duration::from_secs(61)),
            ["later"]
        );
        assert_eq!(queue.calls().len(), 2);
        let refusing = MemoryWorkQueue::accepting(0);
        assert!(
            refusing
                .send_work(&["x".into()], Duration::ZERO)
                .await
                .is_err()
        );
    }
}
