//! Runs `tests/in_browser.rs` (the cores compiled to wasm32, with the
//! native crates' known-answer vectors) in headless Chromium through
//! wasm-bindgen-test.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

#[test]
fn the_wasm_unit_tests_pass_in_headless_chromium() {
    if support::skipped() {
        return;
    }
    let log = support::in_browser_tests();
    assert!(log.contains("test result: ok. 7 passed"), "{log}");
    assert!(log.contains("headless"), "not run in a browser: {log}");
}
