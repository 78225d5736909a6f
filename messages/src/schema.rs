//! OpenAPI schemas (utoipa) of the wire types whose serde is written by hand. Ids,
//! money and times are JSON strings on the wire (money is also accepted as a number),
//! so their schemas are written here next to nothing else; every other message type
//! derives `ToSchema` beside its serde derive, so the document follows the type.

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;

/// A string schema with a description and, when given, a JSON Schema `pattern`.
pub(crate) fn text(description: &str, pattern: Option<&str>) -> RefOr<Schema> {
    let mut b = ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).description(Some(description));
    if let Some(p) = pattern {
        b = b.pattern(Some(p));
    }
    RefOr::T(Schema::Object(b.build()))
}

/// The pattern of every id: a 128-bit number written in UUID layout.
pub(crate) const ID_PATTERN: &str = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

impl utoipa::PartialSchema for crate::Fixed {
    fn schema() -> RefOr<Schema> {
        let b = ObjectBuilder::new()
            .schema_type(SchemaType::Array(vec![Type::String, Type::Number]))
            .description(Some("An exact decimal: a string in answers (\"0.01\"); requests may send a string or a number"));
        RefOr::T(Schema::Object(b.build()))
    }
}
impl utoipa::ToSchema for crate::Fixed {}

impl utoipa::PartialSchema for crate::Timestamp {
    fn schema() -> RefOr<Schema> {
        text("An RFC 3339 UTC time, e.g. 2024-01-01T00:00:00Z", None)
    }
}
impl utoipa::ToSchema for crate::Timestamp {}

impl utoipa::PartialSchema for crate::TimeWire {
    fn schema() -> RefOr<Schema> {
        let b = ObjectBuilder::new()
            .schema_type(SchemaType::Array(vec![Type::String, Type::Integer]))
            .description(Some("A time: RFC 3339 text or epoch milliseconds"));
        RefOr::T(Schema::Object(b.build()))
    }
}
impl utoipa::ToSchema for crate::TimeWire {}
