//! Fuzzes Graph's OData query options (`$select`, `$filter`, `$top`, ...):
//! `entra_tenant::graph::query::QueryOptions::parse` over the pairs of a query string. Must not
//! panic.

#![no_main]

use entra_tenant::graph::query::QueryOptions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(data).into_owned().collect();
    if let Ok(q) = QueryOptions::parse(&pairs) {
        let _ = q.selects("id");
    }
});
