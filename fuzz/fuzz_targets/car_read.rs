//! CAR reading with arbitrary bytes: never panics; whatever reads is
//! written back to a file that reads the same.
#![no_main]

use kaichi_privatelog::car::{read_car, write_car};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(car) = read_car(data) {
        let again = write_car(
            &car.roots,
            car.blocks.iter().map(|(c, b)| (*c, b.as_slice())),
        );
        assert_eq!(read_car(&again).ok(), Some(car));
    }
});
