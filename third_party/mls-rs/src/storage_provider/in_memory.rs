// Copyright Amazon.com, Inc. or its affiliates. All Rights Reserved.
// Copyright by contributors to this project.
// SPDX-License-Identifier: (Apache-2.0 OR MIT)

mod group_state_storage;
mod key_package_storage;
mod psk_storage;

pub use group_state_storage::*;
pub use key_package_storage::*;
pub use psk_storage::*;
