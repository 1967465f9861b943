//! Scenario time. berth's core never reads a clock: every function that needs "now" takes a
//! [`SimTime`], which the simulator advances virtually and the Docker runtime derives from the
//! wall clock times the `--time-scale`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Milliseconds since the start of a run (scenario time, not wall time).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(pub u64);

/// A span of scenario time in milliseconds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimDuration(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);

    pub fn as_millis(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// The time span from `earlier` to `self` (zero if `earlier` is later).
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);

    pub fn from_secs(s: u64) -> Self {
        SimDuration(s * 1000)
    }

    pub fn from_millis(ms: u64) -> Self {
        SimDuration(ms)
    }

    pub fn as_millis(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Whole seconds, rounded up: the way AWS rounds billed durations.
    pub fn as_secs_ceil(self) -> u64 {
        self.0.div_ceil(1000)
    }
}

impl std::ops::Add for SimDuration {
    type Output = SimDuration;
    fn add(self, o: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(o.0))
    }
}

impl fmt::Display for SimDuration {
    /// Renders in the same notation the files use, with the largest exact unit (`90s`, `10m`,
    /// `2h`, `1d`, `1500ms`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] {
            if ms >= size && ms % size == 0 {
                return write!(f, "{}{}", ms / size, unit);
            }
        }
        if ms == 0 {
            return write!(f, "0s");
        }
        write!(f, "{ms}ms")
    }
}

impl fmt::Display for SimTime {
    /// `d+hh:mm:ss` from the start of the run, e.g. `2+03:04:05`, or `03:04:05` on day 0.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0 / 1000;
        let (d, h, m, sec) = (s / 86_400, (s / 3600) % 24, (s / 60) % 60, s % 60);
        if d > 0 {
            write!(f, "{d}+{h:02}:{m:02}:{sec:02}")
        } else {
            write!(f, "{h:02}:{m:02}:{sec:02}")
        }
    }
}

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: expected a number and a unit, like \"500ms\", \"90s\", \"10m\", \"2h\" or \"1d\"")]
pub struct DurationError {
    pub input: String,
}

/// Parses `"90s"`, `"10m"`, `"2h"`, `"1d"`, `"500ms"`, `"1.5h"` or a combination such as
/// `"1h30m"`. A bare number is refused on purpose: in files, a unit-less number is ambiguous.
pub fn parse_duration(input: &str) -> Result<SimDuration, DurationError> {
    let err = || DurationError { input: input.to_string() };
    let s = input.trim();
    if s.is_empty() {
        return Err(err());
    }
    let mut total_ms: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(err)?;
        if num_len == 0 {
            return Err(err());
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| err())?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        rest = &rest[unit_len..];
        let factor = match unit {
            "ms" => 1.0,
            "s" | "sec" | "secs" => 1000.0,
            "m" | "min" | "mins" => 60_000.0,
            "h" | "hr" | "hrs" => 3_600_000.0,
            "d" | "day" | "days" => 86_400_000.0,
            "w" => 7.0 * 86_400_000.0,
            _ => return Err(err()),
        };
        total_ms += value * factor;
    }
    if !total_ms.is_finite() || !(0.0..=1.0e15).contains(&total_ms) {
        return Err(err());
    }
    Ok(SimDuration(total_ms.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("90s").unwrap(), SimDuration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), SimDuration::from_secs(600));
        assert_eq!(parse_duration("2h").unwrap(), SimDuration::from_secs(7200));
        assert_eq!(parse_duration("1d").unwrap(), SimDuration::from_secs(86_400));
        assert_eq!(parse_duration("1h30m").unwrap(), SimDuration::from_secs(5400));
        assert_eq!(parse_duration("1.5h").unwrap(), SimDuration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), SimDuration::from_millis(250));
    }

    #[test]
    fn refuses_garbage() {
        for bad in ["", "10", "s", "10x", "-5s", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn displays() {
        assert_eq!(SimDuration::from_secs(90).to_string(), "90s");
        assert_eq!(SimDuration::from_secs(600).to_string(), "10m");
        assert_eq!(SimDuration::from_secs(86_400).to_string(), "1d");
        assert_eq!(SimTime(90_061_000).to_string(), "1+01:01:01");
        assert_eq!(SimDuration(0).as_secs_ceil(), 0);
        assert_eq!(SimDuration(1).as_secs_ceil(), 1);
    }
}
