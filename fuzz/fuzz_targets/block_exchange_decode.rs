//! The block-exchange codec reading arbitrary bytes off a stream, as a
//! request and as a response: never panics, honours its bounds, and what
//! decodes re-encodes and decodes to the same message.
#![no_main]

use futures::executor::block_on;
use futures::io::Cursor;
use kaichi_transport::exchange::{BlockCodec, MAX_PIN_BYTES, PROTOCOL};
use libfuzzer_sys::fuzz_target;
use libp2p::request_response::Codec as _;

fuzz_target!(|data: &[u8]| {
    let mut codec = BlockCodec;
    if let Ok(req) = block_on(codec.read_request(&PROTOCOL, &mut Cursor::new(data))) {
        assert!(req.pin.iter().map(Vec::len).sum::<usize>() <= MAX_PIN_BYTES);
        let mut out = Cursor::new(Vec::new());
        block_on(codec.write_request(&PROTOCOL, &mut out, req.clone())).expect("writes");
        let back = block_on(codec.read_request(&PROTOCOL, &mut Cursor::new(out.into_inner())));
        assert_eq!(back.ok(), Some(req));
    }
    if let Ok(res) = block_on(codec.read_response(&PROTOCOL, &mut Cursor::new(data))) {
        let mut out = Cursor::new(Vec::new());
        block_on(codec.write_response(&PROTOCOL, &mut out, res.clone())).expect("writes");
        let back = block_on(codec.read_response(&PROTOCOL, &mut Cursor::new(out.into_inner())));
        assert_eq!(back.ok(), Some(res));
    }
});
