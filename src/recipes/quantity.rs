//! Exact ingredient quantities: rationals, so ⅓ cup stays ⅓ cup (no 0.3332999) and scaling is exact.

use std::fmt;

/// A non-negative rational number, always reduced, denominator > 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    num: u64,
    den: u64,
}

/// Largest accepted value: nobody needs a million of anything in a recipe, and it keeps arithmetic small.
const MAX_VALUE: u64 = 1_000_000;

const VULGAR: &[(char, u64, u64)] = &[
    ('½', 1, 2),
    ('⅓', 1, 3),
    ('⅔', 2, 3),
    ('¼', 1, 4),
    ('¾', 3, 4),
    ('⅕', 1, 5),
    ('⅖', 2, 5),
    ('⅗', 3, 5),
    ('⅘', 4, 5),
    ('⅙', 1, 6),
    ('⅚', 5, 6),
    ('⅛', 1, 8),
    ('⅜', 3, 8),
    ('⅝', 5, 8),
    ('⅞', 7, 8),
];

fn gcd_wide(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd_wide(b, a % b)
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Quantity {
    pub fn new(num: u64, den: u64) -> Option<Self> {
        if den == 0 {
            return None;
        }
        let g = gcd(num, den).max(1);
        let (num, den) = (num / g, den / g);
        // Bounded values and denominators keep every product below u64::MAX.
        if den > MAX_VALUE || num / den > MAX_VALUE {
            return None;
        }
        Some(Self { num, den })
    }

    /// `num/den` from wide arithmetic; denominators too large to keep are rounded to 1/10 000.
    fn from_wide(num: u128, den: u128) -> Option<Self> {
        if den == 0 {
            return None;
        }
        let g = gcd_wide(num, den).max(1);
        let (mut num, mut den) = (num / g, den / g);
        if den > u128::from(MAX_VALUE) {
            num = (num * 10_000 + den / 2) / den;
            den = 10_000;
        }
        Self::new(u64::try_from(num).ok()?, u64::try_from(den).ok()?)
    }

    pub fn checked_mul(self, other: Self) -> Option<Self> {
        Self::from_wide(
            u128::from(self.num) * u128::from(other.num),
            u128::from(self.den) * u128::from(other.den),
        )
    }

    pub fn checked_div(self, other: Self) -> Option<Self> {
        Self::from_wide(
            u128::from(self.num) * u128::from(other.den),
            u128::from(self.den) * u128::from(other.num),
        )
    }

    /// The vulgar-fraction character's value (`½` → 1/2).
    pub fn from_vulgar(c: char) -> Option<Self> {
        VULGAR
            .iter()
            .find(|(v, ..)| *v == c)
            .and_then(|(_, n, d)| Self::new(*n, *d))
    }

    /// `3`, `1.5`, `1,5`, `1/2`, `.5`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Some((n, d)) = text.split_once('/') {
            return Self::new(n.trim().parse().ok()?, d.trim().parse().ok()?);
        }
        let text = text.replace(',', ".");
        let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
        if (whole.is_empty() && frac.is_empty()) || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
            return None;
        }
        if frac.len() > 6 || whole.len() > 7 {
            return None;
        }
        let den = 10u64.pow(u32::try_from(frac.len()).ok()?);
        let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
        let frac: u64 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
        Self::new(whole * den + frac, den)
    }

    pub fn checked_add(self, other: Self) -> Option<Self> {
        let num = self
            .num
            .checked_mul(other.den)?
            .checked_add(other.num.checked_mul(self.den)?)?;
        Self::new(num, self.den.checked_mul(other.den)?)
    }

    /// The kitchen fraction within 1/2000 of a value below 1: stored decimals (0.3333) snap back to the
    /// fraction they came from.
    fn vulgar(self) -> Option<&'static (char, u64, u64)> {
        VULGAR.iter().find(|(_, n, d)| {
            let diff = i128::from(self.num) * i128::from(*d) - i128::from(*n) * i128::from(self.den);
            diff.unsigned_abs() * 2000 < u128::from(self.den) * u128::from(*d)
        })
    }

    /// The exact kitchen fraction a stored four-place decimal stands for (1.3333 → 1⅓), else the value itself.
    pub fn snapped(self) -> Self {
        let whole = self.num / self.den;
        let rest = Self {
            num: self.num % self.den,
            den: self.den,
        };
        match rest.vulgar() {
            Some((_, n, d)) if rest.num != 0 => Self::new(whole * d + n, *d).unwrap_or(self),
            _ => self,
        }
    }

    /// Decimal text to two places, as metric amounts are written ("3.2", "1.05", "0.33").
    pub fn plain(self) -> String {
        self.rounded(100).unwrap_or(self).to_decimal()
    }

    pub fn is_whole(self) -> bool {
        self.den == 1
    }

    /// The nearest multiple of `1/den` (halves round up).
    pub fn rounded(self, den: u64) -> Option<Self> {
        let (num, own) = (u128::from(self.num), u128::from(self.den));
        let nearest = (num * u128::from(den) * 2 + own) / (2 * own);
        Self::new(u64::try_from(nearest).ok()?, den)
    }

    /// Exact decimal text when the denominator allows it (`1.5`), else four places (`0.3333`).
    pub fn to_decimal(&self) -> String {
        let whole = self.num / self.den;
        let rest = self.num % self.den;
        if rest == 0 {
            return whole.to_string();
        }
        let mut d = self.den;
        while d.is_multiple_of(2) {
            d /= 2;
        }
        while d.is_multiple_of(5) {
            d /= 5;
        }
        let places = if d == 1 { 6 } else { 4 };
        let scaled = (u128::from(rest) * 10u128.pow(places) + u128::from(self.den) / 2) / u128::from(self.den);
        let digits = format!("{scaled:0width$}", width = places as usize);
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (u128::from(self.num) * u128::from(other.den)).cmp(&(u128::from(other.num) * u128::from(self.den)))
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// How a cook writes it: `1½`, `⅓`, `2`, or `0.45` when no kitchen fraction fits.
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.num / self.den;
        let rest = Quantity {
            num: self.num % self.den,
            den: self.den,
        };
        if rest.num == 0 {
            return write!(f, "{whole}");
        }
        match rest.vulgar() {
            Some((c, ..)) if whole == 0 => write!(f, "{c}"),
            Some((c, ..)) => write!(f, "{whole}{c}"),
            None => {
                let text = self.to_decimal();
                let (w, frac) = text.split_once('.').unwrap_or((&text, ""));
                let frac: String = frac.chars().take(2).collect();
                write!(
                    f,
                    "{w}.{}",
                    if frac.trim_end_matches('0').is_empty() {
                        "0"
                    } else {
                        frac.trim_end_matches('0')
                    }
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity::parse(text).unwrap_or_else(|| panic!("{text}"))
    }

    #[test]
    fn parsing_and_exact_decimals() {
        assert_eq!(q("1.5"), Quantity::new(3, 2).unwrap_or_else(|| panic!()));
        assert_eq!(q("1,5"), q("3/2"));
        assert_eq!(q(".25").to_decimal(), "0.25");
        assert_eq!(q("1/3").to_decimal(), "0.3333");
        assert_eq!(q("200").to_decimal(), "200");
        assert!(Quantity::parse("1/0").is_none());
        assert!(Quantity::parse("abc").is_none());
        assert!(Quantity::parse("99999999").is_none());
        assert!(Quantity::parse("1/99999999999").is_none());
    }

    #[test]
    fn scaling_is_exact() {
        let factor = q("6").checked_div(q("4")).unwrap_or_else(|| panic!());
        assert_eq!(q("1.5").checked_mul(factor).map(|x| x.to_string()), Some("2¼".into()));
        assert_eq!(q("0.3333").checked_mul(q("2")).map(|x| x.to_string()), Some("⅔".into()));
        let third = q("1").checked_div(q("3")).unwrap_or_else(|| panic!());
        assert_eq!(third.checked_mul(q("3")), Some(q("1")));
        assert!(q("1").checked_div(q("0")).is_none());
    }

    #[test]
    fn stored_decimals_snap_back_to_kitchen_fractions() {
        assert_eq!(q("0.3333").snapped(), q("1/3"));
        assert_eq!(q("2.6667").snapped(), q("8/3"));
        assert_eq!(q("0.45").snapped(), q("0.45"));
        assert_eq!(q("3").snapped(), q("3"));
        assert!(q("0.3333")
            .snapped()
            .checked_mul(q("3"))
            .is_some_and(Quantity::is_whole));
    }

    #[test]
    fn ordering_and_rounding() {
        assert!(q("1/3") < q("0.3334"));
        assert!(q("2") > q("1.999"));
        assert_eq!(q("326.796").rounded(1), Some(q("327")));
        assert_eq!(q("6.949").rounded(10), Some(q("6.9")));
        assert_eq!(q("6.95").rounded(10), Some(q("7")));
        assert_eq!(q("3.2").plain(), "3.2");
        assert_eq!(q("1/3").plain(), "0.33");
    }

    #[test]
    fn display_uses_kitchen_fractions() {
        assert_eq!(q("1.5").to_string(), "1½");
        assert_eq!(q("1/3").to_string(), "⅓");
        assert_eq!(q("2").to_string(), "2");
        assert_eq!(q("0.45").to_string(), "0.45");
        assert_eq!(q("0.3333").to_string(), "⅓", "stored four-place decimals snap back");
        assert_eq!(q("2.6667").to_string(), "2⅔");
        assert_eq!(q("0.3").to_string(), "0.3");
        assert_eq!(
            q("1")
                .checked_add(Quantity::from_vulgar('¾').unwrap_or_else(|| panic!()))
                .map(|x| x.to_string()),
            Some("1¾".into())
        );
    }
}
