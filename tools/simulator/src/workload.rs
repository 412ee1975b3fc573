//! The workload: one script per simulated task, a random life from creation to completion,
//! cancellation or staying open.

use chrono::{DateTime, TimeDelta, Utc};

use crate::SimulateOptions;

/// One step of a task's life.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    Create {
        planned: DateTime<Utc>,
        priority: &'static str,
    },
    Priority(&'static str),
    PlannedDate(DateTime<Utc>),
    Status(&'static str),
}

#[derive(Debug, Clone)]
pub(crate) struct TaskScript {
    pub user: usize,
    pub steps: Vec<Step>,
}

const PRIORITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// Planned dates stay at least this far from "now", so on time or late is never a close call.
const MARGIN_HOURS: i64 = 2;

pub(crate) fn workload(
    options: &SimulateOptions,
    rng: &mut fastrand::Rng,
    now: DateTime<Utc>,
) -> Vec<TaskScript> {
    (0..options.tasks)
        .map(|i| {
            let user = i % options.users.max(1);
            let late = rng.f64() < 0.3;
            let mut planned = if late {
                now - TimeDelta::hours(rng.i64(MARGIN_HOURS + 1..72))
            } else {
                now + TimeDelta::hours(rng.i64(MARGIN_HOURS + 1..240))
            };
            let mut priority = PRIORITIES[rng.usize(..PRIORITIES.len())];
            let mut status = "new";
            let mut steps = vec![Step::Create { planned, priority }];
            for _ in 0..rng.usize(0..=4) {
                match rng.u8(0..4) {
                    0 => {
                        let other = loop {
                            let p = PRIORITIES[rng.usize(..PRIORITIES.len())];
                            if p != priority {
                                break p;
                            }
                        };
                        priority = other;
                        steps.push(Step::Priority(other));
                    }
                    1 => {
                        planned += TimeDelta::hours(rng.i64(1..72));
                        steps.push(Step::PlannedDate(planned));
                    }
                    2 => {
                        let earlier = planned - TimeDelta::hours(rng.i64(1..24));
                        // Earlier, but on the same side of now as before.
                        if (earlier - now).num_hours().abs() > MARGIN_HOURS
                            && (earlier > now) == (planned > now)
                        {
                            planned = earlier;
                            steps.push(Step::PlannedDate(planned));
                        }
                    }
                    _ => {
                        let next = if status == "in_progress" {
                            "on_hold"
                        } else {
                            "in_progress"
                        };
                        status = next;
                        steps.push(Step::Status(next));
                    }
                }
            }
            match rng.u8(0..10) {
                0..=5 => steps.push(Step::Status("completed")),
                6 => steps.push(Step::Status("cancelled")),
                _ => {}
            }
            TaskScript { user, steps }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn options(tasks: usize) -> SimulateOptions {
        SimulateOptions {
            url: String::new(),
            users: 7,
            tasks,
            concurrency: 1,
            rate: None,
            seed: None,
            duplicate_rate: 0.0,
            reorder: false,
            poison: 0,
            chaos: false,
            settle_timeout_secs: 1,
            rebuild: None,
            rebuild_at: 0.25,
            erase: false,
            erase_at: 0.5,
            quiet: true,
        }
    }

    #[test]
    fn the_workload_covers_every_kind_of_command_and_both_completion_outcomes() {
        let now = Utc::now();
        let scripts = workload(&options(500), &mut fastrand::Rng::with_seed(7), now);
        assert_eq!(scripts.len(), 500);
        assert!(
            scripts
                .iter()
                .all(|s| matches!(s.steps[0], Step::Create { .. }))
        );
        let steps: Vec<&Step> = scripts.iter().flat_map(|s| &s.steps[1..]).collect();
        assert!(steps.iter().any(|s| matches!(s, Step::Priority(_))));
        assert!(steps.iter().any(|s| matches!(s, Step::Status("cancelled"))));
        assert!(steps.iter().any(|s| matches!(s, Step::Status("on_hold"))));
        let (mut on_time, mut late, mut delays, mut reschedules) = (0, 0, 0, 0);
        for script in &scripts {
            let Step::Create { mut planned, .. } = script.steps[0] else {
                unreachable!()
            };
            for step in &script.steps[1..] {
                match step {
                    Step::PlannedDate(to) => {
                        if *to > planned {
                            delays += 1
                        } else {
                            reschedules += 1
                        }
                        planned = *to;
                    }
                    Step::Status("completed") if planned >= now => on_time += 1,
                    Step::Status("completed") => late += 1,
                    _ => {}
                }
                // Never a close call between on time and late.
                assert!((planned - now).num_hours().abs() >= MARGIN_HOURS);
            }
        }
        assert!(
            on_time > 50 && late > 20 && delays > 20 && reschedules > 5,
            "{on_time} {late} {delays} {reschedules}"
        );
        // Users share the tasks.
        assert!(scripts.iter().map(|s| s.user).max() == Some(6));
    }
}
