//! The names of a struct's members as serde's derive declares them (the `fields` it hands to
//! `deserialize_struct`), read by asking the struct to deserialize itself from a deserializer
//! that only listens. The fixture format uses it to know the directory's members without
//! writing their names a second time.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::forward_to_deserialize_any;

/// The member names of `T`, a struct with a derived `Deserialize`; empty for anything else.
pub(super) fn struct_fields<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut listener = Listener(&[]);
    // The listener refuses every value: only what it heard matters.
    let _ = T::deserialize(&mut listener);
    listener.0
}

struct Listener(&'static [&'static str]);

impl<'de> Deserializer<'de> for &mut Listener {
    type Error = de::value::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = fields;
        Err(de::Error::custom("only listening"))
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only listening"))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}
