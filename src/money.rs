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
    fn formats() {
        assert_eq!(format_usd(dec!(1234.567)), "$1,234.57");
        assert_eq!(format_usd(dec!(0.5)), "$0.50");
        assert_eq!(format_usd(dec!(0.000123)), "$0.000123");
        assert_eq!(format_usd(dec!(0)), "$0.00");
        assert_eq!(format_usd(dec!(-2)), "-$2.00");
    }
}
