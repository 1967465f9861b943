//! Durations drawn from seeded distributions: `"10m"`, `"uniform(5m, 20m)"`, `"exp(5m)"`,
//! `"normal(10m, 2m)"`, `"lognormal(10m, 0.5)"`.

use std::fmt;

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal};
use serde::{Deserialize, Serialize};

use crate::time::{parse_duration, SimDuration};

/// A duration that is fixed or drawn at random.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Dist {
    Fixed {
        value: SimDuration,
    },
    /// Uniform between `low` and `high`.
    Uniform {
        low: SimDuration,
        high: SimDuration,
    },
    /// Exponential with this mean (Poisson arrivals when used as `every`).
    Exp {
        mean: SimDuration,
    },
    /// Normal, cut at zero.
    Normal {
        mean: SimDuration,
        sd: SimDuration,
    },
    /// Log-normal with this median and shape `sigma` (the standard deviation of the log).
    Lognormal {
        median: SimDuration,
        sigma: f64,
    },
}

impl Dist {
    /// Draws one value (whole milliseconds, never negative).
    pub fn sample(&self, rng: &mut impl Rng) -> SimDuration {
        let ms = match *self {
            Dist::Fixed { value } => return value,
            Dist::Uniform { low, high } => {
                if high.0 <= low.0 {
                    return low;
                }
                return SimDuration(rng.random_range(low.0..=high.0));
            }
            Dist::Exp { mean } => {
                if mean.0 == 0 {
                    return SimDuration::ZERO;
                }
                Exp::new(1.0 / mean.0 as f64).expect("positive rate").sample(rng)
            }
            Dist::Normal { mean, sd } => {
                Normal::new(mean.0 as f64, sd.0 as f64).expect("finite sd").sample(rng)
            }
            Dist::Lognormal { median, sigma } => {
                LogNormal::new((median.0.max(1) as f64).ln(), sigma)
                    .expect("valid sigma")
                    .sample(rng)
            }
        };
        SimDuration(if ms.is_finite() && ms > 0.0 { ms.round().min(1.0e15) as u64 } else { 0 })
    }

    /// The mean, for documentation and generated workloads.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Fixed { value } => value.0 as f64,
            Dist::Uniform { low, high } => (low.0 + high.0) as f64 / 2.0,
            Dist::Exp { mean } => mean.0 as f64,
            Dist::Normal { mean, .. } => mean.0 as f64,
            Dist::Lognormal { median, sigma } => median.0 as f64 * (sigma * sigma / 2.0).exp(),
        }
    }
}

impl fmt::Display for Dist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dist::Fixed { value } => write!(f, "{value}"),
            Dist::Uniform { low, high } => write!(f, "uniform({low}, {high})"),
            Dist::Exp { mean } => write!(f, "exp({mean})"),
            Dist::Normal { mean, sd } => write!(f, "normal({mean}, {sd})"),
            Dist::Lognormal { median, sigma } => write!(f, "lognormal({median}, {sigma})"),
        }
    }
}

/// What a distribution string should look like, for error messages.
pub const DIST_HELP: &str =
    "expected a duration (\"10m\") or a distribution: \"uniform(5m, 20m)\", \
     \"exp(5m)\" (mean), \"normal(10m, 2m)\" (mean, standard deviation) or \"lognormal(10m, 0.5)\" \
     (median, sigma)";

/// Parses a duration or a distribution.
pub fn parse_dist(s: &str) -> Result<Dist, String> {
    let s = s.trim();
    let Some(open) = s.find('(') else {
        return parse_duration(s).map(|value| Dist::Fixed { value }).map_err(|e| e.to_string());
    };
    if !s.ends_with(')') {
        return Err(format!("missing ')' in {s:?}"));
    }
    let name = s[..open].trim().to_ascii_lowercase();
    let args: Vec<&str> = s[open + 1..s.len() - 1].split(',').map(str::trim).collect();
    let dur = |a: &str| parse_duration(a).map_err(|e| e.to_string());
    let want = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "{name}(...) takes {n} argument{}, got {}",
                if n == 1 { "" } else { "s" },
                args.len()
            ))
        }
    };
    match name.as_str() {
        "uniform" => {
            want(2)?;
            let (low, high) = (dur(args[0])?, dur(args[1])?);
            if high < low {
                return Err(format!("uniform({low}, {high}): the low end is above the high end"));
            }
            Ok(Dist::Uniform { low, high })
        }
        "exp" | "exponential" => {
            want(1)?;
            Ok(Dist::Exp { mean: dur(args[0])? })
        }
        "normal" => {
            want(2)?;
            Ok(Dist::Normal { mean: dur(args[0])?, sd: dur(args[1])? })
        }
        "lognormal" => {
            want(2)?;
            let sigma: f64 = args[1].parse().map_err(|_| {
                format!("lognormal sigma must be a number like 0.5, got {:?}", args[1])
            })?;
            if !(sigma.is_finite() && sigma >= 0.0) {
                return Err("lognormal sigma must be zero or positive".into());
            }
            Ok(Dist::Lognormal { median: dur(args[0])?, sigma })
        }
        other => Err(format!("unknown distribution {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::SeededRng;

    #[test]
    fn parses() {
        assert_eq!(parse_dist("10m").unwrap(), Dist::Fixed { value: SimDuration::from_secs(600) });
        assert_eq!(
            parse_dist("uniform(5m, 20m)").unwrap(),
            Dist::Uniform { low: SimDuration::from_secs(300), high: SimDuration::from_secs(1200) }
        );
        assert_eq!(parse_dist("exp(5m)").unwrap(), Dist::Exp { mean: SimDuration::from_secs(300) });
        assert!(matches!(parse_dist("lognormal(10m, 0.5)").unwrap(), Dist::Lognormal { .. }));
        assert!(parse_dist("normal(10m)").is_err());
        assert!(parse_dist("gamma(1m, 2)").is_err());
        assert!(parse_dist("uniform(20m, 5m)").is_err());
        assert!(parse_dist("exp(5m").is_err());
    }

    #[test]
    fn samples_have_the_right_mean() {
        let mut rng = SeededRng::new(1, 0);
        for d in ["exp(10m)", "uniform(5m, 15m)", "normal(10m, 1m)", "lognormal(10m, 0.1)"] {
            let dist = parse_dist(d).unwrap();
            let n = 20_000;
            let sum: f64 = (0..n).map(|_| dist.sample(&mut rng).0 as f64).sum();
            let mean = sum / n as f64;
            assert!((mean / dist.mean() - 1.0).abs() < 0.03, "{d}: {mean} vs {}", dist.mean());
        }
    }
}
