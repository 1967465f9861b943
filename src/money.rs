//! Money. Every amount is a [`Usd`], an exact decimal: costs are sums of many small products
//! (rate × seconds), and accumulated floats would drift. Rounding happens only when a report is
//! rendered as text.

pub use rust_decimal::Decimal;

/// US dollars, exact.
pub type Usd = Decimal;

/// Seconds in an hour, as a decimal, for converting hourly rates.
pub fn seconds_per_hour() -> Decimal {
    Decimal::from(3600)
}

/// The largest price berth accepts for one unit-hour (a host-hour, a vCPU-hour, a GB-hour, an
/// hour of an extra cost): a million dollars. With scenario durations capped at 10^15 ms, every
/// product berth forms (price × seconds × quantity, summed over a run) then stays far inside
/// the range of a decimal (about 7.9 × 10^28), so billing can never overflow.
pub const MAX_USD_PER_HOUR: u64 = 1_000_000;

/// Checks a price read from a TOML file, given the file's text at the value (`raw`, from its
/// span) and the decimal it was read as. A quoted string is exact. A bare TOML number went
/// through a 64-bit float and is accepted only if that kept every digit written; otherwise the
/// error says to quote it. Returns (message, hint) for a diagnostic at the value.
pub fn check_price(raw: &str, value: Usd) -> Result<(), (String, String)> {
    let raw = raw.trim();
    if value.is_sign_negative() && !value.is_zero() {
        return Err(("a price cannot be negative".into(), "give 0 or more".into()));
    }
    if value > Decimal::from(MAX_USD_PER_HOUR) {
        return Err((
            format!("{value} is more than berth accepts for one unit-hour (${MAX_USD_PER_HOUR})"),
            "prices are US dollars per hour (per host, vCPU or GB); check the units".into(),
        ));
    }
    if raw.starts_with('"') || raw.starts_with('\'') {
        return Ok(());
    }
    let written = raw.replace('_', "");
    let exact = written.parse::<Decimal>().ok().or_else(|| Decimal::from_scientific(&written).ok());
    if exact != Some(value) {
        return Err((
            format!("the number {raw} cannot be read exactly (TOML reads it as a float: {value})"),
            format!("quote it, and berth reads it as an exact decimal: \"{written}\""),
        ));
    }
    Ok(())
}

/// Formats an amount for people: `$1,234.57` (two decimals), or more decimals for amounts
/// under a cent so that they do not show as `$0.00`.
pub fn format_usd(amount: Usd) -> String {
    let negative = amount.is_sign_negative() && !amount.is_zero();
    let abs = amount.abs();
    let dp = if abs < Decimal::new(1, 2) && !abs.is_zero() { 6 } else { 2 };
    let rounded =
        abs.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let s = format!("{rounded:.prec$}", prec = dp as usize);
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!(
        "{}${}{}{}",
        if negative { "-" } else { "" },
        grouped,
        if frac.is_empty() { "" } else { "." },
        frac
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn prices_are_exact_and_bounded() {
        assert!(check_price("\"0.04048\"", dec!(0.04048)).is_ok());
        assert!(check_price("0.04048", dec!(0.04048)).is_ok());
        assert!(check_price("1_000", dec!(1000)).is_ok());
        // 21 significant digits do not survive an f64.
        let (msg, hint) =
            check_price("0.123456789012345678901", dec!(0.12345678901234568)).unwrap_err();
        assert!(msg.contains("cannot be read exactly"), "{msg}");
        assert!(hint.contains("\"0.123456789012345678901\""), "{hint}");
        let (msg, _) = check_price("\"1e12\"", dec!(1000000000000)).unwrap_err();
        assert!(msg.contains("more than berth accepts"), "{msg}");
        assert!(check_price("-1", dec!(-1)).is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(format_usd(dec!(1234.567)), "$1,234.57");
        assert_eq!(format_usd(dec!(0.5)), "$0.50");
        assert_eq!(format_usd(dec!(0.000123)), "$0.000123");
        assert_eq!(format_usd(dec!(0)), "$0.00");
        assert_eq!(format_usd(dec!(-2)), "-$2.00");
    }
}
