//! [`OrderMap`]: the core's orders by id, stored where they stay.
//!
//! Why not a `BTreeMap<OrderId, Order>`: an order is 560 bytes, and a B-tree moves its
//! values, shifting them within a node on every insert and copying each out (three
//! times, through `remove_kv`, `remove_entry` and `remove`) when it leaves. A backtest
//! inserts and drops an order per trade: those copies were about 2% of its time. Here
//! an order is written once into a slot of a vector and dropped where it lies; the
//! B-tree holds only `(id, slot)` pairs, so lookups and the id order (listings,
//! replays, equality) are the same as before.
//!
//! Freed slots are reused, newest first: the vector holds at most as many slots as
//! orders were ever held at once.

use super::order::Order;
use std::collections::BTreeMap;
use tradpal_messages::OrderId;

#[derive(Clone, Default)]
pub struct OrderMap {
    /// Id -> index in `slots`.
    index: BTreeMap<OrderId, u32>,
    /// `None` for a free slot (listed in `free`).
    slots: Vec<Option<Order>>,
    free: Vec<u32>,
}

impl OrderMap {
    pub fn new() -> Self {
        OrderMap::default()
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn contains_key(&self, id: &OrderId) -> bool {
        self.index.contains_key(id)
    }

    pub fn get(&self, id: &OrderId) -> Option<&Order> {
        self.index.get(id).map(|&i| self.slot(i))
    }

    pub fn get_mut(&mut self, id: &OrderId) -> Option<&mut Order> {
        let i = *self.index.get(id)?;
        Some(self.slots[i as usize].as_mut().expect("an indexed slot holds its order"))
    }

    /// Inserts `order` under `id`; an order already there is replaced in its slot.
    pub fn insert(&mut self, id: OrderId, order: Order) {
        if let Some(&i) = self.index.get(&id) {
            self.slots[i as usize] = Some(order);
            return;
        }
        let i = match self.free.pop() {
            Some(i) => {
                debug_assert!(self.slots[i as usize].is_none(), "a free slot is empty");
                self.slots[i as usize] = Some(order);
                i
            }
            None => {
                self.slots.push(Some(order));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 orders held at once")
            }
        };
        self.index.insert(id, i);
    }

    /// Drops the order `id` where it lies (nothing is moved out); false when unknown.
    pub fn discard(&mut self, id: &OrderId) -> bool {
        let Some(i) = self.index.remove(id) else { return false };
        self.slots[i as usize] = None;
        self.free.push(i);
        true
    }

    /// Orders by id (the order of the B-tree this replaced).
    pub fn values(&self) -> impl Iterator<Item = &Order> + '_ {
        self.index.values().map(|&i| self.slot(i))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&OrderId, &Order)> + '_ {
        self.index.iter().map(|(id, &i)| (id, self.slot(i)))
    }

    pub fn keys(&self) -> impl Iterator<Item = &OrderId> + '_ {
        self.index.keys()
    }

    fn slot(&self, i: u32) -> &Order {
        self.slots[i as usize].as_ref().expect("an indexed slot holds its order")
    }
}

impl std::ops::Index<&OrderId> for OrderMap {
    type Output = Order;
    fn index(&self, id: &OrderId) -> &Order {
        self.get(id).unwrap_or_else(|| panic!("no order {id}"))
    }
}

/// Equal when they hold the same orders under the same ids (slots do not matter).
impl PartialEq for OrderMap {
    fn eq(&self, o: &Self) -> bool {
        self.iter().eq(o.iter())
    }
}

impl std::fmt::Debug for OrderMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execution::order::order_with as order;

    #[test]
    fn behaves_as_a_map_by_id_whatever_the_slots() {
        let mut m = OrderMap::new();
        let mut reference = BTreeMap::new();
        // Inserts, replacements and drops in an order that reuses slots out of id order.
        let steps: [(u128, Option<i64>); 11] = [
            (5, Some(1)),
            (2, Some(2)),
            (9, Some(3)),
            (2, None),
            (7, Some(4)),
            (5, Some(6)),
            (9, None),
            (1, Some(7)),
            (3, Some(8)),
            (7, None),
            (4, Some(9)),
        ];
        for (id, qty) in steps {
            match qty {
                Some(q) => {
                    m.insert(OrderId(id), order(id, q));
                    reference.insert(OrderId(id), order(id, q));
                }
                None => {
                    assert!(m.discard(&OrderId(id)));
                    reference.remove(&OrderId(id));
                }
            }
            assert_eq!(m.len(), reference.len());
            assert!(m.iter().eq(reference.iter()), "the same (id, order) pairs in id order");
            assert!(m.values().eq(reference.values()));
            for id in 0..11u128 {
                assert_eq!(m.get(&OrderId(id)), reference.get(&OrderId(id)));
                assert_eq!(m.contains_key(&OrderId(id)), reference.contains_key(&OrderId(id)));
            }
        }
        assert!(!m.discard(&OrderId(2)), "already gone");
        assert!(m.slots.len() <= 5, "freed slots are reused: {} slots for at most 5 orders", m.slots.len());
        m.get_mut(&OrderId(4)).unwrap().filled = tradpal_messages::Fixed::ONE;
        assert_eq!(m[&OrderId(4)].filled, tradpal_messages::Fixed::ONE);
        let mut other = OrderMap::new();
        for (id, o) in m.iter().collect::<Vec<_>>().into_iter().rev() {
            other.insert(*id, o.clone());
        }
        assert_eq!(m, other, "equal with other slots");
        other.discard(&OrderId(1));
        assert_ne!(m, other);
    }
}
