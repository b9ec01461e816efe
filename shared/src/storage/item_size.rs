//! How large DynamoDB counts a value toward its 400 KB item limit: strings and
//! binaries by their bytes, numbers by their digits, one byte for booleans and
//! nulls, and for maps and lists their members (with names) plus a few bytes each.

use aws_sdk_dynamodb::types::AttributeValue;

/// An upper estimate of `value`'s size as DynamoDB counts it.
pub fn attribute_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) | AttributeValue::N(text) => text.len(),
        AttributeValue::B(bytes) => bytes.as_ref().len(),
        AttributeValue::Ss(texts) | AttributeValue::Ns(texts) => texts.iter().map(String::len).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::M(members) => {
            3 + members
                .iter()
                .map(|(name, member)| name.len() + attribute_size(member) + 1)
                .sum::<usize>()
        }
        AttributeValue::L(members) => 3 + members.iter().map(|m| attribute_size(m) + 1).sum::<usize>(),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn counts_text_by_bytes_and_nesting_by_members() {
        assert_eq!(attribute_size(&AttributeValue::S("é".into())), 2);
        let nested = AttributeValue::M(HashMap::from([(
            "ab".to_owned(),
            AttributeValue::L(vec![AttributeValue::Bool(true), AttributeValue::N("12".into())]),
        )]));
        // map 3 + name 2 + (list 3 + (1 + 1) + (2 + 1)) + 1
        assert_eq!(attribute_size(&nested), 14);
    }
}
