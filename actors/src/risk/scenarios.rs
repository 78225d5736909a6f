//! The historical stress scenarios, as a table of price shocks per asset class, and the
//! classification of a symbol into a class.
//!
//! | name                | window                          | major | alt   | stable |
//! |---------------------|---------------------------------|-------|-------|--------|
//! | `covid_crash_2020`  | 2020-03-12, one day             | -50 % | -55 % | 0      |
//! | `ftx_collapse_2022` | 2022-11-06 .. 11-13, one week   | -25 % | -40 % | 0      |
//! | `luna_2022`         | 2022-05-05 .. 05-12, one week   | -30 % | -60 % | 0      |
//! | `flash_crash`       | one bar (hypothetical)          | -15 % | -15 % | 0      |
//! | `rate_shock`        | one week (cf. 2022-06-10 .. 18) | -30 % | -35 % | 0      |
//!
//! Basis (rounded, approximate):
//! - `covid_crash_2020`: "Black Thursday": BTC fell about 40 % close to close and about
//!   50 % high to low over 12-13 March 2020; alts fell further.
//! - `ftx_collapse_2022`: the FTX run and bankruptcy: BTC about -25 % peak to trough in
//!   the week; exchange-linked alts (FTT, SOL) lost far more.
//! - `luna_2022`: the Terra (LUNA/UST) collapse: BTC about -30 %, broad alts about -60 %
//!   (LUNA itself about -100 %).
//! - `flash_crash`: a liquidation cascade inside one bar (cf. 2021-05-19).
//! - `rate_shock`: an inflation surprise and an outsized (75 bp) Fed hike: BTC about
//!   -30 % in a week.
//!
//! Why classes rather than per-symbol shocks: a portfolio may hold symbols the table has
//! never seen; majors (BTC, ETH), alts (everything else) and stablecoins (held at par)
//! cover any crypto book, and `asset_classes` in the stress request overrides the guess.
//! The magnitudes are stress sizes in the spirit of those events, rounded toward the
//! severe side, not a price record. Stablecoins are held at par in every scenario (a
//! depeg, as UST's, is a custom scenario).

use serde::{Deserialize, Serialize};

/// Coarse asset class that decides a position's shock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    /// BTC and ETH (and their wrapped forms).
    Major,
    /// Any other crypto asset.
    Alt,
    /// USD-pegged stablecoins and fiat.
    Stable,
}

/// One historical scenario: the total price return per asset class over its window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scenario {
    pub name: &'static str,
    pub description: &'static str,
    pub window: &'static str,
    pub major: f64,
    pub alt: f64,
    pub stable: f64,
}

impl Scenario {
    /// The total return this scenario applies to an asset of `class`.
    pub fn shock(&self, class: AssetClass) -> f64 {
        match class {
            AssetClass::Major => self.major,
            AssetClass::Alt => self.alt,
            AssetClass::Stable => self.stable,
        }
    }
}

/// The table in the module docs.
pub const HISTORICAL_SCENARIOS: [Scenario; 5] = [
    Scenario {
        name: "covid_crash_2020",
        description: "COVID crash (Black Thursday): crypto halves in one day",
        window: "2020-03-12, one day",
        major: -0.50,
        alt: -0.55,
        stable: 0.0,
    },
    Scenario {
        name: "ftx_collapse_2022",
        description: "FTX collapse: exchange failure, contagion over a week",
        window: "2022-11-06 to 2022-11-13, one week",
        major: -0.25,
        alt: -0.40,
        stable: 0.0,
    },
    Scenario {
        name: "luna_2022",
        description: "Terra/LUNA collapse: algorithmic stablecoin failure, alts crushed over a week",
        window: "2022-05-05 to 2022-05-12, one week",
        major: -0.30,
        alt: -0.60,
        stable: 0.0,
    },
    Scenario {
        name: "flash_crash",
        description: "Flash crash: a liquidation cascade inside one bar",
        window: "one bar (hypothetical)",
        major: -0.15,
        alt: -0.15,
        stable: 0.0,
    },
    Scenario {
        name: "rate_shock",
        description: "Rate shock: inflation surprise and an outsized central-bank hike, risk assets sold for a week",
        window: "one week (cf. 2022-06-10 to 2022-06-18)",
        major: -0.30,
        alt: -0.35,
        stable: 0.0,
    },
];

/// The historical scenario called `name`.
pub fn scenario(name: &str) -> Option<&'static Scenario> {
    HISTORICAL_SCENARIOS.iter().find(|s| s.name == name)
}

const MAJORS: [&str; 5] = ["BTC", "ETH", "XBT", "WBTC", "WETH"];
const STABLES: [&str; 10] = ["USDT", "USDC", "DAI", "BUSD", "TUSD", "FDUSD", "USDP", "PYUSD", "USD", "EUR"];
/// Quote currencies stripped from separator-less symbols (`BTCUSDT` -> `BTC`), longest first.
const QUOTES: [&str; 7] = ["FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USD", "EUR"];

/// Guesses the class of a symbol from its base asset: the part before `/`, `-`, `_` or
/// `:` (`BTC/USDT` -> BTC), or, without a separator, the symbol minus a known quote
/// suffix (`ETHUSDT` -> ETH). Majors and stablecoins are fixed lists; the rest is `Alt`.
pub fn classify(symbol: &str) -> AssetClass {
    let upper = symbol.to_ascii_uppercase();
    let base = match upper.split(['/', '-', '_', ':']).next() {
        Some(b) if b.len() < upper.len() => b.to_string(),
        _ => QUOTES.iter().find_map(|q| upper.strip_suffix(q).filter(|b| !b.is_empty())).unwrap_or(&upper).to_string(),
    };
    if MAJORS.contains(&base.as_str()) {
        AssetClass::Major
    } else if STABLES.contains(&base.as_str()) {
        AssetClass::Stable
    } else {
        AssetClass::Alt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(classify("BTC/USDT"), AssetClass::Major);
        assert_eq!(classify("eth-usd"), AssetClass::Major);
        assert_eq!(classify("ETHUSDT"), AssetClass::Major);
        assert_eq!(classify("ADA/USDT"), AssetClass::Alt);
        assert_eq!(classify("USDC/USDT"), AssetClass::Stable);
        assert_eq!(classify("USDT"), AssetClass::Stable);
        assert_eq!(classify(""), AssetClass::Alt);
    }

    #[test]
    fn table_is_consistent() {
        for s in HISTORICAL_SCENARIOS {
            assert!(s.major < 0.0 && s.alt <= s.major && s.stable == 0.0, "{}", s.name);
            assert_eq!(scenario(s.name), Some(&s));
        }
        assert_eq!(scenario("covid_crash_2020").unwrap().shock(AssetClass::Major), -0.5);
        assert!(scenario("nope").is_none());
    }
}
