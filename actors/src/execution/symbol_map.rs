//! [`SymbolMap`]: values by symbol (the portfolio's positions, the core's last prices
//! and open orders), found without comparing text when the caller holds the symbol as a
//! [`SharedStr`].
//!
//! Why: a backtest marks its position at every bar's close, and each mark looked the
//! symbol up twice in a `BTreeMap<String, _>` (the last price, the position): a tree
//! walk and a `memcmp` each. On the peers' million-bar workload those two lookups were
//! about 8% of the engine's time (measured by skipping them). Here each symbol keeps the
//! slot it was first inserted at (nothing is ever removed: the portfolio keeps flat
//! positions, the core every price it saw), and a lookup by a [`SharedStr`] first looks
//! for a slot holding that very string (`SharedStr::ptr_eq`, one pointer comparison per
//! slot, over the first [`IDENTITY_SLOTS_MAX`] slots). A backtest's leg passes the same
//! shared symbol every bar, and its orders and fills carry clones of it, so all of them
//! are found that way. A lookup by `&str`, or by a `SharedStr` that is another
//! allocation of the same text, walks the B-tree index as before; a `&mut` lookup that
//! found its slot that way keeps the caller's allocation for the slot, so the next
//! lookup with it is found by identity.
//!
//! Identity is sound: the map holds a clone of the string it compares against, so the
//! allocation cannot be freed and reused for other text while the map has it.
//! Iteration and equality are in symbol-name order, as the B-tree's were.

use std::collections::BTreeMap;
use tradpal_messages::SharedStr;

/// Slots compared by identity before the B-tree is walked (a run of up to this many
/// symbols finds every symbol by a pointer comparison; a longer one its first symbols).
pub const IDENTITY_SLOTS_MAX: usize = 8;

/// A symbol to look up: any text, or a [`SharedStr`], which is found by identity first.
pub trait SymbolKey {
    fn text(&self) -> &str;
    fn shared(&self) -> Option<&SharedStr> {
        None
    }
}

impl SymbolKey for str {
    fn text(&self) -> &str {
        self
    }
}

impl SymbolKey for String {
    fn text(&self) -> &str {
        self
    }
}

impl SymbolKey for SharedStr {
    fn text(&self) -> &str {
        self.as_str()
    }
    fn shared(&self) -> Option<&SharedStr> {
        Some(self)
    }
}

#[derive(Clone)]
pub struct SymbolMap<V> {
    /// In insertion order; a slot never moves. Its key is the symbol's text, held as
    /// the allocation last used to reach it by a `&mut` lookup.
    slots: Vec<(SharedStr, V)>,
    /// Symbol -> index in `slots`, in name order.
    index: BTreeMap<SharedStr, u32>,
}

impl<V> Default for SymbolMap<V> {
    fn default() -> Self {
        SymbolMap { slots: Vec::new(), index: BTreeMap::new() }
    }
}

impl<V> SymbolMap<V> {
    pub fn new() -> Self {
        SymbolMap::default()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The slot holding `key`: by identity, then by text.
    #[inline]
    fn slot_of<K: SymbolKey + ?Sized>(&self, key: &K) -> Option<usize> {
        if let Some(s) = key.shared() {
            let near = &self.slots[..self.slots.len().min(IDENTITY_SLOTS_MAX)];
            if let Some(i) = near.iter().position(|(k, _)| SharedStr::ptr_eq(k, s)) {
                return Some(i);
            }
        }
        self.index.get(key.text()).map(|&i| i as usize)
    }

    pub fn contains_key<K: SymbolKey + ?Sized>(&self, key: &K) -> bool {
        self.slot_of(key).is_some()
    }

    #[inline]
    pub fn get<K: SymbolKey + ?Sized>(&self, key: &K) -> Option<&V> {
        self.slot_of(key).map(|i| &self.slots[i].1)
    }

    /// The value of `key`; a shared key found by its text becomes the slot's key (so the
    /// next lookup with it is a pointer comparison).
    #[inline]
    pub fn get_mut<K: SymbolKey + ?Sized>(&mut self, key: &K) -> Option<&mut V> {
        let i = self.slot_of_adopting(key)?;
        Some(&mut self.slots[i].1)
    }

    /// The value of `key`, made by `make` in a new slot when the symbol has none.
    #[inline]
    pub fn get_or_insert_with<K: SymbolKey + ?Sized>(&mut self, key: &K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.slot_of_adopting(key) {
            Some(i) => i,
            None => self.push(key, make()),
        };
        &mut self.slots[i].1
    }

    /// Inserts `value` for `key`; a value already there is replaced in its slot.
    pub fn insert<K: SymbolKey + ?Sized>(&mut self, key: &K, value: V) {
        match self.slot_of_adopting(key) {
            Some(i) => self.slots[i].1 = value,
            None => {
                self.push(key, value);
            }
        }
    }

    /// [`Self::slot_of`], the slot then keeping a shared key found by its text.
    #[inline]
    fn slot_of_adopting<K: SymbolKey + ?Sized>(&mut self, key: &K) -> Option<usize> {
        let i = self.slot_of(key)?;
        let slot = &mut self.slots[i];
        if let Some(s) = key.shared() {
            if !SharedStr::ptr_eq(&slot.0, s) {
                slot.0 = s.clone();
            }
        }
        debug_assert_eq!(slot.0.as_str(), key.text(), "a slot holds its symbol");
        Some(i)
    }

    /// A new slot for `key` (not in the map) holding `value`; its index.
    fn push<K: SymbolKey + ?Sized>(&mut self, key: &K, value: V) -> usize {
        let symbol = key.shared().cloned().unwrap_or_else(|| SharedStr::from(key.text()));
        let i = u32::try_from(self.slots.len()).expect("fewer than 2^32 symbols");
        self.slots.push((symbol.clone(), value));
        self.index.insert(symbol, i);
        i as usize
    }

    /// `(symbol, value)` in symbol-name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> + '_ {
        self.index.iter().map(|(k, &i)| (k.as_str(), &self.slots[i as usize].1))
    }

