//! Parsing a control-socket request line from arbitrary bytes: never
//! panics; whatever parses writes back as a line that parses to the same
//! request.
#![no_main]

use kaichi_cli::control_protocol::Request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = Request::parse(data) {
        let line = request.to_line();
        assert_eq!(Request::parse(line.as_bytes()).ok(), Some(request));
    }
});
