//! The simulator driven over plain HTTP, the way each platform's client talks to it:
//! one conversation per platform (OAuth, identity, posts with and without an image,
//! read-back), then the rate-limit signals, the fault modes and the control API.

// Helpers outside `#[test]` functions unwrap too: a test that cannot talk to the simulator
// should fail on the spot, with the panic pointing at the call.
#![allow(clippy::unwrap_used)]

mod common;
mod control;
mod duplicates;
mod facebook;
mod facebook_media;
mod faults;
mod instagram;
mod instagram_media;
mod limits;
mod linkedin;
mod linkedin_media;
mod telegram;
mod telegram_media;
mod threads;
mod threads_media;
mod twitter;
mod x_media;
