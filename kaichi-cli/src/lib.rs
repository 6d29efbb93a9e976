//! The reusable part of the `kaichi` CLI: the protocol of the local control
//! socket between `kaichi node` and the other commands (a library so that
//! it can be fuzzed and spoken by other tools). The binary is the rest.
#![forbid(unsafe_code)]

pub mod control_protocol;
