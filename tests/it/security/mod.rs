//! Herald tried as an attacker would: requests that must never reach an inward address,
//! redirects and cookies that must not be steered, throttled floods, locked-down pages and
//! images that lie about their size. Canary servers on loopback must see no request.

mod media;
mod oauth;
mod outbound;
mod surface;
mod throttles;
