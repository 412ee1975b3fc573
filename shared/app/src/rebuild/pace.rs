//! The write pace of a rebuild: at most a given number of counter item writes per second, so a
//! backfill never takes the capacity live traffic needs. Paced on the items a committed
//! transaction wrote (each costs at least 2 write units, transactions being transactional),
//! since moto and the in-memory table report no consumed capacity.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct WritePace {
    /// Item writes per second; `None`: as fast as the store takes them.
    rate: Option<f64>,
    started: Instant,
    spent: f64,
}

impl WritePace {
    pub fn new(items_per_second: Option<f64>) -> Self {
        Self {
            rate: items_per_second.filter(|r| *r > 0.0),
            started: Instant::now(),
            spent: 0.0,
        }
    }

    /// Accounts for `items` writes and sleeps until the pace allows the next.
    pub async fn spend(&mut self, items: usize) {
        self.spent += items as f64;
        if let Some(rate) = self.rate {
            let due = self.started + Duration::from_secs_f64(self.spent / rate);
            tokio::time::sleep_until(due).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_pace_holds_writes_to_the_rate() {
        let mut pace = WritePace::new(Some(100.0));
        let start = Instant::now();
        for _ in 0..10 {
            pace.spend(50).await;
        }
        // 500 writes at 100 per second.
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        let mut unpaced = WritePace::new(None);
        let start = Instant::now();
        unpaced.spend(1_000_000).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
