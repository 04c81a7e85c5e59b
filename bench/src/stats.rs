//! What one measured run produced: latencies of successes and failures, failures by
//! reason, and the wall time, reduced to throughput and percentiles.

use std::{collections::BTreeMap, time::Duration};

/// Raw results of one run (merged from every worker).
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Latency of each success, in microseconds.
    pub ok_us: Vec<u64>,
    /// Latency of each failure, in microseconds.
    pub failed_us: Vec<u64>,
    /// Failures by reason (`CODE/REASON`, `timeout`, ...).
    pub failures: BTreeMap<String, u64>,
    pub elapsed: Duration,
}

impl Stats {
    pub fn record(&mut self, latency: Duration, outcome: Result<(), String>) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        match outcome {
            Ok(()) => self.ok_us.push(us),
            Err(reason) => {
                self.failed_us.push(us);
                *self.failures.entry(reason).or_default() += 1;
            }
        }
    }

    pub fn merge(&mut self, other: Stats) {
        self.ok_us.extend(other.ok_us);
        self.failed_us.extend(other.failed_us);
        for (reason, count) in other.failures {
            *self.failures.entry(reason).or_default() += count;
        }
    }

    /// Adds `later`, another run of the same phase: its samples and its wall time.
    pub fn append(&mut self, later: Stats) {
        self.elapsed += later.elapsed;
        self.merge(later);
    }

    pub fn ok(&self) -> u64 {
        self.ok_us.len() as u64
    }

    pub fn failed(&self) -> u64 {
        self.failed_us.len() as u64
    }

    /// Successes per second of wall time.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ok() as f64 / secs
        } else {
            0.0
        }
    }

    /// Latency percentiles of the successes.
    pub fn latency(&self) -> Percentiles {
        Percentiles::of(&self.ok_us)
    }

    /// Latency percentiles of the failures.
    pub fn failure_latency(&self) -> Percentiles {
        Percentiles::of(&self.failed_us)
    }

    /// `"12 OUT_OF_STOCK, 1 timeout"`, or `-`.
    pub fn failures_text(&self) -> String {
        if self.failures.is_empty() {
            return "-".into();
        }
        let mut by_count: Vec<(&String, &u64)> = self.failures.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        by_count
            .iter()
            .map(|(reason, count)| format!("{count} {reason}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Latency percentiles in milliseconds (nearest rank); all zero when empty.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub count: usize,
}

impl Percentiles {
    pub fn of(samples_us: &[u64]) -> Self {
        if samples_us.is_empty() {
            return Self::default();
        }
        let mut sorted = samples_us.to_vec();
        sorted.sort_unstable();
        let at = |q: f64| {
            let rank = (q * sorted.len() as f64).ceil() as usize;
            sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
        };
        Self {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: sorted[sorted.len() - 1] as f64 / 1000.0,
            count: sorted.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        let p = Percentiles::of(&samples);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(Percentiles::of(&[]).count, 0);
        assert_eq!(Percentiles::of(&[7000]).p99, 7.0);
    }

    #[test]
    fn failures_are_counted_by_reason_and_listed_biggest_first() {
        let mut stats = Stats::default();
        stats.record(Duration::from_millis(2), Ok(()));
        stats.record(Duration::from_millis(3), Err("timeout".into()));
        let mut other = Stats::default();
        other.record(Duration::from_millis(1), Err("ABORTED/X".into()));
        other.record(Duration::from_millis(1), Err("ABORTED/X".into()));
        stats.merge(other);
        assert_eq!((stats.ok(), stats.failed()), (1, 3));
        assert_eq!(stats.failures_text(), "2 ABORTED/X, 1 timeout");
        stats.elapsed = Duration::from_millis(500);
        assert_eq!(stats.throughput(), 2.0);
    }
}
