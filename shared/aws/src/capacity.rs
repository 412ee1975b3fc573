//! DynamoDB's billing arithmetic, for counting the write and read units a design spends.
//!
//! Item size follows the published rules: attribute names count in UTF-8 bytes; strings in
//! UTF-8 bytes; numbers about one byte per two significant digits plus one; booleans and nulls
//! one byte; lists and maps three bytes plus one per element plus their contents. A standard
//! write costs one unit per started KB of the larger of the old and new item; a transactional
//! write costs two. A `Query` costs one read unit per started 4 KB of the items it reads
//! (summed over a page), half that when eventually consistent.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

pub const WRITE_UNIT_BYTES: usize = 1024;
pub const READ_UNIT_BYTES: usize = 4096;
/// A `Query` page ends at this much data read.
pub const QUERY_PAGE_BYTES: usize = 1024 * 1024;

fn number_size(n: &str) -> usize {
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    let significant = digits
        .trim_start_matches('0')
        .trim_end_matches('0')
        .len()
        .max(1);
    significant.div_ceil(2) + 1
}

/// The size of one attribute value, as DynamoDB bills it.
pub fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(items) => items.iter().map(String::len).sum(),
        AttributeValue::Ns(items) => items.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(items) => items.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(items) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// The size of an item: every attribute name and value.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// Write units of a standard write of an item of `bytes` (at least one).
pub fn write_units(bytes: usize) -> usize {
    bytes.div_ceil(WRITE_UNIT_BYTES).max(1)
}

/// Read units of a `Query` that reads items of these sizes, in order, page by page.
pub fn query_read_units_paged(sizes: impl IntoIterator<Item = usize>, consistent: bool) -> f64 {
    let mut total = 0.0;
    let mut page = vec![];
    let mut page_bytes = 0;
    for size in sizes {
        page.push(size);
        page_bytes += size;
        if page_bytes >= QUERY_PAGE_BYTES {
            total += query_read_units(page.drain(..), consistent);
            page_bytes = 0;
        }
    }
    if !page.is_empty() || total == 0.0 {
        total += query_read_units(page, consistent);
    }
    total
}

/// Read units of one `Query` page that reads items of these sizes: their sum rounded up to
/// 4 KB, half for an eventually consistent read. Every item read counts whole, whatever the
/// projection expression returns.
pub fn query_read_units(sizes: impl IntoIterator<Item = usize>, consistent: bool) -> f64 {
    let bytes: usize = sizes.into_iter().sum();
    let units = bytes.div_ceil(READ_UNIT_BYTES).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

/// Write units of one item written inside `TransactWriteItems`.
pub fn transactional_write_units(bytes: usize) -> usize {
    2 * write_units(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_units_follow_the_billing_rules() {
        let item = HashMap::from([
            (
                crate::keys::PK.to_owned(),
                AttributeValue::S("TASK#1".into()),
            ),
            ("n".to_owned(), AttributeValue::N("12345".into())),
            ("ok".to_owned(), AttributeValue::Bool(true)),
            (
                "l".to_owned(),
                AttributeValue::L(vec![AttributeValue::S("ab".into())]),
            ),
        ]);
        // pk: 2+6, n: 1+(3+1), ok: 2+1, l: 1+(3+1+2)
        assert_eq!(item_size(&item), 8 + 5 + 3 + 7);
        assert_eq!(write_units(0), 1);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
        assert_eq!(transactional_write_units(1500), 4);
        assert_eq!(query_read_units([4096], true), 1.0);
        assert_eq!(query_read_units([4000, 97], false), 1.0);
        assert_eq!(query_read_units([], false), 0.5);
    }
}
