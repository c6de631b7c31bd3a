//! The operation a GraphQL request carries as JSON, the whole body of a JSON request or the `operations`
//! part of a multipart one: a single operation (no batches), at most 64 KiB, with a document or a persisted
//! query's hash standing for one. Both body readers (`graphql`, `multipart`) take it from here.

use crate::error::AppError;

/// Largest JSON request body: documents are small; anything bigger is an attack or a bug.
pub const MAX_JSON_BODY: u64 = 64 * 1024;

/// The operation in a JSON text, or `BAD_REQUEST` saying what is wrong with it.
pub fn parse_body(body: &[u8]) -> Result<async_graphql::Request, AppError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(AppError::BadRequest(
            "batched requests are not supported; send one operation per request".into(),
        ));
    }
    let request: async_graphql::Request =
        serde_json::from_slice(body).map_err(|e| AppError::BadRequest(format!("malformed JSON body: {e}")))?;
    // A persisted query's hash may stand for its document.
    if request.query.trim().is_empty() && !request.extensions.contains_key("persistedQuery") {
        return Err(AppError::BadRequest("missing `query`".into()));
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_and_garbage_are_bad_requests() {
        assert_eq!(
            parse_body(b"  [{\"query\":\"{a}\"}]").err().map(|e| e.code()),
            Some("BAD_REQUEST")
        );
        assert_eq!(parse_body(b"{not json").err().map(|e| e.code()), Some("BAD_REQUEST"));
        assert_eq!(
            parse_body(b"{}").err().map(|e| e.code()),
            Some("BAD_REQUEST"),
            "no query"
        );
        assert_eq!(
            parse_body(br#"{"query":" "}"#).err().map(|e| e.code()),
            Some("BAD_REQUEST")
        );
        assert!(parse_body(br#"{"query":"{ a }"}"#).is_ok());
        assert!(parse_body(br#"{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"ab"}}}"#).is_ok());
    }
}
