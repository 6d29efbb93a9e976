//! Benchmarks for the Kaichi crates live in `benches/`.
