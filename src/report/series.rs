//! Bounded summaries of a run for charts: time series with a fixed number of buckets, a
//! log-linear histogram for waiting times, and a capped Gantt of task intervals. Memory does not
//! grow with the number of tasks.

use serde::{Deserialize, Serialize};

/// Buckets per time series, whatever the scenario's duration.
pub const BUCKETS: usize = 240;
/// Task bars kept for the Gantt chart; beyond this only counts are kept (the utilisation series
/// is the aggregate view).
pub const MAX_BARS: usize = 2000;
/// Per-host series are kept for up to this many hosts; above it, per host group.
pub const MAX_HOST_LANES: usize = 64;

/// A quantity integrated over time into fixed buckets (value × milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integral {
    pub sums: Vec<f64>,
}

impl Integral {
    pub fn new() -> Self {
        Integral { sums: vec![0.0; BUCKETS] }
    }

    /// Adds `level` held from `from` to `to` (ms).
    pub fn add(&mut self, bucket_ms: u64, from: u64, to: u64, level: f64) {
        if to <= from || level == 0.0 {
            return;
        }
        let mut t = from;
        while t < to {
            let b = ((t / bucket_ms) as usize).min(BUCKETS - 1);
            let end = if b == BUCKETS - 1 { to } else { ((b as u64 + 1) * bucket_ms).min(to) };
            self.sums[b] += level * (end - t) as f64;
            t = end;
        }
    }

    /// Adds an `amount` spread evenly over `from..to` (ms); at `from` if the span is empty.
    pub fn spread(&mut self, bucket_ms: u64, from: u64, to: u64, amount: f64) {
        if to <= from {
            let b = ((from / bucket_ms) as usize).min(BUCKETS - 1);
            self.sums[b] += amount;
            return;
        }
        self.add(bucket_ms, from, to, amount / (to - from) as f64);
    }

    /// Average level per bucket.
    pub fn averages(&self, bucket_ms: u64) -> Vec<f64> {
        self.sums.iter().map(|s| s / bucket_ms as f64).collect()
    }
}

impl Default for Integral {
    fn default() -> Self {
        Integral::new()
    }
}

/// A level that changes at events, integrated into an [`Integral`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Level {
    pub value: f64,
    pub since: u64,
    pub integral: Integral,
}

impl Level {
    pub fn set(&mut self, bucket_ms: u64, now: u64, value: f64) {
        self.integral.add(bucket_ms, self.since, now, self.value);
        self.since = now;
        self.value = value;
    }

    pub fn add(&mut self, bucket_ms: u64, now: u64, delta: f64) {
        let v = self.value + delta;
        self.set(bucket_ms, now, v);
    }

    pub fn close(&mut self, bucket_ms: u64, end: u64) {
        let v = self.value;
        self.set(bucket_ms, end, v);
    }
}

/// Log-linear histogram of millisecond values: exact for 0 and below 32 ms, then 32 buckets
/// per power of two (under 3.2 % relative error).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    counts: Vec<u64>,
    pub n: u64,
    pub max: u64,
    pub sum: u128,
}

const SUB: u64 = 32;

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: vec![0; 64 * SUB as usize], n: 0, max: 0, sum: 0 }
    }
}

impl Histogram {
    fn index(v: u64) -> usize {
        if v < SUB {
            return v as usize;
        }
        let exp = 63 - v.leading_zeros() as u64; // >= 5
        let sub = (v >> (exp - 5)) & (SUB - 1);
        ((exp - 4) * SUB + sub) as usize
    }

    /// The largest value that falls in bucket `i`.
    fn upper(i: usize) -> u64 {
        let i = i as u64;
        if i < SUB {
            return i;
        }
        let exp = i / SUB + 4;
        let sub = i % SUB;
        ((SUB + sub + 1) << (exp - 5)) - 1
    }

    pub fn record(&mut self, v: u64) {
        self.counts[Self::index(v)] += 1;
        self.n += 1;
        self.max = self.max.max(v);
        self.sum += v as u128;
    }

    /// The value at quantile `q` (0..=1): an upper bound within 3.2 %, never above the maximum.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.n == 0 {
            return 0;
        }
        let rank = ((q * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::upper(i).min(self.max);
            }
        }
        self.max
    }
}

/// One task interval on a lane (a host in ECS mode, a slot in Fargate mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bar {
    pub lane: u32,
    /// Index into the report's `families`.
    pub family: u32,
    pub start_ms: u64,
    pub end_ms: u64,
    /// `completed`, `failed`, `stopped` or `running` (still running at the end).
    pub outcome: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_splits_across_buckets() {
        let mut i = Integral::new();
        i.add(10, 5, 25, 2.0);
        assert_eq!(&i.sums[..3], &[10.0, 20.0, 10.0]);
        let mut j = Integral::new();
        j.spread(10, 0, 20, 4.0);
        assert_eq!(&j.sums[..2], &[2.0, 2.0]);
    }

    #[test]
    fn histogram_quantiles() {
        let mut h = Histogram::default();
        for v in 0..100 {
            h.record(v * 1000);
        }
        assert_eq!(h.quantile(0.0), 0);
        let p50 = h.quantile(0.5);
        assert!((49_000..=49_000 * 104 / 100).contains(&p50), "{p50}");
        assert_eq!(h.quantile(1.0), 99_000);
        for v in [0u64, 31, 32, 33, 1000, 123_456_789] {
            let i = Histogram::index(v);
            assert!(Histogram::upper(i) >= v);
            assert!(i == 0 || Histogram::upper(i - 1) < v, "{v}");
        }
    }
}
