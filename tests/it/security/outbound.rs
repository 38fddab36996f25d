//! The outbound guard: no request to a URL a tenant supplied reaches an inward address.
