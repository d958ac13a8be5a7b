//! Log sequence numbers and event positions.
//!
//! An LSN alone does not identify an event: every row of a multi-row INSERT or a COPY shares one WAL record, and so
//! one LSN. A [`Position`] — the commit LSN of the event's transaction plus the event's index inside it — does, and
//! is what offsets, acknowledgements and consumers' deduplication are written in.

use std::fmt;
use std::str::FromStr;

/// A PostgreSQL write-ahead-log position, printed as PostgreSQL prints it (`16/B374D848`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(pub u64);

impl Lsn {
    pub const ZERO: Lsn = Lsn(0);
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// The text is not an LSN of the form `HI/LO` with hexadecimal halves.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not an LSN (expected the form 16/B374D848)")]
pub struct ParseLsnError(String);

impl FromStr for Lsn {
    type Err = ParseLsnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseLsnError(s.to_owned());
        let (hi, lo) = s.split_once('/').ok_or_else(err)?;
        let hi = u32::from_str_radix(hi, 16).map_err(|_| err())?;
        let lo = u32::from_str_radix(lo, 16).map_err(|_| err())?;
        Ok(Lsn(((hi as u64) << 32) | lo as u64))
    }
}

impl serde::Serialize for Lsn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Lsn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where an event stands in the total order of everything Sluice emits.
///
/// Streamed events: the commit LSN of their transaction (the start of its commit record, as pgoutput's Begin and
/// Commit messages carry it) and their 0-based index among the transaction's changes. Snapshot rows: the LSN of the
/// snapshot they were read at and their index in that snapshot, which orders them before every change streamed
/// after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub commit_lsn: Lsn,
    pub ordinal: u64,
}

impl Position {
    pub fn new(commit_lsn: Lsn, ordinal: u64) -> Self {
        Position { commit_lsn, ordinal }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.commit_lsn, self.ordinal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lsn_prints_like_postgres() {
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
        assert_eq!(Lsn(0).to_string(), "0/0");
    }

    #[test]
    fn lsn_rejects_garbage() {
        assert!("".parse::<Lsn>().is_err());
        assert!("16".parse::<Lsn>().is_err());
        assert!("G/0".parse::<Lsn>().is_err());
        assert!("1/2/3".parse::<Lsn>().is_err());
    }

    #[test]
    fn positions_order_by_commit_then_ordinal() {
        let a = Position::new(Lsn(10), 5);
        let b = Position::new(Lsn(11), 0);
        let c = Position::new(Lsn(11), 1);
        assert!(a < b && b < c);
    }

    proptest! {
        #[test]
        fn lsn_text_round_trips(v in any::<u64>()) {
            let lsn = Lsn(v);
            prop_assert_eq!(lsn.to_string().parse::<Lsn>().unwrap(), lsn);
        }
    }
}