    /// Values in symbol-name order.
    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.index.values().map(|&i| &self.slots[i as usize].1)
    }

    /// Symbols in name order.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.index.keys().map(|k| k.as_str())
    }
}

impl<V: PartialEq> PartialEq for SymbolMap<V> {
    /// The same symbols with equal values (whatever the slots and their allocations).
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl<V: Eq> Eq for SymbolMap<V> {}

impl<V: std::fmt::Debug> std::fmt::Debug for SymbolMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: SymbolKey + ?Sized, V> std::ops::Index<&K> for SymbolMap<V> {
    type Output = V;
    fn index(&self, key: &K) -> &V {
        self.get(key).unwrap_or_else(|| panic!("no entry for symbol {:?}", key.text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_by_text_and_by_identity_agree_and_iteration_is_in_name_order() {
        let mut m = SymbolMap::new();
        for (k, s) in ["ETH/USDT", "BTC/USDT", "SOL/USDT"].into_iter().enumerate() {
            m.insert(s, k);
        }
        assert_eq!(m.keys().collect::<Vec<_>>(), ["BTC/USDT", "ETH/USDT", "SOL/USDT"]);
        assert_eq!(m.values().copied().collect::<Vec<_>>(), [1, 0, 2]);
        // Another allocation of the same text: found by text, then adopted by `get_mut`.
        let btc = SharedStr::from("BTC/USDT");
        assert_eq!(m.get(&btc), Some(&1));
        assert!(!m.slots.iter().any(|(k, _)| SharedStr::ptr_eq(k, &btc)));
        *m.get_mut(&btc).unwrap() += 10;
        assert!(SharedStr::ptr_eq(&m.slots[1].0, &btc), "the slot keeps the caller's allocation");
        assert_eq!((m["BTC/USDT"], m[&btc], m.get("XRP/USDT")), (11, 11, None));
        // Replacing keeps the slot; equality ignores slots and allocations.
        m.insert(&SharedStr::from("SOL/USDT"), 7);
        let mut other = SymbolMap::new();
        for (s, v) in [("SOL/USDT", 7), ("BTC/USDT", 11), ("ETH/USDT", 0)] {
            other.insert(s, v);
        }
        assert_eq!(m, other);
        other.insert("ETH/USDT", 1);
        assert_ne!(m, other);
        assert_eq!(format!("{m:?}"), r#"{"BTC/USDT": 11, "ETH/USDT": 0, "SOL/USDT": 7}"#);
        // get_or_insert_with: the value there (nothing made), or a new slot made once,
        // adopting a shared key found by text as get_mut does.
        *m.get_or_insert_with("ETH/USDT", || unreachable!("ETH/USDT has a slot")) += 5;
        let ada = SharedStr::from("ADA/USDT");
        *m.get_or_insert_with(&ada, || 100) += 1;
        let eth = SharedStr::from("ETH/USDT");
        *m.get_or_insert_with(&eth, || unreachable!("ETH/USDT has a slot")) += 1;
        assert_eq!((m["ETH/USDT"], m["ADA/USDT"], m.len()), (6, 101, 4));
        assert!(SharedStr::ptr_eq(&m.slots[3].0, &ada) && SharedStr::ptr_eq(&m.slots[0].0, &eth));
        assert_eq!(m.keys().collect::<Vec<_>>(), ["ADA/USDT", "BTC/USDT", "ETH/USDT", "SOL/USDT"]);
    }

    #[test]
    fn symbols_past_the_identity_slots_are_found_by_text() {
        let names: Vec<String> = (0..IDENTITY_SLOTS_MAX + 4).map(|k| format!("S{k:02}/USDT")).collect();
        let shared: Vec<SharedStr> = names.iter().map(SharedStr::from).collect();
        let mut m = SymbolMap::new();
        for (k, s) in shared.iter().enumerate() {
            m.insert(s, k);
        }
        for (k, s) in shared.iter().enumerate() {
            assert_eq!((m.get(s).copied(), m.get(names[k].as_str()).copied(), m.get_mut(s).copied()), (Some(k), Some(k), Some(k)));
        }
    }
}
