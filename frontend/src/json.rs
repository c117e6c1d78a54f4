//! JSON reading for the client: [`from_str`] is `serde_json::from_str`,
//! except that a struct is read only from a JSON object.
//!
//! `serde_json` also reads a struct from an array of its fields in order
//! (`[1, "ann", "Ann"]` for a `Person`), so every struct's `Deserialize`
//! carries a second reader, from a sequence, with an error for each
//! missing field. Neither the protocol nor the API ever sends one (see
//! `docs/PROTOCOL.md`), and the client pays for it in every struct it
//! reads. Here structs are asked for as maps: the sequence readers are
//! never called, so they are not linked: 18 KB less WebAssembly, 5 KiB
//! gzip-compressed, when this came in. Everything else goes to
//! `serde_json` unchanged, and an array where a struct is expected is
//! refused like any other unexpected type.

use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use std::fmt;

/// Reads `T` from `text`, structs only from objects (see the module
/// documentation).
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(Objects(&mut reader))?;
    reader.end()?;
    Ok(value)
}

/// A deserializer that asks for structs as maps, and passes itself on to
/// what it reads inside.
struct Objects<D>(D);

/// A visitor whose maps, sequences, options and enums are read with
/// [`Objects`].
struct Wrap<V>(V);

/// A seed whose value is read with [`Objects`].
struct Seed<S>(S);

/// The entries of a map, read with [`Objects`].
struct Entries<A>(A);

macro_rules! forward {
    ($($method:ident($($arg:ident: $type:ty),*)),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(
                self,
                $($arg: $type,)*
                visitor: V,
            ) -> Result<V::Value, D::Error> {
                self.0.$method($($arg,)* Wrap(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Objects<D> {
    type Error = D::Error;

    forward!(
        deserialize_any(),
        deserialize_bool(),
        deserialize_i8(),
        deserialize_i16(),
        deserialize_i32(),
        deserialize_i64(),
        deserialize_i128(),
        deserialize_u8(),
        deserialize_u16(),
        deserialize_u32(),
        deserialize_u64(),
        deserialize_u128(),
        deserialize_f32(),
        deserialize_f64(),
        deserialize_char(),
        deserialize_str(),
        deserialize_string(),
        deserialize_bytes(),
        deserialize_byte_buf(),
        deserialize_option(),
        deserialize_unit(),
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_seq(),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_map(),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(),
        deserialize_ignored_any(),
    );

    /// The one change: a struct is a map.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(Wrap(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! visit {
    ($($method:ident($type:ty)),* $(,)?) => {
        $(
            fn $method<E: serde::de::Error>(self, value: $type) -> Result<V::Value, E> {
                self.0.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        self.0.expecting(formatter)
    }

    visit!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_none<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(Objects(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(Objects(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(Entries(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(Entries(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(Entries(data))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Objects(deserializer))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Entries<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Entries<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Seed(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Entries<A> {
    type Error = A::Error;
    type Variant = Entries<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        self.0
            .variant_seed(Seed(seed))
            .map(|(value, variant)| (value, Entries(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Entries<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Wrap(visitor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::{ChatMessage, ErrorFrame, Person};

    #[test]
    fn structs_are_read_from_objects_as_serde_json_reads_them() {
        for text in [
            r#"{"user_id":1,"username":"ann","display_name":"Ann"}"#,
            r#" {"display_name":"Ann","extra":[1,{"a":null}],"username":"ann","user_id":1} "#,
        ] {
            let ours: Person = from_str(text).expect("a person");
            let theirs: Person = serde_json::from_str(text).expect("a person");
            assert_eq!(ours, theirs);
        }
        let message = r#"{"room":"lobby","id":8,"name":"Ann","user_id":1,"username":"ann","text":"hi","ts":1,"nonce":"n-1"}"#;
        assert_eq!(
            from_str::<ChatMessage>(message).expect("a message"),
            serde_json::from_str::<ChatMessage>(message).expect("a message")
        );
        let error = r#"{"type":"error","code":"too_long","message":"too long","room":null}"#;
        assert_eq!(
            from_str::<ErrorFrame>(error).expect("an error"),
            serde_json::from_str::<ErrorFrame>(error).expect("an error")
        );
        let list = r#"[{"user_id":1,"username":"ann","display_name":"Ann"}]"#;
        assert_eq!(
            from_str::<Vec<Person>>(list).expect("people"),
            serde_json::from_str::<Vec<Person>>(list).expect("people")
        );
    }

    #[test]
    fn what_serde_json_refuses_is_refused_and_arrays_are_not_structs() {
        for text in [
            r#"{"user_id":1,"username":"ann"}"#,
            r#"{"user_id":"1","username":"ann","display_name":"Ann"}"#,
            r#"{"user_id":1,"username":"ann","display_name":"Ann"} x"#,
            r#"{"user_id":1,"username":"Ann Lee","display_name":"Ann"}"#,
            "",
        ] {
            assert!(serde_json::from_str::<Person>(text).is_err(), "{text}");
            assert!(from_str::<Person>(text).is_err(), "{text}");
        }
        let fields = r#"[1,"ann","Ann"]"#;
        assert!(serde_json::from_str::<Person>(fields).is_ok());
        assert!(from_str::<Person>(fields).is_err());
    }
}
