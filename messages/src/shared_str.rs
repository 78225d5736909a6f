//! [`SharedStr`]: an immutable string whose clones share one allocation.
//!
//! Why: an order's symbol and client order id are written once and then copied into
//! every event and record that names the order (the submission, the order the core
//! keeps, its client-id index, each fill, the trade it closes). As `String`s that was
//! an allocation, a copy and a free per copy: about seven per order of a backtest. A
//! clone of a `SharedStr` is a reference count.
//!
//! On every wire it is exactly a `String`: serde writes and reads a JSON string, and
//! rkyv archives it as an [`ArchivedString`] with the same bytes, so journals, event
//! hashes and the JSON API do not change with the type. Equality, order and hashing
//! are the text's (so it can key a map looked up by `&str`).

use rkyv::rancor::{Fallible, Source};
use rkyv::string::{ArchivedString, StringResolver};
use rkyv::{Archive, Place, SerializeUnsized};
use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// An immutable, cheaply cloned string (see the module doc).
#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SharedStr(Arc<str>);

impl Clone for SharedStr {
    fn clone(&self) -> Self {
        SharedStr(Arc::clone(&self.0))
    }

    /// Nothing to do when `source` is already this string (a reused request takes its
    /// leg's symbol each order: no count taken and given back).
    fn clone_from(&mut self, source: &Self) {
        if !SharedStr::ptr_eq(self, source) {
            *self = source.clone();
        }
    }
}

impl SharedStr {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `a` and `b` are the same allocation (so the same text; unequal pointers
    /// may still hold equal text).
    pub fn ptr_eq(a: &SharedStr, b: &SharedStr) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl Default for SharedStr {
    fn default() -> Self {
        SharedStr::from("")
    }
}

impl std::ops::Deref for SharedStr {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl From<&str> for SharedStr {
    fn from(s: &str) -> Self {
        SharedStr(Arc::from(s))
    }
}

impl From<String> for SharedStr {
    fn from(s: String) -> Self {
        SharedStr(Arc::from(s))
    }
}

impl From<&String> for SharedStr {
    fn from(s: &String) -> Self {
        SharedStr(Arc::from(s.as_str()))
    }
}

impl From<SharedStr> for String {
    fn from(s: SharedStr) -> Self {
        s.0.to_string()
    }
}

impl PartialEq<str> for SharedStr {
    fn eq(&self, o: &str) -> bool {
        *self.0 == *o
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, o: &&str) -> bool {
        *self.0 == **o
    }
}

impl PartialEq<String> for SharedStr {
    fn eq(&self, o: &String) -> bool {
        *self.0 == **o
    }
}

impl PartialEq<SharedStr> for str {
    fn eq(&self, o: &SharedStr) -> bool {
        *self == *o.0
    }
}

impl PartialEq<SharedStr> for &str {
    fn eq(&self, o: &SharedStr) -> bool {
        **self == *o.0
    }
}

impl PartialEq<SharedStr> for String {
    fn eq(&self, o: &SharedStr) -> bool {
        **self == *o.0
    }
}

impl serde::Serialize for SharedStr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for SharedStr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SharedStr::from)
    }
}

impl utoipa::PartialSchema for SharedStr {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        String::schema()
    }
}
impl utoipa::ToSchema for SharedStr {}

// rkyv: archived exactly as a `String` (the same calls as rkyv's own impls for it).
impl Archive for SharedStr {
    type Archived = ArchivedString;
    type Resolver = StringResolver;

    #[inline]
    fn resolve(&self, resolver: Self::Resolver, out: Place<Self::Archived>) {
        ArchivedString::resolve_from_str(&self.0, resolver, out);
    }
}

impl<S: Fallible + ?Sized> rkyv::Serialize<S> for SharedStr
where
    S::Error: Source,
    str: SerializeUnsized<S>,
{
    fn serialize(&self, serializer: &mut S) -> Result<Self::Resolver, S::Error> {
        ArchivedString::serialize_from_str(&self.0, serializer)
    }
}

impl<D: Fallible + ?Sized> rkyv::Deserialize<SharedStr, D> for ArchivedString {
    fn deserialize(&self, _: &mut D) -> Result<SharedStr, D::Error> {
        Ok(SharedStr::from(self.as_str()))
    }
}

impl PartialEq<SharedStr> for ArchivedString {
    fn eq(&self, o: &SharedStr) -> bool {
        self.as_str() == o.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rkyv::rancor;

    #[test]
    fn archives_serializes_and_compares_as_the_string_it_holds() {
        for text in ["", "BTC/USDT", "tp-0123456789abcdef0123456789abcdef", "ünïcödé"] {
            let shared = SharedStr::from(text);
            let owned = text.to_string();
            let (a, b) = (rkyv::to_bytes::<rancor::Error>(&shared).unwrap(), rkyv::to_bytes::<rancor::Error>(&owned).unwrap());
            assert_eq!(a.as_slice(), b.as_slice(), "{text:?}: the archive bytes of a String");
            let back: SharedStr = rkyv::from_bytes::<SharedStr, rancor::Error>(&b).unwrap();
            assert_eq!(back, shared);
            assert_eq!(serde_json::to_string(&shared).unwrap(), serde_json::to_string(&owned).unwrap());
            let parsed: SharedStr = serde_json::from_str(&serde_json::to_string(&owned).unwrap()).unwrap();
            assert_eq!((parsed.as_str(), format!("{shared}"), format!("{shared:?}")), (text, owned.clone(), format!("{owned:?}")));
            assert!(shared == text, "SharedStr == &str");
            assert!(shared == owned, "SharedStr == String");
            assert!(text == shared, "&str == SharedStr");
            assert!(owned == shared, "String == SharedStr");
        }
        // Order and lookups by &str follow the text.
        let mut map = std::collections::BTreeMap::new();
        map.insert(SharedStr::from("b"), 2);
        map.insert(SharedStr::from("a"), 1);
        assert_eq!(map.get("a"), Some(&1));
        assert_eq!(map.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        // A clone shares the text.
        let s = SharedStr::from("ETH/USDT");
        assert!(std::ptr::eq(s.as_str(), s.clone().as_str()));
        // Identity: the same allocation, not merely the same text; clone_from takes it.
        let (t, mut u) = (SharedStr::from("ETH/USDT"), SharedStr::from("BTC/USDT"));
        assert!(SharedStr::ptr_eq(&s, &s.clone()) && !SharedStr::ptr_eq(&s, &t) && s == t);
        u.clone_from(&s);
        assert!(SharedStr::ptr_eq(&u, &s));
        u.clone_from(&s);
        assert_eq!((u.as_str(), Arc::strong_count(&s.0)), ("ETH/USDT", 2), "one count per holder");
        assert!(serde_json::from_str::<SharedStr>("3").is_err());
    }
}
